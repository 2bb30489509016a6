#include "composecli.h"

#include "childcli.h"
#include "composer.h"
#include "protocol/message.h"
#include "renderer/childprotocol.h"
#include "segmentjoin.h"

#include <QJsonArray>

#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>

extern "C" {
#include <libavutil/log.h>
}

namespace farm::video {

using namespace childcli;

int runComposeCli(const QStringList &args)
{
    const auto task = readTask(args, "compose", 1024 * 1024);
    if (!task)
        return fail(task.error().message);
    auto settings = ComposeSettings::fromJson(task->value("settings").toObject());
    if (!settings)
        return fail(settings.error().message);
    const QString scenarioPath = task->value("scenario").toString();
    QFile scenarioFile(scenarioPath);
    if (!scenarioFile.open(QIODevice::ReadOnly))
        return fail(QString("cannot read the scenario %1").arg(QFileInfo(scenarioPath).fileName()),
                    errc::InvalidInput);
    const QByteArray scenarioJson = scenarioFile.read(kMaxScenarioBytes + 1);
    auto scenario = Scenario::fromJson(scenarioJson);
    if (!scenario)
        return fail(
            QString("%1: %2").arg(QFileInfo(scenarioPath).fileName(), scenario.error().message),
            errc::InvalidInput);
    ComposeJob job;
    job.scenario = *scenario;
    // Read like the cues (Scenario::fromJson checked its form): a question card's narration.
    auto narration = scenarioNarration(QJsonDocument::fromJson(scenarioJson).object());
    if (!narration)
        return fail(
            QString("%1: %2").arg(QFileInfo(scenarioPath).fileName(), narration.error().message),
            errc::InvalidInput);
    job.narration = *narration;
    job.settings = *settings;
    job.input = task->value("input").toString();
    job.output = task->value("output").toString();
    job.gpuSlot = task->value("gpu").toBool();
    job.threads = task->value("threads").toInt(0);
    if (job.output.isEmpty())
        return fail("the task names no output file");

    av_log_set_level(AV_LOG_ERROR); // encoder chatter stays out of the task log
    ProgressLines progress;
    if (settings->join) { // a split job's last task: the segments become the video
        JoinJob join;
        for (const QJsonValue &v : task->value("segments").toArray())
            join.segments.append(v.toString());
        join.input = job.input;
        join.output = job.output;
        join.faststart = settings->video.faststart;
        join.segmentSeconds = settings->segmentSeconds;
        auto joined = joinSegments(
            join, [](const QString &line) { out(line); },
            [&](qint64 done, qint64 total) { progress.report(done, total); });
        if (!joined)
            return fail(joined.error().message, joined.error().code);
        out(QString("wrote %1 (%2 bytes, %3 s of video) in %4 s")
                .arg(QFileInfo(job.output).fileName())
                .arg(QFileInfo(job.output).size())
                .arg(joined->duration, 0, 'f', 3)
                .arg(progress.seconds(), 0, 'f', 2));
        out(childprotocol::frameLine(0, QFileInfo(job.output).absoluteFilePath()));
        return 0;
    }
    auto result = composeVideo(
        job, [](const QString &line) { out(line); },
        [&](qint64 done, qint64 total) { progress.report(done, total); });
    if (!result)
        return fail(result.error().message, result.error().code);
    const double seconds = progress.seconds();
    const QString part = settings->segmentNumber > 0
                             ? QString(" of segment %1 (frames %2 to %3)")
                                   .arg(settings->segmentNumber)
                                   .arg(result->firstFrame)
                                   .arg(result->firstFrame + result->frames - 1)
                             : QString();
    out(QString("composed %1 cues over %2 frames%12 (%3x%4 at %5 fps, %6 s of video%7) in %8 s "
                "(%9 fps) into %10 (%11 bytes)")
            .arg(job.scenario.cues.size())
            .arg(result->frames)
            .arg(result->size.width())
            .arg(result->size.height())
            .arg(result->fps, 0, 'g', 6)
            .arg(result->duration, 0, 'f', 3)
            .arg(result->audioCopied            ? ", audio copied"
                 : !result->narration.isEmpty() ? ", narrated"
                                                : "")
            .arg(seconds, 0, 'f', 2)
            .arg(seconds > 0 ? result->frames / seconds : 0.0, 0, 'f', 1)
            .arg(QFileInfo(job.output).fileName())
            .arg(QFileInfo(job.output).size())
            .arg(part));
    out(childprotocol::frameLine(0, QFileInfo(job.output).absoluteFilePath()));
    return 0;
}

} // namespace farm::video
