#pragma once

#include "avhandles.h"
#include "util/result.h"

#include <QString>
#include <QStringList>

#include <cstdarg>

#include <memory>
#include <mutex>

struct ass_library;
struct ass_renderer;
struct ass_track;
struct ass_image;

namespace farm::video {

/// An ASS script drawn by libass onto frames: the compose engine's text. One per thread.
class SubtitleRenderer
{
public:
    /// Reads `script` (scenarioToAss) for a `width`×`height` video; fonts through fontconfig,
    /// with `defaultFamily` for what a cue's font does not cover.
    static Result<std::unique_ptr<SubtitleRenderer>>
    create(const QString &script, int width, int height, const QString &defaultFamily);
    ~SubtitleRenderer();
    SubtitleRenderer(const SubtitleRenderer &) = delete;
    SubtitleRenderer &operator=(const SubtitleRenderer &) = delete;

    /// The images libass draws at `ms` (a list; null when nothing shows). Valid until the
    /// next call.
    const ass_image *render(qint64 ms);
    /// Warnings libass gave since the last call (a character no installed font has, …), each
    /// once.
    QStringList takeWarnings();

    /// The families of `families` that no installed font has (libass then uses the default
    /// family given to create()).
    static QStringList fontFallbacks(const QStringList &families);
    /// Whether some installed font has a glyph for every character of `text` (spaces aside).
    static bool fontsCover(const QString &text);

private:
    SubtitleRenderer() = default;
    static void onMessage(int level, const char *fmt, va_list args, void *self);

    ass_library *m_library = nullptr;
    ass_renderer *m_renderer = nullptr;
    ass_track *m_track = nullptr;
    int m_width = 0, m_height = 0;
    std::mutex m_mutex;
    QStringList m_warnings;
    QStringList m_said;
};

/// Blends libass images (render()) into a writable yuv420p or yuv444p frame of the renderer's
/// size (BT.601 limited range, the colour swscale and the decoders assume for untagged video).
void blendImages(const ass_image *images, AVFrame *frame);

} // namespace farm::video
