#pragma once

#include <QString>
#include <QStringList>

namespace farm::render {

/// Exit codes of the render command.
enum CliExit : int {
    CliOk = 0,
    CliBadArguments = 2,
    CliBadModel = 3, // the model or environment file cannot be opened (the node may retry)
    CliRenderFailed = 4,
    /// The file opens but is unusable (not a format Assimp reads, no triangles, a broken
    /// environment image): another attempt would read the same bytes and fail the same way, so
    /// the node reports `invalid_input` and the job fails at once (childprotocol.h).
    CliInvalidInput = 65,
};

/// `render FILE -o OUT [--size WxH] [--spp N] [--seed N] [--frames A-B] [--turntable]
///  [--cycle FIRST:COUNT] [--threads N] [--device cpu|cuda]`; `args` exclude the program name
/// and the word "render". Prints `PROGRESS <0..1> <frame>` and `FRAME <frame> <absolute path>`
/// lines on stdout (flushed at once), `error: ...` on stderr; returns a CliExit code.
int runRenderCli(const QStringList &args);

/// The file a frame is written to: the last run of '#' in the file name becomes the frame
/// number zero-padded to the run's length; without '#', a multi-frame render inserts
/// "_NNNN" before the extension and a single frame writes `pattern` itself.
QString frameOutputPath(const QString &pattern, int frame, bool multipleFrames);

} // namespace farm::render
