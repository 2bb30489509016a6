#include "videoencoder.h"

extern "C" {
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
}

#include <QStringList>

namespace farm::video {

namespace {

bool supportsFormat(const AVCodec *codec, AVPixelFormat format)
{
    if (!codec->pix_fmts)
        return true;
    for (const AVPixelFormat *p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; ++p)
        if (*p == format)
            return true;
    return false;
}

// NVENC takes 10-bit 4:2:0 as P010, not planar yuv420p10le.
AVPixelFormat formatFor(const EncoderCandidate &c, AVPixelFormat asked)
{
    if (c.nvenc && asked == AV_PIX_FMT_YUV420P10LE)
        return AV_PIX_FMT_P010LE;
    return asked;
}

void setRateControl(AVCodecContext *ctx, const EncoderCandidate &c, const VideoSettings &s,
                    QStringList &said)
{
    void *priv = ctx->priv_data;
    const QByteArray crf = QByteArray::number(s.crf);
    if (c.nvenc) {
        // How GPU video farms run NVENC: the middle preset, VBR with a constant-quality target.
        av_opt_set(priv, "preset", "p4", 0);
        av_opt_set(priv, "rc", "vbr", 0);
        if (s.bitrateKbps > 0) {
            ctx->bit_rate = qint64(s.bitrateKbps) * 1000;
            said << "preset p4" << QString("VBR %1 kbit/s").arg(s.bitrateKbps);
        } else {
            ctx->bit_rate = 0;
            av_opt_set(priv, "cq", crf.constData(), 0);
            said << "preset p4"
                 << "VBR" << QString("cq %1").arg(s.crf);
        }
        return;
    }
    const QString name = QString::fromLatin1(ctx->codec->name);
    if (name == "libx264" || name == "libx265") {
        av_opt_set(priv, "preset", s.preset.toLatin1().constData(), 0);
        if (name == "libx265")
            av_opt_set(priv, "x265-params", "log-level=error", 0);
        said << "preset " + s.preset;
    } else if (name == "libsvtav1") {
        av_opt_set(priv, "preset", "8", 0);
        said << "preset 8";
    } else if (name == "libaom-av1") {
        av_opt_set(priv, "cpu-used", "6", 0);
        av_opt_set(priv, "row-mt", "1", 0);
        said << "cpu-used 6";
    } else if (name == "libvpx-vp9") {
        av_opt_set(priv, "deadline", "good", 0);
        av_opt_set(priv, "cpu-used", "4", 0);
        av_opt_set(priv, "row-mt", "1", 0);
        said << "deadline good, cpu-used 4";
    }
    if (s.bitrateKbps > 0) {
        ctx->bit_rate = qint64(s.bitrateKbps) * 1000;
        said << QString("%1 kbit/s").arg(s.bitrateKbps);
    } else {
        // libvpx and libaom reach constant quality only with no bitrate target at all.
        ctx->bit_rate = 0;
        av_opt_set(priv, "crf", crf.constData(), 0);
        said << QString("crf %1").arg(s.crf);
    }
}

} // namespace

QSize VideoEncoder::evenSize(int width, int height, const QString &pixelFormat, QString *note)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(av_get_pix_fmt(pixelFormat.toLatin1()));
    const bool halfW = d && d->log2_chroma_w > 0, halfH = d && d->log2_chroma_h > 0;
    QSize out(halfW ? width & ~1 : width, halfH ? height & ~1 : height);
    if (note && out != QSize(width, height))
        *note = QString("%1x%2 frames are scaled to %3x%4: %5 needs even sides")
                    .arg(width)
                    .arg(height)
                    .arg(out.width())
                    .arg(out.height())
                    .arg(pixelFormat);
    return out;
}

