#include "mediawriter.h"

#include <QFile>

extern "C" {
#include <libavutil/opt.h>
}

namespace farm::video {

Result<std::unique_ptr<MediaWriter>> MediaWriter::create(const QString &path)
{
    std::unique_ptr<MediaWriter> w(new MediaWriter);
    w->m_path = path;
    const QByteArray p = path.toUtf8();
    int rc = avformat_alloc_output_context2(&w->m_ctx, nullptr, nullptr, p.constData());
    if (rc < 0 || !w->m_ctx)
        return makeError(
            "invalid_field",
            QString("cannot write a media file named %1: %2").arg(path, avErrorText(rc)));
    if (!(w->m_ctx->oformat->flags & AVFMT_NOFILE)) {
        rc = avio_open(&w->m_ctx->pb, p.constData(), AVIO_FLAG_WRITE);
        if (rc < 0)
            return makeError("io", QString("cannot create %1: %2").arg(path, avErrorText(rc)));
    }
    return w;
}

MediaWriter::~MediaWriter()
{
    if (!m_ctx)
        return;
    if (m_ctx->pb && !(m_ctx->oformat->flags & AVFMT_NOFILE))
        avio_closep(&m_ctx->pb);
    avformat_free_context(m_ctx);
    if (!m_finished)
        QFile::remove(m_path);
}

bool MediaWriter::wantsGlobalHeader() const
{
    return m_ctx->oformat->flags & AVFMT_GLOBALHEADER;
}

Result<int> MediaWriter::addEncodedStream(const AVCodecContext *encoder)
{
    AVStream *s = avformat_new_stream(m_ctx, nullptr);
    if (!s)
        return makeError("internal", "cannot add a stream (out of memory)");
    const int rc = avcodec_parameters_from_context(s->codecpar, encoder);
    if (rc < 0)
        return makeError("internal", "cannot describe the video stream: " + avErrorText(rc));
    s->time_base = encoder->time_base;
    s->avg_frame_rate = encoder->framerate;
    s->r_frame_rate = encoder->framerate;
    return s->index;
}

Result<int> MediaWriter::addCopiedStream(const AVStream *in)
{
    AVStream *s = avformat_new_stream(m_ctx, nullptr);
    if (!s)
        return makeError("internal", "cannot add a stream (out of memory)");
    int rc = avcodec_parameters_copy(s->codecpar, in->codecpar);
    if (rc < 0)
        return makeError("internal", "cannot copy a stream's parameters: " + avErrorText(rc));
    // The source container's tag may mean something else in MP4: let the muxer pick.
    s->codecpar->codec_tag = 0;
    s->time_base = in->time_base;
    return s->index;
}

Result<void> MediaWriter::begin(bool faststart)
{
    AVDictionary *opts = nullptr;
    if (faststart)
        av_dict_set(&opts, "movflags", "+faststart", 0);
    const int rc = avformat_write_header(m_ctx, &opts);
    av_dict_free(&opts);
    if (rc < 0)
        return makeError("io", QString("cannot start writing %1: %2").arg(m_path, avErrorText(rc)));
    m_begun = true;
    return {};
}

Result<void> MediaWriter::write(AVPacket *packet, AVRational from, int stream)
{
    packet->stream_index = stream;
    av_packet_rescale_ts(packet, from, m_ctx->streams[stream]->time_base);
    const int rc = av_interleaved_write_frame(m_ctx, packet);
    if (rc < 0)
        return makeError("io", QString("cannot write to %1: %2").arg(m_path, avErrorText(rc)));
    return {};
}

Result<void> MediaWriter::finish()
{
    if (!m_begun)
        return makeError("internal", "the media file was never started");
    int rc = av_write_trailer(m_ctx);
    if (rc < 0)
        return makeError("io", QString("cannot finish %1: %2").arg(m_path, avErrorText(rc)));
    if (m_ctx->pb && !(m_ctx->oformat->flags & AVFMT_NOFILE)) {
        rc = avio_closep(&m_ctx->pb);
        if (rc < 0)
            return makeError("io", QString("cannot close %1: %2").arg(m_path, avErrorText(rc)));
    }
    m_finished = true;
    return {};
}

} // namespace farm::video
