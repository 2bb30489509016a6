// farm-compose-bench: the compose task's pipeline (decode, libass text, encode, audio copied)
// against `ffmpeg -vf subtitles=…` with the same encoder settings, in one run, printed side by
// side with the ratio and the load average. Prints numbers, asserts nothing.
//
//   farm-compose-bench [--seconds N] [--size WxH] [--preset P] [--crf N] [--rounds N]
//
// The input (made once with the ffmpeg command: testsrc2 at 30 fps with a sine tone, H.264 +
// AAC) carries a caption every 3 s, alternating a boxed line at the bottom and a faded line at
// the top. Both sides draw the same ASS script (ours from the scenario; the file handed to
// ffmpeg's subtitles filter is that script), encode with libx264 at the same preset and crf,
// copy the audio and write MP4 with +faststart. Rounds alternate which side runs first (the
// first call in this process also pays fontconfig's start, as every ffmpeg run does). Printed:
// each round's wall-clock seconds and CPU seconds (user + system, all threads; ffmpeg's from
// its rusage), then the best of each; ratios > 1: farm_video faster.
#include "video/assscript.h"
#include "video/composer.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>

extern "C" {
#include <libavutil/log.h>
}

using namespace farm;
using namespace farm::video;

namespace {

double cpuSeconds(int who)
{
    rusage u{};
    getrusage(who, &u);
    return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
           u.ru_stime.tv_usec / 1e6;
}

QString loadAverage()
{
    QFile f("/proc/loadavg");
    return f.open(QIODevice::ReadOnly) ? QString::fromLatin1(f.readAll()).section(' ', 0, 2)
                                       : QString("?");
}

QByteArray captions(double seconds)
{
    QByteArray json = "{\"version\": \"1.3\", \"cues\": [";
    int i = 0;
    for (double t = 0.5; t + 2.5 <= seconds; t += 3.0, ++i) {
        if (i)
            json += ',';
        const bool bottom = i % 2 == 0;
        json += QString("{\"start\": %1, \"end\": %2, \"text\": \"Caption %3: the quick brown "
                        "fox jumps over the lazy dog\", \"style\": %4}")
                    .arg(t)
                    .arg(t + 2.5)
                    .arg(i + 1)
                    .arg(bottom ? "{\"align\": \"bottom\", \"box\": true, \"size\": 54}"
                                : "{\"align\": \"top\", \"size\": 60, \"fade_in\": 0.3, "
                                  "\"fade_out\": 0.3, \"outline\": 3}")
                    .toUtf8();
    }
    return json + "]}";
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser cli;
    cli.addHelpOption();
    cli.addOption({"seconds", "Seconds of video.", "N", "60"});
    cli.addOption({"size", "Frame size.", "WxH", "1920x1080"});
    cli.addOption({"preset", "x264 preset (both sides).", "P", "veryfast"});
    cli.addOption({"crf", "Constant quality (both sides).", "N", "23"});
    cli.addOption({"rounds", "Rounds (best of).", "N", "3"});
    cli.process(app);
    const double seconds = cli.value("seconds").toDouble();
    const QString size = cli.value("size");
    const QString preset = cli.value("preset");
    const int crf = cli.value("crf").toInt();
    const int rounds = qMax(1, cli.value("rounds").toInt());
    av_log_set_level(AV_LOG_ERROR);

    QTemporaryDir dir;
    const QString input = dir.filePath("input.mp4");
    std::printf("making the input: %s, %g s at 30 fps, with a sine tone...\n", qPrintable(size),
                seconds);
    std::fflush(stdout);
    QProcess make;
    make.start("ffmpeg", {"-v",
                          "error",
                          "-y",
                          "-f",
                          "lavfi",
                          "-i",
                          QString("testsrc2=size=%1:rate=30").arg(size),
                          "-f",
                          "lavfi",
                          "-i",
                          "sine=frequency=440:sample_rate=48000",
                          "-t",
                          QString::number(seconds),
                          "-c:v",
                          "libx264",
                          "-preset",
                          "ultrafast",
                          "-crf",
                          "18",
                          "-pix_fmt",
                          "yuv420p",
                          "-c:a",
                          "aac",
                          input});
    if (!make.waitForFinished(-1) || make.exitCode() != 0) {
        std::fprintf(stderr, "ffmpeg did not make the input: %s\n",
                     make.readAllStandardError().constData());
        return 1;
    }
    auto scenario = Scenario::fromJson(captions(seconds));
    if (!scenario) {
        std::fprintf(stderr, "%s\n", qPrintable(scenario.error().message));
        return 1;
    }
    const QStringList wh = size.split('x');
    const QString assPath = dir.filePath("captions.ass");
    QFile ass(assPath);
    if (!ass.open(QIODevice::WriteOnly) ||
        ass.write(scenarioToAss(*scenario, wh.value(0).toInt(), wh.value(1).toInt()).toUtf8()) < 0)
        return 1;
    ass.close();
    std::printf("%lld captions; libx264 preset %s, crf %d, yuv420p, audio copied, +faststart\n",
                qlonglong(scenario->cues.size()), qPrintable(preset), crf);

    double bestOurs = 1e9, bestFf = 1e9, bestOursCpu = 1e9, bestFfCpu = 1e9;
    for (int round = 1; round <= rounds; ++round) {
        ComposeJob job;
        job.scenario = *scenario;
        job.input = input;
        job.output = dir.filePath("ours.mp4");
        job.settings.video.preset = preset;
        job.settings.video.crf = crf;
        const QString loadBefore = loadAverage();
        double oursWall = 0, oursCpu = 0, ffWall = 0, ffCpu = 0;
        qint64 frames = 0;
        const auto runOurs = [&]() -> bool {
            const double cpu0 = cpuSeconds(RUSAGE_SELF);
            QElapsedTimer timer;
            timer.start();
            auto r = composeVideo(
                job, [](const QString &) {}, [](qint64, qint64) {});
            oursWall = timer.elapsed() / 1000.0;
            oursCpu = cpuSeconds(RUSAGE_SELF) - cpu0;
            if (!r)
                std::fprintf(stderr, "compose failed: %s\n", qPrintable(r.error().message));
            frames = r ? r->frames : 0;
            return r.ok();
        };
        const auto runFfmpeg = [&]() -> bool {
            QProcess ff;
            const double cpu0 = cpuSeconds(RUSAGE_CHILDREN);
            QElapsedTimer timer;
            timer.start();
            ff.start("ffmpeg", {"-v",
                                "error",
                                "-y",
                                "-i",
                                input,
                                "-vf",
                                QString("subtitles=%1").arg(assPath),
                                "-c:v",
                                "libx264",
                                "-preset",
                                preset,
                                "-crf",
                                QString::number(crf),
                                "-pix_fmt",
                                "yuv420p",
                                "-c:a",
                                "copy",
                                "-movflags",
                                "+faststart",
                                dir.filePath("ffmpeg.mp4")});
            const bool ok = ff.waitForFinished(-1) && ff.exitCode() == 0;
            ffWall = timer.elapsed() / 1000.0;
            ffCpu = cpuSeconds(RUSAGE_CHILDREN) - cpu0;
            if (!ok)
                std::fprintf(stderr, "ffmpeg failed: %s\n", ff.readAllStandardError().constData());
            return ok;
        };
        const bool oursFirst = round % 2 == 1;
        if (!(oursFirst ? runOurs() && runFfmpeg() : runFfmpeg() && runOurs()))
            return 1;
        bestOurs = std::min(bestOurs, oursWall);
        bestFf = std::min(bestFf, ffWall);
        bestOursCpu = std::min(bestOursCpu, oursCpu);
        bestFfCpu = std::min(bestFfCpu, ffCpu);
        std::printf("round %d, %s first (load average %s before, %s after): %lld frames\n", round,
                    oursFirst ? "ours" : "ffmpeg", qPrintable(loadBefore),
                    qPrintable(loadAverage()), qlonglong(frames));
        std::printf("  farm_video compose   %7.2f s wall  %7.2f s CPU  (%5.1f fps)\n", oursWall,
                    oursCpu, frames / oursWall);
        std::printf("  ffmpeg -vf subtitles %7.2f s wall  %7.2f s CPU  (%5.1f fps)\n", ffWall,
                    ffCpu, frames / ffWall);
        std::printf("  ratio (ffmpeg / ours): wall %.2fx, CPU %.2fx\n", ffWall / oursWall,
                    ffCpu / oursCpu);
        std::fflush(stdout);
    }
    std::printf("best of %d: farm_video %.2f s (%.2f s CPU), ffmpeg %.2f s (%.2f s CPU): wall "
                "%.2fx, CPU %.2fx\n",
                rounds, bestOurs, bestOursCpu, bestFf, bestFfCpu, bestFf / bestOurs,
                bestFfCpu / bestOursCpu);
    return 0;
}
