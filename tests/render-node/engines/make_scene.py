# Makes the test scene of tst_blenderengine and tst_blender_e2e with Blender's own Python:
#   blender -b --factory-startup --python-exit-code 1 -P make_scene.py -- OUT.blend TEXTURE.png [nocamera]
# The plane covers the middle of the view; the world is empty (black), so the texture shows only
# there. An emission shader and the Standard view transform keep the texture's colour as it is.
# The texture is saved as //tex/colour.png, relative to the .blend.
import bpy, sys
args = sys.argv[sys.argv.index("--") + 1:]
out, tex = args[0], args[1]
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.cycles.samples = 2
scene.view_settings.view_transform = "Standard"
scene.render.resolution_x, scene.render.resolution_y = 320, 240
bpy.ops.mesh.primitive_plane_add(size=1.2)
plane = bpy.context.object
mat = bpy.data.materials.new("colour")
mat.use_nodes = True
nodes = mat.node_tree.nodes
nodes.clear()
image = bpy.data.images.load(tex)
texture = nodes.new("ShaderNodeTexImage")
texture.image = image
emission = nodes.new("ShaderNodeEmission")
output = nodes.new("ShaderNodeOutputMaterial")
mat.node_tree.links.new(texture.outputs["Color"], emission.inputs["Color"])
mat.node_tree.links.new(emission.outputs["Emission"], output.inputs["Surface"])
plane.data.materials.append(mat)
if "nocamera" not in args:
    camera = bpy.data.objects.new("shot_cam", bpy.data.cameras.new("shot_cam"))
    camera.location = (0, 0, 3)
    scene.collection.objects.link(camera)
    scene.camera = camera
light = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
scene.collection.objects.link(light)
bpy.ops.wm.save_as_mainfile(filepath=out)
image.filepath = "//tex/colour.png"
bpy.ops.wm.save_as_mainfile(filepath=out)
