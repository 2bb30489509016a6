#include "farmhandengine.h"

#include "protocol/states.h"
#include "renderer/childprotocol.h"

#include <QDir>

namespace farm::node {

namespace {

bool isTemplates(const TaskSpec &spec)
{
    return spec.type == QLatin1String("templates");
}

class FarmhandReader : public ChildOutputReader
{
public:
    explicit FarmhandReader(int spp)
        : m_spp(spp)
    {}

    QList<ChildEvent> translate(const QString &line, Stream stream) override
    {
        if (stream == Stream::Stderr)
            return {line.startsWith("error:") ? ChildEvent::error(line) : ChildEvent::log(line)};
        using Kind = childprotocol::ChildLine::Kind;
        const childprotocol::ChildLine parsed = childprotocol::parseLine(line);
        ChildEvent e;
        e.frame = parsed.frame;
        e.path = parsed.path; // empty when malformed: the node then refuses the output
        e.text = line;
        switch (parsed.kind) {
        case Kind::Progress:
            return {ChildEvent::progress(parsed.fraction, parsed.frame)};
        case Kind::Frame:
            e.kind = ChildEvent::Kind::Frame;
            return {e};
        case Kind::Output:
            e.kind = ChildEvent::Kind::Output;
            e.pass = parsed.pass;
            return {e};
        case Kind::Cameras:
            e.kind = ChildEvent::Kind::Cameras;
            return {e};
        case Kind::Preview:
            e.kind = ChildEvent::Kind::Preview;
            e.samples = parsed.samples;
            e.spp = m_spp;
            return {e};
        case Kind::Malformed:
            if (line.startsWith(childprotocol::kFrame) || line.startsWith(childprotocol::kOutput) ||
                line.startsWith(childprotocol::kCameras)) {
                e.kind = line.startsWith(childprotocol::kFrame)    ? ChildEvent::Kind::Frame
                         : line.startsWith(childprotocol::kOutput) ? ChildEvent::Kind::Output
                                                                   : ChildEvent::Kind::Cameras;
                e.path.clear();
                return {e};
            }
            if (line.startsWith(childprotocol::kPreview))
                return {ChildEvent::log("ignoring an unusable preview line: '" + line + "'")};
            return {ChildEvent::log(line)};
        case Kind::None:
            break;
        }
        return {line.startsWith("error:") ? ChildEvent::error(line) : ChildEvent::log(line)};
    }

private:
    int m_spp;
};

} // namespace

FarmhandEngine::FarmhandEngine(QString program, QList<GpuInfo> gpus)
    : m_program(std::move(program))
    , m_gpus(std::move(gpus))
{}

EngineDetection FarmhandEngine::detect()
{
    EngineDetection d;
    // The program is this node's own binary; whether it starts shows per task.
    d.available = !m_program.isEmpty();
    d.reason = d.available ? QString() : QStringLiteral("no render program configured");
    d.version = QString::fromLatin1(kFarmVersion);
    d.devices = {QStringLiteral("CPU")};
    for (const GpuInfo &gpu : m_gpus)
        d.devices.append("CUDA: " + gpu.name);
    return d;
}

Result<void> FarmhandEngine::check(const TaskSpec &spec) const
{
    if (spec.type != "model" && spec.type != "templates")
        return makeError("unsupported",
                         QString("engine farmhand does not render '%1' tasks").arg(spec.type));
    auto s = RenderSettings::fromJson(spec.settings);
    if (!s)
        return makeError(s.error().code, "task.assign." + s.error().message);
    if (isTemplates(spec) &&
        (s->views < 1 || s->cameraMode != "still" || s->projection != "perspective"))
        return makeError("invalid_field", "task.assign.settings: a templates task needs views and "
                                          "a still camera with perspective projection");
    if (!isTemplates(spec) && s->preset != QLatin1String("none"))
        return makeError("invalid_field", "task.assign.settings.preset applies only to templates");
    if (!isTemplates(spec) && s->views != 0)
        return makeError("invalid_field", "task.assign.settings.views applies only to templates");
    return {};
}

Result<EngineLaunch> FarmhandEngine::launch(const LaunchContext &context) const
{
    const TaskSpec &spec = context.spec;
    auto settings = RenderSettings::fromJson(spec.settings);
    if (!settings)
        return settings.error();
    const QDir work(context.workDir);
    EngineLaunch l;
    l.program = m_program;
    l.workDir = context.workDir;
    // A template set writes into a directory (rgb_N.png, ..., cameras.json): the workdir.
    const QString output =
        isTemplates(spec) ? work.absolutePath() + '/' : work.filePath("frame_####.png");
    l.arguments = renderArguments(spec, *settings, context.mainFile, output, context.threads);
    // The slot decides the device; the preview file is replaced in place, never announced as
    // an output.
    // The renderer reads no file outside the bundle (a texture "../../x.png" is refused).
    l.arguments << "--root" << work.filePath("input")                    //
                << "--device" << (context.slot.isGpu() ? "cuda" : "cpu") //
                << "--preview" << work.filePath("preview.jpg") << "--preview-interval"
                << QString::number(kChildPreviewIntervalS);
    if (context.slot.isGpu())
        l.environment.insert("CUDA_VISIBLE_DEVICES", context.slot.cudaDevice);
    // The renderer's malloc settings, read only at process start: given here, the child need
    // not start itself again to get them (childprotocol.h).
    l.environment.insert(childprotocol::kMallocTunablesVariable,
                         childprotocol::childMallocTunables(
                             qEnvironmentVariable(childprotocol::kMallocTunablesVariable)));
    const bool sam6d = settings->preset == QLatin1String("sam6d");
    l.expectedFrames = !isTemplates(spec) ? int(spec.frames.size())
                       : sam6d            ? kSam6dTemplateViews
                                          : settings->views;
    l.unit = isTemplates(spec) ? QStringLiteral("views") : QStringLiteral("frames");
    l.expectsCameraFiles = isTemplates(spec);
    return l;
}

std::unique_ptr<ChildOutputReader> FarmhandEngine::reader(const TaskSpec &spec) const
{
    auto settings = RenderSettings::fromJson(spec.settings);
    return std::make_unique<FarmhandReader>(settings ? settings->spp : 0);
}

QStringList FarmhandEngine::renderArguments(const TaskSpec &spec, const RenderSettings &settings,
                                            const QString &inputPath, const QString &output,
                                            int threads)
{
    QStringList args{"render", inputPath, "-o", output};
    // A template set places its own cameras: --frames/--turntable cannot go with --views.
    if (isTemplates(spec) && settings.preset != QLatin1String("none"))
        args << "--preset" << settings.preset; // places its own views (docs/TEMPLATES.md)
    else if (isTemplates(spec))
        args << "--views" << QString::number(settings.views);
    else
        args << "--frames" << spec.frames.toString();
    args << "--size" << QString("%1x%2").arg(settings.width).arg(settings.height) //
         << "--spp" << QString::number(settings.spp)                              //
         << "--seed" << QString::number(settings.seed)                            //
         << "--threads" << QString::number(threads)                               //
         << "--passes" << settings.passes.join(',')                               //
         << "--bit-depth" << QString::number(settings.bitDepth);
    if (!isTemplates(spec) && settings.noiseTarget > 0.0)
        args << "--noise-target" << QString::number(settings.noiseTarget, 'g', 17);
    if (!isTemplates(spec) && settings.timeLimitS > 0.0)
        args << "--time-limit" << QString::number(settings.timeLimitS, 'g', 17);
    if (!isTemplates(spec) && settings.projection == "orthographic") {
        if (settings.orthoWidth > 0.0)
            args << "--ortho-width" << QString::number(settings.orthoWidth, 'g', 17);
        else
            args << "--ortho";
    }
    if (!isTemplates(spec) && settings.cameraMode == "turntable") {
        // The renderer places frame f at (f - FIRST) / COUNT of a turn, so COUNT is the span of
        // the job's range: a stepped range ("1-24:2") still makes one full turn.
        const int first = spec.jobFrames.frames().first();
        const int span = spec.jobFrames.frames().last() - first + 1;
        args << "--turntable"
             << "--cycle" << QString("%1:%2").arg(first).arg(span);
    }
    return args;
}

} // namespace farm::node
