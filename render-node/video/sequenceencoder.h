#pragma once

#include "videoencoder.h"

#include <QImage>
#include <QStringList>

#include <functional>

namespace farm::video {

/// What encoding an image sequence made.
struct SequenceResult
{
    qint64 frames = 0;
    QSize size;
    QString choice; // VideoEncoder::choice()
};

/// The pixel layout FFmpeg gives `image`'s bytes, converting `image` first where FFmpeg has
/// no matching layout.
AVPixelFormat avFormatOf(QImage &image);

/// Encodes image files, in the order given, as the frames of one video at `output`. Frames are
/// decoded on worker threads ahead of the encoder. Every frame must have the first one's size;
/// 4:2:0 with odd sides loses a pixel per odd side (logged). `config.width`/`height` are
/// taken from the first frame. `log` gets the lines worth keeping, `progress` frames done.
Result<SequenceResult> encodeImageFiles(const QStringList &files, const QString &output,
                                        EncoderConfig config,
                                        const std::function<void(const QString &)> &log,
                                        const std::function<void(qint64 done)> &progress);

} // namespace farm::video
