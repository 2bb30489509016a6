#include "segmentjoin.h"

#include "avhandles.h"
#include "mediawriter.h"
#include "videodecoder.h"

#include <QFileInfo>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace farm::video {

namespace {

struct Segment
{
    QString name;
    InputFormatPtr format;
    int stream = -1;
    const AVStream *video() const { return format->streams[stream]; }
};

Result<Segment> openSegment(const QString &path)
{
    Segment s;
    s.name = QFileInfo(path).fileName();
    AVFormatContext *fmt = nullptr;
    int rc = avformat_open_input(&fmt, path.toUtf8().constData(), nullptr, nullptr);
    if (rc < 0)
        return makeError(
            "invalid_input",
            QString("segment %1 is not a video FFmpeg reads: %2").arg(s.name, avErrorText(rc)));
    s.format.reset(fmt);
    rc = avformat_find_stream_info(fmt, nullptr);
    if (rc < 0)
        return makeError(
            "invalid_input",
            QString("segment %1: cannot read its streams: %2").arg(s.name, avErrorText(rc)));
    s.stream = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (s.stream < 0)
        return makeError("invalid_input", QString("segment %1 holds no video stream").arg(s.name));
    return s;
}

// What must be equal for packets of two streams to be one stream.
QString difference(const AVStream *a, const AVStream *b)
{
    const AVCodecParameters *p = a->codecpar, *q = b->codecpar;
    if (p->codec_id != q->codec_id)
        return QString("codec %1, not %2")
            .arg(QString::fromLatin1(avcodec_get_name(q->codec_id)),
                 QString::fromLatin1(avcodec_get_name(p->codec_id)));
    if (p->width != q->width || p->height != q->height)
        return QString("%1x%2, not %3x%4")
            .arg(q->width)
            .arg(q->height)
            .arg(p->width)
            .arg(p->height);
    if (p->format != q->format)
        return "another pixel format";
    if (av_cmp_q(a->time_base, b->time_base) != 0)
        return QString("time base %1/%2, not %3/%4")
            .arg(b->time_base.num)
            .arg(b->time_base.den)
            .arg(a->time_base.num)
            .arg(a->time_base.den);
    if (av_cmp_q(a->avg_frame_rate, b->avg_frame_rate) != 0)
        return QString("%1 fps, not %2")
            .arg(av_q2d(b->avg_frame_rate), 0, 'g', 6)
            .arg(av_q2d(a->avg_frame_rate), 0, 'g', 6);
    if (p->extradata_size != q->extradata_size ||
        (p->extradata_size > 0 && std::memcmp(p->extradata, q->extradata, p->extradata_size) != 0))
        return "other codec headers (another encoder or other encoder settings)";
    return {};
}

} // namespace

