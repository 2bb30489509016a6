#include "environment.h"

#include <QFile>
#include <QFileInfo>

#include <ImfArray.h>
#include <ImfRgbaFile.h>

#include <algorithm>
#include <cmath>

namespace farm::render {
namespace {

Result<std::vector<float>> readExr(const QString &path, int &width, int &height)
{
    try {
        Imf::RgbaInputFile file(QFile::encodeName(path).constData());
        const Imath::Box2i dw = file.dataWindow();
        width = dw.max.x - dw.min.x + 1;
        height = dw.max.y - dw.min.y + 1;
        if (width < 1 || height < 1 || width > Environment::kMaxSide ||
            height > Environment::kMaxSide)
            return makeError("bad_environment", QStringLiteral("%1: unsupported size").arg(path));
        Imf::Array2D<Imf::Rgba> pixels(height, width);
        file.setFrameBuffer(&pixels[0][0] - dw.min.x - dw.min.y * width, 1, size_t(width));
        file.readPixels(dw.min.y, dw.max.y);
        std::vector<float> rgb(size_t(width) * size_t(height) * 3);
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < width; ++x) {
                const Imf::Rgba &p = pixels[y][x];
                float *o = rgb.data() + 3 * (size_t(y) * size_t(width) + size_t(x));
                o[0] = float(p.r);
                o[1] = float(p.g);
                o[2] = float(p.b);
            }
        return rgb;
    } catch (const std::exception &e) {
        return makeError("bad_environment", QStringLiteral("%1: %2").arg(path, e.what()));
    }
}

/// Radiance RGBE (.hdr): header, "-Y H +X W", then flat or new-style run-length scanlines.
Result<std::vector<float>> readHdr(const QString &path, int &width, int &height)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return makeError("io_error", QStringLiteral("cannot read %1").arg(path));
    const QByteArray data = file.readAll();
    auto bad = [&](const char *why) {
        return makeError("bad_environment", QStringLiteral("%1: %2").arg(path, why));
    };
    if (!data.startsWith("#?"))
        return bad("not a Radiance HDR file");
    qsizetype pos = 0;
    for (;;) { // header lines end with an empty line
        const qsizetype end = data.indexOf('\n', pos);
        if (end < 0)
            return bad("truncated header");
        const QByteArray line = data.mid(pos, end - pos).trimmed();
        pos = end + 1;
        if (line.isEmpty())
            break;
        if (line.startsWith("FORMAT=") && line != "FORMAT=32-bit_rle_rgbe")
            return bad("only 32-bit_rle_rgbe is supported");
    }
    const qsizetype end = data.indexOf('\n', pos);
    const QList<QByteArray> res = data.mid(pos, end - pos).trimmed().split(' ');
    if (end < 0 || res.size() != 4 || res[0] != "-Y" || res[2] != "+X")
        return bad("unsupported resolution line (expected -Y H +X W)");
    height = res[1].toInt();
    width = res[3].toInt();
    if (width < 1 || height < 1 || width > Environment::kMaxSide || height > Environment::kMaxSide)
        return bad("unsupported size");
    pos = end + 1;
    const auto *in = reinterpret_cast<const uchar *>(data.constData());
    const qsizetype size = data.size();
    std::vector<uchar> scan(size_t(width) * 4);
    std::vector<float> rgb(size_t(width) * size_t(height) * 3);
    for (int y = 0; y < height; ++y) {
        if (pos + 4 <= size && width >= 8 && width < 32768 && in[pos] == 2 && in[pos + 1] == 2 &&
            ((in[pos + 2] << 8) | in[pos + 3]) == width) {
            pos += 4;
            for (int c = 0; c < 4; ++c) {
                for (int x = 0; x < width;) {
                    if (pos >= size)
                        return bad("truncated pixel data");
                    int count = in[pos++];
                    if (count > 128) {
                        count -= 128;
                        if (pos >= size || x + count > width)
                            return bad("corrupt run");
                        for (int k = 0; k < count; ++k)
                            scan[size_t(4 * (x++) + c)] = in[pos];
                        ++pos;
                    } else {
                        if (count == 0 || pos + count > size || x + count > width)
                            return bad("corrupt run");
                        for (int k = 0; k < count; ++k)
                            scan[size_t(4 * (x++) + c)] = in[pos++];
                    }
                }
            }
        } else {
            if (pos + 4 * width > size)
                return bad("truncated pixel data");
            std::copy_n(in + pos, 4 * width, scan.begin());
            pos += 4 * width;
        }
        for (int x = 0; x < width; ++x) {
            const uchar *p = scan.data() + 4 * x;
            const float f = p[3] ? std::ldexp(1.f, int(p[3]) - 136) : 0.f;
            float *o = rgb.data() + 3 * (size_t(y) * size_t(width) + size_t(x));
            o[0] = float(p[0]) * f;
            o[1] = float(p[1]) * f;
            o[2] = float(p[2]) * f;
        }
    }
    return rgb;
}

} // namespace

