#include "passes.h"

#include "pngwriter.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <ImfChannelList.h>
#include <ImfFrameBuffer.h>
#include <ImfHeader.h>
#include <ImfOutputFile.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <thread>

namespace farm::render {

QByteArray npyFloat32Header(const QString &shape)
{
    QByteArray header = QStringLiteral("{'descr': '<f4', 'fortran_order': False, 'shape': %1, }")
                            .arg(shape)
                            .toLatin1();
    // Magic (6) + version (2) + length (2) + header + '\n' must be a multiple of 64.
    while ((10 + header.size() + 1) % 64 != 0)
        header.append(' ');
    header.append('\n');
    QByteArray data("\x93NUMPY\x01\x00", 8);
    data.append(char(header.size() & 0xff));
    data.append(char((header.size() >> 8) & 0xff));
    data.append(header);
    return data;
}

namespace {

struct PassName
{
    const char *name;
    unsigned bit;
};
constexpr PassName kPassNames[] = {
    {"rgb", PassRgb},   {"depth", PassDepth}, {"normal", PassNormal}, {"albedo", PassAlbedo},
    {"mask", PassMask}, {"xyz", PassXyz},     {"nocs", PassXyz},      {"instance", PassInstance}};

QString siblingPath(const QString &rgbPath, const QString &pass, const QString &suffix)
{
    const QFileInfo info(rgbPath);
    return info.dir().filePath(
        QStringLiteral("%1_%2.%3").arg(info.completeBaseName(), pass, suffix));
}

uint8_t toByte(float v)
{
    return uint8_t(std::lround(std::clamp(v, 0.f, 1.f) * 255.f));
}

uint8_t toSrgbByte(float v)
{
    v = std::clamp(v, 0.f, 1.f);
    return toByte(v <= 0.0031308f ? 12.92f * v : 1.055f * std::pow(v, 1.f / 2.4f) - 0.055f);
}

Result<void> writeDepthExr(const AovBuffers &a, const QString &path)
{
    std::vector<float> z(a.pixels.size());
    for (size_t i = 0; i < z.size(); ++i)
        z[i] = a.pixels[i].depth;
    try {
        Imf::Header header(a.width, a.height);
        header.channels().insert("Z", Imf::Channel(Imf::FLOAT));
        header.zipCompressionLevel() = 1; // default 4; level 1 is faster, files ~3% larger
        Imf::OutputFile file(QFile::encodeName(path).constData(), header);
        Imf::FrameBuffer fb;
        fb.insert("Z", Imf::Slice(Imf::FLOAT, reinterpret_cast<char *>(z.data()), sizeof(float),
                                  sizeof(float) * size_t(a.width)));
        file.setFrameBuffer(fb);
        file.writePixels(a.height);
    } catch (const std::exception &e) {
        return makeError("write_failed", QStringLiteral("cannot write %1: %2").arg(path, e.what()));
    }
    return {};
}

/// NumPy .npy v1.0: little-endian float32, C order, shape (height, width, 3).
Result<void> writeNocsNpy(const AovBuffers &a, const QString &path)
{
    QByteArray data = npyFloat32Header(QStringLiteral("(%1, %2, 3)").arg(a.height).arg(a.width));
    const qsizetype headerSize = data.size();
    data.resize(headerSize + qsizetype(a.pixels.size() * 3 * sizeof(float)));
    auto *out = reinterpret_cast<float *>(data.data() + headerSize); // 64-byte aligned header
    for (const AovSample &s : a.pixels) {                            // x86 and ARM: little-endian
        *out++ = s.hit ? s.nocs.x : 0.f;
        *out++ = s.hit ? s.nocs.y : 0.f;
        *out++ = s.hit ? s.nocs.z : 0.f;
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(data) != data.size() || !file.commit())
        return makeError("write_failed", QStringLiteral("cannot write %1").arg(path));
    return {};
}

/// NumPy .npy v1.0: little-endian float16, C order, shape (height, width, 3): the hit points in
/// model units, -1 off the object (what SAM-6D's templates hold).
Result<void> writeModelXyzNpy(const AovBuffers &a, const QString &path)
{
    QByteArray data = npyFloat32Header(QStringLiteral("(%1, %2, 3)").arg(a.height).arg(a.width));
    data.replace(QByteArrayLiteral("'<f4'"), QByteArrayLiteral("'<f2'")); // same length
    const qsizetype headerSize = data.size();
    data.resize(headerSize + qsizetype(a.pixels.size() * 3 * sizeof(uint16_t)));
    auto *out = reinterpret_cast<uint16_t *>(data.data() + headerSize);
    const uint16_t minusOne = toHalf(-1.f);
    for (const AovSample &s : a.pixels) {
        for (int c = 0; c < 3; ++c)
            *out++ = s.hit ? toHalf(s.position[c]) : minusOne;
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(data) != data.size() || !file.commit())
        return makeError("write_failed", QStringLiteral("cannot write %1").arg(path));
    return {};
}

/// One PNG's samples (`channels` per pixel) made from the AOVs by `pixel`.
template<typename T, int Channels, typename F>
Result<void> writeAovPng(const AovBuffers &a, const QString &path, F pixel)
{
    std::vector<T> samples(a.pixels.size() * Channels);
    T *out = samples.data();
    for (const AovSample &s : a.pixels) {
        pixel(s, out);
        out += Channels;
    }
    return writePng({samples.data(), a.width, a.height, Channels, int(8 * sizeof(T)), 0}, path);
}

} // namespace

uint16_t toHalf(float v)
{
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    const uint16_t sign = uint16_t((bits >> 16) & 0x8000u);
    const uint32_t absBits = bits & 0x7fffffffu;
    if (absBits >= 0x7f800000u) // infinity or NaN
        return uint16_t(sign | 0x7c00u | (absBits > 0x7f800000u ? 0x200u : 0u));
    if (absBits >= 0x477ff000u) // rounds to >= 65520: infinity
        return uint16_t(sign | 0x7c00u);
    if (absBits < 0x38800000u) {   // below the smallest normal half: subnormal or zero
        if (absBits < 0x33000000u) // below half the smallest subnormal
            return sign;
        const uint32_t mantissa = (absBits & 0x7fffffu) | 0x800000u;
        const int shift = 126 - int(absBits >> 23); // 14..24
        const uint32_t half = mantissa >> shift;
        const uint32_t rest = mantissa & ((1u << shift) - 1u);
        const uint32_t mid = 1u << (shift - 1);
        const uint32_t rounded = half + ((rest > mid || (rest == mid && (half & 1u))) ? 1u : 0u);
        return uint16_t(sign | rounded);
    }
    // Normal: rebias the exponent, round the 13 dropped mantissa bits to nearest even.
    const uint32_t rebased = absBits - 0x38000000u;
    const uint32_t half = rebased >> 13;
    const uint32_t rest = rebased & 0x1fffu;
    const uint32_t rounded =
        half + ((rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ? 1u : 0u);
    return uint16_t(sign | rounded);
}

Result<unsigned> parsePasses(const QString &text)
{
    unsigned passes = 0;
    for (const QString &item : text.split(QLatin1Char(','))) {
        const QString name = item.trimmed().toLower();
        const auto it =
            std::find_if(std::begin(kPassNames), std::end(kPassNames),
                         [&](const PassName &p) { return name == QLatin1String(p.name); });
        if (it == std::end(kPassNames))
            return makeError("invalid_argument",
                             QStringLiteral("unknown pass '%1' (use rgb, depth, normal, albedo, "
                                            "mask, xyz, instance)")
                                 .arg(item.trimmed()));
        passes |= it->bit;
    }
    return passes;
}

NocsFrame nocsFrameFor(const Scene &scene)
{
    NocsFrame f;
    f.center = scene.bounds().center();
    const float size = maxComponent(scene.bounds().extent());
    f.invSize = size > 0.f ? 1.f / size : 1.f;
    return f;
}

AovBuffers renderAovs(const Scene &scene, const Camera &camera, int width, int height, int threads)
{
    AovBuffers a;
    a.width = width;
    a.height = height;
    a.pixels.resize(size_t(width) * size_t(height));
    const SceneView view = scene.view();
    const WideTracer tracer{&scene.wideBvh(), view};
    const NocsFrame nocs = nocsFrameFor(scene);
    std::atomic<int> nextRow{0};
    auto work = [&] {
        for (int y = nextRow++; y < height; y = nextRow++)
            for (int x = 0; x < width; ++x)
                a.pixels[size_t(y) * size_t(width) + size_t(x)] =
                    computeAov(tracer, view, camera, nocs, width, height, x, y);
    };
    const int hw = int(std::max(1u, std::thread::hardware_concurrency()));
    const int workers = std::clamp(threads > 0 ? threads : hw, 1, std::max(1, height));
    std::vector<std::thread> pool;
    for (int i = 1; i < workers; ++i)
        pool.emplace_back(work);
    work();
    for (auto &t : pool)
        t.join();
    return a;
}

Result<QList<QPair<QString, QString>>> writePasses(const AovBuffers &aovs, unsigned passes,
                                                   const QString &rgbPath, double depthScale)
{
    return writePasses(aovs, passes, siblingNaming(rgbPath), depthScale);
}

PassNaming siblingNaming(const QString &rgbPath)
{
    return [rgbPath](const QString &pass, const QString &suffix) {
        return siblingPath(rgbPath, pass, suffix);
    };
}

PassNaming viewNaming(const QString &directory, int view)
{
    return [directory, view](const QString &pass, const QString &suffix) {
        return QDir(directory).filePath(QStringLiteral("%1_%2.%3").arg(pass).arg(view).arg(suffix));
    };
}

Result<QList<QPair<QString, QString>>> writePasses(const AovBuffers &a, unsigned passes,
                                                   const PassNaming &name, double depthScale,
                                                   XyzFormat xyz)
{
    QList<QPair<QString, QString>> written;
    const QString rgbPath = name(QStringLiteral("rgb"), QStringLiteral("png"));
    if (!QDir().mkpath(QFileInfo(rgbPath).absolutePath()))
        return makeError("write_failed", QStringLiteral("cannot create %1").arg(rgbPath));
    auto save = [&](const QString &pass, const QString &path, Result<void> r) -> bool {
        if (r.ok())
            written.append({pass, path});
        return r.ok();
    };
    if (passes & PassDepth) {
        const QString png = name("depth", "png"), exr = name("depth", "exr");
        const Result<void> r =
            writeAovPng<uint16_t, 1>(a, png, [depthScale](const AovSample &s, uint16_t *p) {
                const double mm =
                    s.hit ? std::clamp(double(s.depth) * depthScale, 0.0, 65535.0) : 0.0;
                *p = uint16_t(std::lround(mm));
            });
        if (!save("depth", png, r) || !save("depth", exr, writeDepthExr(a, exr)))
            return makeError("write_failed",
                             QStringLiteral("cannot write the depth pass of %1").arg(rgbPath));
    }
    if (passes & PassNormal) {
        const QString png = name("normal", "png");
        const Result<void> r = writeAovPng<uint8_t, 3>(a, png, [](const AovSample &s, uint8_t *p) {
            for (int c = 0; c < 3; ++c)
                p[c] = s.hit ? toByte(s.normal[c] * 0.5f + 0.5f) : 0;
        });
        if (!save("normal", png, r))
            return makeError("write_failed", QStringLiteral("cannot write %1").arg(png));
    }
    if (passes & PassAlbedo) {
        const QString png = name("albedo", "png");
        const Result<void> r = writeAovPng<uint8_t, 3>(a, png, [](const AovSample &s, uint8_t *p) {
            for (int c = 0; c < 3; ++c)
                p[c] = s.hit ? toSrgbByte(s.albedo[c]) : 0;
        });
        if (!save("albedo", png, r))
            return makeError("write_failed", QStringLiteral("cannot write %1").arg(png));
    }
    if (passes & PassMask) {
        const QString png = name("mask", "png");
        const Result<void> r = writeAovPng<uint8_t, 1>(
            a, png, [](const AovSample &s, uint8_t *p) { *p = s.hit ? 255 : 0; });
        if (!save("mask", png, r))
            return makeError("write_failed", QStringLiteral("cannot write %1").arg(png));
    }
    if ((passes & PassXyz) && xyz == XyzFormat::ModelFloat16) {
        const QString npy = name("xyz", "npy");
        if (!save("xyz", npy, writeModelXyzNpy(a, npy)))
            return makeError("write_failed", QStringLiteral("cannot write %1").arg(npy));
    } else if (passes & PassXyz) {
        const QString npy = name("xyz", "npy"), png = name("xyz", "png");
        auto to16 = [](float v) { return uint16_t(std::lround(v * 65535.f)); };
        const Result<void> r =
            writeAovPng<uint16_t, 3>(a, png, [&to16](const AovSample &s, uint16_t *p) {
                p[0] = s.hit ? to16(s.nocs.x) : 0;
                p[1] = s.hit ? to16(s.nocs.y) : 0;
                p[2] = s.hit ? to16(s.nocs.z) : 0;
            });
        if (!save("xyz", npy, writeNocsNpy(a, npy)) || !save("xyz", png, r))
            return makeError("write_failed",
                             QStringLiteral("cannot write the xyz pass of %1").arg(rgbPath));
    }
    if (passes & PassInstance) {
        const QString png = name("instance", "png");
        const Result<void> r =
            writeAovPng<uint16_t, 1>(a, png, [](const AovSample &s, uint16_t *p) {
                *p = s.hit ? uint16_t(std::min<uint32_t>(s.instance, 65535u)) : 0;
            });
        if (!save("instance", png, r))
            return makeError("write_failed", QStringLiteral("cannot write %1").arg(png));
    }
    return written;
}

QByteArray instanceMapJson(const Scene &scene)
{
    QJsonArray list;
    const std::vector<SceneInstance> &instances = scene.instances();
    if (instances.empty()) // bare triangles: one instance
        list.append(QJsonObject{{"id", 1}, {"node", QString()}, {"mesh", QString()}});
    for (size_t i = 0; i < instances.size(); ++i)
        list.append(QJsonObject{
            {"id", qint64(i + 1)}, {"node", instances[i].node}, {"mesh", instances[i].mesh}});
    return QJsonDocument(QJsonObject{{"background", 0}, {"instances", list}})
        .toJson(QJsonDocument::Indented);
}

} // namespace farm::render
