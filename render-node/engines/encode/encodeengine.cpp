#include "encodeengine.h"

#include "renderer/childprotocol.h"
#include "video/videoencoder.h"
#include "video/videosettings.h"

#include <QCoreApplication>
#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>

#include <algorithm>

namespace farm::node {

namespace {

const QStringList kImageExtensions{"png", "jpg", "jpeg"};

class EncodeReader : public ChildOutputReader
{
public:
    QList<ChildEvent> translate(const QString &line, Stream stream) override
    {
        if (stream == Stream::Stderr)
            return {line.startsWith("error:") ? ChildEvent::error(line) : ChildEvent::log(line)};
        const childprotocol::ChildLine parsed = childprotocol::parseLine(line);
        using Kind = childprotocol::ChildLine::Kind;
        if (parsed.kind == Kind::Progress)
            return {ChildEvent::progress(parsed.fraction, parsed.frame)};
        if (parsed.kind == Kind::Frame ||
            (parsed.kind == Kind::Malformed && line.startsWith(childprotocol::kFrame))) {
            ChildEvent e{ChildEvent::Kind::Frame};
            e.frame = parsed.frame;
            e.path = parsed.path; // empty when malformed: the node refuses it
            e.text = line;
            return {e};
        }
        return {ChildEvent::log(line)};
    }
};

// NVENC is a property of the GPU and its driver: open a tiny H.264 encoder to find out.
bool nvencOpens()
{
    video::EncoderConfig c;
    c.width = 256;
    c.height = 256;
    c.gpuSlot = true;
    const QString path = QDir::temp().filePath(
        QString("farmhand-nvenc-probe-%1.mp4").arg(QCoreApplication::applicationPid()));
    auto writer = video::MediaWriter::create(path);
    if (!writer)
        return false;
    auto encoder = video::VideoEncoder::open(c, **writer);
    return encoder && (*encoder)->encoderName().endsWith("_nvenc");
}

} // namespace

EncodeEngine::EncodeEngine(QString program, QList<GpuInfo> gpus)
    : m_program(std::move(program))
    , m_gpus(std::move(gpus))
{}

EngineDetection EncodeEngine::detect()
{
    EngineDetection d;
    d.devices = video::availableCodecs();
    if (!m_gpus.isEmpty() && video::hasEncoder("h264_nvenc"))
        d.devices.append(nvencOpens() ? QStringLiteral("NVENC (h264_nvenc, hevc_nvenc)")
                                      : QStringLiteral("no NVENC (h264_nvenc does not open)"));
    d.available = !m_program.isEmpty() && !d.devices.isEmpty();
    d.reason = m_program.isEmpty() ? QStringLiteral("no render program configured")
                                   : QStringLiteral("this libavcodec has none of the encoders");
    d.version = QString::fromLatin1(LIBAVCODEC_IDENT);
    return d;
}

QStringList EncodeEngine::framePaths(const TaskSpec &spec)
{
    static const QRegularExpression number(QStringLiteral("(\\d+)\\.[A-Za-z]+$"));
    struct Entry
    {
        QString path;
        qint64 frame;
    };
    QList<Entry> entries;
    bool numbered = true;
    for (const BundleFile &f : spec.files) {
        if (!kImageExtensions.contains(f.path.section('.', -1).toLower()))
            continue;
        const auto m = number.match(f.path.section('/', -1));
        numbered = numbered && m.hasMatch();
        entries.append({f.path, m.hasMatch() ? m.captured(1).toLongLong() : 0});
    }
    std::stable_sort(entries.begin(), entries.end(), [numbered](const Entry &a, const Entry &b) {
        return numbered && a.frame != b.frame ? a.frame < b.frame : a.path < b.path;
    });
    QStringList out;
    for (const Entry &e : entries)
        out.append(e.path);
    return out;
}

Result<void> EncodeEngine::check(const TaskSpec &spec) const
{
    if (spec.type != "encode")
        return makeError("unsupported",
                         QString("engine encode does not run '%1' tasks").arg(spec.type));
    auto s = video::VideoSettings::fromJson(spec.settings);
    if (!s)
        return makeError(s.error().code, "task.assign." + s.error().message);
    if (framePaths(spec).isEmpty())
        return makeError("invalid_input", QString("the task's input holds no frames (.%1 files)")
                                              .arg(kImageExtensions.join(", .")));
    return {};
}

Result<EngineLaunch> EncodeEngine::launch(const LaunchContext &context) const
{
    auto settings = video::VideoSettings::fromJson(context.spec.settings);
    if (!settings)
        return settings.error();
    const QDir work(context.workDir);
    QJsonArray frames;
    for (const QString &p : framePaths(context.spec))
        frames.append(work.filePath("input/" + p));
    const QJsonObject task{{"settings", settings->toJson()},
                           {"frames", frames},
                           {"output", work.filePath(settings->output)},
                           {"gpu", context.slot.isGpu()},
                           {"threads", context.threads}};
    EngineLaunch l;
    l.program = m_program;
    l.workDir = context.workDir;
    l.arguments = {"encode", "encode.json"};
    l.files.append({"encode.json", QJsonDocument(task).toJson(QJsonDocument::Compact)});
    if (context.slot.isGpu())
        l.environment.insert("CUDA_VISIBLE_DEVICES", context.slot.cudaDevice);
    l.expectedFrames = 1; // the video
    l.unit = QStringLiteral("videos");
    return l;
}

std::unique_ptr<ChildOutputReader> EncodeEngine::reader(const TaskSpec &) const
{
    return std::make_unique<EncodeReader>();
}

} // namespace farm::node