Result<std::unique_ptr<VideoEncoder>> VideoEncoder::open(const EncoderConfig &config,
                                                         MediaWriter &writer)
{
    const VideoSettings &s = config.settings;
    const QList<EncoderCandidate> candidates = encodersFor(s.codec);
    if (candidates.isEmpty())
        return makeError(
            "invalid_field",
            QString("codec '%1' is not one of %2").arg(s.codec, videoCodecNames().join(", ")));
    const AVPixelFormat asked = av_get_pix_fmt(s.pixelFormat.toLatin1().constData());
    if (asked == AV_PIX_FMT_NONE)
        return makeError("invalid_field",
                         QString("pixel format '%1' is not known").arg(s.pixelFormat));
    if (config.width < 2 || config.height < 2 || config.width > 16384 || config.height > 16384)
        return makeError(
            "invalid_field",
            QString("a %1x%2 video cannot be encoded").arg(config.width).arg(config.height));
    if (evenSize(config.width, config.height, s.pixelFormat, nullptr) !=
        QSize(config.width, config.height))
        return makeError("invalid_field", QString("%1 needs even sides, not %2x%3")
                                              .arg(s.pixelFormat)
                                              .arg(config.width)
                                              .arg(config.height));

    QStringList tried; // why earlier candidates were passed over
    for (const EncoderCandidate &c : candidates) {
        if (c.nvenc && !config.gpuSlot)
            continue; // mentioned below only when nothing else is there
        const AVCodec *codec = avcodec_find_encoder_by_name(c.name.toLatin1().constData());
        if (!codec) {
            tried << QString("%1 is not in this libavcodec").arg(c.name);
            continue;
        }
        const AVPixelFormat format = formatFor(c, asked);
        if (!supportsFormat(codec, format)) {
            tried << QString("%1 cannot write %2").arg(c.name, s.pixelFormat);
            continue;
        }
        CodecContextPtr ctx(avcodec_alloc_context3(codec));
        if (!ctx)
            return makeError("internal", "out of memory");
        ctx->width = config.width;
        ctx->height = config.height;
        ctx->pix_fmt = format;
        ctx->framerate = av_d2q(s.fps, 100000);
        ctx->time_base = av_inv_q(ctx->framerate);
        ctx->sample_aspect_ratio = {1, 1};
        ctx->thread_count = config.threads;
        if (config.gop > 0)
            ctx->gop_size = config.gop;
        if (writer.wantsGlobalHeader())
            ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
        QStringList said;
        setRateControl(ctx.get(), c, s, said);
        const int rc = avcodec_open2(ctx.get(), codec, nullptr);
        if (rc < 0) {
            tried << QString("%1 did not open (%2)").arg(c.name, avErrorText(rc));
            continue;
        }
        std::unique_ptr<VideoEncoder> e(new VideoEncoder);
        e->m_ctx = std::move(ctx);
        e->m_writer = &writer;
        auto stream = writer.addEncodedStream(e->m_ctx.get());
        if (!stream)
            return stream.error();
        e->m_stream = *stream;
        e->m_frame.reset(av_frame_alloc());
        e->m_packet.reset(av_packet_alloc());
        if (!e->m_frame || !e->m_packet)
            return makeError("internal", "out of memory");
        e->m_frame->format = format;
        e->m_frame->width = config.width;
        e->m_frame->height = config.height;
        if (const int r = av_frame_get_buffer(e->m_frame.get(), 0); r < 0)
            return makeError("internal", "cannot allocate a frame: " + avErrorText(r));
        QString why;
        if (c.nvenc)
            why = "a GPU slot, and NVENC opened";
        else if (config.gpuSlot)
            why = "a GPU slot, but " +
                  (tried.isEmpty() ? QString("the codec has no NVENC encoder") : tried.join("; "));
        else
            why = candidates.first().nvenc
                      ? QString("a CPU slot (%1 is used on GPU slots)").arg(candidates.first().name)
                      : QString("a CPU slot");
        if (!c.nvenc && config.gpuSlot == false && !tried.isEmpty())
            why += "; " + tried.join("; ");
        e->m_choice = QString("encoder %1 (%2, %3x%4 %5 at %6 fps): %7")
                          .arg(c.name, said.join(", "))
                          .arg(config.width)
                          .arg(config.height)
                          .arg(QString::fromLatin1(av_get_pix_fmt_name(format)))
                          .arg(s.fps)
                          .arg(why);
        return e;
    }
    return makeError(
        "unsupported",
        QString("no encoder for %1 works on this node: %2").arg(s.codec, tried.join("; ")));
}

VideoEncoder::~VideoEncoder() = default;

QString VideoEncoder::encoderName() const
{
    return QString::fromLatin1(m_ctx->codec->name);
}

FrameScaler::~FrameScaler()
{
    sws_freeContext(m_sws);
}

