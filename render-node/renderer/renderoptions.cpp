#include "renderoptions.h"

#include "previewwriter.h"

#include "scene.h"

#include <QFileInfo>
#include <QRegularExpression>

#include <cmath>
#include <optional>
#include <vector>

namespace farm::render {
namespace {

constexpr int kMinSide = 16;
constexpr qint64 kMaxSeed = qint64(1) << 31;
constexpr qint64 kMaxViews = 10000;

std::optional<qint64> parseInt(const QString &text, qint64 lo, qint64 hi)
{
    bool ok = false;
    const qint64 v = text.trimmed().toLongLong(&ok);
    if (!ok || v < lo || v > hi)
        return std::nullopt;
    return v;
}

/// Comma-separated finite floats; nullopt when any part is not one.
std::optional<std::vector<float>> parseFloats(const QString &text)
{
    std::vector<float> v;
    for (const QString &part : text.split(QLatin1Char(','))) {
        bool ok = false;
        const float f = part.trimmed().toFloat(&ok);
        if (!ok || !std::isfinite(f))
            return std::nullopt;
        v.push_back(f);
    }
    return v;
}

// How far a --pose rotation may be from orthonormal: enough for matrices printed with a few
// decimals, small enough that the image is not visibly sheared (the columns are used as given).
constexpr float kPoseTolerance = 1e-3f;

/// Reads a row-major camera-to-world 4x4 (OpenGL convention) into `rig`; returns the problem.
QString readPose(const QString &text, CameraRig &rig)
{
    const std::optional<std::vector<float>> m = parseFloats(text);
    if (!m || m->size() != 16)
        return QStringLiteral("--pose must be 16 comma-separated finite numbers (row-major "
                              "camera-to-world 4x4), got '%1'")
            .arg(text);
    const auto at = [&m](int row, int col) { return (*m)[size_t(row * 4 + col)]; };
    const auto column = [&at](int col) { return Vec3(at(0, col), at(1, col), at(2, col)); };
    if (std::fabs(at(3, 0)) > kPoseTolerance || std::fabs(at(3, 1)) > kPoseTolerance ||
        std::fabs(at(3, 2)) > kPoseTolerance || std::fabs(at(3, 3) - 1.f) > kPoseTolerance)
        return QStringLiteral("--pose: the last row must be 0,0,0,1");
    const Vec3 u = column(0), v = column(1), w = column(2);
    const bool unit = std::fabs(dot(u, u) - 1.f) <= kPoseTolerance &&
                      std::fabs(dot(v, v) - 1.f) <= kPoseTolerance &&
                      std::fabs(dot(w, w) - 1.f) <= kPoseTolerance;
    const bool orthogonal = std::fabs(dot(u, v)) <= kPoseTolerance &&
                            std::fabs(dot(u, w)) <= kPoseTolerance &&
                            std::fabs(dot(v, w)) <= kPoseTolerance;
    if (!unit || !orthogonal)
        return QStringLiteral("--pose: the rotation part (upper-left 3x3) must be orthonormal "
                              "(tolerance %1)")
            .arg(double(kPoseTolerance));
    if (dot(cross(u, v), w) < 0.f)
        return QStringLiteral("--pose: the rotation part must be a rotation (determinant +1), "
                              "not a reflection");
    rig.mode = CameraMode::Pose;
    rig.eye = column(3);
    rig.poseU = u;
    rig.poseV = v;
    rig.poseW = w;
    rig.target = rig.eye - w; // only for a well-defined look-at basis underneath
    rig.up = v;
    return {};
}

// The SAM-6D preset's defaults (docs/TEMPLATES.md): BlenderProc's image size; a few stratified
// samples anti-alias the edges, the point light needs no more (its shadows are exact).
constexpr int kPresetWidth = 512;
constexpr int kPresetHeight = 512;
constexpr int kPresetSpp = 16; // on edges; one pixel-centre sample elsewhere
constexpr int kPresetBounces = 0;

/// --preset: checks what cannot go with it and applies its defaults where nothing was given.
QString readPreset(const QCommandLineParser &p, CliOptions &o)
{
    bool ok = false;
    o.preset = parseTemplatePreset(p.value("preset"), &ok);
    if (!ok || o.preset == TemplatePreset::None)
        return QStringLiteral("--preset must be sam6d, got '%1'").arg(p.value("preset"));
    for (const char *option : {"frames", "turntable", "cycle", "look-at", "pose",
                               "camera-from-file", "ortho", "ortho-width", "fov", "env"}) {
        if (p.isSet(QLatin1String(option)))
            return QStringLiteral("--preset places its own cameras and light: it cannot be "
                                  "combined with --%1")
                .arg(QLatin1String(option));
    }
    if (p.isSet("views") && o.views != kSam6dViews)
        return QStringLiteral("--preset sam6d renders %1 views, got --views %2")
            .arg(kSam6dViews)
            .arg(o.views);
    if (p.isSet("bit-depth") && p.value("bit-depth").trimmed() != QLatin1String("8"))
        return QStringLiteral("--preset sam6d writes 8-bit images (its loader reads uint8)");
    if (isSupportedImagePath(o.output))
        return QStringLiteral("with --preset, -o names a directory, got '%1'").arg(o.output);
    o.views = kSam6dViews;
    o.passes |= PassRgb | PassMask | PassXyz;
    if (!p.isSet("size")) {
        o.width = kPresetWidth;
        o.height = kPresetHeight;
    }
    if (!p.isSet("spp"))
        o.spp = kPresetSpp;
    if (!p.isSet("bounces"))
        o.bounces = kPresetBounces;
    if (p.isSet("aa")) {
        const QString aa = p.value("aa").trimmed().toLower();
        if (aa != QLatin1String("adaptive") && aa != QLatin1String("uniform"))
            return QStringLiteral("--aa must be adaptive or uniform, got '%1'").arg(p.value("aa"));
        o.adaptiveAa = aa == QLatin1String("adaptive");
    }
    return {};
}

/// --noise-target / --time-limit (frames only: a template view's noise is its own matter).
QString readStopRule(const QCommandLineParser &p, CliOptions &o)
{
    if (p.isSet("views") || p.isSet("preset"))
        return QStringLiteral("--noise-target and --time-limit apply to frames, not to --views or "
                              "--preset");
    if (p.isSet("noise-target")) {
        bool ok = false;
        const double x = p.value("noise-target").toDouble(&ok);
        if (!ok || !(x > 0.0) || !(x < 1.0))
            return QStringLiteral("--noise-target must be above 0 and below 1, got '%1'")
                .arg(p.value("noise-target"));
        o.noiseTarget = x;
    }
    if (p.isSet("time-limit")) {
        bool ok = false;
        const double s = p.value("time-limit").toDouble(&ok);
        if (!ok || !(s > 0.0) || s > 86400.0)
            return QStringLiteral("--time-limit must be 0..86400 seconds (not 0), got '%1'")
                .arg(p.value("time-limit"));
        o.timeLimitS = s;
    }
    if (!p.isSet("spp"))
        o.spp = kMaxSpp; // the target decides; spp is only the ceiling
    return {};
}

} // namespace

QStringList withOptionalValues(const QStringList &args)
{
    static const QRegularExpression number(QStringLiteral("^\\d+$"));
    QStringList out;
    for (qsizetype i = 0; i < args.size(); ++i) {
        out.append(args[i]);
        if (args[i] == QLatin1String("--camera-from-file") &&
            (i + 1 == args.size() || !number.match(args[i + 1]).hasMatch()))
            out.append(QStringLiteral("0"));
    }
    return out;
}

QString applyFileCamera(const Scene &scene, CliOptions &o)
{
    const std::vector<SceneCamera> &cameras = scene.cameras();
    if (cameras.empty())
        return QStringLiteral("--camera-from-file: %1 holds no camera").arg(o.input);
    if (size_t(o.cameraFromFile) >= cameras.size())
        return QStringLiteral("--camera-from-file: camera %1 does not exist (%2 holds %3)")
            .arg(o.cameraFromFile)
            .arg(o.input)
            .arg(cameras.size());
    const SceneCamera &c = cameras[size_t(o.cameraFromFile)];
    const bool ortho = c.orthoHalfHeight > 0.f && std::isfinite(c.orthoHalfHeight);
    if (!ortho && !(c.fovYDegrees >= 1.f && c.fovYDegrees <= 170.f))
        return QStringLiteral("--camera-from-file: camera %1 ('%2') is degenerate or has a field "
                              "of view outside 1..170 degrees")
            .arg(o.cameraFromFile)
            .arg(c.name);
    o.rig.mode = CameraMode::Pose;
    o.rig.eye = c.position;
    o.rig.poseW = normalize(c.forward * -1.f);
    o.rig.poseV = c.up;
    o.rig.poseU = normalize(cross(c.up, o.rig.poseW));
    o.rig.target = c.position + c.forward;
    o.rig.up = c.up;
    if (ortho) { // glTF ymag: half the view height; the image's aspect gives the width
        o.rig.orthographic = true;
        o.rig.orthoWidth = 2.f * c.orthoHalfHeight * float(o.width) / float(o.height);
    } else {
        o.rig.fovYDegrees = c.fovYDegrees;
    }
    return {};
}

void addRenderOptions(QCommandLineParser &parser)
{
    parser.addOptions({
        {{"o", "output"}, "Output image; a run of # becomes the frame number.", "out"},
        {"root",
         "Bundle root: only files inside this folder are read (default: the model's folder).",
         "dir"},
        {"size", "Image size WxH (16..8192 each, default 640x480).", "WxH"},
        {"spp", "Samples per pixel (1..4096, default 16).", "n"},
        {"seed", "Random seed (0..2^31, default 1).", "n"},
        {"frames", "Frame range, e.g. 1-24 (default 1).", "range"},
        {"turntable", "Orbit the camera around the up axis over the cycle."},
        {"cycle", "Turntable cycle FIRST:COUNT (default: first frame and span of --frames).",
         "first:count"},
        {"threads", "CPU threads (0: every core, default).", "n"},
        {"device", "cpu or cuda (falls back to the CPU without a usable GPU).", "device"},
        {"passes",
         "Comma-separated outputs: rgb,depth,normal,albedo,mask,xyz,instance (default rgb).",
         "list"},
        {"depth-scale", "16-bit depth PNG value per scene unit (default 1000).", "s"},
        {"bounces", "Maximum path length in bounces (0..64, default 4).", "n"},
        {"bit-depth", "Bits per channel of PNG images: 8 (default) or 16.", "bits"},
        {"look-at", "Explicit camera: EX,EY,EZ,TX,TY,TZ[,UX,UY,UZ] in model units.", "pose"},
        {"pose",
         "Explicit camera: row-major camera-to-world 4x4 M00,M01,...,M33 (OpenGL convention: "
         "looks down -Z, +Y up).",
         "matrix"},
        {"camera-from-file",
         "Render from camera INDEX (default 0) stored in the model file (e.g. glTF cameras).",
         "index"},
        {"fov", "Vertical field of view in degrees (default 40).", "deg"},
        {"ortho", "Orthographic projection, its width fitted to the model."},
        {"ortho-width", "Orthographic projection with a view this wide (model units).", "w"},
        {"env", "Equirectangular environment map (.exr or .hdr) replacing the sky and sun.",
         "file"},
        {"env-intensity", "Scale of the environment map's radiance (default 1).", "x"},
        {"views",
         "Template set: N views over a sphere into directory OUT (rgb_N.png, mask_N.png, "
         "xyz_N.npy, ..., cameras.json, poses.npy, intrinsics.npy).",
         "n"},
        {"preset",
         "Template set laid out as a pose estimator reads it: sam6d (SAM-6D's 42 views, light, "
         "scale and files; OUT is its templates folder; default 512x512, 16 spp on edges, 0 "
         "bounces).",
         "name"},
        {"noise-target",
         "Stop each frame once its estimated RMSE (tone-mapped, 0..1) is at most X; --spp is "
         "the most samples (default then 4096).",
         "x"},
        {"time-limit",
         "Stop each frame after S seconds of rendering; --spp is the most samples (default then "
         "4096).",
         "s"},
        {"filter-width",
         "Pixel filter of frames: Blackman-Harris of radius W pixels, by importance sampling "
         "(default 1.5, as Blender Cycles; 0: the box filter, each sample inside its pixel). "
         "Template views (--views, --preset) always take the box.",
         "w"},
        {"aa",
         "With --preset: adaptive (default: one pixel-centre sample, --spp samples where "
         "neighbours show an edge) or uniform (--spp samples everywhere).",
         "mode"},
    });
    addPreviewOptions(parser);
}

QString readOptions(const QCommandLineParser &p, CliOptions &o)
{
    if (QString problem = readPreviewOptions(p, o.preview, o.previewIntervalS); !problem.isEmpty())
        return problem;
    const QStringList positional = p.positionalArguments();
    if (positional.size() != 1)
        return positional.isEmpty()
                   ? QStringLiteral("missing the model FILE")
                   : QStringLiteral("expected one model FILE, got %1").arg(positional.size());
    o.input = positional.first();
    if (p.isSet("root")) {
        o.root = p.value("root");
        if (!QFileInfo(o.root).isDir())
            return QStringLiteral("--root %1 is not a folder").arg(o.root);
    }
    o.output = p.value("o");
    if (o.output.isEmpty())
        return QStringLiteral("missing -o OUT");
    if (!p.isSet("views") && !p.isSet("preset") && !isSupportedImagePath(o.output))
        return QStringLiteral("output %1 must end in .png, .jpg or .jpeg").arg(o.output);

    if (p.isSet("size")) {
        static const QRegularExpression re(QStringLiteral("^(\\d{1,5})[xX](\\d{1,5})$"));
        const auto m = re.match(p.value("size").trimmed());
        const auto w =
            m.hasMatch() ? parseInt(m.captured(1), kMinSide, kMaxImageSide) : std::nullopt;
        const auto h =
            m.hasMatch() ? parseInt(m.captured(2), kMinSide, kMaxImageSide) : std::nullopt;
        if (!w || !h)
            return QStringLiteral("--size must be WxH with each side %1..%2, got '%3'")
                .arg(kMinSide)
                .arg(kMaxImageSide)
                .arg(p.value("size"));
        o.width = int(*w);
        o.height = int(*h);
    }
    if (p.isSet("spp")) {
        const auto spp = parseInt(p.value("spp"), 1, kMaxSpp);
        if (!spp)
            return QStringLiteral("--spp must be 1..%1, got '%2'").arg(kMaxSpp).arg(p.value("spp"));
        o.spp = int(*spp);
    }
    if (p.isSet("seed")) {
        const auto seed = parseInt(p.value("seed"), 0, kMaxSeed);
        if (!seed)
            return QStringLiteral("--seed must be 0..%1, got '%2'")
                .arg(kMaxSeed)
                .arg(p.value("seed"));
        o.seed = uint32_t(*seed);
    }
    if (p.isSet("frames")) {
        Result<FrameRange> frames = FrameRange::parse(p.value("frames"));
        if (!frames)
            return QStringLiteral("--frames: %1").arg(frames.error().message);
        if (frames->isEmpty())
            return QStringLiteral("--frames selects no frame");
        o.frames = *frames;
    }
    if (p.isSet("threads")) {
        const auto threads = parseInt(p.value("threads"), 0, 1024);
        if (!threads)
            return QStringLiteral("--threads must be 0..1024 (0: every core), got '%1'")
                .arg(p.value("threads"));
        o.threads = int(*threads);
    }
    if (p.isSet("passes")) {
        Result<unsigned> passes = parsePasses(p.value("passes"));
        if (!passes)
            return QStringLiteral("--passes: %1").arg(passes.error().message);
        o.passes = *passes;
    }
    if (p.isSet("views")) {
        const auto views = parseInt(p.value("views"), 1, kMaxViews);
        if (!views)
            return QStringLiteral("--views must be 1..%1, got '%2'")
                .arg(kMaxViews)
                .arg(p.value("views"));
        if (p.isSet("frames") || p.isSet("turntable") || p.isSet("cycle"))
            return QStringLiteral(
                "--views cannot be combined with --frames, --turntable or --cycle");
        if (isSupportedImagePath(o.output))
            return QStringLiteral("with --views, -o names a directory, got '%1'").arg(o.output);
        o.views = int(*views);
        if (!p.isSet("passes"))
            o.passes = PassRgb | PassMask | PassXyz; // a template set
    }
    if (p.isSet("preset")) {
        if (QString problem = readPreset(p, o); !problem.isEmpty())
            return problem;
    } else if (p.isSet("aa")) {
        return QStringLiteral("--aa applies to --preset template sets");
    }
    if (p.isSet("noise-target") || p.isSet("time-limit")) {
        if (QString problem = readStopRule(p, o); !problem.isEmpty())
            return problem;
    }
    if (p.isSet("filter-width")) {
        if (p.isSet("views") || p.isSet("preset"))
            return QStringLiteral("--filter-width applies to frames, not to --views or --preset");
        bool ok = false;
        const float w = p.value("filter-width").toFloat(&ok);
        if (!ok || !(w >= 0.f) || w > 8.f)
            return QStringLiteral("--filter-width must be 0..8 pixels, got '%1'")
                .arg(p.value("filter-width"));
        o.filterWidth = w;
    }
    if (p.isSet("bounces")) {
        const auto bounces = parseInt(p.value("bounces"), 0, 64);
        if (!bounces)
            return QStringLiteral("--bounces must be 0..64, got '%1'").arg(p.value("bounces"));
        o.bounces = int(*bounces);
    }
    if (p.isSet("env"))
        o.environment = p.value("env");
    if (p.isSet("env-intensity")) {
        bool ok = false;
        const float v = p.value("env-intensity").toFloat(&ok);
        if (!ok || !(v >= 0.f) || v > 1e6f)
            return QStringLiteral("--env-intensity must be 0..1e6, got '%1'")
                .arg(p.value("env-intensity"));
        o.environmentIntensity = v;
    }
    if (p.isSet("bit-depth")) {
        const QString v = p.value("bit-depth").trimmed();
        if (v != QLatin1String("8") && v != QLatin1String("16"))
            return QStringLiteral("--bit-depth must be 8 or 16, got '%1'").arg(v);
        o.bitDepth = v.toInt();
    }
    if (p.isSet("depth-scale")) {
        bool ok = false;
        const double scale = p.value("depth-scale").toDouble(&ok);
        if (!ok || !(scale > 0.0) || scale > 1e9)
            return QStringLiteral("--depth-scale must be a positive number, got '%1'")
                .arg(p.value("depth-scale"));
        o.depthScale = scale;
    }
    if (p.isSet("device")) {
        const QString d = p.value("device").trimmed().toLower();
        if (d != QLatin1String("cpu") && d != QLatin1String("cuda"))
            return QStringLiteral("--device must be cpu or cuda, got '%1'").arg(p.value("device"));
        o.device = d == QLatin1String("cuda") ? Device::Cuda : Device::Cpu;
    }

    o.rig.mode = p.isSet("turntable") ? CameraMode::Turntable : CameraMode::Still;
    if (p.isSet("fov")) {
        bool ok = false;
        const float fov = p.value("fov").toFloat(&ok);
        if (!ok || !(fov >= 1.f && fov <= 170.f))
            return QStringLiteral("--fov must be 1..170 degrees, got '%1'").arg(p.value("fov"));
        o.rig.fovYDegrees = fov;
    }
    if (p.isSet("look-at")) {
        const QStringList parts = p.value("look-at").split(QLatin1Char(','));
        std::vector<float> v;
        for (const QString &part : parts) {
            bool ok = false;
            const float f = part.trimmed().toFloat(&ok);
            if (!ok || !std::isfinite(f))
                break;
            v.push_back(f);
        }
        if (qsizetype(v.size()) != parts.size() || (v.size() != 6 && v.size() != 9))
            return QStringLiteral("--look-at must be EX,EY,EZ,TX,TY,TZ[,UX,UY,UZ], got '%1'")
                .arg(p.value("look-at"));
        if (p.isSet("turntable") || p.isSet("views"))
            return QStringLiteral("--look-at cannot be combined with --turntable or --views");
        o.rig.mode = CameraMode::LookAt;
        o.rig.eye = Vec3(v[0], v[1], v[2]);
        o.rig.target = Vec3(v[3], v[4], v[5]);
        if (v.size() == 9)
            o.rig.up = Vec3(v[6], v[7], v[8]);
        if (length(o.rig.eye - o.rig.target) <= 0.f || length(o.rig.up) <= 0.f)
            return QStringLiteral("--look-at needs distinct eye and target and a non-zero up");
    }
    if (p.isSet("pose")) {
        if (p.isSet("look-at") || p.isSet("turntable") || p.isSet("views"))
            return QStringLiteral("--pose cannot be combined with --look-at, --turntable or "
                                  "--views");
        if (const QString problem = readPose(p.value("pose"), o.rig); !problem.isEmpty())
            return problem;
    }
    if (p.isSet("camera-from-file")) {
        const auto index = parseInt(p.value("camera-from-file"), 0, 100000);
        if (!index)
            return QStringLiteral("--camera-from-file takes a camera index 0..100000, got '%1'")
                .arg(p.value("camera-from-file"));
        if (p.isSet("look-at") || p.isSet("pose") || p.isSet("turntable") || p.isSet("views") ||
            p.isSet("fov"))
            return QStringLiteral("--camera-from-file cannot be combined with --look-at, --pose, "
                                  "--turntable, --views or --fov");
        o.cameraFromFile = int(*index);
    }
    if (p.isSet("ortho") || p.isSet("ortho-width")) {
        if (p.isSet("views") || p.isSet("camera-from-file") || p.isSet("fov"))
            return QStringLiteral("--ortho/--ortho-width cannot be combined with --views, "
                                  "--camera-from-file or --fov");
        o.rig.orthographic = true;
        if (p.isSet("ortho-width")) {
            bool ok = false;
            const float w = p.value("ortho-width").toFloat(&ok);
            if (!ok || !std::isfinite(w) || !(w > 0.f) || w > 1e9f)
                return QStringLiteral("--ortho-width must be a positive number, got '%1'")
                    .arg(p.value("ortho-width"));
            o.rig.orthoWidth = w;
        }
    }
    o.rig.cycleFirst = o.frames.frames().first();
    o.rig.cycleCount = o.frames.frames().last() - o.frames.frames().first() + 1;
    if (p.isSet("cycle")) {
        const QStringList parts = p.value("cycle").split(QLatin1Char(':'));
        const auto first =
            parts.size() == 2 ? parseInt(parts[0], 0, FrameRange::kMaxFrameNumber) : std::nullopt;
        const auto count =
            parts.size() == 2 ? parseInt(parts[1], 1, FrameRange::kMaxFrameNumber) : std::nullopt;
        if (!first || !count)
            return QStringLiteral("--cycle must be FIRST:COUNT with COUNT >= 1, got '%1'")
                .arg(p.value("cycle"));
        o.rig.cycleFirst = int(*first);
        o.rig.cycleCount = int(*count);
    }
    return {};
}

} // namespace farm::render