Result<Environment> Environment::load(const QString &path, float intensity)
{
    const QFileInfo info(path);
    if (!info.isFile() || !info.isReadable())
        return makeError("io_error", QStringLiteral("environment map not found: %1").arg(path));
    const QString suffix = info.suffix().toLower();
    int width = 0, height = 0;
    Result<std::vector<float>> rgb =
        suffix == QLatin1String("exr") ? readExr(path, width, height)
        : suffix == QLatin1String("hdr")
            ? readHdr(path, width, height)
            : Result<std::vector<float>>(makeError(
                  "bad_environment", QStringLiteral("%1: use an .exr or .hdr file").arg(path)));
    if (!rgb)
        return rgb.error();
    return fromPixels(width, height, std::move(*rgb), intensity);
}

Result<Environment> Environment::fromPixels(int width, int height, std::vector<float> rgb,
                                            float intensity)
{
    if (width < 1 || height < 1 || rgb.size() != size_t(width) * size_t(height) * 3)
        return makeError("bad_environment", QStringLiteral("environment size mismatch"));
    if (!std::isfinite(intensity) || intensity < 0.f)
        return makeError("bad_environment", QStringLiteral("intensity must be >= 0"));
    Environment env;
    env.m_width = width;
    env.m_height = height;
    env.m_intensity = intensity;
    for (float &v : rgb)
        v = std::isfinite(v) ? std::max(v, 0.f) : 0.f; // NaN/inf/negative texels contribute nothing
    env.m_rgb = std::move(rgb);

    // Row weights: luminance x sin(theta), so the pdf per solid angle follows the radiance.
    env.m_conditional.assign(size_t(height) * size_t(width + 1), 0.f);
    env.m_marginal.assign(size_t(height) + 1, 0.f);
    std::vector<double> rowSums(size_t(height), 0.0);
    for (int y = 0; y < height; ++y) {
        const double sinTheta = std::sin(M_PI * (y + 0.5) / height);
        float *cdf = env.m_conditional.data() + size_t(y) * size_t(width + 1);
        double sum = 0.0;
        for (int x = 0; x < width; ++x) {
            const float *p = env.m_rgb.data() + 3 * (size_t(y) * size_t(width) + size_t(x));
            sum += (0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2]) * sinTheta;
            cdf[x + 1] = float(sum);
        }
        for (int x = 1; x <= width; ++x) // normalize; a black row gets a uniform CDF
            cdf[x] = sum > 0.0 ? float(cdf[x] / sum) : float(x) / float(width);
        cdf[width] = 1.f;
        rowSums[size_t(y)] = sum;
    }
    double total = 0.0;
    for (int y = 0; y < height; ++y) {
        total += rowSums[size_t(y)];
        env.m_marginal[size_t(y) + 1] = float(total);
    }
    for (int y = 1; y <= height; ++y)
        env.m_marginal[size_t(y)] =
            total > 0.0 ? float(env.m_marginal[size_t(y)] / total) : float(y) / float(height);
    env.m_marginal[size_t(height)] = 1.f;
    return env;
}

EnvironmentView Environment::view() const
{
    EnvironmentView v;
    v.rgb = m_rgb.data();
    v.marginalCdf = m_marginal.data();
    v.conditionalCdf = m_conditional.data();
    v.width = m_width;
    v.height = m_height;
    v.intensity = m_intensity;
    return v;
}

} // namespace farm::render
