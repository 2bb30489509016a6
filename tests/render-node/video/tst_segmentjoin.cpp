// A split compose (render-node/video: composer segments, segmentjoin): a 6 s video made here
// with a sine tone and a cue across the seam is composed whole and in two segments of 3 s
// (libx264 veryfast, so with B-frames), and the segments are joined without re-encoding. The
// joined file is one stream of 180 frames whose timestamps step by one frame throughout, with a
// keyframe at the seam; each frame near the seam shows the same picture as the whole compose's
// frame of that number (not its neighbour's: nothing doubled or skipped); the cue is drawn on
// both sides of the seam; the audio packets are the whole compose's; a segment on a GPU slot
// still uses the CPU encoder. A background splits and joins without audio. Segments encoded
// apart, a segment of the wrong length and an input that ends before a segment's end are
// refused.
#include "testvideo.h"
#include "video/composer.h"
#include "video/segmentjoin.h"
#include "video/videodecoder.h"

extern "C" {
#include <libavutil/log.h>
}

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace farm;
using namespace farm::video;

namespace {

// One cue from 2.5 s to 3.5 s, across the seam at 3 s, at the top.
const char *kSeamCue = R"({"version": "1.3", "cues": [{"start": 2.5, "end": 3.5,
    "text": "Across the seam", "style": {"align": "top", "size": 20}}]})";

std::vector<FramePtr> decodeAll(const QString &path)
{
    std::vector<FramePtr> frames;
    auto d = VideoDecoder::open(path);
    if (!d)
        qFatal("%s", qPrintable(d.error().message));
    for (;;) {
        auto f = (*d)->next();
        if (!f)
            qFatal("%s", qPrintable(f.error().message));
        if (!*f)
            break;
        frames.emplace_back(av_frame_clone(*f));
    }
    return frames;
}

// Mean absolute difference of the luma of two frames.
double lumaDiff(const AVFrame *a, const AVFrame *b)
{
    qint64 sum = 0;
    for (int y = 0; y < a->height; ++y)
        for (int x = 0; x < a->width; ++x)
            sum += std::abs(int(a->data[0][y * a->linesize[0] + x]) -
                            int(b->data[0][y * b->linesize[0] + x]));
    return double(sum) / (a->width * a->height);
}

struct Packets
{
    QList<qint64> videoPts; // in decode order, in the stream's time base
    QList<bool> key;
    QList<QPair<QByteArray, qint64>> audio; // bytes and pts in 1/48000
    int videoStreams = 0;
};

Packets packetsOf(const QString &path)
{
    Packets out;
    AVFormatContext *fmt = nullptr;
    if (avformat_open_input(&fmt, path.toUtf8().constData(), nullptr, nullptr) < 0)
        return out;
    InputFormatPtr owner(fmt);
    avformat_find_stream_info(fmt, nullptr);
    for (unsigned i = 0; i < fmt->nb_streams; ++i)
        out.videoStreams += fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO;
    const int v = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    const int a = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    PacketPtr p(av_packet_alloc());
    while (av_read_frame(fmt, p.get()) >= 0) {
        if (p->stream_index == v) {
            out.videoPts.append(p->pts);
            out.key.append(p->flags & AV_PKT_FLAG_KEY);
        } else if (p->stream_index == a) {
            out.audio.append({QByteArray(reinterpret_cast<const char *>(p->data), p->size),
                              av_rescale_q(p->pts, fmt->streams[a]->time_base, {1, 48000})});
        }
        av_packet_unref(p.get());
    }
    return out;
}

} // namespace

class TstSegmentJoin : public QObject
{
    Q_OBJECT
    QTemporaryDir dir;
    QString source;

    ComposeJob job(const QString &output, int segment = 0, bool toEnd = false,
                   const QString &preset = "veryfast")
    {
        ComposeJob j;
        auto s = Scenario::fromJson(kSeamCue);
        if (!s)
            qFatal("%s", qPrintable(s.error().message));
        j.scenario = *s;
        j.input = source;
        j.output = dir.filePath(output);
        j.settings.video.preset = preset;
        j.settings.segmentSeconds = 3;
        j.settings.segmentNumber = segment;
        j.settings.segmentToEnd = toEnd;
        return j;
    }
    static Result<ComposeResult> compose(const ComposeJob &j, QStringList *log = nullptr)
    {
        return composeVideo(
            j,
            [log](const QString &line) {
                if (log)
                    log->append(line);
            },
            [](qint64, qint64) {});
    }
    static Result<JoinResult> join(const QStringList &segments, const QString &input,
                                   const QString &output, QStringList *log = nullptr)
    {
        JoinJob j;
        j.segments = segments;
        j.input = input;
        j.output = output;
        j.segmentSeconds = 3;
        return joinSegments(
            j,
            [log](const QString &line) {
                if (log)
                    log->append(line);
            },
            [](qint64, qint64) {});
    }

private slots:
    void initTestCase()
    {
        av_log_set_level(AV_LOG_QUIET);
        QVERIFY(dir.isValid());
        source = dir.filePath("clip.mp4");
        const QString e = testvideo::make(source, 6.0, 160, 96, 30);
        QVERIFY2(e.isEmpty(), qPrintable(e));
    }

