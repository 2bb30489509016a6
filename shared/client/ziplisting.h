#pragma once

#include "util/result.h"

#include <QStringList>

namespace farm::client {

/// The file names a .zip holds, read from its central directory only (nothing is inflated), so
/// that a client can pick the main file and the job type before uploading the archive. Folder
/// entries, `__MACOSX/` and `.DS_Store` are left out, as the server leaves them out. Checking
/// the archive (paths, symlinks, sizes) stays the server's job.
Result<QStringList> zipEntryNames(const QString &zipPath);

/// The entries whose lower-case extension is in `extensions`: the candidate main files.
QStringList mainCandidates(const QStringList &names, const QStringList &extensions);

} // namespace farm::client
