#pragma once

#include "util/result.h"

#include <QList>
#include <QString>

namespace farm::server {

/// One file to put into an archive: its name in the archive and where its bytes are.
struct ZipSource
{
    QString name;
    QString path;
};

/// Writes `files` into a new zip at `zipPath` (replaced if it exists), streaming each file from
/// disk while the archive is written, so memory stays bounded whatever the sizes. Images and
/// video (.png, .jpg, .exr, .mp4, ...) are stored as they are, the rest deflated. Runs anywhere
/// (a worker thread); returns the archive's size. A file that cannot be read fails it whole.
Result<qint64> writeZip(const QString &zipPath, const QList<ZipSource> &files);

} // namespace farm::server
