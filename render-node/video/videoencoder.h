#pragma once

#include "avhandles.h"
#include "mediawriter.h"
#include "videosettings.h"

#include <QSize>
#include <QString>

#include <memory>

namespace farm::video {

/// What an encoder is opened for.
struct EncoderConfig
{
    VideoSettings settings;
    int width = 0; // the video's size; even for 4:2:0 formats (see evenSize)
    int height = 0;
    /// A GPU slot: NVENC is tried first where the codec has it.
    bool gpuSlot = false;
    /// Encoder threads; 0: the encoder decides (all cores).
    int threads = 0;
    /// Frames between keyframes; 0: the encoder's default.
    int gop = 0;
};

/// Converts pictures of any size and pixel format to another (libswscale, bicubic), keeping
/// its context between calls of the same shape. One per thread.
class FrameScaler
{
public:
    FrameScaler() = default;
    ~FrameScaler();
    FrameScaler(const FrameScaler &) = delete;
    FrameScaler &operator=(const FrameScaler &) = delete;

    /// Scales a picture into `into`, whose size and format are set and buffers allocated.
    Result<void> scale(const uint8_t *const src[], const int srcStride[], int width, int height,
                       AVPixelFormat format, AVFrame *into);
    /// A new frame of `width`×`height` in `format` holding `frame`'s picture.
    Result<FramePtr> scaled(const AVFrame *frame, int width, int height, AVPixelFormat format);

private:
    SwsContext *m_sws = nullptr;
};

/// A video stream encoded into a MediaWriter: images or decoded frames in, packets out. Images
/// of another size or format are converted (swscale) to the video's size and pixel format.
class VideoEncoder
{
public:
    /// Opens the first encoder of `config.settings.codec` that works here: the NVENC one on a
    /// GPU slot (preset p4, VBR, cq = crf), else the CPU one; choice() says which and why.
    /// Adds its stream to `writer` (before writer.begin()).
    static Result<std::unique_ptr<VideoEncoder>> open(const EncoderConfig &config,
                                                      MediaWriter &writer);
    ~VideoEncoder();

    /// The encoder in use ("libx264", "h264_nvenc").
    QString encoderName() const;
    /// One sentence: the encoder, its settings and why it was chosen (for the task log).
    const QString &choice() const { return m_choice; }
    QSize size() const { return {m_ctx->width, m_ctx->height}; }
    /// The pixel format frames are encoded in (a frame already in it and of size() is sent to
    /// the encoder without converting it).
    AVPixelFormat pixelFormat() const { return m_ctx->pix_fmt; }

    /// Encodes one image of `format` (e.g. AV_PIX_FMT_RGBA, AV_PIX_FMT_RGB24) as the next frame.
    Result<void> addImage(const uint8_t *data, int width, int height, int stride,
                          AVPixelFormat format);
    /// Encodes a decoded frame (any size and format) as the next frame; its own timestamps are
    /// ignored: frames follow each other at the video's rate.
    Result<void> addFrame(const AVFrame *frame);
    /// Drains the encoder into the writer. No frames may follow.
    Result<void> finish();
    qint64 framesEncoded() const { return m_next; }

    /// The size a `width`×`height` source is encoded at in `pixelFormat`: 4:2:0 needs even
    /// sides, so an odd side loses one pixel (the image is scaled to it). `note` says so.
    static QSize evenSize(int width, int height, const QString &pixelFormat, QString *note);

private:
    VideoEncoder() = default;
    Result<void> send(AVFrame *frame);
    Result<void> convert(const uint8_t *const src[], const int srcStride[], int width, int height,
                         AVPixelFormat format);

    CodecContextPtr m_ctx;
    FramePtr m_frame;
    PacketPtr m_packet;
    FrameScaler m_scaler;
    MediaWriter *m_writer = nullptr;
    int m_stream = -1;
    qint64 m_next = 0;
    QString m_choice;
};

} // namespace farm::video
