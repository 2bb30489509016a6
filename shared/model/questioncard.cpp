#include "model/questioncard.h"

#include "util/json.h"

#include <QRegularExpression>
#include <QStringList>

namespace farm {

namespace {

QJsonObject cue(double start, double end, const QString &text, const QJsonObject &style)
{
    return {{"start", start}, {"end", end}, {"text", text}, {"style", style}};
}

QJsonObject at(double x, double y)
{
    return {{"x", x}, {"y", y}};
}

/// When the answers appear; the reveal comes 0.5 s + countdown after.
constexpr double kAnswersAt = 1.0;
const char *const kLabels[] = {"A", "B", "C", "D"};

} // namespace

bool scenarioWantsNarration(const QJsonObject &o)
{
    const QJsonValue n = o.value("narration");
    return o.value("template") == QLatin1String("question_card") &&
           (n.toBool(false) || n.isObject());
}

Result<Narration> scenarioNarration(const QJsonObject &o)
{
    Narration out;
    const QJsonValue n = o.value("narration");
    if (n.isUndefined() || n.isNull() || n == QJsonValue(false))
        return out;
    if (o.value("template") != QLatin1String("question_card"))
        return makeError("invalid_scenario",
                         "scenario.narration applies to the question_card template only");
    if (n.isObject()) {
        json::Reader r(n.toObject(), "scenario.narration");
        r.rejectUnknown({"voice", "rate"});
        out.voice = r.string("voice", out.voice, 1, 32);
        out.rate = int(r.integer("rate", out.rate, 80, 400));
        if (!r.ok())
            return makeError("invalid_scenario", r.error().message);
        static const QRegularExpression voice(QStringLiteral("^[a-z]{2,3}(-[a-z0-9]{1,8})*$"));
        if (!voice.match(out.voice).hasMatch())
            return makeError("invalid_scenario",
                             QString("scenario.narration.voice '%1' is not an espeak-ng voice "
                                     "name (en, en-us, ko …)")
                                 .arg(out.voice.left(40)));
    } else if (n != QJsonValue(true)) {
        return makeError("invalid_scenario",
                         "scenario.narration must be true, false or {\"voice\", \"rate\"}");
    }
    json::Reader r(o, "scenario");
    const QString question = r.string("question", QString(), 1, 500);
    const QStringList answers = r.stringList("answers", {}, 4);
    const qint64 correct = r.integer("correct", -1, 0, 3);
    const qint64 countdown = r.integer("countdown", 5, 1, 60);
    if (!r.ok() || question.isEmpty() || answers.size() != 4 || correct < 0)
        return makeError("invalid_scenario", "scenario.narration needs a whole question card "
                                             "(question, four answers, correct)");
    QStringList said;
    for (int i = 0; i < 4; ++i)
        said.append(QString("%1: %2.").arg(kLabels[i], answers[i]));
    out.lines = {{0.0, question},
                 {kAnswersAt, said.join(' ')},
                 {kAnswersAt + 0.5 + double(countdown),
                  QString("%1: %2.").arg(kLabels[correct], answers[int(correct)])}};
    return out;
}

Result<QJsonArray> questionCardCues(const QJsonObject &o)
{
    json::Reader r(o, "scenario");
    const QString question = r.string("question", QString(), 1, 500);
    const QStringList answers = r.stringList("answers", {}, 4);
    const qint64 correct = r.integer("correct", -1, 0, 3);
    const qint64 countdown = r.integer("countdown", 5, 1, 60);
    const qint64 reveal = r.integer("reveal", 3, 1, 60);
    if (!r.ok())
        return makeError("invalid_scenario", r.error().message);
    if (question.isEmpty())
        return makeError("invalid_scenario", "scenario.question is missing (question_card)");
    if (answers.size() != 4)
        return makeError("invalid_scenario",
                         QString("scenario.answers must list 4 answers, not %1 (question_card)")
                             .arg(answers.size()));
    if (correct < 0)
        return makeError("invalid_scenario",
                         "scenario.correct is missing: the index (0-3) of the right answer");

    // Timeline: the question, then the answers, then the countdown under them, then the
    // reveal. Each place on screen holds one cue at a time (the scenario's rule).
    const double answersAt = kAnswersAt;
    const double revealAt = answersAt + 0.5 + double(countdown);
    const double end = revealAt + double(reveal);
    const QJsonObject box{{"box", true}, {"box_padding", 18}, {"box_color", "#1A237ED0"}};
    QJsonArray cues;
    QJsonObject q = box;
    q.insert("align", "top");
    q.insert("position", at(0.5, 0.08));
    q.insert("size", 64);
    q.insert("bold", true);
    q.insert("max_width", 0.85);
    q.insert("fade_in", 0.3);
    cues.append(cue(0, end, question, q));
    for (int i = 0; i < 4; ++i) {
        QJsonObject a = box;
        a.insert("align", "center");
        a.insert("position", at(i % 2 == 0 ? 0.27 : 0.73, i < 2 ? 0.42 : 0.64));
        a.insert("size", 52);
        a.insert("max_width", 0.42);
        a.insert("slide_in", i % 2 == 0 ? "left" : "right");
        a.insert("slide_duration", 0.3);
        a.insert("fade_in", 0.3);
        const QString text = QString("%1. %2").arg(kLabels[i], answers[i]);
        if (i != correct) {
            a.insert("color", "#B0B0B0");
            a.insert("box_color", "#30303090");
            cues.append(cue(answersAt + 0.1 * i, end, text, a));
            continue;
        }
        // The right answer: plain until the reveal, then highlighted in place.
        cues.append(cue(answersAt + 0.1 * i, revealAt, text, a));
        QJsonObject h = a;
        h.remove("slide_in");
        h.insert("fade_in", 0.0);
        h.insert("bold", true);
        h.insert("size", 58);
        h.insert("color", "#FFFFFF");
        h.insert("box_color", "#2E7D32F0");
        cues.append(cue(revealAt, end, text, h));
    }
    // The countdown: one number a second, under the answers.
    QJsonObject c{{"align", "center"}, {"position", at(0.5, 0.86)}, {"size", 96},
                  {"bold", true},      {"color", "#FFD54F"},        {"outline", 4}};
    for (qint64 n = countdown; n >= 1; --n) {
        const double from = revealAt - double(n);
        cues.append(cue(from, from + 1.0, QString::number(n), c));
    }
    return cues;
}

} // namespace farm
