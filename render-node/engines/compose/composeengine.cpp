#include "composeengine.h"

#include "engines/encode/encodeengine.h"
#include "model/composesegments.h"
#include "model/scenario.h"
#include "video/composer.h"
#include "video/subtitlerenderer.h"
#include "video/videosettings.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>

extern "C" {
#include <ass/ass.h>
}

namespace farm::node {

ComposeEngine::ComposeEngine(QString program, QList<GpuInfo> gpus)
    : m_program(std::move(program))
    , m_gpus(std::move(gpus))
{}

EngineDetection ComposeEngine::detect()
{
    EngineDetection d;
    d.devices = video::availableCodecs();
    // The default font is what makes Hangul and CJK text render: say when it is missing.
    if (!video::SubtitleRenderer::fontFallbacks({kDefaultCueFont}).isEmpty())
        d.devices.append(
            QString("no %1 font (fonts-noto-cjk): CJK text shows as boxes").arg(kDefaultCueFont));
    d.available = !m_program.isEmpty() && !d.devices.isEmpty();
    d.reason = m_program.isEmpty() ? QStringLiteral("no render program configured")
                                   : QStringLiteral("this libavcodec has none of the encoders");
    const int v = ass_library_version();
    d.version = QString("libass %1.%2.%3")
                    .arg((v >> 28) & 0xf)
                    .arg((v >> 20) & 0xff, 0, 16)
                    .arg((v >> 12) & 0xff, 0, 16);
    return d;
}

QString ComposeEngine::videoPath(const TaskSpec &spec)
{
    for (const BundleFile &f : spec.files)
        if (f.path != spec.main && !f.path.startsWith(kComposeSegmentFolder + '/') &&
            kComposeVideoExtensions.contains(f.path.section('/', -1).section('.', -1).toLower()))
            return f.path;
    return {};
}

Result<void> ComposeEngine::check(const TaskSpec &spec) const
{
    if (spec.type != "compose")
        return makeError("unsupported",
                         QString("engine compose does not run '%1' tasks").arg(spec.type));
    auto s = video::ComposeSettings::fromJson(spec.settings);
    if (!s)
        return makeError(s.error().code, "task.assign." + s.error().message);
    if (!spec.main.endsWith(".json", Qt::CaseInsensitive))
        return makeError(
            "invalid_input",
            QString("the task's main file '%1' is not a scenario (.json)").arg(spec.main));
    return {};
}

Result<EngineLaunch> ComposeEngine::launch(const LaunchContext &context) const
{
    auto settings = video::ComposeSettings::fromJson(context.spec.settings);
    if (!settings)
        return settings.error();
    const QDir work(context.workDir);
    const QString video = videoPath(context.spec);
    // The join of a split job gets the segments' videos in its bundle, in order.
    QMap<int, QString> segments;
    for (const BundleFile &f : context.spec.files) {
        if (!f.path.startsWith(kComposeSegmentFolder + '/'))
            continue;
        const auto m = composeSegmentPattern().match(f.path.mid(kComposeSegmentFolder.size() + 1));
        if (m.hasMatch())
            segments.insert(m.captured(1).toInt(), work.filePath("input/" + f.path));
    }
    if (settings->join &&
        (segments.isEmpty() || segments.firstKey() != 1 || segments.lastKey() != segments.size())) {
        QStringList numbers;
        for (int n : segments.keys())
            numbers.append(QString::number(n));
        return makeError("invalid_input",
                         QString("the join's bundle holds segments [%1], not 1 to N in a row")
                             .arg(numbers.join(", ")));
    }
    QJsonArray segmentPaths;
    for (const QString &p : std::as_const(segments))
        segmentPaths.append(p);
    QJsonObject task{{"scenario", work.filePath("input/" + context.spec.main)},
                     {"input", video.isEmpty() ? QString() : work.filePath("input/" + video)},
                     {"output", work.filePath(settings->outputName())},
                     {"settings", context.spec.settings},
                     {"gpu", context.slot.isGpu()},
                     {"threads", context.threads}};
    if (settings->join)
        task.insert("segments", segmentPaths);
    EngineLaunch l;
    l.program = m_program;
    l.workDir = context.workDir;
    l.arguments = {"compose", "compose.json"};
    l.files.append({"compose.json", QJsonDocument(task).toJson(QJsonDocument::Compact)});
    if (context.slot.isGpu())
        l.environment.insert("CUDA_VISIBLE_DEVICES", context.slot.cudaDevice);
    l.expectedFrames = 1; // the video
    l.unit = QStringLiteral("videos");
    return l;
}

std::unique_ptr<ChildOutputReader> ComposeEngine::reader(const TaskSpec &spec) const
{
    // The compose child speaks as the encode child does (PROGRESS, log, FRAME 0 <video>).
    return EncodeEngine(m_program, m_gpus).reader(spec);
}

} // namespace farm::node
