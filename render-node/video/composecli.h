#pragma once

#include <QStringList>

namespace farm::video {

/// `render-node compose TASK.json`: the compose engine's child (render-node/engines/compose).
/// The file holds {"scenario": path, "input": video path or "", "output": path,
/// "settings": {compose settings}, "gpu": bool, "threads": n}. Writes the child protocol
/// (renderer/childprotocol.h) on stdout: PROGRESS lines, log lines (the encoder, font
/// fallbacks, the result's frames, size and duration), then `FRAME 0 <output>`; errors go to
/// stderr as "error: ..." and the exit status is 1.
int runComposeCli(const QStringList &args);

} // namespace farm::video
