#include "composer.h"

#include "assscript.h"
#include "framepipe.h"
#include "framepool.h"
#include "subtitlerenderer.h"
#include "videodecoder.h"

#include <QFileInfo>
#include <QSet>

#include <cmath>
#include <thread>
#include <vector>

namespace farm::video {

namespace {

// The background of a compose without input: a colour, or a vertical gradient.
Result<FramePtr> backgroundFrame(const ComposeSettings &s, int width, int height,
                                 AVPixelFormat format)
{
    FramePtr rgb(av_frame_alloc());
    rgb->format = AV_PIX_FMT_RGB24;
    rgb->width = width;
    rgb->height = height;
    if (av_frame_get_buffer(rgb.get(), 0) < 0)
        return makeError("internal", "out of memory for the background");
    const CueColor a = s.background, b = s.backgroundTo.value_or(s.background);
    for (int y = 0; y < height; ++y) {
        const double t = height > 1 ? double(y) / (height - 1) : 0.0;
        const auto lerp = [t](int from, int to) {
            return uint8_t(std::lround(from + (to - from) * t));
        };
        const uint8_t r = lerp(a.r, b.r), g = lerp(a.g, b.g), bl = lerp(a.b, b.b);
        uint8_t *row = rgb->data[0] + qsizetype(y) * rgb->linesize[0];
        for (int x = 0; x < width; ++x) {
            row[3 * x] = r;
            row[3 * x + 1] = g;
            row[3 * x + 2] = bl;
        }
    }
    FrameScaler scaler;
    return scaler.scaled(rgb.get(), width, height, format);
}

// Decoded frames of the input in time order, and the audio packets met on the way.
class InputFrames
{
public:
    Result<void> open(const QString &path, int threads, bool keepAudio)
    {
        auto d = VideoDecoder::open(path, threads);
        if (!d)
            return d.error();
        m_decoder = std::move(*d);
        m_name = QFileInfo(path).fileName();
        const AVStream *vs = m_decoder->format()->streams[m_decoder->videoStream()];
        m_timeBase = vs->time_base;
        // The video stream's own length (a longer audio track makes the file's longer).
        m_declared = vs->duration != AV_NOPTS_VALUE && vs->duration > 0
                         ? vs->duration * av_q2d(vs->time_base)
                         : m_decoder->info().durationSeconds;
        if (const AVStream *audio = keepAudio ? m_decoder->audio() : nullptr) {
            m_audioIndex = audio->index;
            m_decoder->setOtherPacketSink([this](AVPacket *p) -> Result<void> {
                if (p->stream_index == m_audioIndex)
                    m_packets.emplace_back(av_packet_clone(p));
                return {};
            });
        }
        return {};
    }
    VideoDecoder &decoder() { return *m_decoder; }
    int audioIndex() const { return m_audioIndex; }
    std::vector<PacketPtr> takePackets() { return std::exchange(m_packets, {}); }

