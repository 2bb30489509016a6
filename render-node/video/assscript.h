#pragma once

#include "model/scenario.h"

#include <QString>

namespace farm::video {

/// A scenario as an ASS subtitle script for a `width`×`height` video (PlayRes = the video's
/// pixels): one style per cue (font, size, colours, outline or box, shadow, wrap margins) and
/// one to three Dialogue events per cue: a cue that slides in or out is split into the slide
/// (`\move`) and the rest (`\pos`), its fades (`\fade`) timed on the whole cue.
QString scenarioToAss(const Scenario &scenario, int width, int height);

/// Cue text as ASS dialogue text: line breaks become `\N`, and the characters ASS would read as
/// override codes (`{`, `}`, a backslash before n, N or h) are kept literal.
QString assText(const QString &text);

/// An ASS colour &HAABBGGRR (AA: transparency, 00 opaque).
QString assColor(const CueColor &c);

} // namespace farm::video
