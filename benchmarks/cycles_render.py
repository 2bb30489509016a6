# Renders a glTF/GLB model with Blender Cycles (CPU, no denoising) from the camera and sun our
# renderer reported, so compare_cycles.sh can put the two frames side by side.
# blender -b --factory-startup -P cycles_render.py -- MODEL OUT W H SPP "camera line"
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

try:  # Debian's numpy 1.24 dropped numpy.bool, which Blender 3.4's glTF importer still uses
    import numpy
    numpy.bool = bool
except ImportError:
    pass

bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.gltf(filepath=model)


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
scene.cycles.use_adaptive_sampling = False
scene.cycles.use_denoising = False
scene.cycles.max_bounces = 4
scene.render.resolution_x = width
scene.render.resolution_y = height
scene.render.resolution_percentage = 100
scene.render.image_settings.file_format = "PNG"
scene.render.filepath = out
scene.view_settings.view_transform = "Filmic"

start = time.time()
bpy.ops.render.render(write_still=True)
print("cycles_render_s %.3f" % (time.time() - start), flush=True)