    void twoSegmentsJoinIntoOneStream()
    {
        auto whole = compose(job("whole.mp4"));
        QVERIFY2(whole, qPrintable(whole ? QString() : whole.error().message));
        QCOMPARE(whole->frames, qint64(180));
        auto first = compose(job("segment_0001.mp4", 1, false));
        QVERIFY2(first, qPrintable(first ? QString() : first.error().message));
        QCOMPARE(first->frames, qint64(90));
        QCOMPARE(first->firstFrame, qint64(0));
        // On a GPU slot a segment still uses the CPU encoder, so that every segment matches.
        ComposeJob onGpu = job("segment_0002.mp4", 2, true);
        onGpu.gpuSlot = true;
        QStringList gpuLog;
        auto second = compose(onGpu, &gpuLog);
        QVERIFY2(second, qPrintable(second ? QString() : second.error().message));
        QVERIFY2(gpuLog.join('\n').contains("a segment uses the CPU encoder on a GPU slot too"),
                 qPrintable(gpuLog.join('\n')));
        QCOMPARE(second->frames, qint64(90));
        QCOMPARE(second->firstFrame, qint64(90));
        // Segments carry video only: the join copies the audio.
        QCOMPARE(packetsOf(dir.filePath("segment_0001.mp4")).audio.size(), 0);

        QStringList log;
        const QString joinedPath = dir.filePath("joined.mp4");
        auto joined = join({dir.filePath("segment_0001.mp4"), dir.filePath("segment_0002.mp4")},
                           source, joinedPath, &log);
        QVERIFY2(joined, qPrintable(joined ? QString() : joined.error().message));
        QCOMPARE(joined->frames, qint64(180));
        QCOMPARE(joined->duration, 6.0);
        QVERIFY(joined->audioCopied);
        QVERIFY2(log.join('\n').contains("joined 2 segments (90 + 90 frames) without "
                                         "re-encoding: 180 frames, 6.000 s of video, audio "
                                         "copied"),
                 qPrintable(log.join('\n')));

        auto info = VideoDecoder::open(joinedPath);
        QVERIFY(info);
        QCOMPARE((*info)->info().width, 160);
        QVERIFY(std::abs((*info)->info().durationSeconds - 6.0) < 0.05);

        // One video stream; presentation times 0, d, 2d, … with no gap or repeat, and a
        // keyframe where the second segment starts.
        const Packets p = packetsOf(joinedPath);
        QCOMPARE(p.videoStreams, 1);
        QCOMPARE(p.videoPts.size(), 180);
        QList<qint64> pts = p.videoPts;
        std::sort(pts.begin(), pts.end());
        const qint64 step = pts[1] - pts[0];
        QVERIFY(step > 0);
        for (int i = 0; i < pts.size(); ++i)
            QCOMPARE(pts[i], pts[0] + i * step);
        const qsizetype seam = p.videoPts.indexOf(pts[90]);
        QVERIFY(seam >= 0);
        QVERIFY(p.key[seam]);

        // The audio is the whole compose's, packet for packet.
        const Packets reference = packetsOf(dir.filePath("whole.mp4"));
        QVERIFY(reference.audio.size() > 200);
        QCOMPARE(p.audio.size(), reference.audio.size());
        QVERIFY(p.audio == reference.audio);

        // Around the seam each frame is the whole compose's frame of its number (encoded
        // apart, so close, not equal), nearer to it than to the frames beside it.
        const auto a = decodeAll(joinedPath);
        const auto b = decodeAll(dir.filePath("whole.mp4"));
        const auto src = decodeAll(source);
        QCOMPARE(int(a.size()), 180);
        for (int n = 86; n <= 94; ++n) {
            const double same = lumaDiff(a[n].get(), b[n].get());
            QVERIFY2(same < 2.5, qPrintable(QString("frame %1: %2").arg(n).arg(same)));
            QVERIFY2(same < lumaDiff(a[n].get(), b[n - 1].get()) &&
                         same < lumaDiff(a[n].get(), b[n + 1].get()),
                     qPrintable(QString("frame %1 looks like a neighbour").arg(n)));
        }
        // The cue (2.5-3.5 s) on both sides of the seam (frames 80 and 100), not at 2 s or 4 s.
        QVERIFY(testvideo::changedPixels(a[80].get(), src[80].get(), 0, 0.25) > 40);
        QVERIFY(testvideo::changedPixels(a[100].get(), src[100].get(), 0, 0.25) > 40);
        QVERIFY(testvideo::changedPixels(a[60].get(), src[60].get(), 0, 0.25) < 10);
        QVERIFY(testvideo::changedPixels(a[120].get(), src[120].get(), 0, 0.25) < 10);
    }

