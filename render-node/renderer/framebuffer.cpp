#include "framebuffer.h"

#include "pngwriter.h"

#include <QDir>
#include <QFileInfo>
#include <QImageWriter>
#include <QSaveFile>

#include <algorithm>
#include <cmath>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace farm::render {
namespace {

/// sRGB encoding of a tone-mapped value in [0, 1], tabulated (pow per channel was a visible
/// share of template renders); 16384 steps keep the error under a quarter of an 8-bit step.
constexpr int kSrgbSteps = 16384;
const uint8_t *srgbTable()
{
    static const std::vector<uint8_t> table = [] {
        std::vector<uint8_t> t(kSrgbSteps + 1);
        for (int i = 0; i <= kSrgbSteps; ++i) {
            const float c = float(i) / kSrgbSteps;
            const float s =
                c <= 0.0031308f ? 12.92f * c : 1.055f * std::pow(c, 1.f / 2.4f) - 0.055f;
            t[size_t(i)] = uint8_t(std::lround(std::clamp(s, 0.f, 1.f) * 255.f));
        }
        return t;
    }();
    return table.data();
}

uint8_t encodeSrgb(float linear)
{
    return srgbTable()[size_t(toneCurve(linear) * kSrgbSteps + 0.5f)];
}

/// encodeSrgb of n values, four at a time in SSE lanes (toneCurve's operations in its order, so
/// the same table entries).
void encodeSrgb(const float *in, int n, uint8_t *out)
{
    const uint8_t *table = srgbTable();
    int i = 0;
#if defined(__SSE2__)
    const __m128 zero = _mm_setzero_ps(), one = _mm_set1_ps(1.f);
    for (; i + 4 <= n; i += 4) {
        // std::min(std::max(0, x), kToneCurveMax), NaN included
        const __m128 x =
            _mm_min_ps(_mm_max_ps(_mm_loadu_ps(in + i), zero), _mm_set1_ps(kToneCurveMax));
        const __m128 num =
            _mm_mul_ps(x, _mm_add_ps(_mm_mul_ps(_mm_set1_ps(2.51f), x), _mm_set1_ps(0.03f)));
        const __m128 den = _mm_add_ps(
            _mm_mul_ps(x, _mm_add_ps(_mm_mul_ps(_mm_set1_ps(2.43f), x), _mm_set1_ps(0.59f))),
            _mm_set1_ps(0.14f));
        const __m128 r = _mm_div_ps(num, den);
        // std::clamp to [0, 1] (a -0 that clamp keeps indexes the same entry as 0).
        const __m128 t = _mm_min_ps(_mm_max_ps(r, zero), one);
        alignas(16) int32_t index[4];
        _mm_store_si128(reinterpret_cast<__m128i *>(index),
                        _mm_cvttps_epi32(_mm_add_ps(_mm_mul_ps(t, _mm_set1_ps(float(kSrgbSteps))),
                                                    _mm_set1_ps(0.5f))));
        for (int k = 0; k < 4; ++k)
            out[i + k] = table[index[k]];
    }
#endif
    for (; i < n; ++i)
        out[i] = encodeSrgb(in[i]);
}

QByteArray formatOf(const QString &path)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == QLatin1String("png"))
        return "png";
    if (suffix == QLatin1String("jpg") || suffix == QLatin1String("jpeg"))
        return "jpeg";
    return {};
}

} // namespace

QImage toImage(const Framebuffer &fb)
{
    QImage image(fb.width, fb.height, QImage::Format_RGB888);
    for (int y = 0; y < fb.height; ++y) {
        static_assert(sizeof(Vec3) == 3 * sizeof(float), "a row's channels lie side by side");
        encodeSrgb(&fb.at(0, y).x, 3 * fb.width, image.scanLine(y));
    }
    return image;
}

QImage toImage16(const Framebuffer &fb)
{
    QImage image(fb.width, fb.height, QImage::Format_RGBX64);
    for (int y = 0; y < fb.height; ++y) {
        auto *row = reinterpret_cast<uint16_t *>(image.scanLine(y));
        for (int x = 0; x < fb.width; ++x) {
            const Vec3 &p = fb.at(x, y);
            for (int c = 0; c < 3; ++c) {
                const float t = toneCurve(p[c]);
                const float s =
                    t <= 0.0031308f ? 12.92f * t : 1.055f * std::pow(t, 1.f / 2.4f) - 0.055f;
                row[4 * x + c] = uint16_t(std::lround(std::clamp(s, 0.f, 1.f) * 65535.f));
            }
            row[4 * x + 3] = 65535;
        }
    }
    return image;
}

bool isSupportedImagePath(const QString &path)
{
    return !formatOf(path).isEmpty();
}

Result<void> writeImage(const Framebuffer &fb, const QString &path, int bitDepth)
{
    const QByteArray format = formatOf(path);
    if (format.isEmpty())
        return makeError(
            "write_failed",
            QStringLiteral("unsupported image format: %1 (use .png or .jpg)").arg(path));
    const QFileInfo info(path);
    if (!QDir().mkpath(info.absolutePath()))
        return makeError("write_failed",
                         QStringLiteral("cannot create directory %1").arg(info.absolutePath()));
    if (format == "png") {
        // Our own encoder (see pngwriter.h): QImageWriter's PNG path was most of the time of
        // writing a template set. 16-bit: RGB samples straight from the tone curve.
        if (bitDepth == 16) {
            const QImage image = toImage16(fb);
            std::vector<uint16_t> rgb(size_t(fb.width) * size_t(fb.height) * 3);
            for (int y = 0; y < fb.height; ++y) {
                const auto *row = reinterpret_cast<const uint16_t *>(image.constScanLine(y));
                uint16_t *out = rgb.data() + size_t(y) * size_t(fb.width) * 3;
                for (int x = 0; x < fb.width; ++x)
                    for (int c = 0; c < 3; ++c)
                        out[3 * x + c] = row[4 * x + c];
            }
            return writePng({rgb.data(), fb.width, fb.height, 3, 16, 0}, info.absoluteFilePath());
        }
        const QImage image = toImage(fb);
        return writePng(
            {image.constBits(), fb.width, fb.height, 3, 8, size_t(image.bytesPerLine())},
            info.absoluteFilePath());
    }
    // QSaveFile: a reader (the agent uploading frames) never sees a half-written file.
    QSaveFile file(info.absoluteFilePath());
    if (!file.open(QIODevice::WriteOnly))
        return makeError("write_failed",
                         QStringLiteral("cannot write %1: %2").arg(path, file.errorString()));
    QImageWriter writer(&file, format);
    writer.setQuality(92);
    if (!writer.write(toImage(fb))) {
        file.cancelWriting();
        return makeError("write_failed",
                         QStringLiteral("cannot write %1: %2").arg(path, writer.errorString()));
    }
    if (!file.commit())
        return makeError("write_failed",
                         QStringLiteral("cannot write %1: %2").arg(path, file.errorString()));
    return {};
}

} // namespace farm::render
