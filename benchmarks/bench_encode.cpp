// farm-video-bench: encode speed of farm_video (the `encode` task's pipeline: PNG frames in,
// H.264 MP4 out) against the `ffmpeg` command with the same settings, in one run, printed side
// by side with the ratio. Prints numbers, asserts nothing.
//
//   farm-video-bench [--frames N] [--size WxH] [--preset P] [--crf N] [--codec C] [--rounds N]
//
// Both read the same PNG files from disk and write MP4 with +faststart; each round runs ours
// then ffmpeg. Printed: the best round's frames per second (wall clock) of each, and the CPU
// time each spent per frame (user + system, all threads; ffmpeg's from its rusage), which a
// loaded shared machine disturbs far less than the wall clock. Ratios > 1: farm_video faster.
#include "video/sequenceencoder.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QGuiApplication>
#include <QPainter>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>

#include <sys/resource.h>

#include <cmath>
#include <cstdio>

extern "C" {
#include <libavutil/log.h>
}

using namespace farm::video;

namespace {

// Frames that compress like a render: smooth gradients, moving shapes with edges, some grain.
QImage makeFrame(int index, QSize size)
{
    QImage image(size, QImage::Format_RGB888);
    QPainter p(&image);
    QLinearGradient sky(0, 0, 0, size.height());
    sky.setColorAt(0, QColor::fromHsv((index * 2) % 360, 90, 230));
    sky.setColorAt(1, QColor(30, 30, 50));
    p.fillRect(image.rect(), sky);
    p.setRenderHint(QPainter::Antialiasing);
    for (int i = 0; i < 12; ++i) {
        const double t = index * 0.05 + i;
        const QPointF c(size.width() * (0.5 + 0.4 * std::sin(t * 0.7)),
                        size.height() * (0.5 + 0.4 * std::cos(t * 0.9 + i)));
        p.setBrush(QColor::fromHsv((i * 30) % 360, 200, 220));
        p.setPen(QPen(Qt::black, 3));
        p.drawEllipse(c, size.height() * 0.08, size.height() * 0.06);
    }
    p.end();
    QRandomGenerator rng(index);
    for (int y = 0; y < size.height(); y += 1) {
        uchar *line = image.scanLine(y);
        for (int x = 0; x < size.width() * 3; x += 7)
            line[x] = uchar(qBound(0, int(line[x]) + int(rng.bounded(9)) - 4, 255));
    }
    return image;
}

double cpuSeconds(int who)
{
    rusage u{};
    getrusage(who, &u);
    return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
           u.ru_stime.tv_usec / 1e6;
}

} // namespace

