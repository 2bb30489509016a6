#include "files/ziparchive.h"

#include <QFile>
#include <QFileInfo>
#include <QSet>

#include <zip.h>

namespace farm::server {
namespace {

/// Already compressed: deflating costs time and wins nothing.
bool storedAsIs(const QString &name)
{
    static const QSet<QString> kCompressed{"png",  "jpg", "jpeg", "exr", "mp4",  "mkv",
                                           "webm", "mov", "zip",  "gz",  "webp", "avif"};
    return kCompressed.contains(name.section('.', -1).toLower());
}

} // namespace

Result<qint64> writeZip(const QString &zipPath, const QList<ZipSource> &files)
{
    QFile::remove(zipPath);
    int code = 0;
    zip_t *zip = zip_open(QFile::encodeName(zipPath).constData(), ZIP_CREATE | ZIP_EXCL, &code);
    if (!zip) {
        zip_error_t e;
        zip_error_init_with_code(&e, code);
        const QString why = QString::fromUtf8(zip_error_strerror(&e));
        zip_error_fini(&e);
        return makeError("internal", "cannot create the archive: " + why);
    }
    auto fail = [&](const QString &why) -> Result<qint64> {
        zip_discard(zip);
        QFile::remove(zipPath);
        return makeError("internal", why);
    };
    for (const ZipSource &f : files) {
        if (!QFileInfo(f.path).isReadable())
            return fail(QString("output %1 is missing on the server's disk").arg(f.name));
        // The file is opened and read only when the archive is written (zip_close).
        zip_source_t *src =
            zip_source_file(zip, QFile::encodeName(f.path).constData(), 0, -1); // -1: to its end
        if (!src)
            return fail(QString("cannot read output %1: %2").arg(f.name, zip_strerror(zip)));
        const zip_int64_t index =
            zip_file_add(zip, f.name.toUtf8().constData(), src, ZIP_FL_ENC_UTF_8);
        if (index < 0) {
            zip_source_free(src);
            return fail(QString("cannot add output %1: %2").arg(f.name, zip_strerror(zip)));
        }
        if (storedAsIs(f.name))
            zip_set_file_compression(zip, zip_uint64_t(index), ZIP_CM_STORE, 0);
    }
    if (zip_close(zip) != 0) {
        const QString why = QString::fromUtf8(zip_strerror(zip));
        zip_discard(zip);
        QFile::remove(zipPath);
        return makeError("internal", "cannot write the archive: " + why);
    }
    if (files.isEmpty()) { // libzip writes no file for an empty archive: an empty zip is 22 bytes
        QFile empty(zipPath);
        if (!empty.open(QIODevice::WriteOnly) ||
            empty.write(QByteArray("PK\x05\x06", 4) + QByteArray(18, '\0')) != 22)
            return makeError("internal", "cannot write the archive");
    }
    return QFileInfo(zipPath).size();
}

} // namespace farm::server
