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
inline const QStringList kQuestionCardKeys{"template", "question",  "answers",
                                           "correct",  "countdown", "reveal"};

} // namespace farm