int main(int argc, char *argv[])
{
    QGuiApplication app(argc, argv); // QPainter text-free drawing; runs offscreen
    QCommandLineParser cli;
    cli.addHelpOption();
    cli.addOption({"frames", "Frames to encode.", "N", "150"});
    cli.addOption({"size", "Frame size.", "WxH", "1920x1080"});
    cli.addOption({"codec", "Codec (h264, hevc, av1, vp9).", "C", "h264"});
    cli.addOption({"preset", "x264/x265 preset.", "P", "medium"});
    cli.addOption({"crf", "Constant quality.", "N", "23"});
    cli.addOption({"rounds", "Rounds (best of).", "N", "2"});
    cli.process(app);
    const int frames = cli.value("frames").toInt();
    const QStringList wh = cli.value("size").split('x');
    const QSize size(wh.value(0).toInt(), wh.value(1).toInt());
    const int rounds = qMax(1, cli.value("rounds").toInt());

    VideoSettings s;
    s.codec = cli.value("codec");
    s.preset = cli.value("preset");
    s.crf = cli.value("crf").toInt();
    s.fps = 30;
    const QMap<QString, QString> ffEncoder{
        {"h264", "libx264"}, {"hevc", "libx265"}, {"av1", "libsvtav1"}, {"vp9", "libvpx-vp9"}};
    QStringList ffCodecArgs{"-c:v", ffEncoder.value(s.codec)};
    if (s.codec == "h264" || s.codec == "hevc")
        ffCodecArgs << "-preset" << s.preset << "-crf" << QString::number(s.crf);
    if (s.codec == "hevc")
        ffCodecArgs << "-x265-params"
                    << "log-level=error";
    if (s.codec == "av1")
        ffCodecArgs << "-preset"
                    << "8"
                    << "-crf" << QString::number(s.crf);
    if (s.codec == "vp9")
        ffCodecArgs << "-deadline"
                    << "good"
                    << "-cpu-used"
                    << "4"
                    << "-row-mt"
                    << "1"
                    << "-b:v"
                    << "0"
                    << "-crf" << QString::number(s.crf);

    QTemporaryDir dir;
    std::printf("writing %d PNG frames of %dx%d ...\n", frames, size.width(), size.height());
    QStringList files;
    for (int i = 1; i <= frames; ++i) {
        const QString path = dir.filePath(QString("frame_%1.png").arg(i, 4, 10, QChar('0')));
        makeFrame(i, size).save(path, "PNG");
        files.append(path);
    }
    av_log_set_level(AV_LOG_ERROR);

    double bestOurs = 0, bestTheirs = 0;
    double cpuOurs = 1e30, cpuTheirs = 1e30; // least CPU seconds per frame of a round
    qint64 oursBytes = 0, theirsBytes = 0;
    QString choice;
    for (int round = 1; round <= rounds; ++round) {
        EncoderConfig config;
        config.settings = s;
        const QString ours = dir.filePath("ours.mp4");
        QElapsedTimer t;
        const double cpu0 = cpuSeconds(RUSAGE_SELF);
        t.start();
        auto r = encodeImageFiles(
            files, ours, config, [](const QString &) {}, [](qint64) {});
        const double oursS = t.nsecsElapsed() / 1e9;
        const double oursCpu = (cpuSeconds(RUSAGE_SELF) - cpu0) / frames;
        if (!r) {
            std::fprintf(stderr, "farm_video failed: %s\n", qPrintable(r.error().message));
            return 1;
        }
        choice = r->choice;
        oursBytes = QFileInfo(ours).size();

        const QString theirs = dir.filePath("ffmpeg.mp4");
        QStringList args{
            "-y", "-hide_banner",  "-loglevel", "error", "-framerate",
            "30", "-start_number", "1",         "-i",    dir.filePath("frame_%04d.png")};
        args << ffCodecArgs << "-pix_fmt" << s.pixelFormat << "-movflags"
             << "+faststart" << theirs;
        QProcess ff;
        const double child0 = cpuSeconds(RUSAGE_CHILDREN);
        t.restart();
        ff.start("ffmpeg", args);
        if (!ff.waitForFinished(-1) || ff.exitCode() != 0) {
            std::fprintf(stderr, "ffmpeg failed: %s\n", ff.readAllStandardError().constData());
            return 1;
        }
        const double theirsS = t.nsecsElapsed() / 1e9;
        const double theirsCpu = (cpuSeconds(RUSAGE_CHILDREN) - child0) / frames;
        theirsBytes = QFileInfo(theirs).size();
        std::printf("round %d: farm_video %.2f s (%.2f fps, %.3f cpu-s/frame)   ffmpeg %.2f s "
                    "(%.2f fps, %.3f cpu-s/frame)\n",
                    round, oursS, frames / oursS, oursCpu, theirsS, frames / theirsS, theirsCpu);
        cpuOurs = qMin(cpuOurs, oursCpu);
        cpuTheirs = qMin(cpuTheirs, theirsCpu);
        bestOurs = qMax(bestOurs, frames / oursS);
        bestTheirs = qMax(bestTheirs, frames / theirsS);
    }
    std::printf("\n%s\n", qPrintable(choice));
    std::printf("%-12s %10s %16s %12s\n", "", "fps", "cpu-s/frame", "bytes");
    std::printf("%-12s %10.2f %16.3f %12lld\n", "farm_video", bestOurs, cpuOurs,
                (long long)oursBytes);
    std::printf("%-12s %10.2f %16.3f %12lld\n", "ffmpeg", bestTheirs, cpuTheirs,
                (long long)theirsBytes);
    std::printf("speed ratio (farm_video fps / ffmpeg fps): %.3fx\n", bestOurs / bestTheirs);
    std::printf("CPU ratio (ffmpeg cpu-s / farm_video cpu-s per frame): %.3fx\n",
                cpuTheirs / cpuOurs);
    return 0;
}
