#include "encodecli.h"

#include "childcli.h"
#include "renderer/childprotocol.h"
#include "sequenceencoder.h"

#include <QFileInfo>
#include <QJsonArray>

extern "C" {
#include <libavutil/log.h>
}

namespace farm::video {

using namespace childcli;

int runEncodeCli(const QStringList &args)
{
    const auto task = readTask(args, "encode", 64 * 1024 * 1024);
    if (!task)
        return fail(task.error().message);
    const auto settings = VideoSettings::fromJson(task->value("settings").toObject());
    if (!settings)
        return fail(settings.error().message);
    QStringList frames;
    for (const QJsonValue &v : task->value("frames").toArray())
        frames.append(v.toString());
    const QString output = task->value("output").toString();
    if (output.isEmpty())
        return fail("the task names no output file");

    av_log_set_level(AV_LOG_ERROR); // encoder chatter stays out of the task log
    EncoderConfig config;
    config.settings = *settings;
    config.gpuSlot = task->value("gpu").toBool();
    config.threads = task->value("threads").toInt(0);
    const qint64 total = frames.size();
    ProgressLines progress;
    auto result = encodeImageFiles(
        frames, output, config, [](const QString &line) { out(line); },
        [&](qint64 done) { progress.report(done, total); });
    if (!result)
        return fail(result.error().message, result.error().code);
    const double seconds = progress.seconds();
    out(QString("encoded %1 frames (%2x%3) in %4 s (%5 fps) into %6 (%7 bytes)")
            .arg(result->frames)
            .arg(result->size.width())
            .arg(result->size.height())
            .arg(seconds, 0, 'f', 2)
            .arg(seconds > 0 ? result->frames / seconds : 0.0, 0, 'f', 1)
            .arg(QFileInfo(output).fileName())
            .arg(QFileInfo(output).size()));
    out(childprotocol::frameLine(0, QFileInfo(output).absoluteFilePath()));
    return 0;
}

} // namespace farm::video
