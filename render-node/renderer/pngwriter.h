#pragma once

#include "util/result.h"

#include <QByteArray>
#include <QString>

#include <cstddef>
#include <cstdint>

namespace farm::render {

/// Pixel rows handed to the PNG encoder: `channels` samples per pixel (1 grey, 3 RGB),
/// `bitDepth` 8 or 16 (16-bit samples in native byte order; the encoder writes big-endian).
struct PngImage
{
    const void *pixels = nullptr;
    int width = 0;
    int height = 0;
    int channels = 1;
    int bitDepth = 8;
    std::size_t rowBytes = 0; // stride between rows; 0: width * channels * bitDepth / 8
};

/// Encodes a PNG with the "Up" filter on every row and zlib's run-length strategy. Why not
/// QImageWriter: libpng tries all five filters on every row (its heuristic was the largest
/// share of writing a template set) and Qt cannot turn that off; this is ~5x faster for files
/// a few percent larger. Returns an empty array for invalid input.
QByteArray encodePng(const PngImage &image);

/// encodePng written through QSaveFile (no half-written file is ever visible).
/// Errors: `write_failed`.
Result<void> writePng(const PngImage &image, const QString &path);

} // namespace farm::render