Result<JoinResult> joinSegments(const JoinJob &job, const std::function<void(const QString &)> &log,
                                const std::function<void(qint64 done, qint64 total)> &progress)
{
    if (job.segments.isEmpty())
        return makeError("invalid_input", "the join has no segments");
    std::vector<Segment> segments;
    qint64 expected = 0;
    for (const QString &path : job.segments) {
        auto s = openSegment(path);
        if (!s)
            return s.error();
        if (!segments.empty())
            if (const QString d = difference(segments.front().video(), s->video()); !d.isEmpty())
                return makeError("invalid_input",
                                 QString("segment %1 was encoded differently from %2 (%3): "
                                         "segments join only when encoded alike")
                                     .arg(s->name, segments.front().name, d));
        expected += std::max<int64_t>(0, s->video()->nb_frames);
        segments.push_back(std::move(*s));
    }
    const AVStream *first = segments.front().video();
    const AVRational timeBase = first->time_base;
    const AVRational rate =
        first->avg_frame_rate.num > 0 ? first->avg_frame_rate : first->r_frame_rate;
    if (rate.num <= 0 || rate.den <= 0)
        return makeError("invalid_input",
                         QString("segment %1 has no frame rate").arg(segments.front().name));
    const qint64 perSegment =
        job.segmentSeconds > 0
            ? std::max<qint64>(1, std::llround(job.segmentSeconds * av_q2d(rate)))
            : 0;

    auto writer = MediaWriter::create(job.output);
    if (!writer)
        return writer.error();
    auto videoOut = (*writer)->addCopiedStream(first);
    if (!videoOut)
        return videoOut.error();
    (*writer)->context()->streams[*videoOut]->avg_frame_rate = rate;

    // The audio keeps its place against the input's first video frame, which is time 0, as in
    // a one-task compose.
    InputFormatPtr audioIn;
    int audioStream = -1, audioOut = -1;
    AVRational audioTb{1, 1};
    int64_t shift = 0;
    if (!job.input.isEmpty()) {
        auto decoder = VideoDecoder::open(job.input, 1);
        if (!decoder)
            return decoder.error();
        if (const AVStream *a = (*decoder)->audio()) {
            auto frame = (*decoder)->next();
            if (!frame)
                return frame.error();
            double origin = 0;
            if (*frame) {
                const int64_t ts = (*frame)->best_effort_timestamp != AV_NOPTS_VALUE
                                       ? (*frame)->best_effort_timestamp
                                       : (*frame)->pts;
                const AVStream *vs = (*decoder)->format()->streams[(*decoder)->videoStream()];
                origin = ts != AV_NOPTS_VALUE ? ts * av_q2d(vs->time_base) : 0.0;
            }
            AVFormatContext *fmt = nullptr;
            const int rc =
                avformat_open_input(&fmt, job.input.toUtf8().constData(), nullptr, nullptr);
            if (rc < 0)
                return makeError("invalid_input",
                                 QString("%1 is not a media file FFmpeg reads: %2")
                                     .arg(QFileInfo(job.input).fileName(), avErrorText(rc)));
            audioIn.reset(fmt);
            audioStream = a->index;
            if (audioStream >= int(fmt->nb_streams))
                return makeError("internal", "the input's streams changed between two reads");
            auto idx = (*writer)->addCopiedStream(fmt->streams[audioStream]);
            if (!idx)
                return idx.error();
            audioOut = *idx;
            audioTb = fmt->streams[audioStream]->time_base;
            shift = std::llround(origin / av_q2d(audioTb));
        }
    }
    if (auto r = (*writer)->begin(job.faststart); !r)
        return r.error();

    // Video: the segments' packets one after the other, each segment's timestamps moved on by
    // the frames before it. Audio: the input's packets. Written in time order.
    PacketPtr video(av_packet_alloc()), audio(av_packet_alloc());
    size_t segment = 0;
    qint64 frames = 0, inSegment = 0;
    int64_t offset = 0, lastDts = std::numeric_limits<int64_t>::min();
    bool haveVideo = false, haveAudio = false, videoDone = false, audioDone = audioOut < 0;
    QStringList counts;
    const auto readVideo = [&]() -> Result<void> {
        for (;;) {
            if (segment >= segments.size()) {
                videoDone = true;
                return {};
            }
            const Segment &s = segments[segment];
            const int rc = av_read_frame(s.format.get(), video.get());
            if (rc == AVERROR_EOF) {
                if (inSegment == 0)
                    return makeError("invalid_input",
                                     QString("segment %1 holds no video frames").arg(s.name));
                if (segment + 1 < segments.size() && perSegment > 0 && inSegment != perSegment)
                    return makeError("invalid_input",
                                     QString("segment %1 holds %2 frames, but a segment of %3 s "
                                             "at %4 fps holds %5: the join would skip or repeat "
                                             "time")
                                         .arg(s.name)
                                         .arg(inSegment)
                                         .arg(job.segmentSeconds, 0, 'g', 6)
                                         .arg(av_q2d(rate), 0, 'g', 6)
                                         .arg(perSegment));
                counts.append(QString::number(inSegment));
                offset = av_rescale_q(frames, av_inv_q(rate), timeBase);
                ++segment;
                inSegment = 0;
                continue;
            }
            if (rc < 0)
                return makeError(
                    "invalid_input",
                    QString("segment %1: cannot read it: %2").arg(s.name, avErrorText(rc)));
            if (video->stream_index != s.stream) {
                av_packet_unref(video.get());
                continue;
            }
            if (inSegment == 0 && !(video->flags & AV_PKT_FLAG_KEY))
                return makeError("invalid_input",
                                 QString("segment %1 does not start with a keyframe").arg(s.name));
            if (video->pts != AV_NOPTS_VALUE)
                video->pts += offset;
            if (video->dts != AV_NOPTS_VALUE) {
                video->dts += offset;
                if (video->dts <= lastDts)
                    return makeError(
                        "invalid_input",
                        QString("segment %1 overlaps the one before it in time").arg(s.name));
                lastDts = video->dts;
            }
            ++inSegment;
            ++frames;
            haveVideo = true;
            return {};
        }
    };
    const auto readAudio = [&]() -> Result<void> {
        for (;;) {
            const int rc = av_read_frame(audioIn.get(), audio.get());
            if (rc == AVERROR_EOF) {
                audioDone = true;
                return {};
            }
            if (rc < 0)
                return makeError("invalid_input",
                                 QString("%1: cannot read its audio: %2")
                                     .arg(QFileInfo(job.input).fileName(), avErrorText(rc)));
            if (audio->stream_index != audioStream) {
                av_packet_unref(audio.get());
                continue;
            }
            if (audio->pts != AV_NOPTS_VALUE)
                audio->pts -= shift;
            if (audio->dts != AV_NOPTS_VALUE)
                audio->dts -= shift;
            haveAudio = true;
            return {};
        }
    };
    const auto timeOf = [](const AVPacket *p) {
        return p->dts != AV_NOPTS_VALUE ? p->dts : p->pts;
    };
    for (;;) {
        if (!haveVideo && !videoDone)
            if (auto r = readVideo(); !r)
                return r.error();
        if (!haveAudio && !audioDone)
            if (auto r = readAudio(); !r)
                return r.error();
        if (!haveVideo && !haveAudio)
            break;
        if (haveVideo && (!haveAudio || av_compare_ts(timeOf(video.get()), timeBase,
                                                      timeOf(audio.get()), audioTb) <= 0)) {
            if (auto r = (*writer)->write(video.get(), timeBase, *videoOut); !r)
                return r.error();
            av_packet_unref(video.get());
            haveVideo = false;
            progress(frames, std::max(expected, frames));
        } else {
            if (auto r = (*writer)->write(audio.get(), audioTb, audioOut); !r)
                return r.error();
            av_packet_unref(audio.get());
            haveAudio = false;
        }
    }
    if (auto r = (*writer)->finish(); !r)
        return r.error();
    JoinResult out;
    out.frames = frames;
    out.fps = av_q2d(rate);
    out.duration = frames / out.fps;
    out.audioCopied = audioOut >= 0;
    log(QString("joined %1 segments (%2 frames) without re-encoding: %3 frames, %4 s of video%5")
            .arg(segments.size())
            .arg(counts.join(" + "))
            .arg(frames)
            .arg(out.duration, 0, 'f', 3)
            .arg(out.audioCopied ? ", audio copied" : ""));
    return out;
}

} // namespace farm::video
