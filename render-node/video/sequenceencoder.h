#pragma once

#include "videoencoder.h"

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

/// Decodes one PNG or JPEG file with libavcodec (the decoders the ffmpeg command uses); the
/// error names the file.
Result<FramePtr> decodeImageFile(const QString &path);

/// Encodes image files, in the order given, as the frames of one video at `output`. Frames are
/// decoded and converted to the video's pixel format on worker threads ahead of the encoder. Every
/// frame must have the first one's size; 4:2:0 with odd sides loses a pixel per odd side (logged).
/// `config.width`/`height` are taken from the first frame. `log` gets the lines worth keeping,
/// `progress` frames done.
Result<SequenceResult> encodeImageFiles(const QStringList &files, const QString &output,
                                        EncoderConfig config,
                                        const std::function<void(const QString &)> &log,
                                        const std::function<void(qint64 done)> &progress);

} // namespace farm::video
