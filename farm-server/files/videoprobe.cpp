#include "files/videoprobe.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/log.h>
}

namespace farm::server {

Result<VideoFacts> probeVideo(const QString &path, const QString &name)
{
    av_log_set_level(AV_LOG_QUIET); // a bad upload is the caller's error, not the server log's
    AVFormatContext *fmt = nullptr;
    if (avformat_open_input(&fmt, path.toUtf8().constData(), nullptr, nullptr) < 0)
        return makeError("invalid_input", QString("%1 is not a media file FFmpeg reads").arg(name));
    struct Close
    {
        AVFormatContext *&f;
        ~Close() { avformat_close_input(&f); }
    } close{fmt};
    if (avformat_find_stream_info(fmt, nullptr) < 0)
        return makeError("invalid_input", QString("%1: cannot read its streams").arg(name));
    const int index = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (index < 0)
        return makeError("invalid_input", QString("%1 holds no video stream").arg(name));
    AVStream *s = fmt->streams[index];
    VideoFacts facts;
    facts.duration = s->duration != AV_NOPTS_VALUE && s->duration > 0
                         ? s->duration * av_q2d(s->time_base)
                     : fmt->duration > 0 ? double(fmt->duration) / AV_TIME_BASE
                                         : 0.0;
    const AVRational rate = av_guess_frame_rate(fmt, s, nullptr);
    facts.fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0.0;
    return facts;
}

} // namespace farm::server
