#pragma once

#include "util/result.h"

#include <QByteArray>
#include <QList>
#include <QPointF>
#include <QString>
#include <QStringList>

#include <optional>

namespace farm {

/// Where a cue's text is anchored: the nine ASS alignments by name.
inline const QStringList kCueAligns{"bottom-left", "bottom",   "bottom-right", "left",     "center",
                                    "right",       "top-left", "top",          "top-right"};
/// Directions a cue slides in from or out to.
inline const QStringList kCueSlides{"none", "left", "right", "up", "down"};
/// The font a cue gets when its style names none: Debian's fonts-noto-cjk, which covers Latin,
/// Hangul, kana and CJK ideographs.
inline const QString kDefaultCueFont = QStringLiteral("Noto Sans CJK KR");
/// The files a compose job's bundle may hold as its input video (by extension, lower case).
inline const QStringList kComposeVideoExtensions{"mp4", "m4v", "mov",  "mkv", "webm",
                                                 "avi", "mpg", "mpeg", "ts"};
/// Limits of a scenario file (the server checks them at submit, the node again).
inline constexpr int kMaxCues = 10000;
inline constexpr int kMaxCueText = 2000;
inline constexpr qint64 kMaxScenarioBytes = 8 * 1024 * 1024;
inline constexpr double kMaxCueSeconds = 24 * 3600;

/// A colour with opacity (a = 255: opaque).
struct CueColor
{
    quint8 r = 0, g = 0, b = 0, a = 255;
    bool operator==(const CueColor &) const = default;
};

/// How one cue looks and moves (docs/JOBTYPES.md, "compose"). Sizes are pixels of the output
/// video; positions, widths and margins are fractions of its width or height.
struct CueStyle
{
    QString font = kDefaultCueFont;
    double size = 48;
    bool bold = false;
    bool italic = false;
    CueColor color{255, 255, 255, 255};
    double outline = 2; // outline width, pixels
    CueColor outlineColor{0, 0, 0, 255};
    double shadow = 0; // shadow offset, pixels
    CueColor shadowColor{0, 0, 0, 128};
    QString align = QStringLiteral("bottom");
    /// The anchor point (fractions of the frame); none: placed by align and margin.
    std::optional<QPointF> position;
    double maxWidth = 0.9; // text wraps within this share of the width
    double margin = 0.05;  // distance from the frame's edges, share of the height
    bool box = false;      // a background box behind the text (ASS BorderStyle 3)
    CueColor boxColor{0, 0, 0, 160};
    double boxPadding = 8;
    double fadeIn = 0, fadeOut = 0; // seconds
    QString slideIn = QStringLiteral("none"), slideOut = QStringLiteral("none");
    double slideDuration = 0.4; // seconds
    double slideDistance = 0.1; // share of the width (left/right) or height (up/down)
};

struct Cue
{
    double start = 0; // seconds
    double end = 0;
    QString text;
    CueStyle style;

    /// The place on screen two cues would share (their align, or their position).
    QString placement() const;
};

/// A compose job's scenario: `{"version": "1.3", "style": {...}, "cues": [{"start", "end",
/// "text", "style"}]}`. `style` at the top is every cue's default. Read the same way by the
/// server at submit and by the node.
struct Scenario
{
    QString version;
    QList<Cue> cues;

    /// Parses and validates: every field's type and range (errors name the field, as
    /// "cues[2].end"), end after start, and no two cues at the same placement at once (they
    /// would draw over each other: an error naming both, not a silent stack).
    static Result<Scenario> fromJson(const QByteArray &json);
    /// The end of the last cue (0 without cues).
    double lastEnd() const;
};

/// "#RRGGBB" or "#RRGGBBAA" (AA: opacity, FF opaque); nullopt for anything else.
std::optional<CueColor> parseCueColor(const QString &text);

} // namespace farm
