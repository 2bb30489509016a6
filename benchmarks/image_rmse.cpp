// RMSE between two images of the same size over R, G and B in 0..1, in one display space for
// both: PNGs (8 or 16 bits) as they are; OpenEXR files (linear, as Cycles writes them) through
// our renderer's own tone curve and the sRGB encoding, unquantised, i.e. what our renderer would
// have written for that radiance. compare_cycles_noise.sh measures both renderers with it.
// Usage: image_rmse A B [MAP.png]   (prints one number; exit 1 when unreadable or the sizes
// differ; MAP: each pixel's error, 10x brightened, to see where it is)
#include "framebuffer.h"

#include <QImage>

#include <ImfRgbaFile.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace {

struct Image
{
    int width = 0, height = 0;
    std::vector<double> rgb; // display values 0..1
};

double srgb(double c)
{
    c = std::clamp(c, 0.0, 1.0);
    return c <= 0.0031308 ? 12.92 * c : 1.055 * std::pow(c, 1.0 / 2.4) - 0.055;
}

bool readExr(const char *path, Image &out)
{
    try {
        Imf::RgbaInputFile file(path);
        const Imath::Box2i dw = file.dataWindow();
        out.width = dw.max.x - dw.min.x + 1;
        out.height = dw.max.y - dw.min.y + 1;
        std::vector<Imf::Rgba> pixels(size_t(out.width) * size_t(out.height));
        file.setFrameBuffer(pixels.data() - dw.min.x - dw.min.y * out.width, 1, size_t(out.width));
        file.readPixels(dw.min.y, dw.max.y);
        out.rgb.reserve(pixels.size() * 3);
        for (const Imf::Rgba &p : pixels)
            for (const float c : {float(p.r), float(p.g), float(p.b)})
                out.rgb.push_back(srgb(farm::render::toneCurve(c)));
        return true;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "error: %s: %s\n", path, e.what());
        return false;
    }
}

bool readImage(const char *path, Image &out)
{
    const QString name = QString::fromLocal8Bit(path);
    if (name.endsWith(QLatin1String(".exr"), Qt::CaseInsensitive))
        return readExr(path, out);
    const QImage image = QImage(name).convertToFormat(QImage::Format_RGBX64);
    if (image.isNull()) {
        std::fprintf(stderr, "error: %s: not a readable image\n", path);
        return false;
    }
    out.width = image.width();
    out.height = image.height();
    out.rgb.reserve(size_t(out.width) * size_t(out.height) * 3);
    for (int y = 0; y < out.height; ++y) {
        const auto *line = reinterpret_cast<const quint16 *>(image.constScanLine(y));
        for (int x = 0; x < out.width; ++x)
            for (int c = 0; c < 3; ++c)
                out.rgb.push_back(line[4 * x + c] / 65535.0);
    }
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        std::fprintf(stderr, "usage: image_rmse A B [MAP.png]  (PNG, or linear OpenEXR)\n");
        return 2;
    }
    Image a, b;
    if (!readImage(argv[1], a) || !readImage(argv[2], b))
        return 1;
    if (a.width != b.width || a.height != b.height) {
        std::fprintf(stderr, "error: %s and %s differ in size\n", argv[1], argv[2]);
        return 1;
    }
    double sum = 0.0;
    for (size_t i = 0; i < a.rgb.size(); ++i)
        sum += (a.rgb[i] - b.rgb[i]) * (a.rgb[i] - b.rgb[i]);
    std::printf("%.6f\n", std::sqrt(sum / double(a.rgb.size())));
    if (argc == 4) {
        double meanA = 0.0, meanB = 0.0;
        for (size_t i = 0; i < a.rgb.size(); ++i) {
            meanA += a.rgb[i];
            meanB += b.rgb[i];
        }
        std::fprintf(stderr, "mean %.4f %.4f\n", meanA / double(a.rgb.size()),
                     meanB / double(b.rgb.size()));
        QImage map(a.width, a.height, QImage::Format_Grayscale8);
        for (int y = 0; y < a.height; ++y)
            for (int x = 0; x < a.width; ++x) {
                const size_t i = 3 * (size_t(y) * size_t(a.width) + size_t(x));
                double e = 0.0;
                for (int c = 0; c < 3; ++c)
                    e += (a.rgb[i + c] - b.rgb[i + c]) * (a.rgb[i + c] - b.rgb[i + c]);
                map.scanLine(y)[x] = uchar(std::min(255.0, 2550.0 * std::sqrt(e / 3.0)));
            }
        if (!map.save(QString::fromLocal8Bit(argv[3]))) {
            std::fprintf(stderr, "error: cannot write %s\n", argv[3]);
            return 1;
        }
    }
    return 0;
}
