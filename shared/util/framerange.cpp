#include "util/framerange.h"

#include <QRegularExpression>

#include <algorithm>

namespace farm {

FrameRange::FrameRange(QList<int> frames)
    : m_frames(std::move(frames))
{
    std::sort(m_frames.begin(), m_frames.end());
    m_frames.erase(std::unique(m_frames.begin(), m_frames.end()), m_frames.end());
}

Result<FrameRange> FrameRange::parse(const QString &text)
{
    static const QRegularExpression item(
        QStringLiteral(R"(^\s*(\d{1,9})(?:\s*-\s*(\d{1,9})(?:\s*:\s*(\d{1,9}))?)?\s*$)"));
    if (text.trimmed().isEmpty())
        return makeError("invalid_field", "frames: the frame range is empty");

    QList<int> frames;
    const QStringList items = text.split(',');
    for (const QString &part : items) {
        const auto m = item.match(part);
        if (!m.hasMatch())
            return makeError(
                "invalid_field",
                QString("frames: '%1' is not a frame, A-B or A-B:step").arg(part.trimmed()));
        const qint64 a = m.captured(1).toLongLong();
        const qint64 b = m.captured(2).isEmpty() ? a : m.captured(2).toLongLong();
        const qint64 step = m.captured(3).isEmpty() ? 1 : m.captured(3).toLongLong();
        if (a > kMaxFrameNumber || b > kMaxFrameNumber)
            return makeError(
                "invalid_field",
                QString("frames: frame numbers must not exceed %1").arg(kMaxFrameNumber));
        if (b < a)
            return makeError("invalid_field",
                             QString("frames: '%1' ends before it starts").arg(part.trimmed()));
        if (step < 1)
            return makeError("invalid_field", "frames: the step must be at least 1");
        const qint64 count = (b - a) / step + 1;
        if (frames.size() + count > kMaxFrames)
            return makeError("invalid_field",
                             QString("frames: more than %1 frames").arg(kMaxFrames));
        for (qint64 f = a; f <= b; f += step)
            frames.append(int(f));
    }
    return FrameRange(std::move(frames));
}

QList<FrameRange> FrameRange::chunks(int chunk) const
{
    QList<FrameRange> out;
    if (chunk < 1)
        chunk = 1;
    for (qsizetype i = 0; i < m_frames.size(); i += chunk)
        out.append(FrameRange(m_frames.mid(i, chunk)));
    return out;
}

QString FrameRange::toString() const
{
    // Empty, not null: a task without frames of its own (an encode task) is stored as "".
    if (m_frames.isEmpty())
        return QStringLiteral("");
    QStringList parts;
    qsizetype i = 0;
    while (i < m_frames.size()) {
        // Greedily take the longest arithmetic run starting at i.
        qsizetype j = i + 1;
        if (j < m_frames.size()) {
            const int step = m_frames[j] - m_frames[i];
            while (j + 1 < m_frames.size() && m_frames[j + 1] - m_frames[j] == step)
                ++j;
            const qsizetype runLength = j - i + 1;
            if (runLength >= 3 || (runLength == 2 && step == 1)) {
                QString s = QString("%1-%2").arg(m_frames[i]).arg(m_frames[j]);
                if (step != 1)
                    s += QString(":%1").arg(step);
                parts.append(s);
                i = j + 1;
                continue;
            }
        }
        parts.append(QString::number(m_frames[i]));
        ++i;
    }
    return parts.join(',');
}

} // namespace farm
