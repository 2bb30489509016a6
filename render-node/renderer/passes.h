#pragma once

#include "kernel/aov.h"
#include "scene.h"
#include "util/result.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <functional>

#include <vector>

namespace farm::render {

/// Output passes. `rgb` is the beauty image; the others come from the first hit of each
/// pixel centre (no anti-aliasing, so masks and coordinates stay exact).
enum Pass : unsigned {
    PassRgb = 1u << 0,
    PassDepth = 1u << 1,
    PassNormal = 1u << 2,
    PassAlbedo = 1u << 3,
    PassMask = 1u << 4,
    PassXyz = 1u << 5,
    PassInstance = 1u << 6,
};

/// Parses "rgb,depth,normal,albedo,mask,xyz,instance" (any subset, any order; "nocs" = "xyz").
Result<unsigned> parsePasses(const QString &text);

struct AovBuffers
{
    int width = 0;
    int height = 0;
    std::vector<AovSample> pixels;
};

/// NOCS frame of a scene: its bounding box centre and largest side.
NocsFrame nocsFrameFor(const Scene &scene);

/// First-hit data of every pixel (CPU, `threads` <= 0: every core).
AovBuffers renderAovs(const Scene &scene, const Camera &camera, int width, int height, int threads);

/// Writes the requested data passes next to `rgbPath` (frame_0001.png ->
/// frame_0001_depth.png, ...), returning (pass name, path) pairs written:
/// depth: 16-bit PNG (depth x depthScale: with the default 1000, millimetres for a model in
///        metres; 0 = background, clamped at 65535) and a float EXR (channel Z, scene units,
///        0 = background);
/// normal: 8-bit PNG, (n + 1) / 2; albedo: 8-bit sRGB PNG; mask: 8-bit PNG (255 = object);
/// The .npy v1.0 preamble (magic, version, padded header) for little-endian float32 data of
/// `shape`, a Python tuple such as "(480, 640, 3)"; the data follows it 64-byte aligned.
QByteArray npyFloat32Header(const QString &shape);

/// xyz: NOCS as float32 .npy (H x W x 3, 0 = background) and a 16-bit PNG;
/// instance: 16-bit grey PNG, 0 = background, k = mesh instance k - 1 (Scene::instances()),
///           clamped at 65535.
Result<QList<QPair<QString, QString>>> writePasses(const AovBuffers &aovs, unsigned passes,
                                                   const QString &rgbPath,
                                                   double depthScale = 1000.0);

/// File name of a pass: (pass name, file suffix) -> path.
using PassNaming = std::function<QString(const QString &pass, const QString &suffix)>;

/// frame_0001.png -> frame_0001_depth.png (the naming of the overload above).
PassNaming siblingNaming(const QString &rgbPath);
/// Template views: DIR/rgb_7.png, DIR/mask_7.png, DIR/xyz_7.npy, ...
PassNaming viewNaming(const QString &directory, int view);

/// The id -> (node, mesh) map of the instance pass as JSON:
/// {"background": 0, "instances": [{"id": 1, "node": "...", "mesh": "..."}, ...]}.
QByteArray instanceMapJson(const Scene &scene);

/// How the xyz pass is written: NOCS (float32 .npy + 16-bit PNG, 0 = background), or as
/// SAM-6D's templates hold it: model coordinates in model units as float16 .npy (H x W x 3),
/// -1 in every channel off the object, no PNG.
enum class XyzFormat { Nocs, ModelFloat16 };

Result<QList<QPair<QString, QString>>> writePasses(const AovBuffers &aovs, unsigned passes,
                                                   const PassNaming &naming, double depthScale,
                                                   XyzFormat xyz = XyzFormat::Nocs);

/// IEEE half precision of `v`, rounded to nearest even (overflow to infinity, NaN kept).
uint16_t toHalf(float v);

} // namespace farm::render
