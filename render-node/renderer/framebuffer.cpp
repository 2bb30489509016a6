#include "framebuffer.h"

#include "pngwriter.h"

#include <QDir>
#include <QFileInfo>
#include <QImageWriter>
#include <QSaveFile>

#include <algorithm>
#include <cmath>
#include <vector>

namespace farm::render {
namespace {

float toneMap(float x)
{
    x = std::max(0.f, x);
    return std::clamp((x * (2.51f * x + 0.03f)) / (x * (2.43f * x + 0.59f) + 0.14f), 0.f, 1.f);
}

/// sRGB encoding of a tone-mapped value in [0, 1], tabulated (pow per channel was a visible
/// share of template renders); 16384 steps keep the error under a quarter of an 8-bit step.
uint8_t encodeSrgb(float linear)
{
    constexpr int kSteps = 16384;
    static const std::vector<uint8_t> table = [] {
        std::vector<uint8_t> t(kSteps + 1);
        for (int i = 0; i <= kSteps; ++i) {
            const float c = float(i) / kSteps;
            const float s =
                c <= 0.0031308f ? 12.92f * c : 1.055f * std::pow(c, 1.f / 2.4f) - 0.055f;
            t[size_t(i)] = uint8_t(std::lround(std::clamp(s, 0.f, 1.f) * 255.f));
        }
        return t;
    }();
    return table[size_t(toneMap(linear) * kSteps + 0.5f)];
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

float toneCurve(float linear)
{
    return toneMap(linear);
}

QImage toImage(const Framebuffer &fb)
{
    QImage image(fb.width, fb.height, QImage::Format_RGB888);
    for (int y = 0; y < fb.height; ++y) {
        uchar *row = image.scanLine(y);
        for (int x = 0; x < fb.width; ++x) {
            const Vec3 &p = fb.at(x, y);
            row[3 * x] = encodeSrgb(p.x);
            row[3 * x + 1] = encodeSrgb(p.y);
            row[3 * x + 2] = encodeSrgb(p.z);
        }
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
                const float t = toneMap(p[c]);
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
