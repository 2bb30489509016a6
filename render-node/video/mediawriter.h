#pragma once

#include "avhandles.h"
#include "util/result.h"

#include <QString>

#include <memory>

namespace farm::video {

/// A media file being written (MP4 here; the container follows the file name): add streams,
/// begin(), write packets, finish(). A writer destroyed before finish() removes its file, so
/// a failed encode leaves no half video that looks like a result.
class MediaWriter
{
public:
    static Result<std::unique_ptr<MediaWriter>> create(const QString &path);
    ~MediaWriter();
    MediaWriter(const MediaWriter &) = delete;
    MediaWriter &operator=(const MediaWriter &) = delete;

    AVFormatContext *context() const { return m_ctx; }
    /// Whether encoders must put their headers in extradata (MP4 does).
    bool wantsGlobalHeader() const;
    /// A stream for an opened encoder; returns its index.
    Result<int> addEncodedStream(const AVCodecContext *encoder);
    /// A stream that takes `in`'s packets untouched (audio kept as it was); returns its index.
    Result<int> addCopiedStream(const AVStream *in);
    /// Writes the header; `faststart` moves the index to the front at finish().
    Result<void> begin(bool faststart);
    /// Writes one packet given in `from` units to `stream` (interleaved by the muxer). The
    /// packet is consumed.
    Result<void> write(AVPacket *packet, AVRational from, int stream);
    /// Writes the trailer and closes the file.
    Result<void> finish();
    const QString &path() const { return m_path; }

private:
    MediaWriter() = default;
    QString m_path;
    AVFormatContext *m_ctx = nullptr;
    bool m_begun = false;
    bool m_finished = false;
};

} // namespace farm::video
