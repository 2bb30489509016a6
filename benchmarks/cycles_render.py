# Renders a model with Blender Cycles (CPU, no denoising) from the camera and sun our renderer
# reported, so compare_cycles.sh can put the two frames side by side and measure their noise.
# blender -b --factory-startup -P cycles_render.py -- MODEL OUT W H SPP "camera line" [SEED [THREADS]]
# MODEL: glTF/GLB, or STL/OBJ, whose meshes without a material get our renderer's default one
# (Assimp's 0.6 grey, roughness 0.5, not metallic), and without normals its 30-degree crease angle.
import math
import sys
import time

import bpy
from mathutils import Vector

argv = sys.argv[sys.argv.index("--") + 1:]
model, out, width, height, spp, camera_line = argv[0], argv[1], int(argv[2]), int(argv[3]), int(argv[4]), argv[5]
fields = camera_line.split()
values = {}
for key in ("eye", "target", "sun"):
    i = fields.index(key)
    values[key] = [float(v) for v in fields[i + 1:i + 4]]
fov_y = float(fields[fields.index("fov_y") + 1])
seed = int(argv[6]) if len(argv) > 6 else 0
threads = int(argv[7]) if len(argv) > 7 else 0

try:  # Debian's numpy 1.24 dropped numpy.bool, which Blender 3.4's glTF importer still uses
    import numpy
    numpy.bool = bool
except ImportError:
    pass

bpy.ops.wm.read_factory_settings(use_empty=True)
suffix = model.rsplit(".", 1)[-1].lower()
if suffix in ("glb", "gltf"):
    bpy.ops.import_scene.gltf(filepath=model)
else:
    # Assimp reads these files' axes as they are and our renderer takes +Y as up: map the file's
    # -Z forward, Y up to Blender's axes as the glTF importer does.
    if suffix == "stl":
        bpy.ops.import_mesh.stl(filepath=model, axis_forward="-Z", axis_up="Y")
    elif suffix == "obj":
        bpy.ops.wm.obj_import(filepath=model, forward_axis="NEGATIVE_Z", up_axis="Y")
    else:
        sys.exit("cycles_render.py: no importer for ." + suffix)
    material = bpy.data.materials.new("farm_default")
    material.use_nodes = True
    bsdf = material.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (0.6, 0.6, 0.6, 1.0)
    bsdf.inputs["Roughness"].default_value = 0.5
    bsdf.inputs["Metallic"].default_value = 0.0
    for obj in bpy.context.scene.objects:
        if obj.type != "MESH":
            continue
        if not obj.data.materials:
            obj.data.materials.append(material)
        if not obj.data.has_custom_normals:
            # Our loader smooths normals across edges under 30 degrees (the crease angle).
            obj.data.polygons.foreach_set("use_smooth", [True] * len(obj.data.polygons))
            obj.data.use_auto_smooth = True
            obj.data.auto_smooth_angle = math.radians(30.0)


def to_blender(v):  # glTF is Y-up, Blender Z-up: the importer maps (x, y, z) to (x, -z, y)
    return Vector((v[0], -v[2], v[1]))


scene = bpy.context.scene
cam_data = bpy.data.cameras.new("farm_camera")
cam_data.sensor_fit = "VERTICAL"
cam_data.angle = math.radians(fov_y)
cam = bpy.data.objects.new("farm_camera", cam_data)
scene.collection.objects.link(cam)
scene.camera = cam
eye, target = to_blender(values["eye"]), to_blender(values["target"])
cam.location = eye
cam.rotation_euler = (target - eye).to_track_quat("-Z", "Y").to_euler()
cam_data.clip_start = 0.001 * (target - eye).length
cam_data.clip_end = 1e6

sun_data = bpy.data.lights.new("farm_sun", type="SUN")
sun_data.energy = 2.0  # irradiance in W/m^2, as our sun (2.0, 1.9, 1.75)
sun_data.color = (1.0, 0.95, 0.875)
sun_data.angle = 0.0
sun = bpy.data.objects.new("farm_sun", sun_data)
scene.collection.objects.link(sun)
sun.rotation_euler = to_blender(values["sun"]).to_track_quat("Z", "Y").to_euler()

# Sky gradient like ours: ground below the horizon, horizon to zenith above.
world = bpy.data.worlds.new("farm_sky")
scene.world = world
world.use_nodes = True
nodes, links = world.node_tree.nodes, world.node_tree.links
coords = nodes.new("ShaderNodeTexCoord")
sep = nodes.new("ShaderNodeSeparateXYZ")
ramp = nodes.new("ShaderNodeValToRGB")
remap = nodes.new("ShaderNodeMapRange")
remap.inputs["From Min"].default_value = -1.0
remap.inputs["From Max"].default_value = 1.0
links.new(coords.outputs["Generated"], sep.inputs["Vector"])
links.new(sep.outputs["Z"], remap.inputs["Value"])
links.new(remap.outputs["Result"], ramp.inputs["Fac"])
stops = [(0.375, (0.32, 0.3, 0.28)), (0.5, (0.85, 0.9, 0.95)), (0.625, (0.65, 0.75, 0.925)),
         (1.0, (0.45, 0.6, 0.9))]
ramp.color_ramp.elements[0].position = stops[0][0]
ramp.color_ramp.elements[0].color = (*stops[0][1], 1.0)
ramp.color_ramp.elements[1].position = stops[-1][0]
ramp.color_ramp.elements[1].color = (*stops[-1][1], 1.0)
for pos, col in stops[1:-1]:
    e = ramp.color_ramp.elements.new(pos)
    e.color = (*col, 1.0)
background = nodes["Background"]
links.new(ramp.outputs["Color"], background.inputs["Color"])

scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.samples = spp
scene.cycles.seed = seed
if threads > 0:
    scene.render.threads_mode = "FIXED"
    scene.render.threads = threads
scene.cycles.use_adaptive_sampling = False
scene.cycles.use_denoising = False
scene.cycles.max_bounces = 4
scene.render.resolution_x = width
scene.render.resolution_y = height
scene.render.resolution_percentage = 100
if out.lower().endswith(".exr"):  # linear radiance, no view transform: compare_cycles_noise.sh
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.render.image_settings.color_depth = "32"
    scene.render.image_settings.color_mode = "RGB"
else:
    scene.render.image_settings.file_format = "PNG"
scene.render.filepath = out
scene.view_settings.view_transform = "Filmic"

start = time.time()
bpy.ops.render.render(write_still=True)
print("cycles_render_s %.3f" % (time.time() - start), flush=True)
