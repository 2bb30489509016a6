#pragma once

// A test video made with libav (farm_video's encoder and writer, FFmpeg's AAC encoder): smooth
// moving colours and a sine tone, so tests compose over a real file with audio. Header only:
// tst_composer and tst_compose_e2e share it.
#include "video/avhandles.h"
#include "video/mediawriter.h"
#include "video/videoencoder.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
}

#include <QByteArray>
#include <QList>
#include <QPair>

#include <QString>

#include <cmath>
#include <vector>

namespace farm::video::testvideo {

/// The picture of frame `n`: colours that drift across the frame over time, no sharp edges.
inline std::vector<uint8_t> picture(int width, int height, int n)
{
    std::vector<uint8_t> rgb(size_t(width) * height * 3);
    std::vector<uint8_t> col(width), row(height);
    for (int x = 0; x < width; ++x)
        col[x] = uint8_t(128 + 90 * std::sin(x / 60.0 + n / 12.0));
    for (int y = 0; y < height; ++y)
        row[y] = uint8_t(128 + 90 * std::cos(y / 45.0 - n / 20.0));
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            uint8_t *p = &rgb[(size_t(y) * width + x) * 3];
            p[0] = col[x];
            p[1] = row[y];
            p[2] = uint8_t((col[x] + row[y]) / 2);
        }
    return rgb;
}

/// Writes `seconds` of `width`×`height` video at `fps` (H.264, crf 18) with a 440 Hz sine tone
/// (AAC, 48 kHz mono) to `path`. Returns the error text, empty on success.
inline QString make(const QString &path, double seconds, int width, int height, int fps,
                    bool faststart = true)
{
    auto writer = MediaWriter::create(path);
    if (!writer)
        return writer.error().message;
    EncoderConfig c;
    c.settings.preset = "ultrafast";
    c.settings.crf = 18;
    c.settings.fps = fps;
    c.settings.faststart = faststart;
    c.width = width;
    c.height = height;
    auto video = VideoEncoder::open(c, **writer);
    if (!video)
        return video.error().message;
    const AVCodec *aac = avcodec_find_encoder(AV_CODEC_ID_AAC);
    CodecContextPtr audio(aac ? avcodec_alloc_context3(aac) : nullptr);
    if (!audio)
        return "no AAC encoder";
    audio->sample_rate = 48000;
    audio->sample_fmt = AV_SAMPLE_FMT_FLTP;
    av_channel_layout_default(&audio->ch_layout, 1);
    audio->bit_rate = 96000;
    audio->time_base = {1, 48000};
    if ((*writer)->wantsGlobalHeader())
        audio->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (avcodec_open2(audio.get(), aac, nullptr) < 0)
        return "the AAC encoder does not open";
    auto audioStream = (*writer)->addEncodedStream(audio.get());
    if (!audioStream)
        return audioStream.error().message;
    if (auto r = (*writer)->begin(faststart); !r)
        return r.error().message;
    FramePtr samples(av_frame_alloc());
    samples->format = AV_SAMPLE_FMT_FLTP;
    samples->nb_samples = audio->frame_size;
    samples->sample_rate = 48000;
    av_channel_layout_copy(&samples->ch_layout, &audio->ch_layout);
    if (av_frame_get_buffer(samples.get(), 0) < 0)
        return "out of memory";
    PacketPtr packet(av_packet_alloc());
    const auto drain = [&]() -> QString {
        while (avcodec_receive_packet(audio.get(), packet.get()) == 0)
            if (auto r = (*writer)->write(packet.get(), audio->time_base, *audioStream); !r)
                return r.error().message;
        return {};
    };
    const int frames = int(std::lround(seconds * fps));
    const qint64 totalSamples = qint64(std::llround(seconds * 48000));
    qint64 written = 0;
    for (int n = 0; n < frames; ++n) {
        const std::vector<uint8_t> rgb = picture(width, height, n);
        if (auto r = (*video)->addImage(rgb.data(), width, height, width * 3, AV_PIX_FMT_RGB24); !r)
            return r.error().message;
        // Audio up to the end of this frame.
        while (written < std::min(totalSamples, qint64(std::llround((n + 1) * 48000.0 / fps)))) {
            if (av_frame_make_writable(samples.get()) < 0)
                return "out of memory";
            auto *s = reinterpret_cast<float *>(samples->data[0]);
            for (int i = 0; i < samples->nb_samples; ++i)
                s[i] = float(0.4 * std::sin(2 * M_PI * 440.0 * double(written + i) / 48000.0));
            samples->pts = written;
            written += samples->nb_samples;
            if (avcodec_send_frame(audio.get(), samples.get()) < 0)
                return "the AAC encoder refused a frame";
            if (QString e = drain(); !e.isEmpty())
                return e;
        }
    }
    avcodec_send_frame(audio.get(), nullptr);
    if (QString e = drain(); !e.isEmpty())
        return e;
    if (auto r = (*video)->finish(); !r)
        return r.error().message;
    if (auto r = (*writer)->finish(); !r)
        return r.error().message;
    return {};
}

/// Luma pixels of the band [from, to) of the frame's height (fractions) that differ by more
/// than 48 between two frames: where drawn text is.
inline int changedPixels(const AVFrame *a, const AVFrame *b, double from, double to)
{
    int n = 0;
    for (int y = int(from * a->height); y < int(to * a->height); ++y) {
        const uint8_t *ra = a->data[0] + y * a->linesize[0];
        const uint8_t *rb = b->data[0] + y * b->linesize[0];
        for (int x = 0; x < a->width; ++x)
            n += std::abs(int(ra[x]) - int(rb[x])) > 48;
    }
    return n;
}

/// The audio packets of a file, in order: their bytes and timestamps in 1/48000 s; `codec`
/// (optional) gets the audio codec's name.
inline QList<QPair<QByteArray, qint64>> audioPackets(const QString &path, QString *codec = nullptr)
{
    QList<QPair<QByteArray, qint64>> out;
    AVFormatContext *fmt = nullptr;
    if (avformat_open_input(&fmt, path.toUtf8().constData(), nullptr, nullptr) < 0)
        return out;
    InputFormatPtr owner(fmt);
    avformat_find_stream_info(fmt, nullptr);
    const int a = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    if (a < 0)
        return out;
    if (codec)
        *codec = QString::fromLatin1(avcodec_get_name(fmt->streams[a]->codecpar->codec_id));
    PacketPtr p(av_packet_alloc());
    while (av_read_frame(fmt, p.get()) >= 0) {
        if (p->stream_index == a)
            out.append({QByteArray(reinterpret_cast<const char *>(p->data), p->size),
                        av_rescale_q(p->pts, fmt->streams[a]->time_base, {1, 48000})});
        av_packet_unref(p.get());
    }
    return out;
}

} // namespace farm::video::testvideo
