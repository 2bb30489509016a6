// farm-compose-split-bench: a compose made whole against the same compose split into segments
// and joined (docs/JOBTYPES.md, "Segments"), in one run, on this machine. Prints numbers,
// asserts nothing.
//
//   farm-compose-split-bench [--seconds N] [--segments N] [--size WxH] [--preset P] [--rounds N]
//
// The input (made once with the ffmpeg command: testsrc2 at 30 fps with a sine tone, H.264 +
// AAC, x264's default keyframe interval) carries a caption every 3 s. Each round composes it
// whole, then each segment one after the other (as separate nodes would, each with the whole
// machine), then joins them. Printed per round and best of: the whole compose's wall-clock and
// CPU seconds; each segment's; the join's; the critical path with one node per segment (the
// longest segment, then the join); and the CPU the split costs against the whole (the segments
// decode from a keyframe before their start, each starts with an IDR, the join reads them).
#include "video/composer.h"
#include "video/segmentjoin.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
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

double cpuSeconds()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
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
    for (double t = 0.5; t + 2.5 <= seconds; t += 3.0, ++i)
        json += QString("%1{\"start\": %2, \"end\": %3, \"text\": \"Caption %4\", \"style\": "
                        "{\"align\": \"bottom\", \"box\": true}}")
                    .arg(i ? "," : "")
                    .arg(t)
                    .arg(t + 2.5)
                    .arg(i + 1)
                    .toUtf8();
    return json + "]}";
}

struct Timing
{
    double wall = 0, cpu = 0;
};

template<typename F> Timing timed(F &&f)
{
    QElapsedTimer t;
    t.start();
    const double c0 = cpuSeconds();
    f();
    return {t.elapsed() / 1000.0, cpuSeconds() - c0};
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser cli;
    cli.addHelpOption();
    cli.addOption({"seconds", "Seconds of video.", "N", "60"});
    cli.addOption({"segments", "Segments to split it into.", "N", "2"});
    cli.addOption({"size", "Frame size.", "WxH", "1280x720"});
    cli.addOption({"preset", "x264 preset.", "P", "veryfast"});
    cli.addOption({"rounds", "Rounds (best of).", "N", "2"});
    cli.process(app);
    const double seconds = cli.value("seconds").toDouble();
    const int segments = std::max(2, cli.value("segments").toInt());
    const int rounds = std::max(1, cli.value("rounds").toInt());
    av_log_set_level(AV_LOG_ERROR);

    QTemporaryDir dir;
    const QString input = dir.filePath("input.mp4");
    std::printf("making the input: %s, %g s at 30 fps, with a sine tone...\n",
                qPrintable(cli.value("size")), seconds);
    std::fflush(stdout);
    QProcess make;
    make.start("ffmpeg", {"-v",
                          "error",
                          "-y",
                          "-f",
                          "lavfi",
                          "-i",
                          QString("testsrc2=size=%1:rate=30").arg(cli.value("size")),
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
    ComposeJob base;
    base.scenario = *scenario;
    base.input = input;
    base.settings.video.preset = cli.value("preset");
    base.settings.segmentSeconds = seconds / segments;
    const auto quiet = [](const QString &) {};
    const auto none = [](qint64, qint64) {};
    const auto fail = [](const QString &what, const Error &e) {
        std::fprintf(stderr, "%s: %s\n", qPrintable(what), qPrintable(e.message));
        std::exit(1);
    };

    std::printf("%d segments of %g s, libx264 %s, load average %s\n", segments,
                base.settings.segmentSeconds, qPrintable(base.settings.video.preset),
                qPrintable(loadAverage()));
    Timing bestWhole{1e9, 1e9}, bestPath{1e9, 1e9}, bestSplitCpu{1e9, 1e9};
    for (int round = 1; round <= rounds; ++round) {
        ComposeJob whole = base;
        whole.output = dir.filePath("whole.mp4");
        const Timing w = timed([&] {
            if (auto r = composeVideo(whole, quiet, none); !r)
                fail("whole", r.error());
        });
        QStringList parts;
        double longest = 0, segmentCpu = 0;
        QString each;
        for (int k = 1; k <= segments; ++k) {
            ComposeJob part = base;
            part.settings.segmentNumber = k;
            part.settings.segmentToEnd = k == segments;
            part.output = dir.filePath(part.settings.outputName());
            const Timing t = timed([&] {
                if (auto r = composeVideo(part, quiet, none); !r)
                    fail(QString("segment %1").arg(k), r.error());
            });
            parts.append(part.output);
            longest = std::max(longest, t.wall);
            segmentCpu += t.cpu;
            each += QString(" %1/%2").arg(t.wall, 0, 'f', 2).arg(t.cpu, 0, 'f', 2);
        }
        JoinJob join;
        join.segments = parts;
        join.input = input;
        join.output = dir.filePath("joined.mp4");
        join.segmentSeconds = base.settings.segmentSeconds;
        const Timing j = timed([&] {
            if (auto r = joinSegments(join, quiet, none); !r)
                fail("join", r.error());
        });
        const Timing path{longest + j.wall, 0};
        std::printf("round %d: whole %.2f s (cpu %.2f) | segments wall/cpu%s | join %.3f s (cpu "
                    "%.3f) | one node a segment: %.2f s (%.2fx) | cpu split/whole %.2fx | load "
                    "%s\n",
                    round, w.wall, w.cpu, qPrintable(each), j.wall, j.cpu, path.wall,
                    w.wall / path.wall, (segmentCpu + j.cpu) / w.cpu, qPrintable(loadAverage()));
        std::fflush(stdout);
        bestWhole.wall = std::min(bestWhole.wall, w.wall);
        bestWhole.cpu = std::min(bestWhole.cpu, w.cpu);
        bestPath.wall = std::min(bestPath.wall, path.wall);
        bestSplitCpu.cpu = std::min(bestSplitCpu.cpu, segmentCpu + j.cpu);
    }
    std::printf("best: whole %.2f s, split over %d nodes %.2f s (%.2fx faster); cpu whole %.2f s, "
                "split %.2f s (%.2fx); joined file %lld bytes, whole %lld bytes\n",
                bestWhole.wall, segments, bestPath.wall, bestWhole.wall / bestPath.wall,
                bestWhole.cpu, bestSplitCpu.cpu, bestSplitCpu.cpu / bestWhole.cpu,
                QFileInfo(dir.filePath("joined.mp4")).size(),
                QFileInfo(dir.filePath("whole.mp4")).size());
    return 0;
}
