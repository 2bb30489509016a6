#include "narration.h"

#include "mediawriter.h"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}

#include <espeak-ng/speak_lib.h>

#include <QFileInfo>

#include <algorithm>
#include <cmath>

namespace farm::video {
namespace {

struct SwrDeleter
{
    void operator()(SwrContext *s) const { swr_free(&s); }
};
using SwrPtr = std::unique_ptr<SwrContext, SwrDeleter>;

/// Seconds of quiet between two lines that would otherwise run into each other.
constexpr double kPause = 0.25;

// espeak-ng's synchronous mode calls back with each piece of speech during espeak_Synth; the
// compose child speaks from one thread, so the buffer being filled is a plain pointer.
std::vector<short> *g_speech = nullptr;

int onSpeech(short *wav, int count, espeak_EVENT *)
{
    if (wav && count > 0 && g_speech)
        g_speech->insert(g_speech->end(), wav, wav + count);
    return 0; // go on
}

/// Converts interleaved or planar input to AudioTrack's stereo float at kRate.
Result<SwrPtr> resampler(const AVChannelLayout &inLayout, AVSampleFormat inFormat, int inRate)
{
    SwrContext *raw = nullptr;
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    AVChannelLayout in{}; // FFmpeg 5.1 takes the layouts as non-const
    if (av_channel_layout_copy(&in, &inLayout) < 0)
        return makeError("internal", "cannot read the audio's channel layout");
    int rc = swr_alloc_set_opts2(&raw, &stereo, AV_SAMPLE_FMT_FLTP, AudioTrack::kRate, &in,
                                 inFormat, inRate, 0, nullptr);
    av_channel_layout_uninit(&in);
    SwrPtr swr(raw);
    if (rc >= 0)
        rc = swr_init(swr.get());
    if (rc < 0)
        return makeError("internal", "cannot set up the audio resampler: " + avErrorText(rc));
    return swr;
}

/// Runs `count` input samples (nullptr, 0: flush) through `swr`, appending to `out` at `at`.
Result<size_t> convert(SwrContext *swr, const uint8_t **in, int count, AudioTrack &out, size_t at)
{
    const int room = swr_get_out_samples(swr, count) + 32;
    if (out.channels[0].size() < at + size_t(room))
        out.resize(at + size_t(room));
    uint8_t *dst[2] = {reinterpret_cast<uint8_t *>(out.channels[0].data() + at),
                       reinterpret_cast<uint8_t *>(out.channels[1].data() + at)};
    const int n = swr_convert(swr, dst, room, in, count);
    if (n < 0)
        return makeError("internal", "cannot resample audio: " + avErrorText(n));
    return at + size_t(n);
}

} // namespace

void AudioTrack::resize(size_t samples)
{
    channels[0].resize(samples, 0.0f);
    channels[1].resize(samples, 0.0f);
}

Result<AudioTrack> speakNarration(const Narration &narration, QList<NarrationSpan> *spans)
{
    // Once a process: espeak-ng does not start again after espeak_Terminate (it hangs), and
    // the compose child ends after one task anyway.
    static const int rate =
        espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nullptr, espeakINITIALIZE_DONT_EXIT);
    if (rate <= 0)
        return makeError("unavailable",
                         "espeak-ng did not start (is espeak-ng-data installed?): narration "
                         "needs it");
    espeak_SetSynthCallback(onSpeech);
    if (espeak_SetVoiceByName(narration.voice.toUtf8().constData()) != EE_OK)
        return makeError("invalid_input",
                         QString("espeak-ng has no voice '%1' on this node").arg(narration.voice));
    espeak_SetParameter(espeakRATE, narration.rate, 0);
    const AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    AudioTrack track;
    double free = 0; // where the previous line ended
    for (const NarrationLine &line : narration.lines) {
        std::vector<short> speech;
        g_speech = &speech;
        const QByteArray text = line.text.toUtf8();
        const espeak_ERROR e = espeak_Synth(text.constData(), size_t(text.size()) + 1, 0,
                                            POS_CHARACTER, 0, espeakCHARS_UTF8, nullptr, nullptr);
        espeak_Synchronize();
        g_speech = nullptr;
        if (e != EE_OK)
            return makeError("internal", QString("espeak-ng could not speak '%1'").arg(line.text));
        // espeak-ng pads its speech with silence; the span is the sound itself.
        const auto loud = [](short s) { return std::abs(int(s)) > 64; };
        const auto first = std::find_if(speech.begin(), speech.end(), loud);
        const auto last = std::find_if(speech.rbegin(), speech.rend(), loud);
        if (first == speech.end())
            continue;
        const std::vector<short> sound(first, last.base());
        const double start = std::max(line.start, free > 0 ? free + kPause : 0.0);
        const size_t at = size_t(std::llround(start * AudioTrack::kRate));
        auto swr = resampler(mono, AV_SAMPLE_FMT_S16, rate);
        if (!swr)
            return swr.error();
        const uint8_t *in[1] = {reinterpret_cast<const uint8_t *>(sound.data())};
        AudioTrack piece;
        auto end = convert(swr->get(), in, int(sound.size()), piece, 0);
        if (end)
            end = convert(swr->get(), nullptr, 0, piece, *end);
        if (!end)
            return end.error();
        piece.resize(*end);
        if (track.channels[0].size() < at + *end)
            track.resize(at + *end);
        for (int c = 0; c < 2; ++c)
            std::copy(piece.channels[c].begin(), piece.channels[c].end(),
                      track.channels[c].begin() + qsizetype(at));
        free = double(at + *end) / AudioTrack::kRate;
        if (spans)
            spans->append({start, free, line.text});
    }
    return track;
}