    void aBackgroundSplitsAndJoinsWithoutAudio()
    {
        ComposeJob bg = job("bg.mp4", 0, false, "veryfast");
        bg.input.clear();
        bg.settings.duration = 5;
        bg.settings.segmentSeconds = 2;
        bg.settings.width = 128;
        bg.settings.height = 72;
        QStringList parts;
        for (int k = 1; k <= 3; ++k) {
            ComposeJob part = bg;
            part.settings.segmentNumber = k;
            part.settings.segmentToEnd = k == 3;
            part.output = dir.filePath(QString("bg_%1.mp4").arg(k));
            auto r = compose(part);
            QVERIFY2(r, qPrintable(r ? QString() : r.error().message));
            QCOMPARE(r->frames, k == 3 ? qint64(30) : qint64(60));
            parts.append(part.output);
        }
        JoinJob j;
        j.segments = parts;
        j.output = dir.filePath("bg_joined.mp4");
        j.segmentSeconds = 2;
        auto joined = joinSegments(
            j, [](const QString &) {}, [](qint64, qint64) {});
        QVERIFY2(joined, qPrintable(joined ? QString() : joined.error().message));
        QCOMPARE(joined->frames, qint64(150));
        QVERIFY(!joined->audioCopied);
        const Packets p = packetsOf(j.output);
        QCOMPARE(p.videoPts.size(), 150);
        QVERIFY(p.audio.isEmpty());
        QList<qint64> pts = p.videoPts;
        std::sort(pts.begin(), pts.end());
        for (int i = 1; i < pts.size(); ++i)
            QCOMPARE(pts[i] - pts[i - 1], pts[1] - pts[0]);
    }

    void segmentsEncodedApartAreRefused()
    {
        // Another preset writes other codec headers: a pure remux would not play right.
        auto other = compose(job("other_0002.mp4", 2, true, "ultrafast"));
        QVERIFY(other);
        auto first = compose(job("seg1.mp4", 1, false));
        QVERIFY(first);
        const QString out = dir.filePath("mixed.mp4");
        auto joined = join({dir.filePath("seg1.mp4"), dir.filePath("other_0002.mp4")}, source, out);
        QVERIFY(!joined);
        QVERIFY2(joined.error().message.contains("segment other_0002.mp4 was encoded differently "
                                                 "from seg1.mp4"),
                 qPrintable(joined.error().message));
        QVERIFY(!QFile::exists(out));
    }

    void aSegmentOfTheWrongLengthIsRefused()
    {
        // A whole compose of 180 frames in the place of segment 1, which holds 90.
        auto whole = compose(job("long.mp4"));
        QVERIFY(whole);
        auto last = compose(job("last.mp4", 2, true));
        QVERIFY(last);
        auto joined = join({dir.filePath("long.mp4"), dir.filePath("last.mp4")}, source,
                           dir.filePath("bad.mp4"));
        QVERIFY(!joined);
        QVERIFY2(joined.error().message.contains("segment long.mp4 holds 180 frames, but a "
                                                 "segment of 3 s at 30 fps holds 90"),
                 qPrintable(joined.error().message));
    }

    void anInputShorterThanItsSegmentsIsAnError()
    {
        // A 2 s video asked for segment 1 of 3 s (bounded): it ends before the segment does.
        const QString shortClip = dir.filePath("short.mp4");
        QVERIFY(testvideo::make(shortClip, 2.0, 160, 96, 30).isEmpty());
        ComposeJob j = job("short_0001.mp4", 1, false, "ultrafast");
        j.input = shortClip;
        auto r = compose(j);
        QVERIFY(!r);
        QVERIFY2(r.error().message.contains("short.mp4 ends at 2.00 s, before the end of segment "
                                            "1 (3.00 s)"),
                 qPrintable(r.error().message));
        QVERIFY(!QFile::exists(dir.filePath("short_0001.mp4")));
        // And a segment that starts after the end of a background.
        ComposeJob bg = job("bg_0003.mp4", 3, true, "ultrafast");
        bg.input.clear();
        bg.settings.duration = 5;
        auto b = compose(bg);
        QVERIFY(!b);
        QVERIFY2(b.error().message.contains("segment 3 starts at 6.00 s, after the video's end "
                                            "(5.00 s)"),
                 qPrintable(b.error().message));
    }
};

QTEST_GUILESS_MAIN(TstSegmentJoin)
#include "tst_segmentjoin.moc"
