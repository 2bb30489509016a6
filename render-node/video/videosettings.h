#pragma once

#include "util/result.h"

#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

namespace farm::video {

/// How frames become a video (docs/JOBTYPES.md, "Video"): the keys of an encode task's
/// settings, as the server's `encode` schema defines them (farm-server/jobtypes/encodejob.cpp).
struct VideoSettings
{
    QString codec = QStringLiteral("h264"); // h264 | hevc | av1 | vp9
    double fps = 30.0;
    /// Constant quality (the encoder's CRF scale; NVENC's cq) when bitrateKbps is 0.
    int crf = 23;
    /// Average bitrate in kbit/s; 0: constant quality (crf).
    int bitrateKbps = 0;
    QString pixelFormat = QStringLiteral("yuv420p"); // yuv420p | yuv444p | yuv420p10le
    /// x264/x265 preset (ultrafast … veryslow); other encoders use their own middle setting.
    QString preset = QStringLiteral("medium");
    /// Moves the MP4 index to the front so a browser can start playing before the end arrives.
    bool faststart = true;
    /// Output file name (an output name: [A-Za-z0-9._-], ends in .mp4).
    QString output = QStringLiteral("video.mp4");

    /// Reads the keys present (others keep their defaults); refuses wrong types and values with
    /// the key's name.
    static Result<VideoSettings> fromJson(const QJsonObject &o);
    QJsonObject toJson() const;
};

/// The codec names a job may ask for, in the order forms list them.
QStringList videoCodecNames();
/// Pixel formats a job may ask for.
QStringList videoPixelFormats();
/// x264/x265 presets.
QStringList videoPresets();

/// One encoder of a codec, as FFmpeg names it, and whether it runs on an NVIDIA GPU.
struct EncoderCandidate
{
    QString name;
    bool nvenc = false;
};
/// The encoders that can write `codec`, best first: the NVENC one (only for GPU slots), then
/// the CPU ones. Empty for an unknown codec.
QList<EncoderCandidate> encodersFor(const QString &codec);
/// Whether this process's libavcodec holds an encoder of that name.
bool hasEncoder(const QString &name);
/// The codecs with at least one CPU encoder in this libavcodec, each as "h264 (libx264)".
QStringList availableCodecs();

} // namespace farm::video