Result<AudioTrack> decodeAudioTrack(const QString &path)
{
    const QString name = QFileInfo(path).fileName();
    AVFormatContext *raw = nullptr;
    int rc = avformat_open_input(&raw, QFile::encodeName(path).constData(), nullptr, nullptr);
    if (rc < 0)
        return makeError(
            "invalid_input",
            QString("%1 is not a media file FFmpeg reads: %2").arg(name, avErrorText(rc)));
    InputFormatPtr format(raw);
    if ((rc = avformat_find_stream_info(format.get(), nullptr)) < 0)
        return makeError("invalid_input", QString("%1: %2").arg(name, avErrorText(rc)));
    AudioTrack track;
    const int index = av_find_best_stream(format.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    if (index < 0)
        return track;
    const int video = av_find_best_stream(format.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    const AVStream *as = format->streams[index];
    double origin = 0; // the video's first frame is time 0, as for the frames
    if (video >= 0 && format->streams[video]->start_time != AV_NOPTS_VALUE)
        origin = format->streams[video]->start_time * av_q2d(format->streams[video]->time_base);
    const AVCodec *codec = avcodec_find_decoder(as->codecpar->codec_id);
    CodecContextPtr ctx(avcodec_alloc_context3(codec));
    if (!codec || !ctx || avcodec_parameters_to_context(ctx.get(), as->codecpar) < 0 ||
        avcodec_open2(ctx.get(), codec, nullptr) < 0)
        return makeError("invalid_input", QString("%1: its audio (%2) cannot be decoded here")
                                              .arg(name, avcodec_get_name(as->codecpar->codec_id)));
    auto swr = resampler(ctx->ch_layout, ctx->sample_fmt, ctx->sample_rate);
    if (!swr)
        return swr.error();
    PacketPtr packet(av_packet_alloc());
    FramePtr frame(av_frame_alloc());
    size_t at = 0;
    bool placed = false;
    const auto drain = [&]() -> Result<void> {
        for (;;) {
            const int r = avcodec_receive_frame(ctx.get(), frame.get());
            if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
                return {};
            if (r < 0)
                return makeError(
                    "invalid_input",
                    QString("%1: its audio stops decoding: %2").arg(name, avErrorText(r)));
            if (!placed) { // the first sound's place against the first frame
                placed = true;
                const int64_t pts = frame->best_effort_timestamp;
                const double t = pts != AV_NOPTS_VALUE ? pts * av_q2d(as->time_base) - origin : 0;
                at = size_t(std::max<int64_t>(0, std::llround(t * AudioTrack::kRate)));
            }
            auto next = convert(swr->get(), const_cast<const uint8_t **>(frame->extended_data),
                                frame->nb_samples, track, at);
            av_frame_unref(frame.get());
            if (!next)
                return next.error();
            at = *next;
        }
    };
    while (av_read_frame(format.get(), packet.get()) >= 0) {
        if (packet->stream_index == index) {
            avcodec_send_packet(ctx.get(), packet.get());
            if (auto r = drain(); !r)
                return r.error();
        }
        av_packet_unref(packet.get());
    }
    avcodec_send_packet(ctx.get(), nullptr);
    if (auto r = drain(); !r)
        return r.error();
    auto end = convert(swr->get(), nullptr, 0, track, at);
    if (!end)
        return end.error();
    track.resize(*end);
    return track;
}

void mixInto(AudioTrack &a, const AudioTrack &b)
{
    if (a.channels[0].size() < b.channels[0].size())
        a.resize(b.channels[0].size());
    for (int c = 0; c < 2; ++c)
        for (size_t i = 0; i < b.channels[c].size(); ++i)
            a.channels[c][i] = std::clamp(a.channels[c][i] + b.channels[c][i], -1.0f, 1.0f);
}

Result<AudioTrackEncoder> AudioTrackEncoder::open(MediaWriter &writer)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (!codec)
        return makeError("unavailable", "this libavcodec has no AAC encoder");
    AudioTrackEncoder e;
    e.m_writer = &writer;
    e.m_ctx.reset(avcodec_alloc_context3(codec),
                  [](AVCodecContext *c) { avcodec_free_context(&c); });
    AVCodecContext *c = e.m_ctx.get();
    c->sample_fmt = AV_SAMPLE_FMT_FLTP;
    c->sample_rate = AudioTrack::kRate;
    c->ch_layout = AV_CHANNEL_LAYOUT_STEREO;
    c->bit_rate = 128000;
    c->time_base = {1, AudioTrack::kRate};
    if (writer.wantsGlobalHeader())
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (const int rc = avcodec_open2(c, codec, nullptr); rc < 0)
        return makeError("internal", "cannot open the AAC encoder: " + avErrorText(rc));
    auto stream = writer.addEncodedStream(c);
    if (!stream)
        return stream.error();
    e.m_stream = *stream;
    return e;
}

Result<void> AudioTrackEncoder::write(const AudioTrack &track, double seconds)
{
    AVCodecContext *c = m_ctx.get();
    const int64_t total = std::llround(seconds * AudioTrack::kRate);
    const int frameSize = c->frame_size > 0 ? c->frame_size : 1024;
    FramePtr frame(av_frame_alloc());
    PacketPtr packet(av_packet_alloc());
    const auto receive = [&]() -> Result<void> {
        for (;;) {
            const int r = avcodec_receive_packet(c, packet.get());
            if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
                return {};
            if (r < 0)
                return makeError("internal", "cannot encode the audio: " + avErrorText(r));
            if (auto w = m_writer->write(packet.get(), c->time_base, m_stream); !w)
                return w;
        }
    };
    for (int64_t at = 0; at < total; at += frameSize) {
        const int n = int(std::min<int64_t>(frameSize, total - at));
        frame->nb_samples = n;
        frame->format = c->sample_fmt;
        frame->sample_rate = c->sample_rate;
        av_channel_layout_copy(&frame->ch_layout, &c->ch_layout);
        if (const int rc = av_frame_get_buffer(frame.get(), 0); rc < 0)
            return makeError("internal", "out of memory for audio: " + avErrorText(rc));
        for (int ch = 0; ch < 2; ++ch) {
            float *dst = reinterpret_cast<float *>(frame->data[ch]);
            const std::vector<float> &src = track.channels[ch];
            for (int i = 0; i < n; ++i) {
                const size_t s = size_t(at + i);
                dst[i] = s < src.size() ? src[s] : 0.0f;
            }
        }
        frame->pts = at;
        const int rc = avcodec_send_frame(c, frame.get());
        av_frame_unref(frame.get());
        if (rc < 0)
            return makeError("internal", "cannot encode the audio: " + avErrorText(rc));
        if (auto r = receive(); !r)
            return r;
    }
    avcodec_send_frame(c, nullptr);
    return receive();
}

} // namespace farm::video
