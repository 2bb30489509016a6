#include "model/questioncard.h"

#include "util/json.h"

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

} // namespace

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
    const double answersAt = 1.0;
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
    static const char *labels[] = {"A", "B", "C", "D"};
    for (int i = 0; i < 4; ++i) {
        QJsonObject a = box;
        a.insert("align", "center");
        a.insert("position", at(i % 2 == 0 ? 0.27 : 0.73, i < 2 ? 0.42 : 0.64));
        a.insert("size", 52);
        a.insert("max_width", 0.42);
        a.insert("slide_in", i % 2 == 0 ? "left" : "right");
        a.insert("slide_duration", 0.3);
        a.insert("fade_in", 0.3);
        const QString text = QString("%1. %2").arg(labels[i], answers[i]);
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
