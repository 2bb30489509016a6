#pragma once

#include "model/job.h"
#include "util/result.h"

#include <QList>
#include <QString>

namespace farm::server {

/// What an uploaded archive may hold (docs/JOBTYPES.md "Zip limits").
struct ZipLimits
{
    /// Entries of any kind, folders and skipped ones included.
    int maxEntries = kMaxBundleFiles;
    /// Bytes of all entries together, counted while inflating.
    qint64 maxTotal = 8LL << 30;
    /// Most bytes one entry may inflate to per compressed byte …
    double maxRatio = 200.0;
    /// … once it has inflated more than this many bytes.
    qint64 ratioAfter = 1 << 20;
};

/// One file unpacked from an archive.
struct ZipEntryFile
{
    /// Its bundle path (normalized, checked with farm::bundle::bundlePathProblem).
    QString path;
    /// Where its bytes are, a name of extractZip's own under tempDir; the caller moves or
    /// removes it.
    QString tempPath;
    qint64 size = 0;
    /// Lower-case hex SHA-256 of its bytes.
    QString sha256;
};

/// Unpacks every regular entry of `zipPath` into new files under `tempDir` (which must exist),
/// hashing each with SHA-256 as it streams; the list keeps the archive's order. Folder entries,
/// "__MACOSX/…" and ".DS_Store" are skipped. Every entry is checked before a byte is written;
/// refusals have the code "invalid_archive" and a message naming the entry and the rule: more
/// than maxEntries entries, more than maxTotal bytes in all or an entry expanding more than
/// maxRatio times its compressed size (both counted while inflating, never taken from headers),
/// a name that is absolute, holds "..", a backslash, a drive letter or is no bundle path, a
/// symlink or other non-regular entry (unix mode in the external attributes), an encrypted entry,
/// two entries with one path, a file where another entry needs a folder, no file at all, a
/// damaged entry (CRC), not a zip at all. "io_error" when the archive or tempDir cannot be
/// used. On any error every file it wrote is removed again; it never writes outside tempDir.
Result<QList<ZipEntryFile>> extractZip(const QString &zipPath, const QString &tempDir,
                                       const ZipLimits &limits = {});

} // namespace farm::server
