#pragma once

#include "util/result.h"

#include <QList>
#include <QString>

namespace farm {

/// A parsed frame range such as "1-10,20-30:2": sorted, without duplicates.
class FrameRange
{
public:
    static constexpr qint64 kMaxFrames = 100000;
    static constexpr int kMaxFrameNumber = 10000000;

    FrameRange() = default;
    explicit FrameRange(QList<int> frames);

    /// Parses items "A", "A-B" or "A-B:S" separated by commas (spaces allowed around them).
    static Result<FrameRange> parse(const QString &text);

    const QList<int> &frames() const { return m_frames; }
    qsizetype size() const { return m_frames.size(); }
    bool isEmpty() const { return m_frames.isEmpty(); }

    /// Splits into consecutive chunks of at most `chunk` frames each.
    QList<FrameRange> chunks(int chunk) const;

    /// A short text that parses back to the same frames ("1-4", "1-9:2", "1,3,8"): runs are
    /// taken greedily, so it can be longer than another text for them ("0-1,3-7:2" for
    /// "0,1-7:2").
    QString toString() const;

    bool operator==(const FrameRange &other) const = default;

private:
    QList<int> m_frames;
};

} // namespace farm
