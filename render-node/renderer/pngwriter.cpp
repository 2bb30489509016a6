#include "pngwriter.h"

#include <QSaveFile>

#include <zlib.h>

#include <cstring>
#include <vector>

namespace farm::render {
namespace {

void putBigEndian32(QByteArray &out, uint32_t v)
{
    const char bytes[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    out.append(bytes, 4);
}

void appendChunk(QByteArray &out, const char type[4], const uint8_t *data, std::size_t size)
{
    putBigEndian32(out, uint32_t(size));
    const qsizetype start = out.size();
    out.append(type, 4);
    if (size > 0)
        out.append(reinterpret_cast<const char *>(data), qsizetype(size));
    const auto *chunk = reinterpret_cast<const Bytef *>(out.constData() + start);
    putBigEndian32(out, uint32_t(crc32(0L, chunk, uInt(size + 4))));
}

} // namespace

QByteArray encodePng(const PngImage &im)
{
    if (!im.pixels || im.width <= 0 || im.height <= 0 || (im.channels != 1 && im.channels != 3) ||
        (im.bitDepth != 8 && im.bitDepth != 16))
        return {};
    const std::size_t bytesPerSample = std::size_t(im.bitDepth / 8);
    const std::size_t lineBytes = std::size_t(im.width) * std::size_t(im.channels) * bytesPerSample;
    const std::size_t stride = im.rowBytes ? im.rowBytes : lineBytes;
    if (stride < lineBytes)
        return {};

    // Filtered scanlines: filter byte 2 ("Up": byte minus the byte above) then the row, with
    // 16-bit samples swapped to big-endian first (filters work on the stored bytes).
    std::vector<uint8_t> raw((lineBytes + 1) * std::size_t(im.height));
    std::vector<uint8_t> previous(lineBytes, 0), current(lineBytes);
    const auto *src = static_cast<const uint8_t *>(im.pixels);
    for (int y = 0; y < im.height; ++y) {
        const uint8_t *row = src + std::size_t(y) * stride;
        if (bytesPerSample == 2) {
            for (std::size_t i = 0; i < lineBytes; i += 2) {
                current[i] = row[i + 1];
                current[i + 1] = row[i];
            }
        } else {
            std::memcpy(current.data(), row, lineBytes);
        }
        uint8_t *out = raw.data() + std::size_t(y) * (lineBytes + 1);
        out[0] = 2;
        for (std::size_t i = 0; i < lineBytes; ++i)
            out[1 + i] = uint8_t(current[i] - previous[i]);
        previous.swap(current);
    }

    z_stream z{};
    // Level 1 with Z_RLE: run-length matches only, which is what filtered image rows contain.
    if (deflateInit2(&z, 1, Z_DEFLATED, 15, 8, Z_RLE) != Z_OK)
        return {};
    std::vector<uint8_t> compressed(deflateBound(&z, uLong(raw.size())));
    z.next_in = raw.data();
    z.avail_in = uInt(raw.size());
    z.next_out = compressed.data();
    z.avail_out = uInt(compressed.size());
    const int status = deflate(&z, Z_FINISH);
    const std::size_t compressedSize = compressed.size() - z.avail_out;
    deflateEnd(&z);
    if (status != Z_STREAM_END)
        return {};

    QByteArray png("\x89PNG\r\n\x1a\n", 8);
    png.reserve(qsizetype(compressedSize + 64));
    uint8_t header[13] = {};
    const uint32_t w = uint32_t(im.width), h = uint32_t(im.height);
    for (int i = 0; i < 4; ++i) {
        header[i] = uint8_t(w >> (24 - 8 * i));
        header[4 + i] = uint8_t(h >> (24 - 8 * i));
    }
    header[8] = uint8_t(im.bitDepth);
    header[9] = im.channels == 3 ? 2 : 0; // colour type: truecolour or greyscale
    // bytes 10..12: deflate, adaptive filtering, no interlace (all zero)
    appendChunk(png, "IHDR", header, sizeof header);
    appendChunk(png, "IDAT", compressed.data(), compressedSize);
    appendChunk(png, "IEND", nullptr, 0);
    return png;
}

Result<void> writePng(const PngImage &image, const QString &path)
{
    const QByteArray png = encodePng(image);
    if (png.isEmpty())
        return makeError("write_failed", QStringLiteral("cannot encode %1").arg(path));
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(png) != png.size() || !file.commit())
        return makeError("write_failed",
                         QStringLiteral("cannot write %1: %2").arg(path, file.errorString()));
    return {};
}

} // namespace farm::render
