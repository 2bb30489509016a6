#include "blenderengine.h"

#include "renderer/childprotocol.h"
#include "util/json.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>

namespace farm::node {

namespace {

constexpr int kVersionTimeoutMs = 30000;

const QStringList kEngines{"CYCLES", "BLENDER_EEVEE", "BLENDER_WORKBENCH"};
const QStringList kBackends{"CUDA", "OPTIX", "HIP"};
const QStringList kFormats{"PNG", "JPEG", "OPEN_EXR"};

/// Blender's own output: status lines carry the frame ("Fra:12 ... | Sample 3/32" from
/// Cycles, "... | Rendering 3 / 16 samples" from Eevee), errors start with "Error:", and a
/// Python traceback ends with the exception's line.
class BlenderReader : public ChildOutputReader
{
public:
    explicit BlenderReader(QList<int> frames)
        : m_frames(std::move(frames))
    {}

    QList<ChildEvent> translate(const QString &line, Stream) override
    {
        static const QRegularExpression status(QStringLiteral("^Fra:(-?\\d+)\\s"));
        static const QRegularExpression cyclesSample(QStringLiteral("\\|\\s*Sample (\\d+)/(\\d+)"));
        static const QRegularExpression eeveeSample(
            QStringLiteral("Rendering (\\d+) / (\\d+) samples"));

        if (const auto m = status.match(line); m.hasMatch()) {
            // A status line per sample would flood the log: they only move the progress bar.
            const int frame = m.captured(1).toInt();
            m_index = std::max<qsizetype>(m_frames.indexOf(frame), 0);
            auto sample = cyclesSample.match(line);
            if (!sample.hasMatch())
                sample = eeveeSample.match(line);
            if (!sample.hasMatch())
                return {};
            const double done = sample.captured(1).toDouble();
            const double total = sample.captured(2).toDouble();
            if (total <= 0.0 || m_frames.isEmpty())
                return {};
            const double share = std::clamp(done / total, 0.0, 1.0);
            return {
                ChildEvent::progress((double(m_index) + share) / double(m_frames.size()), frame)};
        }

        const childprotocol::ChildLine parsed = childprotocol::parseLine(line);
        if (parsed.kind == childprotocol::ChildLine::Kind::Frame ||
            (parsed.kind == childprotocol::ChildLine::Kind::Malformed &&
             line.startsWith(childprotocol::kFrame))) {
            ChildEvent e{ChildEvent::Kind::Frame, line};
            e.frame = parsed.frame;
            e.path = parsed.path;
            const qsizetype index = m_frames.indexOf(parsed.frame);
            if (index < 0 || m_frames.isEmpty())
                return {e};
            return {
                e, ChildEvent::progress(double(index + 1) / double(m_frames.size()), parsed.frame)};
        }

        if (line.startsWith(QLatin1String("Traceback (most recent call last)"))) {
            m_inTraceback = true;
            return {ChildEvent::log(line)};
        }
        if (m_inTraceback && !line.startsWith(' ') && !line.startsWith('\t')) {
            // The exception's own line ends the traceback: "ValueError: ...".
            m_inTraceback = false;
            return {ChildEvent::error(line)};
        }
        if (line.startsWith(QLatin1String("Error:")))
            return {ChildEvent::error(line)};
        return {ChildEvent::log(line)};
    }

private:
    QList<int> m_frames;
    qsizetype m_index = 0;
    bool m_inTraceback = false;
};

QByteArray settingsScript()
{
    QFile f(QStringLiteral(":/farmhand/engines/blender/farmhand_blender.py"));
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace

BlenderEngine::BlenderEngine(QString program, bool probeGpus)
    : m_program(program.isEmpty() ? QStringLiteral("blender") : std::move(program))
    , m_probeGpus(probeGpus)
{}

QStringList BlenderEngine::cyclesGpus() const
{
    // Cycles lists the devices of each backend it was built with; the CPU comes with each.
    static const char *kListDevices =
        "import bpy\n"
        "prefs = bpy.context.preferences.addons['cycles'].preferences\n"
        "for backend in ('CUDA', 'OPTIX', 'HIP'):\n"
        "    try:\n"
        "        devices = prefs.get_devices_for_type(backend)\n"
        "    except Exception:\n"
        "        continue\n"
        "    for d in devices:\n"
        "        if d.type == backend:\n"
        "            print('FARMHAND_DEVICE %s: %s' % (backend, d.name), flush=True)\n";
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(m_resolved,
            {"--factory-startup", "-b", "--python-exit-code", "1", "--python-expr",
             QString::fromLatin1(kListDevices)},
            QIODevice::ReadOnly);
    if (!p.waitForFinished(kVersionTimeoutMs)) {
        p.kill();
        p.waitForFinished(2000);
        return {};
    }
    QStringList gpus;
    static const QRegularExpression device(QStringLiteral("^FARMHAND_DEVICE (.+)$"),
                                           QRegularExpression::MultilineOption);
    for (auto it = device.globalMatch(QString::fromUtf8(p.readAll())); it.hasNext();)
        gpus.append(it.next().captured(1).trimmed());
    return gpus;
}

EngineDetection BlenderEngine::detect()
{
    EngineDetection d;
    m_resolved = m_program.contains('/') ? QFileInfo(m_program).absoluteFilePath()
                                         : QStandardPaths::findExecutable(m_program);
    if (m_resolved.isEmpty() || !QFileInfo(m_resolved).isExecutable()) {
        d.reason = m_program.contains('/') ? QString("%1 is not an executable file").arg(m_program)
                                           : QString("'%1' is not on PATH").arg(m_program);
        m_resolved.clear();
        return d;
    }
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(m_resolved, {"--version"}, QIODevice::ReadOnly);
    if (!p.waitForFinished(kVersionTimeoutMs)) {
        p.kill();
        p.waitForFinished(2000);
        d.reason = QString("%1 --version did not answer: %2").arg(m_resolved, p.errorString());
        return d;
    }
    const QString out = QString::fromUtf8(p.readAll());
    static const QRegularExpression version(QStringLiteral("^Blender (\\d+\\.\\d+(?:\\.\\d+)?)"),
                                            QRegularExpression::MultilineOption);
    const auto m = version.match(out);
    if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0 || !m.hasMatch()) {
        d.reason = QString("%1 --version printed no Blender version (exit code %2): %3")
                       .arg(m_resolved)
                       .arg(p.exitCode())
                       .arg(out.left(200).trimmed());
        return d;
    }
    d.available = true;
    d.version = m.captured(1);
    d.devices = {QStringLiteral("CPU")};
    if (m_probeGpus)
        d.devices += cyclesGpus();
    return d;
}

Result<void> BlenderEngine::check(const TaskSpec &spec) const
{
    const QJsonObject &s = spec.settings;
    json::Reader r(s, "task.assign.settings");
    // Unknown keys are left to the server's schema: a newer server may send more than this
    // script applies.
    auto oneOf = [&r, &s](const char *key, const QStringList &allowed) {
        if (!r.has(key))
            return;
        const QString v = r.string(key, QString(), 1, 64);
        if (r.ok() && !allowed.contains(v))
            r.fail("invalid_field", QString("task.assign.settings.%1 must be one of %2, not '%3'")
                                        .arg(key, allowed.join(", "), s.value(key).toString()));
    };
    oneOf("render_engine", kEngines);
    oneOf("gpu_backend", kBackends);
    oneOf("format", kFormats);
    if (r.has("samples"))
        r.integer("samples", 1, 1, 65536);
    if (r.has("width"))
        r.integer("width", 4, 4, 16384);
    if (r.has("height"))
        r.integer("height", 4, 4, 16384);
    if (r.has("resolution_percentage"))
        r.integer("resolution_percentage", 100, 1, 100);
    if (r.has("denoise"))
        r.boolean("denoise", false);
    if (r.has("camera"))
        r.string("camera", QString(), 1, 63);
    if (!r.ok())
        return r.error();
    if (spec.frames.frames().isEmpty())
        return makeError("invalid_field", "task.assign.frames: no frames");
    return {};
}

Result<EngineLaunch> BlenderEngine::launch(const LaunchContext &context) const
{
    if (m_resolved.isEmpty())
        return makeError("unavailable", "Blender was not found on this node");
    const QByteArray script = settingsScript();
    if (script.isEmpty())
        return makeError("internal", "the Blender settings script is missing from this build");
    const TaskSpec &spec = context.spec;
    const QDir work(context.workDir);

    QJsonArray frames;
    for (int f : spec.frames.frames())
        frames.append(f);
    const QJsonObject task{
        {"frames", frames},
        {"output_dir", work.absolutePath()},
        {"main_name", spec.main},
        {"device", context.slot.isGpu() ? "GPU" : "CPU"},
        {"gpu_backend", spec.settings.value("gpu_backend").toString("CUDA")},
        {"threads", context.threads},
        {"protocol", QJsonObject{{"frame", childprotocol::kFrame}}},
        {"settings", spec.settings},
    };

    EngineLaunch l;
    l.program = m_resolved;
    l.workDir = context.workDir;
    l.files = {{kScriptName, script},
               {kTaskFileName, QJsonDocument(task).toJson(QJsonDocument::Compact)}};
    // --factory-startup: the node user's preferences and add-ons do not change a render.
    l.arguments = {"--factory-startup",        "-b", context.mainFile,
                   "--python-exit-code",       "2",  "-P",
                   work.filePath(kScriptName), "--", work.filePath(kTaskFileName)};
    if (context.slot.isGpu())
        l.environment.insert("CUDA_VISIBLE_DEVICES", context.slot.cudaDevice);
    l.expectedFrames = int(spec.frames.size());
    return l;
}

std::unique_ptr<ChildOutputReader> BlenderEngine::reader(const TaskSpec &spec) const
{
    return std::make_unique<BlenderReader>(spec.frames.frames());
}

} // namespace farm::node
