#pragma once

#include "model/job.h"
#include "util/result.h"

#include <QList>
#include <QString>

namespace farm::node {

/// One bundle file and where the input cache holds its content.
struct CachedBundleFile
{
    QString path;   // relative bundle path (isSafeBundlePath)
    QString cached; // the cached file
};

/// Lays a bundle out under `root` (created, must not exist yet) with its relative paths: each
/// file a hard link to its cached copy, or a copy where linking fails (another filesystem). The
/// files are made read-only (a hard link shares the cache's inode). Never follows or creates
/// symlinks: a path whose folder exists as anything but a real folder, a target that already
/// exists, or a cached file that is not a regular file is refused, as is an unsafe path.
Result<void> layOutBundle(const QString &root, const QList<CachedBundleFile> &files);

} // namespace farm::node
