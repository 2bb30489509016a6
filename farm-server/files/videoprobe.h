#pragma once

#include "util/result.h"

#include <QString>

namespace farm::server {

/// What the server reads from a video file's headers (libavformat, no decoding beyond what
/// FFmpeg needs to know the streams): how long its video stream lasts and its frame rate.
/// A compose job's compiler splits a long video into segments by it; the completion webhook
/// gives a video output's duration by it.
struct VideoFacts
{
    double duration = 0; // seconds of the video stream (the file's length without one)
    double fps = 0;      // the frame rate FFmpeg guesses (the one the node's decoder sees)
};

/// Fails with a message naming the file when it is not a media file with a video stream.
Result<VideoFacts> probeVideo(const QString &path, const QString &name);

} // namespace farm::server
