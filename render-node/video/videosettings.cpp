#include "videosettings.h"

#include "avhandles.h"

#include <QRegularExpression>

namespace farm::video {

namespace {

struct CodecRow
{
    const char *codec;
    const char *nvenc; // nullptr: FFmpeg 5.1 has no NVENC encoder for it
    QStringList cpu;
};

// Debian 12's libavcodec: libx264, libx265, libsvtav1 and libaom-av1, libvpx-vp9; NVENC for
// H.264 and HEVC only (av1_nvenc came with FFmpeg 6).
const QList<CodecRow> &codecTable()
{
    static const QList<CodecRow> rows{
        {"h264", "h264_nvenc", {"libx264"}},
        {"hevc", "hevc_nvenc", {"libx265"}},
        {"av1", nullptr, {"libsvtav1", "libaom-av1"}},
        {"vp9", nullptr, {"libvpx-vp9"}},
    };
    return rows;
}

} // namespace

QStringList videoCodecNames()
{
    QStringList out;
    for (const CodecRow &r : codecTable())
        out.append(QString::fromLatin1(r.codec));
    return out;
}

QStringList videoPixelFormats()
{
    return {"yuv420p", "yuv444p", "yuv420p10le"};
}

QStringList videoPresets()
{
    return {"ultrafast", "superfast", "veryfast", "faster",  "fast",
            "medium",    "slow",      "slower",   "veryslow"};
}

QList<EncoderCandidate> encodersFor(const QString &codec)
{
    for (const CodecRow &r : codecTable()) {
        if (codec != QLatin1String(r.codec))
            continue;
        QList<EncoderCandidate> out;
        if (r.nvenc)
            out.append({QString::fromLatin1(r.nvenc), true});
        for (const QString &c : r.cpu)
            out.append({c, false});
        return out;
    }
    return {};
}

bool hasEncoder(const QString &name)
{
    return avcodec_find_encoder_by_name(name.toLatin1().constData()) != nullptr;
}

QStringList availableCodecs()
{
    QStringList out;
    for (const CodecRow &r : codecTable())
        for (const QString &c : r.cpu)
            if (hasEncoder(c)) {
                out.append(QString("%1 (%2)").arg(QLatin1String(r.codec), c));
                break;
            }
    return out;
}

Result<VideoSettings> VideoSettings::fromJson(const QJsonObject &o)
{
    static const QStringList known{"codec",  "fps",       "crf",    "bitrate_kbps", "pixel_format",
                                   "preset", "faststart", "output", "enabled"};
    for (auto it = o.begin(); it != o.end(); ++it)
        if (!known.contains(it.key()))
            return makeError("invalid_field",
                             QString("settings.%1 is not a video setting (known: %2)")
                                 .arg(it.key(), known.join(", ")));
    VideoSettings s;
    auto str = [&](const char *key, QString &into, const QStringList &allowed) -> Result<void> {
        const QJsonValue v = o.value(QLatin1String(key));
        if (v.isUndefined())
            return {};
        if (!v.isString() || (!allowed.isEmpty() && !allowed.contains(v.toString())))
            return makeError("invalid_field", QString("settings.%1 must be one of %2")
                                                  .arg(QLatin1String(key), allowed.join(", ")));
        into = v.toString();
        return {};
    };
    if (auto r = str("codec", s.codec, videoCodecNames()); !r)
        return r.error();
    if (auto r = str("pixel_format", s.pixelFormat, videoPixelFormats()); !r)
        return r.error();
    if (auto r = str("preset", s.preset, videoPresets()); !r)
        return r.error();
    if (const QJsonValue v = o.value("output"); !v.isUndefined()) {
        static const QRegularExpression name("^[A-Za-z0-9_-][A-Za-z0-9._-]{0,123}\\.mp4$");
        if (!v.isString() || !name.match(v.toString()).hasMatch())
            return makeError("invalid_field", "settings.output must be a file name ending in .mp4 "
                                              "([A-Za-z0-9._-], not starting with '.')");
        s.output = v.toString();
    }
    if (const QJsonValue v = o.value("fps"); !v.isUndefined()) {
        if (!v.isDouble() || v.toDouble() < 1.0 || v.toDouble() > 240.0)
            return makeError("invalid_field", "settings.fps must be a number from 1 to 240");
        s.fps = v.toDouble();
    }
    if (const QJsonValue v = o.value("crf"); !v.isUndefined()) {
        if (!v.isDouble() || v.toDouble() != double(v.toInt()) || v.toInt() < 0 || v.toInt() > 63)
            return makeError("invalid_field", "settings.crf must be an integer from 0 to 63");
        s.crf = v.toInt();
    }
    if (const QJsonValue v = o.value("bitrate_kbps"); !v.isUndefined()) {
        if (!v.isDouble() || v.toDouble() != double(v.toInt()) || v.toInt() < 0 ||
            v.toInt() > 500000)
            return makeError("invalid_field",
                             "settings.bitrate_kbps must be an integer from 0 to 500000");
        s.bitrateKbps = v.toInt();
    }
    if (const QJsonValue v = o.value("faststart"); !v.isUndefined()) {
        if (!v.isBool())
            return makeError("invalid_field", "settings.faststart must be true or false");
        s.faststart = v.toBool();
    }
    return s;
}

QJsonObject VideoSettings::toJson() const
{
    return {{"codec", codec},
            {"fps", fps},
            {"crf", crf},
            {"bitrate_kbps", bitrateKbps},
            {"pixel_format", pixelFormat},
            {"preset", preset},
            {"faststart", faststart},
            {"output", output}};
}

} // namespace farm::video
