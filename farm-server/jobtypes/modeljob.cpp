// The `model` job type: a 3D file rendered by the built-in renderer, frame by frame.
#include "jobtypes/jobtype.h"
#include "jobtypes/schemafields.h"

namespace farm::server {

using namespace schema;

namespace {

QJsonObject modelSchema()
{
    const QJsonObject passes =
        with(field("array", "Passes", "Passes"),
             {{"items", QJsonObject{{"type", "string"},
                                    {"enum", QJsonArray::fromStringList(kRenderPasses)}}},
              {"minItems", 1},
              {"uniqueItems", true},
              {"default", QJsonArray{"rgb"}},
              {"description", "Images written per frame: rgb, depth (16-bit PNG + EXR), normal, "
                              "albedo, object mask, NOCS (xyz) and instance ids"}});
    const QJsonObject camera = object(
        {{"mode",
          with(choice("Camera", "Camera", {"still", "turntable"}),
               {{"default", "still"},
                {"description", "still: one view; turntable: a full turn over the frames"}})},
         {"projection", with(choice("Projection", "Camera", {"perspective", "orthographic"}),
                             {{"default", "perspective"}})},
         {"ortho_width",
          with(field("number", "View width", "Camera"),
               {{"minimum", 0},
                {"maximum", 1e9},
                {"default", 0},
                {"visible_when", QJsonObject{{"projection", QJsonArray{"orthographic"}}}},
                {"description",
                 "Width of the orthographic view in model units; 0 fits the model"}})}},
        QJsonObject{{"type", "object"}, {"label", "Camera"}, {"group", "Camera"}});
    return object({
        {"width",
         with(integer("Width", "Output", 16, 8192), {{"default", 640}, {"subtype", "pixels"}})},
        {"height",
         with(integer("Height", "Output", 16, 8192), {{"default", 480}, {"subtype", "pixels"}})},
        {"spp",
         with(integer("Samples per pixel", "Quality", 1, 4096),
              {{"default", 16}, {"description", "More samples: less noise, longer frames"}})},
        {"seed", with(integer("Seed", "Quality", 0, 2147483647), {{"default", 1}})},
        {"noise_target",
         with(field("number", "Noise target", "Quality"),
              {{"minimum", 0},
               {"maximum", kMaxNoiseTarget},
               {"default", 0},
               {"description", "Stop a frame once its estimated RMSE (0..1 of the image's "
                               "range, e.g. 0.01) is this low; spp is then the most samples. "
                               "0: off. The estimate is shown in the task log"}})},
        {"time_limit_s",
         with(field("number", "Time limit per frame (s)", "Quality"),
              {{"minimum", 0},
               {"maximum", kMaxFrameTimeLimitS},
               {"default", 0},
               {"description", "Stop a frame after this many seconds of rendering; spp is then "
                               "the most samples. 0: off"}})},
        {"camera", camera},
        {"passes", passes},
        {"bit_depth", with(field("integer", "Bits per channel", "Output"),
                           {{"enum", QJsonArray{8, 16}}, {"default", 8}})},
        {"format", with(choice("Format", "Output", {"png"}), {{"default", "png"}})},
    });
}

} // namespace

JobType modelJobType()
{
    JobType t;
    t.name = "model";
    t.label = "3D model";
    t.description = "A model file rendered by the built-in path tracer: a still, a turntable, "
                    "with optional data passes.";
    t.engine = "farmhand";
    // Formats Assimp reads that artists send; .blend goes to the blender type.
    // .zae is zipped COLLADA (a .dae with its textures in one archive).
    t.extensions = {"glb", "gltf", "obj", "fbx", "dae", "zae",  "ply", "stl", "off", "3mf",
                    "3ds", "x",    "lwo", "ase", "ac",  "ms3d", "x3d", "amf", "ogex"};
    // What model files reference: glTF buffers, OBJ materials, textures (docs/JOBTYPES.md,
    // "Side files"). The renderer reads the images Qt reads (PNG, JPEG, BMP, GIF, PPM/PGM/PBM);
    // the others travel so that the reference is met, and render in the material's colour.
    t.sideExtensions = {"bin",  "mtl", "png", "jpg", "jpeg", "bmp", "gif", "tga", "tif", "tiff",
                        "webp", "exr", "hdr", "ktx", "ktx2", "dds", "psd", "ppm", "pgm", "pbm"};
    t.frames = true;
    t.schema = SettingsSchema(modelSchema());
    t.compile = compileFrameChunks;
    return t;
}

} // namespace farm::server
