// The `blender` job type: a .blend scene rendered by the Blender found on the node.
#include "jobtypes/jobtype.h"
#include "jobtypes/schemafields.h"

namespace farm::server {

using namespace schema;

namespace {

// Fields without a default keep the scene's own value: the node's settings script changes
// only what the job sets.
QJsonObject blenderSchema()
{
    const QString scene = QStringLiteral("Leave empty to keep the scene's own value.");
    return object({
        {"render_engine",
         with(choice("Render engine", "Render", {"CYCLES", "BLENDER_EEVEE", "BLENDER_WORKBENCH"}),
              {{"description", scene}})},
        {"samples", with(integer("Samples", "Render", 1, 65536),
                         {{"description", "Cycles or Eevee samples per pixel. " + scene}})},
        {"denoise", with(field("boolean", "Denoise", "Render"),
                         {{"default", false},
                          {"description", "Cycles denoising, where the node's Blender has "
                                          "OpenImageDenoise (Debian's 3.4 has not: it is "
                                          "switched off there and the log says so)"}})},
        {"gpu_backend",
         with(choice("GPU backend", "Render", {"CUDA", "OPTIX", "HIP"}),
              {{"default", "CUDA"},
               {"description", "Cycles device type on a GPU slot; CPU slots render on the CPU"}})},
        {"width", with(integer("Width", "Output", 4, 16384),
                       {{"subtype", "pixels"}, {"description", scene}})},
        {"height", with(integer("Height", "Output", 4, 16384),
                        {{"subtype", "pixels"}, {"description", scene}})},
        {"resolution_percentage",
         with(integer("Resolution %", "Output", 1, 100), {{"description", scene}})},
        {"format",
         with(choice("Format", "Output", {"PNG", "JPEG", "OPEN_EXR"}), {{"default", "PNG"}})},
        {"camera", with(field("string", "Camera", "Scene"),
                        {{"maxLength", 63},
                         {"pattern", "[^/\\\\]{1,63}"},
                         {"description", "Name of the camera object to render from. " + scene}})},
    });
}

} // namespace

JobType blenderJobType()
{
    JobType t;
    t.name = "blender";
    t.label = "Blender scene";
    t.description = "A .blend file rendered by Blender on the node (Cycles, Eevee or Workbench), "
                    "frame by frame; textures and linked files travel in the bundle.";
    t.engine = "blender";
    t.extensions = {"blend"};
    // A scene may read any file (images, libraries, sounds, caches, fonts): Blender on the node
    // names what is missing.
    t.sideExtensions = {kAnySideFile};
    t.frames = true;
    t.schema = SettingsSchema(blenderSchema());
    t.compile = compileFrameChunks;
    return t;
}

} // namespace farm::server
