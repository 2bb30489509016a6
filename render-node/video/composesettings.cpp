#include "composer.h"

#include "model/composesegments.h"

#include <cmath>

namespace farm::video {

Result<ComposeSettings> ComposeSettings::fromJson(const QJsonObject &o)
{
    static const QStringList videoKeys{"codec",  "crf",       "bitrate_kbps", "pixel_format",
                                       "preset", "faststart", "output"};
    static const QStringList ownKeys{
        "width", "height", "fps", "background", "background_to", "duration", "segment_seconds"};
    ComposeSettings s;
    QJsonObject video;
    for (auto it = o.begin(); it != o.end(); ++it) {
        if (videoKeys.contains(it.key()))
            video.insert(it.key(), it.value());
        else if (!ownKeys.contains(it.key()) && it.key() != kComposeSegmentKey &&
                 it.key() != kComposeJoinKey)
            return makeError("invalid_field",
                             QString("settings.%1 is not a compose setting "
                                     "(known: %2, %3)")
                                 .arg(it.key(), ownKeys.join(", "), videoKeys.join(", ")));
    }
    auto v = VideoSettings::fromJson(video);
    if (!v)
        return v.error();
    s.video = *v;
    const auto number = [&](const char *key, double &into, double min, double max,
                            bool whole) -> Result<void> {
        const QJsonValue val = o.value(QLatin1String(key));
        if (val.isUndefined())
            return {};
        const double d = val.toDouble();
        if (!val.isDouble() || (whole && d != std::floor(d)) || (d != 0 && (d < min || d > max)))
            return makeError("invalid_field",
                             QString("settings.%1 must be 0 or %2 from %3 to %4")
                                 .arg(QLatin1String(key), whole ? "an integer" : "a number")
                                 .arg(min)
                                 .arg(max));
        into = d;
        return {};
    };
    double w = 0, h = 0;
    if (auto r = number("width", w, 16, 7680, true); !r)
        return r.error();
    if (auto r = number("height", h, 16, 4320, true); !r)
        return r.error();
    if (auto r = number("fps", s.fps, 1, 240, false); !r)
        return r.error();
    if (auto r = number("duration", s.duration, 0.04, kMaxCueSeconds, false); !r)
        return r.error();
    if (auto r = number("segment_seconds", s.segmentSeconds, 1, kMaxCueSeconds, false); !r)
        return r.error();
    if (const QJsonValue seg = o.value(kComposeSegmentKey); !seg.isUndefined()) {
        const QJsonObject part = seg.toObject();
        const double n = part.value("number").toDouble();
        if (!seg.isObject() || n < 1 || n > 1e6 || n != std::floor(n) ||
            !part.value("to_end").isBool() || s.segmentSeconds <= 0)
            return makeError("invalid_field",
                             "settings.segment must be {\"number\": N >= 1, \"to_end\": bool} "
                             "with settings.segment_seconds");
        s.segmentNumber = int(n);
        s.segmentToEnd = part.value("to_end").toBool();
    }
    s.join = o.value(kComposeJoinKey).toBool();
    if (s.join && s.segmentNumber > 0)
        return makeError("invalid_field", "a task is a segment or the join, not both");
    s.width = int(w);
    s.height = int(h);
    if (const QJsonValue bg = o.value("background"); !bg.isUndefined()) {
        const auto c = parseCueColor(bg.toString());
        if (!c)
            return makeError("invalid_field", "settings.background must be a colour \"#RRGGBB\"");
        s.background = *c;
    }
    if (const QJsonValue bg = o.value("background_to");
        !bg.isUndefined() && !(bg.isString() && bg.toString().isEmpty())) {
        const auto c = parseCueColor(bg.toString());
        if (!c)
            return makeError("invalid_field",
                             "settings.background_to must be \"\" or a colour \"#RRGGBB\"");
        s.backgroundTo = *c;
    }
    return s;
}

QString ComposeSettings::outputName() const
{
    return segmentNumber > 0 ? composeSegmentName(segmentNumber) : video.output;
}

} // namespace farm::video
