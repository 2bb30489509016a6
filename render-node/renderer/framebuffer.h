#pragma once

#include "kernel/vecmath.h"
#include "util/result.h"

#include <QImage>
#include <QString>

#include <algorithm>
#include <vector>

namespace farm::render {

/// Linear radiance per pixel, row-major, top row first.
struct Framebuffer
{
    int width = 0;
    int height = 0;
    std::vector<Vec3> pixels;

    Framebuffer() = default;
    Framebuffer(int w, int h)
        : width(w)
        , height(h)
        , pixels(size_t(w) * size_t(h))
    {}
    Vec3 &at(int x, int y) { return pixels[size_t(y) * size_t(width) + size_t(x)]; }
    const Vec3 &at(int x, int y) const { return pixels[size_t(y) * size_t(width) + size_t(x)]; }
};

/// The largest input toneCurve takes as it is: above, x * 2.51 x overflows to infinity and the
/// quotient to NaN (which indexed outside the sRGB table); the curve is 1 long before.
inline constexpr float kToneCurveMax = 1e18f;

/// The filmic tone curve (Narkowicz's ACES fit) of a linear value, 0..1 (before sRGB). Inline: the
/// adaptive passes take it of every sample.
inline float toneCurve(float x)
{
    x = std::min(std::max(0.f, x), kToneCurveMax);
    return std::clamp((x * (2.51f * x + 0.03f)) / (x * (2.43f * x + 0.59f) + 0.14f), 0.f, 1.f);
}

/// Filmic tone curve (Narkowicz's ACES fit) and sRGB encoding to 8 bits per channel.
QImage toImage(const Framebuffer &fb);

/// The same at 16 bits per channel (for 16-bit PNG).
QImage toImage16(const Framebuffer &fb);

/// Writes the tone-mapped image; the format follows the extension (png, jpg/jpeg). `bitDepth`
/// 16 writes a 16-bit PNG (JPEG is always 8-bit). Errors: `write_failed` with the reason.
Result<void> writeImage(const Framebuffer &fb, const QString &path, int bitDepth = 8);

/// Whether `path`'s extension is one writeImage understands.
bool isSupportedImagePath(const QString &path);

} // namespace farm::render