    /// The next frame and its time in seconds from the first frame; a null frame at the end.
    Result<std::pair<FramePtr, double>> next()
    {
        auto f = m_decoder->next();
        if (!f)
            return makeError(f.error().code,
                             QString("%1 (after %2 s of video): the file is damaged or truncated")
                                 .arg(f.error().message)
                                 .arg(m_started ? m_lastTime : 0.0, 0, 'f', 2));
        if (!*f)
            return std::pair<FramePtr, double>{nullptr, 0.0};
        const AVFrame *frame = *f;
        const int64_t ts = frame->best_effort_timestamp != AV_NOPTS_VALUE
                               ? frame->best_effort_timestamp
                               : frame->pts;
        double t = ts != AV_NOPTS_VALUE ? ts * av_q2d(m_timeBase) : m_lastTime + m_step;
        if (!m_started) {
            m_origin = t;
            m_started = true;
        }
        t -= m_origin;
        m_lastTime = t;
        // Moved, not cloned: a frame the decoder no longer refers to is then drawn on in place.
        FramePtr owned = m_decoder->take();
        if (!owned)
            return makeError("internal", "out of memory");
        return std::pair<FramePtr, double>{std::move(owned), t};
    }
    double origin() const { return m_origin; }
    /// Decodes on from the last keyframe a second or more before `t` seconds from the first
    /// frame (a segment's start); the first frame of the file still fixes the origin.
    Result<void> seekBefore(double t)
    {
        if (!m_started) {
            auto f = next();
            if (!f)
                return f.error();
            if (!f->first)
                return {};
        }
        return m_decoder->seek(m_origin + std::max(0.0, t - 1.0));
    }
    /// How long the headers say the video stream is, in seconds.
    double declared() const { return m_declared; }
    void setStep(double step) { m_step = step; }

private:
    std::unique_ptr<VideoDecoder> m_decoder;
    QString m_name;
    AVRational m_timeBase{1, 1};
    int m_audioIndex = -1;
    std::vector<PacketPtr> m_packets;
    bool m_started = false;
    double m_origin = 0, m_lastTime = 0, m_step = 1.0 / 30, m_declared = 0;
};

// Decoding H.264 costs a sixth to an eighth of encoding it again with libx264 (perf: 12 % of
// the CPU against x264's 75 % at 1080p veryfast), and it runs on its own thread ahead of the
// encoder: a quarter of the threads is ample. Each frame thread more costs copies and waits
// (6 % more CPU in all with FFmpeg's automatic 3 frame threads on 2 cores, same output).
int decoderThreads(int threads)
{
    const int all = threads > 0 ? threads : int(std::thread::hardware_concurrency());
    return std::max(1, all / 4);
}

} // namespace

Result<ComposeResult> composeVideo(const ComposeJob &job,
                                   const std::function<void(const QString &)> &log,
                                   const std::function<void(qint64 done, qint64 total)> &progress)
{
    const ComposeSettings &s = job.settings;
    // Narration replaces the copied audio with a mix (narration.h); a narrated job is never
    // split (the server refuses it), so segments have none.
    const bool narrated = job.narration.enabled() && s.segmentNumber == 0;
    InputFrames input;
    const bool hasInput = !job.input.isEmpty();
    int width = s.width, height = s.height;
    double fps = s.fps, duration = 0;
    if (hasInput) {
        if (auto r = input.open(job.input, decoderThreads(job.threads),
                                s.segmentNumber == 0 && !narrated);
            !r)
            return r.error();
        const MediaInfo &info = input.decoder().info();
        if (width == 0 && height == 0) {
            width = info.width;
            height = info.height;
        } else if (width == 0 || height == 0) { // one side given: keep the input's aspect
            width = width ? width : int(std::lround(double(height) * info.width / info.height));
            height = height ? height : int(std::lround(double(width) * info.height / info.width));
        }
        const double inputFps = info.frameRate.num > 0 ? av_q2d(info.frameRate) : 30.0;
        input.setStep(1.0 / inputFps);
        if (fps == 0)
            fps = inputFps;
        duration = info.durationSeconds;
        if (s.duration > 0)
            log("settings.duration applies only without an input video: the video's length "
                "is kept");
    } else {
        width = width ? width : 1280;
        height = height ? height : 720;
        fps = fps ? fps : 30.0;
        duration = s.duration > 0 ? s.duration : job.scenario.lastEnd();
        if (duration <= 0)
            return makeError("invalid_input", "nothing to compose: no input video, no "
                                              "settings.duration and no cues");
    }
    QString note;
    const QSize size = VideoEncoder::evenSize(width, height, s.video.pixelFormat, &note);
    if (!note.isEmpty())
        log(note);
    const AVPixelFormat work =
        s.video.pixelFormat == "yuv444p" ? AV_PIX_FMT_YUV444P : AV_PIX_FMT_YUV420P;
    const qint64 total = std::max<qint64>(1, std::llround(duration * fps));
    // A segment of a split job (docs/JOBTYPES.md, "Segments"): output frames [firstFrame,
    // endFrame), endFrame -1 for the last (to the input's end). Times stay absolute: frame n is
    // at n / fps and its text is the cues' at that time.
    qint64 firstFrame = 0, endFrame = -1;
    if (s.segmentNumber > 0) {
        const qint64 per = std::max<qint64>(1, std::llround(s.segmentSeconds * fps));
        firstFrame = (s.segmentNumber - 1) * per;
        endFrame = s.segmentToEnd ? -1 : firstFrame + per;
    }
    const qint64 expected =
        std::max<qint64>(1, (endFrame >= 0 ? std::min(endFrame, total) : total) - firstFrame);
    const auto endedEarly = [&](const QString &name, double at) {
        return makeError("invalid_input",
                         QString("%1 ends at %2 s, before the end of segment %3 (%4 s): the file "
                                 "is truncated or shorter than its header says")
                             .arg(name)
                             .arg(at, 0, 'f', 2)
                             .arg(s.segmentNumber)
                             .arg(endFrame / fps, 0, 'f', 2));
    };
    QSet<QString> families;
    for (const Cue &c : job.scenario.cues)
        families.insert(c.style.font);
    for (const QString &f : SubtitleRenderer::fontFallbacks(families.values()))
        log(QString("font '%1' is not installed on this node: its cues use '%2' instead")
                .arg(f, kDefaultCueFont));
    auto subtitles =
        SubtitleRenderer::create(scenarioToAss(job.scenario, size.width(), size.height()),
                                 size.width(), size.height(), kDefaultCueFont);
    if (!subtitles)
        return subtitles.error();

    auto writer = MediaWriter::create(job.output);
    if (!writer)
        return writer.error();
    EncoderConfig config;
    config.settings = s.video;
    config.settings.fps = fps;
    config.width = size.width();
    config.height = size.height();
    // Every segment of a job must be the same stream to join without re-encoding: segments use
    // the CPU encoder on every slot (NVENC writes another stream than libx264).
    config.gpuSlot = job.gpuSlot && s.segmentNumber == 0;
    if (job.gpuSlot && s.segmentNumber > 0)
        log("a segment uses the CPU encoder on a GPU slot too: the segments of a job are "
            "joined without re-encoding, so they must all come from the same encoder");
    config.threads = job.threads;
    auto encoder = VideoEncoder::open(config, **writer);
    if (!encoder)
        return encoder.error();
    log((*encoder)->choice());
    int audioOut = -1;
    AVRational audioTb{1, 1};
    if (hasInput && input.audioIndex() >= 0) {
        const AVStream *a = input.decoder().format()->streams[input.audioIndex()];
        auto idx = (*writer)->addCopiedStream(a);
        if (!idx)
            return idx.error();
        audioOut = *idx;
        audioTb = a->time_base;
    }
    std::optional<AudioTrackEncoder> narrationOut;
    AudioTrack narrationAudio;
    QList<NarrationSpan> spans;
    if (narrated) {
        auto spoken = speakNarration(job.narration, &spans);
        if (!spoken)
            return spoken.error();
        narrationAudio = std::move(*spoken);
        if (hasInput) {
            auto own = decodeAudioTrack(job.input);
            if (!own)
                return own.error();
            if (!own->channels[0].empty()) {
                mixInto(*own, narrationAudio);
                narrationAudio = std::move(*own);
                log(QString("narration mixed over %1's audio")
                        .arg(QFileInfo(job.input).fileName()));
            }
        }
        QStringList placed;
        for (const NarrationSpan &n : spans)
            placed.append(QString("'%1' %2-%3 s")
                              .arg(n.text.left(60))
                              .arg(n.start, 0, 'f', 2)
                              .arg(n.end, 0, 'f', 2));
        log(QString("narration (espeak-ng, voice %1, %2 words a minute): %3")
                .arg(job.narration.voice)
                .arg(job.narration.rate)
                .arg(placed.join("; ")));
        if (!spans.isEmpty() && spans.last().end > expected / fps)
            log(QString("the narration runs to %1 s, past the video's end (%2 s): it is cut "
                        "there; give the card a longer reveal")
                    .arg(spans.last().end, 0, 'f', 2)
                    .arg(expected / fps, 0, 'f', 2));
        auto enc = AudioTrackEncoder::open(**writer);
        if (!enc)
            return enc.error();
        narrationOut = std::move(*enc);
    }
    if (auto r = (*writer)->begin(s.video.faststart); !r)
        return r.error();
    if (narrationOut)
        if (auto r = narrationOut->write(narrationAudio, expected / fps); !r)
            return r.error();

    // Decoding, scaling and drawing the text run here, ahead of the encoder.
    FramePipe pipe(4);
    SubtitleRenderer *text = subtitles->get();
    std::thread producer([&] {
        FrameScaler scaler;
        FramePool pool(size.width(), size.height(), work);
        // `src` is the decoded frame itself when no later output frame shows it, else a new
        // reference to it.
        const auto ready = [&](FramePtr src) -> Result<FramePtr> {
            if (!src)
                return makeError("internal", "out of memory");
            if (src->width == size.width() && src->height == size.height() && src->format == work)
                return src;
            auto into = pool.get();
            if (!into)
                return into;
            if (auto r = scaler.scale(src->data, src->linesize, src->width, src->height,
                                      AVPixelFormat(src->format), into->get());
                !r)
                return r.error();
            return into;
        };
        const auto hand = [&](FramePtr frame, qint64 n) -> Result<bool> {
            const qint64 ms = std::llround(n * 1000.0 / fps);
            if (const ass_image *images = text->render(ms)) {
                // The decoder keeps the frames it refers to: text goes on a pooled copy.
                if (!av_frame_is_writable(frame.get())) {
                    auto copy = pool.copyOf(frame.get());
                    if (!copy)
                        return copy.error();
                    frame = std::move(*copy);
                }
                blendImages(images, frame.get());
            }
            FrameItem item{std::move(frame),
                           hasInput ? input.takePackets() : std::vector<PacketPtr>{}};
            return pipe.push(std::move(item));
        };
        Result<void> result;
        if (!hasInput) {
            auto bg = backgroundFrame(s, size.width(), size.height(), work);
            if (!bg)
                return pipe.finish(bg.error());
            if (firstFrame >= total)
                return pipe.finish(makeError(
                    "invalid_input", QString("segment %1 starts at %2 s, after the video's end "
                                             "(%3 s)")
                                         .arg(s.segmentNumber)
                                         .arg(firstFrame / fps, 0, 'f', 2)
                                         .arg(total / fps, 0, 'f', 2)));
            if (endFrame > total)
                return pipe.finish(endedEarly("the background", total / fps));
            for (qint64 n = firstFrame; n < (endFrame >= 0 ? endFrame : total); ++n) {
                auto r = hand(FramePtr(av_frame_clone(bg->get())), n);
                if (!r || !*r) {
                    result = r ? Result<void>() : Result<void>(r.error());
                    break;
                }
            }
            return pipe.finish(result);
        }
        // Output frame n shows the input frame on screen at n / fps (frames are repeated or
        // dropped where the rates differ). A segment decodes from a keyframe before its start
        // and passes over the frames before it.
        if (firstFrame > 0)
            if (auto r = input.seekBefore(firstFrame / fps); !r)
                return pipe.finish(r.error());
        auto first = input.next();
        if (!first)
            return pipe.finish(first.error());
        if (!first->first && firstFrame > 0)
            return pipe.finish(makeError(
                "invalid_input", QString("%1 ends before segment %2 starts (%3 s): the file is "
                                         "truncated or shorter than its header says")
                                     .arg(QFileInfo(job.input).fileName())
                                     .arg(s.segmentNumber)
                                     .arg(firstFrame / fps, 0, 'f', 2)));
        if (!first->first)
            return pipe.finish(makeError(
                "invalid_input",
                QString("%1 holds no video frames").arg(QFileInfo(job.input).fileName())));
        FramePtr current = std::move(first->first);
        double currentT = first->second;
        if (firstFrame > 0 && currentT > (firstFrame + 0.5) / fps)
            return pipe.finish(makeError(
                "invalid_input",
                QString("%1: seeking to %2 s landed at %3 s, after it: the file's index is "
                        "wrong")
                    .arg(QFileInfo(job.input).fileName())
                    .arg(firstFrame / fps, 0, 'f', 2)
                    .arg(currentT, 0, 'f', 2)));
        auto ahead = input.next();
        const double step =
            1.0 / av_q2d(input.decoder().info().frameRate.num > 0 ? input.decoder().info().frameRate
                                                                  : AVRational{30, 1});
        qint64 n = firstFrame;
        for (;; ++n) {
            if (endFrame >= 0 && n >= endFrame)
                break;
            const double t = n / fps;
            while (ahead && ahead->first && ahead->second <= t + 0.5 / fps) {
                current = std::move(ahead->first);
                currentT = ahead->second;
                ahead = input.next();
            }
            if (!ahead) {
                result = ahead.error();
                break;
            }
            if (!ahead->first && t >= currentT + step - 0.5 / fps)
                break; // the last frame has had its time
            // The next output frame shows a newer input frame: this one is handed over.
            const bool lastShowing = ahead->first && ahead->second <= (n + 1) / fps + 0.5 / fps;
            auto frame =
                ready(lastShowing ? std::move(current) : FramePtr(av_frame_clone(current.get())));
            if (!frame) {
                result = frame.error();
                break;
            }
            auto r = hand(std::move(*frame), n);
            if (!r || !*r) {
                result = r ? Result<void>() : Result<void>(r.error());
                break;
            }
        }
        if (result) { // audio after the last frame
            FrameItem tail{nullptr, input.takePackets()};
            pipe.push(std::move(tail));
            const double shown = currentT + step;
            const double declared = input.declared();
            // A cut file whose index survived ends early without a read error.
            if (endFrame >= 0 && n < endFrame)
                result = endedEarly(QFileInfo(job.input).fileName(), shown);
            else if (endFrame < 0 && declared > 1.0 && shown < declared * 0.9 - 0.5)
                result = makeError("invalid_input",
                                   QString("%1 ends at %2 s, but its header says %3 s: the file "
                                           "is truncated")
                                       .arg(QFileInfo(job.input).fileName())
                                       .arg(shown, 0, 'f', 2)
                                       .arg(declared, 0, 'f', 2));
        }
        pipe.finish(result);
    });
    const auto stop = [&] {
        pipe.stop();
        producer.join();
    };

    // The audio keeps its place against the first frame, which the video starts at 0.
    bool originRead = false;
    int64_t shift = 0;
    qint64 done = 0;
    while (auto item = pipe.pop()) {
        if (!originRead) {
            shift = audioOut >= 0 ? std::llround(input.origin() / av_q2d(audioTb)) : 0;
            originRead = true;
        }
        for (PacketPtr &p : item->packets) {
            if (shift) {
                if (p->pts != AV_NOPTS_VALUE)
                    p->pts -= shift;
                if (p->dts != AV_NOPTS_VALUE)
                    p->dts -= shift;
            }
            if (auto r = (*writer)->write(p.get(), audioTb, audioOut); !r) {
                stop();
                return r.error();
            }
        }
        if (!item->frame)
            continue;
        if (auto r = (*encoder)->addFrame(item->frame.get()); !r) {
            stop();
            return r.error();
        }
        ++done;
        progress(done, std::max(expected, done));
    }
    producer.join();
    for (const QString &w : text->takeWarnings())
        log(w);
    if (auto r = pipe.result(); !r)
        return r.error();
    if (done == 0)
        return makeError("invalid_input", "the input gave no frames");
    if (auto r = (*encoder)->finish(); !r)
        return r.error();
    if (auto r = (*writer)->finish(); !r)
        return r.error();
    ComposeResult out;
    out.frames = (*encoder)->framesEncoded();
    out.firstFrame = firstFrame;
    out.size = size;
    out.fps = fps;
    out.duration = out.frames / fps;
    out.audioCopied = audioOut >= 0;
    out.narration = spans;
    out.choice = (*encoder)->choice();
    return out;
}

} // namespace farm::video
