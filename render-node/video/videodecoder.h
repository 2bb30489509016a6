#pragma once

#include "avhandles.h"
#include "util/result.h"

#include <QString>

#include <functional>

#include <memory>

namespace farm::video {

/// What a media file holds, as read from its headers and streams.
struct MediaInfo
{
    int width = 0;
    int height = 0;
    AVRational frameRate{0, 1};
    double durationSeconds = 0.0;
    QString videoCodec;
    bool hasAudio = false;
};

/// Decodes the best video stream of a file frame by frame (the compose engine's input, and a
/// check of what the encoder wrote). Other streams are left for the caller (audio()).
class VideoDecoder
{
public:
    /// Fails with a clear message on a file that is missing, not a media file or has no video.
    static Result<std::unique_ptr<VideoDecoder>> open(const QString &path, int threads = 0);

    const MediaInfo &info() const { return m_info; }
    AVFormatContext *format() const { return m_format.get(); }
    int videoStream() const { return m_stream; }
    /// The first audio stream, or null.
    const AVStream *audio() const;

    /// The next decoded frame, null at the end of the stream. The frame stays valid until the
    /// next call. A damaged or truncated file gives an error, not a short video.
    Result<const AVFrame *> next();
    /// Moves the frame next() gave out of the decoder: the caller holds it, and it is writable
    /// (av_frame_is_writable) unless the decoder still refers to it (a reference frame).
    FramePtr take();
    /// Goes back to the last keyframe at or before `seconds` of the video stream's own time;
    /// next() decodes from there (a compose segment starts in the middle of its input).
    Result<void> seek(double seconds);
    /// Packets of streams other than the video met while reading (e.g. audio to copy) are
    /// handed here before next() returns; without a sink they are dropped.
    void setOtherPacketSink(std::function<Result<void>(AVPacket *)> sink)
    {
        m_otherPackets = std::move(sink);
    }

private:
    VideoDecoder() = default;
    InputFormatPtr m_format;
    CodecContextPtr m_codec;
    FramePtr m_frame;
    PacketPtr m_packet;
    int m_stream = -1;
    bool m_flushing = false;
    MediaInfo m_info;
    QString m_path;
    std::function<Result<void>(AVPacket *)> m_otherPackets;
};

} // namespace farm::video
