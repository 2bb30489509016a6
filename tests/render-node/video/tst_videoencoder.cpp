// farm_video: frames drawn here are encoded, then decoded back with the library's own decoder
// (frame count, size, rate, duration, pixels); the encoder choice on CPU and GPU slots; and the
// errors of bad input.
#include "video/sequenceencoder.h"
#include "video/videodecoder.h"

#include <QFile>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

extern "C" {
#include <libavutil/log.h>
#include <libswscale/swscale.h>
}

using namespace farm;
using namespace farm::video;

namespace {

// Frame i: a solid colour that changes with i (so decoded frames can be told apart).
QColor colourOf(int i)
{
    return QColor::fromHsv((i * 37) % 360, 200, 60 + (i * 23) % 180);
}

QStringList writeFrames(const QTemporaryDir &dir, int count, QSize size, const char *ext = "png")
{
    QStringList files;
    for (int i = 1; i <= count; ++i) {
        QImage image(size, QImage::Format_RGB32);
        image.fill(colourOf(i));
        const QString path =
            dir.filePath(QString("frame_%1.%2").arg(i, 4, 10, QChar('0')).arg(ext));
        if (!image.save(path))
            qFatal("cannot write %s", qPrintable(path));
        files.append(path);
    }
    return files;
}

struct Decoded
{
    MediaInfo info;
    QList<QColor> centres; // centre pixel of each frame, as RGB
};

Decoded decodeAll(const QString &path)
{
    Decoded d;
    auto dec = VideoDecoder::open(path);
    if (!dec)
        qFatal("%s", qPrintable(dec.error().message));
    d.info = (*dec)->info();
    for (;;) {
        auto f = (*dec)->next();
        if (!f)
            qFatal("%s", qPrintable(f.error().message));
        if (!*f)
            break;
        const AVFrame *frame = *f;
        // One RGB pixel out of the middle of the frame.
        SwsContext *sws =
            sws_getContext(frame->width, frame->height, AVPixelFormat(frame->format), frame->width,
                           frame->height, AV_PIX_FMT_RGB24, SWS_POINT, nullptr, nullptr, nullptr);
        QImage rgb(frame->width, frame->height, QImage::Format_RGB888);
        uint8_t *dst[4] = {rgb.bits(), nullptr, nullptr, nullptr};
        int stride[4] = {int(rgb.bytesPerLine()), 0, 0, 0};
        sws_scale(sws, frame->data, frame->linesize, 0, frame->height, dst, stride);
        sws_freeContext(sws);
        d.centres.append(rgb.pixelColor(frame->width / 2, frame->height / 2));
    }
    return d;
}

bool near(const QColor &a, const QColor &b, int tolerance)
{
    return qAbs(a.red() - b.red()) <= tolerance && qAbs(a.green() - b.green()) <= tolerance &&
           qAbs(a.blue() - b.blue()) <= tolerance;
}

Result<SequenceResult> encode(const QStringList &files, const QString &out, VideoSettings s,
                              QStringList *log = nullptr, bool gpu = false)
{
    EncoderConfig c;
    c.settings = s;
    c.gpuSlot = gpu;
    return encodeImageFiles(
        files, out, c,
        [log](const QString &line) {
            if (log)
                log->append(line);
        },
        [](qint64) {});
}

} // namespace

