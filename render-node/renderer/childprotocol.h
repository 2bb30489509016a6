#pragma once

// The stdout protocol between a render child and the node (docs/JOBTYPES.md, "Engines"): one
// line per event, a keyword, then space separated fields; a path is the rest of the line (it may
// hold spaces). The built-in renderer writes these lines and the node reads them; the Blender
// settings script gets the keywords from the node and writes FRAME lines the same way.
//   PROGRESS <0..1> <frame>              share of the child's whole run done, while on `frame`
//   FRAME <frame> <absolute path>        a frame's main image is written (upload it)
//   OUTPUT <frame> <pass> <absolute path> a pass file of a frame (uploaded before its FRAME)
//   PREVIEW <frame> <samples> <path>     a JPEG of the frame after `samples` samples per pixel
//   CAMERAS <absolute path>              a template set's camera file
// Header only: the renderer (farm_renderer) and the agent (farm_node_core) share no library.

#include <QString>
#include <QStringList>

namespace farm::childprotocol {

inline const QString kProgress = QStringLiteral("PROGRESS");
inline const QString kFrame = QStringLiteral("FRAME");
inline const QString kOutput = QStringLiteral("OUTPUT");
inline const QString kPreview = QStringLiteral("PREVIEW");
inline const QString kCameras = QStringLiteral("CAMERAS");
/// Exit status of a child whose input is unusable (a file that is not a video, a bad
/// scenario): the node reports the failure with code `invalid_input` (errc::InvalidInput), and
/// the server fails the job without another attempt. 65 is sysexits' EX_DATAERR.
inline constexpr int kExitInvalidInput = 65;

/// The glibc malloc settings the built-in renderer's `render` command runs with (rendercli.cpp,
/// reexecWithHugePageMalloc): huge pages advised for what malloc maps, every block from the heap,
/// the heap kept. glibc reads them only at process start, from GLIBC_TUNABLES: the node starts its
/// render children with them (childMallocTunables), and a command started without them starts
/// itself again once to get them (~0.12 s of CPU, all of it before the first frame).
inline constexpr char kMallocTunablesVariable[] = "GLIBC_TUNABLES";
inline constexpr char kMallocTunables[] = "glibc.malloc.hugetlb=1:glibc.malloc.mmap_max=0:"
                                          "glibc.malloc.trim_threshold=68719476736";
/// Whether GLIBC_TUNABLES `value` already says how malloc treats huge pages (then it stands,
/// whoever set it).
inline bool hasMallocTunables(const QString &value)
{
    return value.contains(QLatin1String("glibc.malloc.hugetlb"));
}
/// GLIBC_TUNABLES for a render child, given the current value (empty: unset): kMallocTunables
/// added to it, unless it has its own.
inline QString childMallocTunables(const QString &current)
{
    if (hasMallocTunables(current))
        return current;
    const QString tunables = QString::fromLatin1(kMallocTunables);
    return current.isEmpty() ? tunables : current + QLatin1Char(':') + tunables;
}

inline QString progressLine(double fraction, int frame)
{
    return QStringLiteral("%1 %2 %3").arg(kProgress).arg(fraction, 0, 'f', 4).arg(frame);
}

inline QString frameLine(int frame, const QString &path)
{
    return QStringLiteral("%1 %2 %3").arg(kFrame).arg(frame).arg(path);
}

inline QString outputLine(int frame, const QString &pass, const QString &path)
{
    return QStringLiteral("%1 %2 %3 %4").arg(kOutput).arg(frame).arg(pass, path);
}

inline QString previewLine(int frame, int samples, const QString &path)
{
    return QStringLiteral("%1 %2 %3 %4").arg(kPreview).arg(frame).arg(samples).arg(path);
}

inline QString camerasLine(const QString &path)
{
    return QStringLiteral("%1 %2").arg(kCameras, path);
}

/// One stdout line as read back. `kind` None: not a protocol line (it is log text). Malformed:
/// a protocol keyword with unusable fields; `text` then holds the line.
struct ChildLine
{
    enum class Kind { None, Progress, Frame, Output, Preview, Cameras, Malformed };
    Kind kind = Kind::None;
    double fraction = 0.0;
    int frame = 0;
    int samples = 0;
    QString pass;
    QString path;
    QString text;
};

inline ChildLine parseLine(const QString &line)
{
    using Kind = ChildLine::Kind;
    ChildLine out;
    out.text = line;
    const qsizetype space = line.indexOf(' ');
    const QString keyword = space < 0 ? line : line.left(space);
    const QString rest = space < 0 ? QString() : line.mid(space + 1).trimmed();
    // Splits off `n` leading fields; the remainder (a path) keeps its spaces.
    auto fields = [&rest](int n, QString *remainder) {
        QStringList parts;
        QString r = rest;
        for (int i = 0; i < n; ++i) {
            const qsizetype s = r.indexOf(' ');
            parts.append(s < 0 ? r : r.left(s));
            r = s < 0 ? QString() : r.mid(s + 1).trimmed();
        }
        *remainder = r;
        return parts;
    };
    auto malformed = [&out] {
        out.kind = Kind::Malformed;
        return out;
    };
    QString remainder;
    bool ok1 = false, ok2 = false;
    if (keyword == kProgress) {
        const QStringList f = fields(2, &remainder);
        out.fraction = f.value(0).toDouble(&ok1);
        out.frame = f.value(1).toInt(&ok2);
        if (!ok1 || !ok2 || !remainder.isEmpty() || out.fraction < 0.0 || out.fraction > 1.0)
            return malformed();
        out.kind = Kind::Progress;
    } else if (keyword == kFrame) {
        const QStringList f = fields(1, &remainder);
        out.frame = f.value(0).toInt(&ok1);
        if (!ok1 || remainder.isEmpty())
            return malformed();
        out.path = remainder;
        out.kind = Kind::Frame;
    } else if (keyword == kOutput) {
        const QStringList f = fields(2, &remainder);
        out.frame = f.value(0).toInt(&ok1);
        out.pass = f.value(1);
        if (!ok1 || out.pass.isEmpty() || remainder.isEmpty())
            return malformed();
        out.path = remainder;
        out.kind = Kind::Output;
    } else if (keyword == kPreview) {
        const QStringList f = fields(2, &remainder);
        out.frame = f.value(0).toInt(&ok1);
        out.samples = f.value(1).toInt(&ok2);
        if (!ok1 || !ok2 || out.samples < 1 || remainder.isEmpty())
            return malformed();
        out.path = remainder;
        out.kind = Kind::Preview;
    } else if (keyword == kCameras) {
        if (rest.isEmpty())
            return malformed();
        out.path = rest;
        out.kind = Kind::Cameras;
    }
    return out;
}

} // namespace farm::childprotocol
