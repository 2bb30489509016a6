#pragma once

#include "util/result.h"

#include <QJsonArray>
#include <QJsonObject>

namespace farm {

/// The `question_card` scenario template (docs/JOBTYPES.md, "compose"): a scenario made from
/// data, `{"version": "1.3", "template": "question_card", "question": "…", "answers": [four
/// strings], "correct": 0..3, "countdown": 5, "reveal": 3}`. The question shows at the top, the
/// four answers in a 2×2 grid of boxes, a countdown of `countdown` seconds below them, then the
/// right answer is highlighted for `reveal` seconds. Returns the cues as scenario JSON (read by
/// Scenario::fromJson like any other cues, so the same checks apply).
Result<QJsonArray> questionCardCues(const QJsonObject &scenario);

/// The keys a question_card scenario may hold besides version, style and cues.
inline const QStringList kQuestionCardKeys{"template",  "question", "answers",  "correct",
                                           "countdown", "reveal",   "narration"};

/// One spoken line: its text and the earliest second it may start (a line still waits for the
/// one before it to end).
struct NarrationLine
{
    double start = 0;
    QString text;
};

/// What a scenario asks to be spoken (espeak-ng on the node), defined here once with the
/// card's own timeline: the question at 0 s, the four answers when they appear, the right
/// answer at the reveal. `"narration": true` or `{"voice": "ko", "rate": 150}`.
struct Narration
{
    QString voice = QStringLiteral("en"); // an espeak-ng voice name (en, en-us, ko, de …)
    int rate = 160;                       // words per minute, 80-400
    QList<NarrationLine> lines;
    bool enabled() const { return !lines.isEmpty(); }
};

/// The narration of a scenario: none without a truthy `narration` key (only the question_card
/// template has one), else its lines; `invalid_scenario` for a malformed `narration`.
Result<Narration> scenarioNarration(const QJsonObject &scenario);
/// Whether a scenario's JSON asks for narration (server: a narrated job is not split).
bool scenarioWantsNarration(const QJsonObject &scenario);

} // namespace farm
