#pragma once

#include "model/scenario.h"
#include "narration.h"
#include "videoencoder.h"

#include <QJsonObject>
#include <QSize>
#include <QString>

#include <functional>
#include <optional>

namespace farm::video {

/// A compose task's settings (docs/JOBTYPES.md, "compose"), as the server's `compose` schema
/// defines them (farm-server/jobtypes/composejob.cpp).
struct ComposeSettings
{
    VideoSettings video; // codec, crf, bitrate, pixel format, preset, faststart, output
    int width = 0;       // 0: the input's (1280 without one)
    int height = 0;      // 0: the input's (720 without one)
    double fps = 0;      // 0: the input's (30 without one)
    CueColor background{0, 0, 0, 255};
    std::optional<CueColor> backgroundTo; // a vertical gradient from background to this
    double duration = 0;                  // without input: seconds; 0: the last cue's end
    /// Seconds of output a segment covers when the server splits a long job (0: never split);
    /// a segment is a whole number of frames, round(segmentSeconds * fps).
    double segmentSeconds = 60;
    /// Set by the server on a split job's tasks (docs/JOBTYPES.md, "Segments"): this task makes
    /// segment `segmentNumber` (1-based; 0: the whole video), the last one to the input's end;
    /// or it joins the segments (join).
    int segmentNumber = 0;
    bool segmentToEnd = false;
    bool join = false;

    /// The file the task writes: segment_NNNN.mp4 for a segment, else video.output.
    QString outputName() const;
    static Result<ComposeSettings> fromJson(const QJsonObject &o);
};

/// What a compose task does: its scenario over `input` (a video; empty: a background).
struct ComposeJob
{
    Scenario scenario;
    QString input;
    QString output;
    ComposeSettings settings;
    bool gpuSlot = false;
    int threads = 0;
    /// Spoken over the video as its audio track (a question card's, scenarioNarration).
    Narration narration;
};

struct ComposeResult
{
    qint64 frames = 0;
    qint64 firstFrame = 0; // a segment's first frame in the whole video
    QSize size;
    double fps = 0;
    double duration = 0; // seconds of video
    bool audioCopied = false;
    QList<NarrationSpan> narration; // where each spoken line landed (empty: none)
    QString choice;                 // VideoEncoder::choice()
};

/// Draws the scenario's cues (libass) over the input's decoded frames, or over the background,
/// and encodes the result to `job.output`; the input's first audio stream is copied untouched.
/// Decoding and drawing run on a thread ahead of the encoder. A missing, damaged or truncated
/// input fails with a message naming it; a failed compose leaves no output file.
/// `log` gets the lines worth keeping (the encoder, font fallbacks), `progress` frames done of
/// the total expected.
Result<ComposeResult> composeVideo(const ComposeJob &job,
                                   const std::function<void(const QString &)> &log,
                                   const std::function<void(qint64 done, qint64 total)> &progress);

} // namespace farm::video