class TstVideoEncoder : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase() { av_log_set_level(AV_LOG_ERROR); }

    void everyCodec_data()
    {
        QTest::addColumn<QString>("codec");
        QTest::addColumn<QString>("encoder");
        QTest::addColumn<QString>("decoderName");
        QTest::newRow("h264") << "h264"
                              << "libx264"
                              << "h264";
        QTest::newRow("hevc") << "hevc"
                              << "libx265"
                              << "hevc";
        QTest::newRow("av1") << "av1"
                             << "libsvtav1"
                             << "av1";
        QTest::newRow("vp9") << "vp9"
                             << "libvpx-vp9"
                             << "vp9";
    }
    // Frames come back in order, with their colours, at the asked size, rate and duration.
    void everyCodec()
    {
        QFETCH(QString, codec);
        QFETCH(QString, encoder);
        QFETCH(QString, decoderName);
        if (!hasEncoder(encoder))
            QSKIP(qPrintable(encoder + " is not in this libavcodec"));
        QTemporaryDir dir;
        const QStringList files = writeFrames(dir, 12, {160, 96});
        VideoSettings s;
        s.codec = codec;
        s.fps = 24;
        s.crf = 20;
        const QString out = dir.filePath("v.mp4");
        auto r = encode(files, out, s);
        QVERIFY2(r, r ? "" : qPrintable(r.error().message));
        QCOMPARE(r->frames, 12);
        QVERIFY(r->choice.startsWith("encoder " + encoder));
        const Decoded d = decodeAll(out);
        QCOMPARE(d.info.width, 160);
        QCOMPARE(d.info.height, 96);
        QVERIFY2(d.info.videoCodec.startsWith(decoderName) ||
                     (codec == "av1" && d.info.videoCodec.contains("av1")),
                 qPrintable(d.info.videoCodec));
        QCOMPARE(av_q2d(d.info.frameRate), 24.0);
        QCOMPARE(d.centres.size(), 12);
        QVERIFY2(qAbs(d.info.durationSeconds - 0.5) < 0.01,
                 qPrintable(QString::number(d.info.durationSeconds)));
        for (int i = 0; i < 12; ++i)
            QVERIFY2(near(d.centres[i], colourOf(i + 1), 12),
                     qPrintable(QString("frame %1: %2 for %3")
                                    .arg(i + 1)
                                    .arg(d.centres[i].name(), colourOf(i + 1).name())));
    }

    void bitrateAndRate()
    {
        QTemporaryDir dir;
        const QStringList files = writeFrames(dir, 30, {128, 72});
        VideoSettings s;
        s.fps = 29.97;
        s.bitrateKbps = 400;
        s.preset = "ultrafast";
        const QString out = dir.filePath("v.mp4");
        auto r = encode(files, out, s);
        QVERIFY2(r, r ? "" : qPrintable(r.error().message));
        QVERIFY(r->choice.contains("400 kbit/s"));
        const Decoded d = decodeAll(out);
        QCOMPARE(d.centres.size(), 30);
        QVERIFY(qAbs(av_q2d(d.info.frameRate) - 29.97) < 0.001);
        QVERIFY(qAbs(d.info.durationSeconds - 30 / 29.97) < 0.01);
    }

    // +faststart puts the index (moov) before the media data (mdat); without it, after.
    void faststart()
    {
        QTemporaryDir dir;
        const QStringList files = writeFrames(dir, 5, {64, 64});
        for (bool fast : {true, false}) {
            VideoSettings s;
            s.faststart = fast;
            const QString out = dir.filePath(fast ? "fast.mp4" : "slow.mp4");
            QVERIFY(encode(files, out, s));
            QFile f(out);
            QVERIFY(f.open(QIODevice::ReadOnly));
            const QByteArray bytes = f.readAll();
            QVERIFY(bytes.indexOf("moov") > 0 && bytes.indexOf("mdat") > 0);
            QCOMPARE(bytes.indexOf("moov") < bytes.indexOf("mdat"), fast);
        }
    }

    void tenBitAndFullChroma_data()
    {
        QTest::addColumn<QString>("format");
        QTest::newRow("yuv444p") << "yuv444p";
        QTest::newRow("yuv420p10le") << "yuv420p10le";
    }
    void tenBitAndFullChroma()
    {
        QFETCH(QString, format);
        QTemporaryDir dir;
        const QStringList files = writeFrames(dir, 4, {64, 48});
        VideoSettings s;
        s.pixelFormat = format;
        const QString out = dir.filePath("v.mp4");
        auto r = encode(files, out, s);
        QVERIFY2(r, r ? "" : qPrintable(r.error().message));
        QVERIFY(r->choice.contains(format));
        QCOMPARE(decodeAll(out).centres.size(), 4);
    }

    // JPEG frames decode to full-range YUV: their colours come through all the same.
    void jpegFrames()
    {
        QTemporaryDir dir;
        const QStringList files = writeFrames(dir, 6, {96, 64}, "jpg");
        const QString out = dir.filePath("v.mp4");
        auto r = encode(files, out, VideoSettings{});
        QVERIFY2(r, r ? "" : qPrintable(r.error().message));
        const Decoded d = decodeAll(out);
        QCOMPARE(d.centres.size(), 6);
        for (int i = 0; i < 6; ++i)
            QVERIFY2(near(d.centres[i], colourOf(i + 1), 16),
                     qPrintable(QString("frame %1: %2 for %3")
                                    .arg(i + 1)
                                    .arg(d.centres[i].name(), colourOf(i + 1).name())));
    }

    // 4:2:0 needs even sides: a 65x49 sequence becomes 64x48, and the log says so.
    void oddSizeIsScaledToEven()
    {
        QTemporaryDir dir;
        const QStringList files = writeFrames(dir, 3, {65, 49});
        QStringList log;
        const QString out = dir.filePath("v.mp4");
        auto r = encode(files, out, VideoSettings{}, &log);
        QVERIFY2(r, r ? "" : qPrintable(r.error().message));
        QCOMPARE(r->size, QSize(64, 48));
        QVERIFY2(log.join('\n').contains("65x49 frames are scaled to 64x48"),
                 qPrintable(log.join('\n')));
        const Decoded d = decodeAll(out);
        QCOMPARE(d.info.width, 64);
        QCOMPARE(d.info.height, 48);
        // 4:4:4 keeps odd sides.
        VideoSettings full;
        full.pixelFormat = "yuv444p";
        auto r444 = encode(files, dir.filePath("w.mp4"), full);
        QVERIFY2(r444, r444 ? "" : qPrintable(r444.error().message));
        QCOMPARE(r444->size, QSize(65, 49));
    }

    // A CPU slot never tries NVENC; a GPU slot tries it first and, where it does not open
    // (no NVIDIA driver here), falls back to libx264 and says why.
    void encoderChoice()
    {
        QTemporaryDir dir;
        const QStringList files = writeFrames(dir, 3, {64, 64});
        auto cpu = encode(files, dir.filePath("a.mp4"), VideoSettings{});
        QVERIFY(cpu);
        QVERIFY2(cpu->choice.contains("libx264") && cpu->choice.contains("a CPU slot"),
                 qPrintable(cpu->choice));
        auto gpu = encode(files, dir.filePath("b.mp4"), VideoSettings{}, nullptr, true);
        QVERIFY(gpu);
        if (gpu->choice.startsWith("encoder h264_nvenc"))
            QVERIFY(gpu->choice.contains("preset p4") && gpu->choice.contains("VBR") &&
                    gpu->choice.contains("cq 23"));
        else
            QVERIFY2(gpu->choice.startsWith("encoder libx264") &&
                         gpu->choice.contains("a GPU slot, but h264_nvenc"),
                     qPrintable(gpu->choice));
        QCOMPARE(decodeAll(dir.filePath("b.mp4")).centres.size(), 3);
    }

    void badInput()
    {
        QTemporaryDir dir;
        const QString out = dir.filePath("v.mp4");
        // No frames.
        auto none = encode({}, out, VideoSettings{});
        QVERIFY(!none);
        QCOMPARE(none.error().message, QString("there are no frames to encode"));
        // A file that is not an image.
        QStringList files = writeFrames(dir, 3, {64, 64});
        QFile bad(dir.filePath("frame_0002.png"));
        QVERIFY(bad.open(QIODevice::WriteOnly | QIODevice::Truncate));
        bad.write("this is not a PNG");
        bad.close();
        auto notImage = encode(files, out, VideoSettings{});
        QVERIFY(!notImage);
        QVERIFY2(notImage.error().message.startsWith("frame_0002.png is not an image"),
                 qPrintable(notImage.error().message));
        QVERIFY2(!QFile::exists(out), "a failed encode leaves no video behind");
        // Frames of two sizes.
        QTemporaryDir other;
        QStringList mixed = writeFrames(other, 2, {64, 64});
        QImage big(80, 64, QImage::Format_RGB32);
        big.fill(Qt::red);
        QVERIFY(big.save(other.filePath("frame_0003.png")));
        mixed.append(other.filePath("frame_0003.png"));
        auto sizes = encode(mixed, out, VideoSettings{});
        QVERIFY(!sizes);
        QVERIFY2(sizes.error().message.contains("frame_0003.png is 80x64, but the first frame"),
                 qPrintable(sizes.error().message));
        QVERIFY(!QFile::exists(out));
        // An unknown codec never gets to an encoder.
        auto unknown = VideoSettings::fromJson({{"codec", "mpeg2"}});
        QVERIFY(!unknown);
        QCOMPARE(unknown.error().message,
                 QString("settings.codec must be one of h264, hevc, av1, vp9"));
        VideoSettings s;
        s.codec = "mpeg2";
        auto direct = encode(mixed.mid(0, 2), out, s);
        QVERIFY(!direct);
        QVERIFY(direct.error().message.startsWith("codec 'mpeg2' is not one of"));
    }

    void settingsFromJson_data()
    {
        QTest::addColumn<QJsonObject>("json");
        QTest::addColumn<QString>("error");
        QTest::newRow("defaults") << QJsonObject{} << QString();
        QTest::newRow("all") << QJsonObject{{"codec", "vp9"},
                                            {"fps", 60},
                                            {"crf", 30},
                                            {"bitrate_kbps", 0},
                                            {"pixel_format", "yuv444p"},
                                            {"preset", "fast"},
                                            {"faststart", false},
                                            {"output", "take_2.mp4"}}
                             << QString();
        QTest::newRow("fps") << QJsonObject{{"fps", 0}}
                             << "settings.fps must be a number from 1 to 240";
        QTest::newRow("crf") << QJsonObject{{"crf", 23.5}}
                             << "settings.crf must be an integer from 0 to 63";
        QTest::newRow("output") << QJsonObject{{"output", "../x.mp4"}}
                                << "settings.output must be a file name ending in .mp4 "
                                   "([A-Za-z0-9._-], not starting with '.')";
        QTest::newRow("unknown") << QJsonObject{{"fsp", 1}}
                                 << "settings.fsp is not a video setting (known: codec, fps, crf, "
                                    "bitrate_kbps, pixel_format, preset, faststart, output, "
                                    "enabled)";
    }
    void settingsFromJson()
    {
        QFETCH(QJsonObject, json);
        QFETCH(QString, error);
        auto s = VideoSettings::fromJson(json);
        QCOMPARE(s ? QString() : s.error().message, error);
        if (s) {
            auto again = VideoSettings::fromJson(s->toJson());
            QVERIFY(again);
            QCOMPARE(again->toJson(), s->toJson());
        }
    }

    // The decoder refuses what is not a video.
    void decoderRefuses()
    {
        QTemporaryDir dir;
        QFile f(dir.filePath("x.mp4"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(4096, 'x'));
        f.close();
        auto d = VideoDecoder::open(f.fileName());
        QVERIFY(!d);
        QVERIFY2(d.error().message.contains("is not a media file"), qPrintable(d.error().message));
    }
};

QTEST_MAIN(TstVideoEncoder)
#include "tst_videoencoder.moc"
