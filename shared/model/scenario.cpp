#include "model/scenario.h"

#include "model/questioncard.h"

#include "util/json.h"

#include <QJsonArray>
#include <QRegularExpression>

#include <algorithm>
#include <cmath>

namespace farm {

namespace {

const QStringList kStyleKeys{
    "font",          "size",      "bold",           "italic",        "color",    "outline",
    "outline_color", "shadow",    "shadow_color",   "align",         "position", "max_width",
    "margin",        "box",       "box_color",      "box_padding",   "fade_in",  "fade_out",
    "slide_in",      "slide_out", "slide_duration", "slide_distance"};

// Reads the fields of one JSON object the shared json::Reader has no call for (numbers,
// colours), keeping the first problem.
class Fields
{
public:
    Fields(const QJsonObject &o, QString path)
        : m_o(o)
        , m_path(std::move(path))
    {}

    QString name(const char *key) const { return m_path + '.' + QLatin1String(key); }

    void number(const char *key, double &into, double min, double max)
    {
        const QJsonValue v = m_o.value(QLatin1String(key));
        if (v.isUndefined() || !ok())
            return;
        if (!v.isDouble() || !std::isfinite(v.toDouble()))
            return fail(name(key) + " must be a number");
        const double d = v.toDouble();
        if (d < min || d > max)
            return fail(QString("%1 must be between %2 and %3 (it is %4)")
                            .arg(name(key))
                            .arg(min)
                            .arg(max)
                            .arg(d));
        into = d;
    }
    void boolean(const char *key, bool &into)
    {
        const QJsonValue v = m_o.value(QLatin1String(key));
        if (v.isUndefined() || !ok())
            return;
        if (!v.isBool())
            return fail(name(key) + " must be true or false");
        into = v.toBool();
    }
    void string(const char *key, QString &into, int maxLen, const QStringList &allowed = {})
    {
        const QJsonValue v = m_o.value(QLatin1String(key));
        if (v.isUndefined() || !ok())
            return;
        if (!v.isString())
            return fail(name(key) + " must be a string");
        const QString s = v.toString();
        if (s.isEmpty() || s.size() > maxLen)
            return fail(QString("%1 must be 1 to %2 characters long").arg(name(key)).arg(maxLen));
        if (!allowed.isEmpty() && !allowed.contains(s))
            return fail(
                QString("%1 must be one of %2, not '%3'").arg(name(key), allowed.join(", "), s));
        into = s;
    }
    void color(const char *key, CueColor &into)
    {
        const QJsonValue v = m_o.value(QLatin1String(key));
        if (v.isUndefined() || !ok())
            return;
        const auto c = parseCueColor(v.toString());
        if (!v.isString() || !c)
            return fail(name(key) + " must be a colour \"#RRGGBB\" or \"#RRGGBBAA\"");
        into = *c;
    }
    void fail(const QString &message)
    {
        if (!m_error)
            m_error = makeError("invalid_scenario", message);
    }
    bool ok() const { return !m_error; }
    const Error &error() const { return *m_error; }

private:
    QJsonObject m_o;
    QString m_path;
    std::optional<Error> m_error;
};

Result<CueStyle> readStyle(const QJsonValue &value, const CueStyle &base, const QString &path)
{
    if (value.isUndefined() || value.isNull())
        return base;
    if (!value.isObject())
        return makeError("invalid_scenario", path + " must be an object");
    const QJsonObject o = value.toObject();
    for (auto it = o.begin(); it != o.end(); ++it)
        if (!kStyleKeys.contains(it.key()))
            return makeError("invalid_scenario", QString("%1.%2 is not a style key (known: %3)")
                                                     .arg(path, it.key(), kStyleKeys.join(", ")));
    CueStyle s = base;
    Fields f(o, path);
    f.string("font", s.font, 200);
    f.number("size", s.size, 1, 1000);
    f.boolean("bold", s.bold);
    f.boolean("italic", s.italic);
    f.color("color", s.color);
    f.number("outline", s.outline, 0, 100);
    f.color("outline_color", s.outlineColor);
    f.number("shadow", s.shadow, 0, 100);
    f.color("shadow_color", s.shadowColor);
    f.string("align", s.align, 16, kCueAligns);
    f.number("max_width", s.maxWidth, 0.05, 1);
    f.number("margin", s.margin, 0, 0.45);
    f.boolean("box", s.box);
    f.color("box_color", s.boxColor);
    f.number("box_padding", s.boxPadding, 0, 200);
    f.number("fade_in", s.fadeIn, 0, 60);
    f.number("fade_out", s.fadeOut, 0, 60);
    f.string("slide_in", s.slideIn, 8, kCueSlides);
    f.string("slide_out", s.slideOut, 8, kCueSlides);
    f.number("slide_duration", s.slideDuration, 0.01, 60);
    f.number("slide_distance", s.slideDistance, 0, 2);
    if (f.ok() && o.contains("position")) {
        const QJsonValue p = o.value("position");
        if (p.isNull()) {
            s.position.reset();
        } else if (!p.isObject()) {
            f.fail(path + ".position must be {\"x\": 0..1, \"y\": 0..1} or null");
        } else {
            const QJsonObject po = p.toObject();
            for (auto it = po.begin(); it != po.end(); ++it)
                if (it.key() != "x" && it.key() != "y")
                    f.fail(QString("%1.position.%2 is not x or y").arg(path, it.key()));
            if (!po.contains("x") || !po.contains("y"))
                f.fail(path + ".position needs both x and y");
            double x = 0, y = 0;
            Fields pf(po, path + ".position");
            pf.number("x", x, 0, 1);
            pf.number("y", y, 0, 1);
            if (!pf.ok())
                f.fail(pf.error().message);
            s.position = QPointF(x, y);
        }
    }
    if (!f.ok())
        return f.error();
    return s;
}

QString seconds(double s)
{
    return QString::number(s, 'g', 6) + " s";
}

} // namespace

std::optional<CueColor> parseCueColor(const QString &text)
{
    static const QRegularExpression re(QStringLiteral("^#([0-9A-Fa-f]{6})([0-9A-Fa-f]{2})?$"));
    const auto m = re.match(text);
    if (!m.hasMatch())
        return std::nullopt;
    const uint rgb = m.captured(1).toUInt(nullptr, 16);
    CueColor c{quint8(rgb >> 16), quint8(rgb >> 8), quint8(rgb), 255};
    if (m.hasCaptured(2))
        c.a = quint8(m.captured(2).toUInt(nullptr, 16));
    return c;
}

QString Cue::placement() const
{
    if (style.position)
        return QString("position (%1, %2)").arg(style.position->x()).arg(style.position->y());
    return "align " + style.align;
}

double Scenario::lastEnd() const
{
    double end = 0;
    for (const Cue &c : cues)
        end = std::max(end, c.end);
    return end;
}

Result<Scenario> Scenario::fromJson(const QByteArray &json)
{
    if (json.size() > kMaxScenarioBytes)
        return makeError("invalid_scenario",
                         QString("the scenario is over %1 MiB").arg(kMaxScenarioBytes >> 20));
    auto parsed = json::parseObject(json);
    if (!parsed)
        return makeError("invalid_scenario",
                         "the scenario is not a JSON object: " + parsed.error().message);
    QJsonObject o = *parsed;
    json::Reader r(o, "scenario");
    const bool templated = o.contains("template");
    r.rejectUnknown(QStringList{"version", "style", "cues"} +
                    (templated ? kQuestionCardKeys : QStringList()));
    Scenario sc;
    sc.version = r.string("version", QString(), 1, 16);
    const QString name = r.string("template", QString(), 1, 32);
    QJsonArray cues = r.array("cues", kMaxCues);
    if (!r.ok())
        return makeError("invalid_scenario", r.error().message);
    if (templated) {
        // A scenario made from data: its cues come first, any listed cues follow.
        if (name != "question_card")
            return makeError("invalid_scenario",
                             QString("scenario.template '%1' is not one this farm has "
                                     "(question_card)")
                                 .arg(name));
        auto made = questionCardCues(o);
        if (!made)
            return made.error();
        if (auto narration = scenarioNarration(o); !narration)
            return narration.error();
        for (const QJsonValue &c : std::as_const(cues))
            made->append(c);
        cues = *made;
        o.insert("cues", cues);
    }
    static const QRegularExpression versionRe(QStringLiteral("^1(\\.\\d{1,4}){0,2}$"));
    if (sc.version.isEmpty())
        return makeError("invalid_scenario", "scenario.version is missing (this node reads 1.x)");
    if (!versionRe.match(sc.version).hasMatch())
        return makeError(
            "invalid_scenario",
            QString("scenario.version '%1' is not one this farm reads (1.x)").arg(sc.version));
    if (!o.value("cues").isArray())
        return makeError("invalid_scenario", "scenario.cues must be a list of cues");
    auto base = readStyle(o.value("style"), CueStyle(), "scenario.style");
    if (!base)
        return base.error();
    for (qsizetype i = 0; i < cues.size(); ++i) {
        const QString path = QString("cues[%1]").arg(i);
        if (!cues[i].isObject())
            return makeError("invalid_scenario", path + " must be an object");
        const QJsonObject co = cues[i].toObject();
        json::Reader cr(co, path);
        cr.rejectUnknown({"start", "end", "text", "style"});
        Cue cue;
        cue.text = cr.string("text", QString(), 1, kMaxCueText);
        if (!cr.ok())
            return makeError("invalid_scenario", cr.error().message);
        if (!co.contains("text"))
            return makeError("invalid_scenario", path + ".text is missing");
        Fields f(co, path);
        if (!co.contains("start") || !co.contains("end"))
            return makeError("invalid_scenario", path + " needs start and end (seconds)");
        f.number("start", cue.start, 0, kMaxCueSeconds);
        f.number("end", cue.end, 0, kMaxCueSeconds);
        if (!f.ok())
            return f.error();
        if (cue.end <= cue.start)
            return makeError("invalid_scenario",
                             QString("%1 ends (%2) before it starts (%3)")
                                 .arg(path, seconds(cue.end), seconds(cue.start)));
        auto style = readStyle(co.value("style"), *base, path + ".style");
        if (!style)
            return style.error();
        cue.style = *style;
        sc.cues.append(cue);
    }
    // Two cues at one place at once would draw over each other: refused, naming both (order by
    // start so the check is one pass per placement).
    QList<qsizetype> order(sc.cues.size());
    for (qsizetype i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](qsizetype a, qsizetype b) { return sc.cues[a].start < sc.cues[b].start; });
    QHash<QString, qsizetype> open; // placement → the cue that reaches furthest
    for (qsizetype i : order) {
        const Cue &c = sc.cues[i];
        const QString place = c.placement();
        const auto it = open.constFind(place);
        if (it != open.cend() && sc.cues[*it].end > c.start) {
            const Cue &o2 = sc.cues[*it];
            return makeError("invalid_scenario",
                             QString("cues[%1] (%2 to %3) overlaps cues[%4] (%5 to %6) on the same "
                                     "line (%7): end one before the other starts, or give one "
                                     "another align or position")
                                 .arg(i)
                                 .arg(seconds(c.start), seconds(c.end))
                                 .arg(*it)
                                 .arg(seconds(o2.start), seconds(o2.end), place));
        }
        if (it == open.cend() || sc.cues[*it].end < c.end)
            open.insert(place, i);
    }
    return sc;
}

} // namespace farm
