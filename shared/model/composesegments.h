#pragma once

// A long compose job split into segments (docs/JOBTYPES.md, "Segments"): the names the server
// and the node share, defined once here. A segment task writes `segment_NNNN.mp4` (an output of
// the job); the join task finds them in its input bundle under kComposeSegmentFolder.
#include <QRegularExpression>
#include <QString>

namespace farm {

/// The folder of the join task's bundle that holds the segments' videos.
inline const QString kComposeSegmentFolder = QStringLiteral("_segments");
/// The settings key the server adds to a segment task: {"number": N, "to_end": bool}.
inline const QString kComposeSegmentKey = QStringLiteral("segment");
/// The settings key the server adds to the join task: true.
inline const QString kComposeJoinKey = QStringLiteral("join");

/// The output a segment task writes: segment_0001.mp4 for segment 1.
inline QString composeSegmentName(int number)
{
    return QStringLiteral("segment_%1.mp4").arg(number, 4, 10, QChar('0'));
}

/// Matches composeSegmentName()'s names; group 1: the number.
inline const QRegularExpression &composeSegmentPattern()
{
    static const QRegularExpression re(QStringLiteral("^segment_(\\d{4,9})\\.mp4$"));
    return re;
}

} // namespace farm
