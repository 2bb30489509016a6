// Frame ranges (docs/API.md "Frame ranges"): FrameRange::parse on any text, and the formatter
// on any set of frames: what parses lies within the limits, formats back to the same frames and
// splits into chunks that add up to it.
#include "fuzzcheck.h"

#include "util/framerange.h"

#include <QStringList>

using namespace farm;

namespace {

void checkRange(const FrameRange &range, const QString &from)
{
    const QList<int> &frames = range.frames();
    FUZZ_CHECK(frames.size() <= FrameRange::kMaxFrames, from);
    for (qsizetype i = 0; i < frames.size(); ++i) {
        FUZZ_CHECK(frames[i] >= 0 && frames[i] <= FrameRange::kMaxFrameNumber, from);
        FUZZ_CHECK(i == 0 || frames[i - 1] < frames[i], from); // sorted, no duplicates
    }
    const QString text = range.toString();
    const auto back = FrameRange::parse(text);
    FUZZ_CHECK(back.ok() || range.isEmpty(), text + " from " + from);
    if (back.ok()) {
        FUZZ_CHECK(*back == range, text + " from " + from);
        FUZZ_CHECK(back->toString() == text, text);
    }
}

void checkChunks(const FrameRange &range, int chunk)
{
    QList<int> joined;
    const QList<FrameRange> chunks = range.chunks(chunk);
    for (const FrameRange &c : chunks) {
        FUZZ_CHECK(!c.isEmpty() && c.size() <= std::max(chunk, 1), QString::number(chunk));
        joined += c.frames();
    }
    FUZZ_CHECK(joined == range.frames(), range.toString());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    // First byte: 0-127 reads the rest as range text; 128-255 as frame numbers for the formatter.
    const QByteArray rest = fuzz::bytes(data + 1, size - 1);
    if (data[0] < 128) {
        const QString text = QString::fromUtf8(rest);
        const auto range = FrameRange::parse(text);
        if (!range) {
            FUZZ_CHECK(range.error().code == QLatin1String("invalid_field"), text);
            return 0;
        }
        checkRange(*range, text);
        checkChunks(*range, data[0] % 16);
        return 0;
    }
    QList<int> frames;
    for (qsizetype i = 0; i + 3 <= rest.size() && frames.size() < 4096; i += 3) {
        const int f = (uchar(rest[i]) << 16 | uchar(rest[i + 1]) << 8 | uchar(rest[i + 2]));
        // Small and clustered numbers make runs; the top bit picks the frame-number limit.
        frames.append(data[0] & 1 ? f % 64 : std::min(f * 2, FrameRange::kMaxFrameNumber));
    }
    const FrameRange range(frames);
    checkRange(range, QStringLiteral("frames %1").arg(frames.size()));
    checkChunks(range, 1 + data[0] % 8);
    return 0;
}
