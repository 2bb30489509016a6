#include "renderoptions.h"

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

} // namespace

void addRenderOptions(QCommandLineParser &parser)
{
    parser.addOptions({
        {{"o", "output"}, "Output image; a run of # becomes the frame number.", "out"},
        {"size", "Image size WxH (16..8192 each, default 640x480).", "WxH"},
        {"spp", "Samples per pixel (1..4096, default 16).", "n"},
        {"seed", "Random seed (0..2^31, default 1).", "n"},
        {"frames", "Frame range, e.g. 1-24 (default 1).", "range"},
        {"turntable", "Orbit the camera around the up axis over the cycle."},
        {"cycle", "Turntable cycle FIRST:COUNT (default: first frame and span of --frames).",
         "first:count"},
        {"threads", "CPU threads (0: every core, default).", "n"},
        {"device", "cpu or cuda (falls back to the CPU without a usable GPU).", "device"},
        {"passes", "Comma-separated outputs: rgb,depth,normal,albedo,mask,xyz (default rgb).",
         "list"},
        {"depth-scale", "16-bit depth PNG value per scene unit (default 1000).", "s"},
        {"bounces", "Maximum path length in bounces (0..64, default 4).", "n"},
        {"bit-depth", "Bits per channel of PNG images: 8 (default) or 16.", "bits"},
        {"look-at", "Explicit camera: EX,EY,EZ,TX,TY,TZ[,UX,UY,UZ] in model units.", "pose"},
        {"fov", "Vertical field of view in degrees (default 40).", "deg"},
        {"env", "Equirectangular environment map (.exr or .hdr) replacing the sky and sun.",
         "file"},
        {"env-intensity", "Scale of the environment map's radiance (default 1).", "x"},
        {"views",
         "Template set: N views over a sphere into directory OUT (rgb_N.png, mask_N.png, "
         "xyz_N.npy, ..., cameras.json, poses.npy, intrinsics.npy).",
         "n"},
    });
}

QString readOptions(const QCommandLineParser &p, CliOptions &o)
{
    const QStringList positional = p.positionalArguments();
    if (positional.size() != 1)
        return positional.isEmpty()
                   ? QStringLiteral("missing the model FILE")
                   : QStringLiteral("expected one model FILE, got %1").arg(positional.size());
    o.input = positional.first();
    o.output = p.value("o");
    if (o.output.isEmpty())
        return QStringLiteral("missing -o OUT");
    if (!p.isSet("views") && !isSupportedImagePath(o.output))
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
