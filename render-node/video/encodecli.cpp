#include "encodecli.h"

#include "renderer/childprotocol.h"
#include "sequenceencoder.h"
#include "util/json.h"

#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>

#include <cstdio>

extern "C" {
#include <libavutil/log.h>
}

namespace farm::video {

namespace {

void out(const QString &line)
{
    std::fprintf(stdout, "%s\n", line.toUtf8().constData());
    std::fflush(stdout);
}

int fail(const QString &message)
{
    std::fprintf(stderr, "error: %s\n", message.toUtf8().constData());
    return 1;
}

} // namespace

int runEncodeCli(const QStringList &args)
{
    if (args.size() != 1)
        return fail("usage: render-node encode TASK.json");
    QFile file(args.first());
    if (!file.open(QIODevice::ReadOnly) || file.size() > 64 * 1024 * 1024)
        return fail(QString("cannot read %1").arg(args.first()));
    const auto task = json::parseObject(file.readAll());
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
    QElapsedTimer timer;
    timer.start();
    qint64 lastReport = -1;
    auto result = encodeImageFiles(
        frames, output, config, [](const QString &line) { out(line); },
        [&](qint64 done) {
            // A line per frame would flood the log of a long sequence: about 4 a second.
            if (done != total && lastReport >= 0 && timer.elapsed() - lastReport < 250)
                return;
            lastReport = timer.elapsed();
            out(childprotocol::progressLine(double(done) / double(total), int(done)));
        });
    if (!result)
        return fail(result.error().message);
    const double seconds = timer.elapsed() / 1000.0;
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
