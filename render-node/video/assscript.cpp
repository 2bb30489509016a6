#include "assscript.h"

#include <QPointF>

#include <algorithm>
#include <cmath>

namespace farm::video {

namespace {

// ASS times: H:MM:SS.cc (centiseconds).
QString assTime(double seconds)
{
    const qint64 cs = qint64(std::llround(std::max(0.0, seconds) * 100.0));
    return QString("%1:%2:%3.%4")
        .arg(cs / 360000)
        .arg((cs / 6000) % 60, 2, 10, QChar('0'))
        .arg((cs / 100) % 60, 2, 10, QChar('0'))
        .arg(cs % 100, 2, 10, QChar('0'));
}

QString num(double v)
{
    return QString::number(v, 'f', 1);
}

// The ASS \an number of an align name: numpad layout (1 bottom-left … 9 top-right).
int anOf(const QString &align)
{
    return int(kCueAligns.indexOf(align)) + 1;
}

// The anchor point of a cue, in pixels.
QPointF anchor(const CueStyle &s, int width, int height)
{
    if (s.position)
        return {s.position->x() * width, s.position->y() * height};
    const double m = s.margin * height;
    const int an = anOf(s.align);
    const int col = (an - 1) % 3; // 0 left, 1 centre, 2 right
    const int row = (an - 1) / 3; // 0 bottom, 1 middle, 2 top
    const double x = col == 0 ? m : col == 1 ? width / 2.0 : width - m;
    const double y = row == 0 ? height - m : row == 1 ? height / 2.0 : m;
    return {x, y};
}

// Where a slide in from (or out to) `direction` starts (or ends), relative to the anchor.
QPointF slideOffset(const QString &direction, const CueStyle &s, int width, int height)
{
    const double dx = s.slideDistance * width, dy = s.slideDistance * height;
    if (direction == "left")
        return {-dx, 0};
    if (direction == "right")
        return {dx, 0};
    if (direction == "up")
        return {0, -dy};
    if (direction == "down")
        return {0, dy};
    return {0, 0};
}

QString styleLine(const QString &name, const CueStyle &s, int width, int height)
{
    const int side = int(std::lround((1.0 - s.maxWidth) / 2.0 * width));
    // A box is ASS's BorderStyle 3: an opaque box in the outline colour, as wide as the outline.
    const CueColor outlineColor = s.box ? s.boxColor : s.outlineColor;
    const double outline = s.box ? s.boxPadding : s.outline;
    return QString("Style: %1,%2,%3,%4,%4,%5,%6,%7,%8,0,0,100,100,0,0,%9,%10,%11,%12,%13,%13,%14,1")
        .arg(name, QString(s.font).replace(',', ' '), num(s.size), assColor(s.color),
             assColor(outlineColor), assColor(s.shadowColor), s.bold ? "-1" : "0",
             s.italic ? "-1" : "0")
        .arg(s.box ? 3 : 1)
        .arg(num(outline), num(s.shadow))
        .arg(anOf(s.align))
        .arg(side)
        .arg(int(std::lround(s.margin * height)));
}

} // namespace

QString assColor(const CueColor &c)
{
    return QString("&H%1%2%3%4")
        .arg(255 - c.a, 2, 16, QChar('0'))
        .arg(c.b, 2, 16, QChar('0'))
        .arg(c.g, 2, 16, QChar('0'))
        .arg(c.r, 2, 16, QChar('0'))
        .toUpper();
}

QString assText(const QString &text)
{
    QString out;
    out.reserve(text.size() + 8);
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar c = text.at(i);
        if (c == '\r')
            continue;
        if (c == '\n') {
            out += QStringLiteral("\\N");
        } else if (c == '{' || c == '}') {
            out += '\\';
            out += c;
        } else if (c == '\\') {
            out += c;
            // A word joiner (zero width) keeps "\n", "\N", "\h" and "\{" from being read as
            // codes.
            out += QChar(0x2060);
        } else {
            out += c;
        }
    }
    return out;
}

QString scenarioToAss(const Scenario &scenario, int width, int height)
{
    QString ass = QString("[Script Info]\nScriptType: v4.00+\nPlayResX: %1\nPlayResY: %2\n"
                          "WrapStyle: 0\nScaledBorderAndShadow: yes\nYCbCr Matrix: None\n\n"
                          "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, "
                          "SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, "
                          "StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
                          "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n")
                      .arg(width)
                      .arg(height);
    for (qsizetype i = 0; i < scenario.cues.size(); ++i)
        ass += styleLine(QString("C%1").arg(i), scenario.cues[i].style, width, height) + '\n';
    ass += "\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, "
           "Effect, Text\n";
    for (qsizetype i = 0; i < scenario.cues.size(); ++i) {
        const Cue &cue = scenario.cues[i];
        const CueStyle &s = cue.style;
        const double length = cue.end - cue.start;
        const QPointF at = anchor(s, width, height);
        const double in = s.slideIn == "none" ? 0.0 : std::min(s.slideDuration, length / 2.0);
        const double out = s.slideOut == "none" ? 0.0 : std::min(s.slideDuration, length - in);
        struct Piece
        {
            double from, to; // seconds within the cue
            QPointF a, b;    // positions at the start and the end of the piece
        };
        QList<Piece> pieces;
        if (in > 0)
            pieces.append({0, in, at + slideOffset(s.slideIn, s, width, height), at});
        if (length - in - out > 1e-9)
            pieces.append({in, length - out, at, at});
        if (out > 0)
            pieces.append(
                {length - out, length, at, at + slideOffset(s.slideOut, s, width, height)});
        const QString text = assText(cue.text);
        for (const Piece &p : pieces) {
            QString tags = QString("\\an%1").arg(anOf(s.align));
            if (p.a == p.b)
                tags += QString("\\pos(%1,%2)").arg(num(p.a.x()), num(p.a.y()));
            else
                tags += QString("\\move(%1,%2,%3,%4)")
                            .arg(num(p.a.x()), num(p.a.y()), num(p.b.x()), num(p.b.y()));
            if (s.fadeIn > 0 || s.fadeOut > 0) {
                // Fades are timed on the whole cue, in ms from this piece's start.
                const auto ms = [&](double t) { return qint64(std::llround((t - p.from) * 1000)); };
                const double fi = std::min(s.fadeIn, length), fo = std::min(s.fadeOut, length);
                tags += QString("\\fade(255,0,255,%1,%2,%3,%4)")
                            .arg(ms(0))
                            .arg(ms(fi))
                            .arg(ms(length - fo))
                            .arg(ms(length));
            }
            ass += QString("Dialogue: 0,%1,%2,C%3,,0,0,0,,{%4}%5\n")
                       .arg(assTime(cue.start + p.from), assTime(cue.start + p.to))
                       .arg(i)
                       .arg(tags, text);
        }
    }
    return ass;
}

} // namespace farm::video
