#pragma once

// Question-card narration (docs/JOBTYPES.md, "compose"): the lines of farm::Narration spoken by
// espeak-ng, resampled with libswresample, mixed over the input video's audio (or alone) and
// encoded as the output's AAC track.
#include "avhandles.h"
#include "model/questioncard.h"
#include "util/result.h"

#include <QList>
#include <QString>

#include <array>
#include <functional>
#include <vector>

namespace farm::video {

class MediaWriter;

/// Where a spoken line landed in the output, in seconds.
struct NarrationSpan
{
    double start = 0, end = 0;
    QString text;
};

/// Stereo audio from time 0 (the first video frame), planar float at `rate`.
struct AudioTrack
{
    static constexpr int kRate = 48000;
    std::array<std::vector<float>, 2> channels;
    double seconds() const { return double(channels[0].size()) / kRate; }
    void resize(size_t samples);
};

/// Speaks each line with espeak-ng (one voice, one rate for all) and places it at its start,
/// or right after the line before it ends (with a short pause) when that runs later. Fails
/// when espeak-ng or the voice is missing.
Result<AudioTrack> speakNarration(const Narration &narration, QList<NarrationSpan> *spans);

/// The first audio stream of `path` decoded, resampled to AudioTrack's format; time 0 is the
/// video stream's start. An empty track when the file has no audio.
Result<AudioTrack> decodeAudioTrack(const QString &path);

/// Adds `b` onto `a` (a grows to b's length), clipping at ±1.
void mixInto(AudioTrack &a, const AudioTrack &b);

/// An AAC stream of a MediaWriter fed a whole AudioTrack: open() before the writer begins,
/// write() after.
class AudioTrackEncoder
{
public:
    static Result<AudioTrackEncoder> open(MediaWriter &writer);
    /// Encodes the first `seconds` of `track` (silence after its end) and flushes.
    Result<void> write(const AudioTrack &track, double seconds);

private:
    MediaWriter *m_writer = nullptr;
    std::shared_ptr<AVCodecContext> m_ctx;
    int m_stream = -1;
};

} // namespace farm::video
