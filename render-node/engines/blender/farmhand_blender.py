# Farmhand's settings script for Blender (render-node/engines/blender). The node runs
#   blender --factory-startup -b MAIN.blend --python-exit-code 2 -P farmhand_blender.py -- TASK.json
# in the task's work directory. It applies only the settings the task names, checks that every
# file the scene needs is there, renders the task's frames one by one into frame_NNNN.<ext> and
# announces each with the node's FRAME line. Anything wrong ends with an "Error: ..." line (the
# node makes the first one the task's error) and a non-zero exit code, before anything renders.
import json
import os
import sys
import time

import bpy

EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "OPEN_EXR": "exr"}


class TaskError(Exception):
    pass


def note(message):
    print("farmhand: " + message, flush=True)


def read_task():
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    if len(argv) != 1:
        raise TaskError("the settings script needs one argument: the task's JSON file")
    with open(argv[0], encoding="utf-8") as f:
        return json.load(f)


def external_files():
    """(datablock label, path as stored, resolved path) of every file the scene reads from disk."""
    def used(block):
        return block.users > 0

    for lib in bpy.data.libraries:
        if lib.packed_file is None:
            yield "library " + lib.name, lib.filepath, bpy.path.abspath(lib.filepath)
    for img in bpy.data.images:
        if img.source not in {"FILE", "SEQUENCE", "MOVIE", "TILED"} or not used(img):
            continue
        if img.packed_file is not None or len(img.packed_files) > 0 or not img.filepath:
            continue
        path = bpy.path.abspath(img.filepath, library=img.library)
        if img.source == "TILED" and "<UDIM>" in path:
            # A tiled image is there when every tile is.
            for tile in img.tiles:
                tile_path = path.replace("<UDIM>", str(tile.number))
                yield "image " + img.name, img.filepath.replace("<UDIM>", str(tile.number)), tile_path
            continue
        yield "image " + img.name, img.filepath, path
    for group, blocks in (("sound", bpy.data.sounds), ("movie clip", bpy.data.movieclips),
                          ("volume", bpy.data.volumes), ("font", bpy.data.fonts),
                          ("cache file", bpy.data.cache_files)):
        for block in blocks:
            filepath = getattr(block, "filepath", "")
            if not used(block) or not filepath or filepath == "<builtin>":
                continue
            if getattr(block, "packed_file", None) is not None:
                continue
            yield group + " " + block.name, filepath, bpy.path.abspath(filepath, library=block.library)


def check_files(main_name):
    missing = []
    for label, stored, resolved in external_files():
        if not os.path.exists(resolved) and stored not in missing:
            note("missing: %s (%s) at %s" % (stored, label, resolved))
            missing.append(stored)
    if missing:
        raise TaskError("%s needs %s, which %s not sent" % (
            main_name, ", ".join(missing), "was" if len(missing) == 1 else "were"))


def cycles_devices(scene, task):
    """CPU on a CPU slot; on a GPU slot every device of the chosen backend (the node's
    CUDA_VISIBLE_DEVICES leaves only the slot's GPU), the CPU when there is none."""
    if task.get("device") != "GPU":
        scene.cycles.device = "CPU"
        return
    backend = task.get("gpu_backend") or "CUDA"
    prefs = bpy.context.preferences.addons["cycles"].preferences
    try:
        prefs.compute_device_type = backend
    except TypeError:
        note("note: %s unavailable (this Blender has no %s backend), rendering on the CPU" %
             (backend, backend))
        scene.cycles.device = "CPU"
        return
    prefs.get_devices()
    gpus = [d for d in prefs.devices if d.type == backend]
    for d in prefs.devices:
        d.use = d.type == backend
    if not gpus:
        note("note: %s unavailable (no device found), rendering on the CPU" % backend)
        prefs.compute_device_type = "NONE"
        scene.cycles.device = "CPU"
        return
    scene.cycles.device = "GPU"
    note("rendering on %s: %s" % (backend, ", ".join(d.name for d in gpus)))


def apply_settings(scene, task):
    s = task.get("settings", {})
    r = scene.render
    if "render_engine" in s:
        r.engine = s["render_engine"]
    if "camera" in s:
        cam = bpy.data.objects.get(s["camera"])
        if cam is None or cam.type != "CAMERA":
            raise TaskError("settings.camera names '%s', which is not a camera object in the "
                            "scene (cameras: %s)" % (s["camera"], ", ".join(
                                o.name for o in bpy.data.objects if o.type == "CAMERA") or "none"))
        scene.camera = cam
    if scene.camera is None:
        raise TaskError("scene '%s' has no active camera: set one in the .blend or name one in "
                        "settings.camera" % scene.name)
    if "width" in s:
        r.resolution_x = s["width"]
    if "height" in s:
        r.resolution_y = s["height"]
    if "resolution_percentage" in s:
        r.resolution_percentage = s["resolution_percentage"]
    if "samples" in s:
        if r.engine == "CYCLES":
            scene.cycles.samples = s["samples"]
        elif r.engine == "BLENDER_EEVEE":
            scene.eevee.taa_render_samples = s["samples"]
        else:
            note("samples do not apply to %s; ignored" % r.engine)
    if r.engine == "CYCLES":
        cycles_devices(scene, task)
        import _cycles
        if "denoise" in s:
            scene.cycles.use_denoising = bool(s["denoise"])
        if scene.cycles.use_denoising and not _cycles.with_openimagedenoise:
            scene.cycles.use_denoising = False
            note("denoising turned off: this Blender is built without OpenImageDenoise")
        for layer in scene.view_layers:
            if layer.cycles.denoising_store_passes and not _cycles.with_openimagedenoise:
                layer.cycles.denoising_store_passes = False
    fmt = s.get("format", "PNG")
    r.image_settings.file_format = fmt
    r.use_file_extension = False
    threads = task.get("threads", 0)
    if threads > 0:
        r.threads_mode = "FIXED"
        r.threads = threads
    return EXTENSIONS[fmt]


def render(scene, task, extension):
    frames = task["frames"]
    protocol = task["protocol"]
    out_dir = task["output_dir"]
    note("rendering %d frame(s) of scene '%s' with %s from camera '%s' at %dx%d (%d%%)" % (
        len(frames), scene.name, scene.render.engine, scene.camera.name,
        scene.render.resolution_x, scene.render.resolution_y,
        scene.render.resolution_percentage))
    for frame in frames:
        started = time.monotonic()
        scene.frame_set(frame)
        path = os.path.join(out_dir, "frame_%04d.%s" % (frame, extension))
        scene.render.filepath = path
        bpy.ops.render.render(write_still=True, scene=scene.name)
        if not os.path.isfile(path):
            raise TaskError("Blender wrote no image for frame %d" % frame)
        note("frame %d rendered in %.1f s" % (frame, time.monotonic() - started))
        print("%s %d %s" % (protocol["frame"], frame, path), flush=True)


def main():
    task = read_task()
    scene = bpy.context.scene
    main_name = task.get("main_name", "the .blend file")
    if not bpy.data.filepath:
        raise TaskError("Blender could not open %s" % main_name)
    check_files(main_name)
    extension = apply_settings(scene, task)
    render(scene, task, extension)


try:
    main()
except TaskError as e:
    print("Error: %s" % e, flush=True)
    sys.exit(3)
