#include "videodecoder.h"

#include <QFileInfo>

#include <cmath>

namespace farm::video {

Result<std::unique_ptr<VideoDecoder>> VideoDecoder::open(const QString &path, int threads)
{
    std::unique_ptr<VideoDecoder> d(new VideoDecoder);
    d->m_path = path;
    // Errors name the file, not the node's cache folder it was fetched into.
    const QString name = QFileInfo(path).fileName();
    AVFormatContext *fmt = nullptr;
    int rc = avformat_open_input(&fmt, path.toUtf8().constData(), nullptr, nullptr);
    if (rc < 0)
        return makeError(
            "invalid_input",
            QString("%1 is not a media file FFmpeg reads: %2").arg(name, avErrorText(rc)));
    d->m_format.reset(fmt);
    rc = avformat_find_stream_info(fmt, nullptr);
    if (rc < 0)
        return makeError("invalid_input",
                         QString("%1: cannot read its streams: %2").arg(name, avErrorText(rc)));
    const AVCodec *codec = nullptr;
    rc = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (rc < 0 || !codec)
        return makeError("invalid_input", QString("%1 holds no video stream").arg(name));
    d->m_stream = rc;
    const AVStream *s = fmt->streams[rc];
    d->m_codec.reset(avcodec_alloc_context3(codec));
    if (!d->m_codec || avcodec_parameters_to_context(d->m_codec.get(), s->codecpar) < 0)
        return makeError("internal", "cannot set up a decoder");
    d->m_codec->thread_count = threads;
    rc = avcodec_open2(d->m_codec.get(), codec, nullptr);
    if (rc < 0)
        return makeError("invalid_input",
                         QString("%1: cannot decode its %2 video: %3")
                             .arg(name, QString::fromLatin1(codec->name), avErrorText(rc)));
    d->m_frame.reset(av_frame_alloc());
    d->m_packet.reset(av_packet_alloc());
    MediaInfo &i = d->m_info;
    i.width = s->codecpar->width;
    i.height = s->codecpar->height;
    i.frameRate = av_guess_frame_rate(fmt, const_cast<AVStream *>(s), nullptr);
    i.videoCodec = QString::fromLatin1(codec->name);
    if (fmt->duration > 0)
        i.durationSeconds = double(fmt->duration) / AV_TIME_BASE;
    i.hasAudio = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0) >= 0;
    return d;
}

const AVStream *VideoDecoder::audio() const
{
    const int i = av_find_best_stream(m_format.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    return i >= 0 ? m_format->streams[i] : nullptr;
}

FramePtr VideoDecoder::take()
{
    FramePtr f(av_frame_alloc());
    if (f)
        av_frame_move_ref(f.get(), m_frame.get());
    return f;
}

Result<void> VideoDecoder::seek(double seconds)
{
    const AVStream *s = m_format->streams[m_stream];
    const int64_t ts = std::llround(seconds / av_q2d(s->time_base));
    const int rc = av_seek_frame(m_format.get(), m_stream, ts, AVSEEK_FLAG_BACKWARD);
    if (rc < 0)
        return makeError("invalid_input", QString("%1: cannot seek to %2 s: %3")
                                              .arg(QFileInfo(m_path).fileName())
                                              .arg(seconds, 0, 'f', 2)
                                              .arg(avErrorText(rc)));
    avcodec_flush_buffers(m_codec.get());
    m_flushing = false;
    return {};
}

Result<const AVFrame *> VideoDecoder::next()
{
    for (;;) {
        int rc = avcodec_receive_frame(m_codec.get(), m_frame.get());
        if (rc == 0)
            return static_cast<const AVFrame *>(m_frame.get());
        if (rc == AVERROR_EOF)
            return static_cast<const AVFrame *>(nullptr);
        if (rc != AVERROR(EAGAIN))
            return makeError("invalid_input",
                             QString("%1: the video does not decode: %2")
                                 .arg(QFileInfo(m_path).fileName(), avErrorText(rc)));
        if (m_flushing)
            return static_cast<const AVFrame *>(nullptr);
        rc = av_read_frame(m_format.get(), m_packet.get());
        if (rc == AVERROR_EOF) {
            m_flushing = true;
            avcodec_send_packet(m_codec.get(), nullptr);
            continue;
        }
        if (rc < 0)
            return makeError("invalid_input",
                             QString("%1: cannot read it: %2")
                                 .arg(QFileInfo(m_path).fileName(), avErrorText(rc)));
        if (m_packet->stream_index != m_stream) {
            Result<void> r;
            if (m_otherPackets)
                r = m_otherPackets(m_packet.get());
            av_packet_unref(m_packet.get());
            if (!r)
                return r.error();
            continue;
        }
        rc = avcodec_send_packet(m_codec.get(), m_packet.get());
        av_packet_unref(m_packet.get());
        if (rc < 0 && rc != AVERROR(EAGAIN))
            return makeError("invalid_input",
                             QString("%1: the video does not decode: %2")
                                 .arg(QFileInfo(m_path).fileName(), avErrorText(rc)));
    }
}

} // namespace farm::video