Result<void> FrameScaler::scale(const uint8_t *const src[], const int srcStride[], int width,
                                int height, AVPixelFormat format, AVFrame *into)
{
    if (width < 1 || height < 1)
        return makeError("invalid_field", "an empty image cannot be a video frame");
    // JPEG decodes to full-range "yuvj" formats: the same layout, with the range said apart.
    bool fullRange = false;
    switch (format) {
    case AV_PIX_FMT_YUVJ420P:
        format = AV_PIX_FMT_YUV420P, fullRange = true;
        break;
    case AV_PIX_FMT_YUVJ422P:
        format = AV_PIX_FMT_YUV422P, fullRange = true;
        break;
    case AV_PIX_FMT_YUVJ444P:
        format = AV_PIX_FMT_YUV444P, fullRange = true;
        break;
    case AV_PIX_FMT_YUVJ440P:
        format = AV_PIX_FMT_YUV440P, fullRange = true;
        break;
    default:
        break;
    }
    const AVPixelFormat to = AVPixelFormat(into->format);
    m_sws = sws_getCachedContext(m_sws, width, height, format, into->width, into->height, to,
                                 SWS_BICUBIC, nullptr, nullptr, nullptr);
    if (m_sws && fullRange)
        sws_setColorspaceDetails(m_sws, sws_getCoefficients(SWS_CS_DEFAULT), 1,
                                 sws_getCoefficients(SWS_CS_DEFAULT), 0, 0, 1 << 16, 1 << 16);
    if (!m_sws)
        return makeError("unsupported", QString("cannot convert %1 %2x%3 images to %4")
                                            .arg(QString::fromLatin1(av_get_pix_fmt_name(format)))
                                            .arg(width)
                                            .arg(height)
                                            .arg(av_get_pix_fmt_name(to)));
    sws_scale(m_sws, src, srcStride, 0, height, into->data, into->linesize);
    return {};
}

Result<FramePtr> FrameScaler::scaled(const AVFrame *frame, int width, int height,
                                     AVPixelFormat format)
{
    FramePtr out(av_frame_alloc());
    if (!out)
        return makeError("internal", "out of memory");
    out->format = format;
    out->width = width;
    out->height = height;
    if (const int rc = av_frame_get_buffer(out.get(), 0); rc < 0)
        return makeError("internal", "cannot allocate a frame: " + avErrorText(rc));
    if (auto r = scale(frame->data, frame->linesize, frame->width, frame->height,
                       AVPixelFormat(frame->format), out.get());
        !r)
        return r.error();
    return out;
}

Result<void> VideoEncoder::convert(const uint8_t *const src[], const int srcStride[], int width,
                                   int height, AVPixelFormat format)
{
    // The encoder may still hold the previous frame's buffer (it keeps references).
    if (const int rc = av_frame_make_writable(m_frame.get()); rc < 0)
        return makeError("internal", "cannot write a frame: " + avErrorText(rc));
    if (auto r = m_scaler.scale(src, srcStride, width, height, format, m_frame.get()); !r)
        return r;
    m_frame->pts = m_next++;
    return send(m_frame.get());
}

Result<void> VideoEncoder::addImage(const uint8_t *data, int width, int height, int stride,
                                    AVPixelFormat format)
{
    const uint8_t *src[4] = {data, nullptr, nullptr, nullptr};
    const int strides[4] = {stride, 0, 0, 0};
    return convert(src, strides, width, height, format);
}

Result<void> VideoEncoder::addFrame(const AVFrame *frame)
{
    if (frame->format == m_ctx->pix_fmt && frame->width == m_ctx->width &&
        frame->height == m_ctx->height) {
        // Already the video's size and format (converted ahead, on another thread): sent as is.
        FramePtr ref(av_frame_clone(frame));
        if (!ref)
            return makeError("internal", "out of memory");
        ref->pts = m_next++;
        ref->pict_type = AV_PICTURE_TYPE_NONE;
        return send(ref.get());
    }
    return convert(frame->data, frame->linesize, frame->width, frame->height,
                   AVPixelFormat(frame->format));
}

Result<void> VideoEncoder::send(AVFrame *frame)
{
    int rc = avcodec_send_frame(m_ctx.get(), frame);
    if (rc < 0)
        return makeError("encode",
                         QString("%1 refused a frame: %2").arg(encoderName(), avErrorText(rc)));
    for (;;) {
        rc = avcodec_receive_packet(m_ctx.get(), m_packet.get());
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return {};
        if (rc < 0)
            return makeError("encode",
                             QString("%1 failed: %2").arg(encoderName(), avErrorText(rc)));
        // Each frame lasts one tick of 1/fps; without it MP4 reports the last frame as 0 long.
        m_packet->duration = 1;
        if (auto w = m_writer->write(m_packet.get(), m_ctx->time_base, m_stream); !w)
            return w;
    }
}

Result<void> VideoEncoder::finish()
{
    return send(nullptr);
}

} // namespace farm::video
