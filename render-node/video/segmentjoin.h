#pragma once

#include "util/result.h"

#include <QString>
#include <QStringList>

#include <functional>

namespace farm::video {

/// The join of a split compose job (docs/JOBTYPES.md, "Segments"): the segments' videos, in
/// order, and the job's input video whose audio goes along.
struct JoinJob
{
    QStringList segments; // segment_0001.mp4, segment_0002.mp4, … in order
    QString input;        // the input video (its first audio stream is copied); empty: none
    QString output;
    bool faststart = true;
    /// settings.segment_seconds: every segment but the last holds round(seconds × fps) frames.
    double segmentSeconds = 0;
};

struct JoinResult
{
    qint64 frames = 0;
    double fps = 0;
    double duration = 0; // seconds of video
    bool audioCopied = false;
};

/// Concatenates the segments' video packets into one stream without decoding them (their
/// timestamps follow on from segment to segment) and copies the input's first audio stream
/// untouched over the whole length, as a one-task compose does (the first video frame is time
/// 0). Refuses segments that were not encoded alike (codec, size, pixel format, time base,
/// frame rate, codec headers), a segment that does not start with a keyframe, and one of the
/// wrong length: a joined file has no seam to see. A failed join leaves no output file.
Result<JoinResult> joinSegments(const JoinJob &job, const std::function<void(const QString &)> &log,
                                const std::function<void(qint64 done, qint64 total)> &progress);

} // namespace farm::video
