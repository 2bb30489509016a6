#pragma once

#include <QStringList>

namespace farm::video {

/// `render-node encode TASK.json`: the encode engine's child (render-node/engines/encode). The
/// file holds {"settings": {video settings}, "frames": [image paths in order], "output": path,
/// "gpu": bool, "threads": n}. Writes the child protocol (renderer/childprotocol.h) on stdout:
/// PROGRESS lines, log lines, then `FRAME 0 <output>` for the video; errors go to stderr as
/// "error: ..." and the exit status is 1.
int runEncodeCli(const QStringList &args);

} // namespace farm::video
