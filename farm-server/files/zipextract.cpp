#include "zipextract.h"

#include "bundle/sidefiles.h"

#include <QCryptographicHash>
#include <QFile>
#include <QFileInfo>
#include <QSet>
#include <QTemporaryFile>

#include <zip.h>

#include <memory>

namespace farm::server {
namespace {

constexpr quint32 kTypeMask = 0170000;
constexpr quint32 kRegular = 0100000;
constexpr quint32 kDirectory = 0040000;
constexpr quint32 kSymlink = 0120000;
constexpr qint64 kBufferSize = 256 * 1024;

struct ZipDiscard
{
    void operator()(zip_t *z) const { zip_discard(z); }
};
struct ZipFileClose
{
    void operator()(zip_file_t *f) const { zip_fclose(f); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFileClose>;

Error invalid(const QString &message)
{
    return makeError(QStringLiteral("invalid_archive"), message);
}

Error refuse(const QString &entry, const QString &rule)
{
    return invalid(QStringLiteral("zip entry '%1' %2").arg(entry.left(300), rule));
}

QString zipErrorText(int code)
{
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    const QString text = QString::fromUtf8(zip_error_strerror(&error));
    zip_error_fini(&error);
    return text;
}

// The files written so far, removed again unless the extraction succeeds.
class TempFiles
{
public:
    ~TempFiles()
    {
        if (!m_kept)
            for (const QString &p : std::as_const(m_paths))
                QFile::remove(p);
    }
    void add(const QString &path) { m_paths.append(path); }
    void keep() { m_kept = true; }

private:
    QStringList m_paths;
    bool m_kept = false;
};

struct PlannedFile
{
    zip_uint64_t index;
    QString path;
    qint64 compressed;
};

bool startsWithDrive(const QString &name)
{
    return name.size() >= 2 && name.at(1) == u':' && name.at(0).isLetter() &&
           name.at(0).unicode() < 128;
}

// Why an entry name cannot be unpacked, before it is normalized; empty when it can.
QString nameProblem(const QString &name)
{
    if (name.isEmpty())
        return QStringLiteral("has no name");
    if (name.startsWith(u'/'))
        return QStringLiteral("is an absolute path");
    if (name.contains(u'\\'))
        return QStringLiteral("holds a backslash");
    if (startsWithDrive(name))
        return QStringLiteral("starts with a drive letter");
    if (name.split(u'/').contains(QLatin1String("..")))
        return QStringLiteral("holds '..'");
    return {};
}

bool isLeftOut(const QString &path)
{
    return path == QLatin1String("__MACOSX") || path.startsWith(QLatin1String("__MACOSX/")) ||
           path.section(u'/', -1) == QLatin1String(".DS_Store");
}

// Every entry is checked before anything is written.
Result<QList<PlannedFile>> plan(zip_t *zip, qint64 archiveSize, const ZipLimits &limits)
{
    const zip_int64_t count = zip_get_num_entries(zip, 0);
    if (count > limits.maxEntries)
        return invalid(QStringLiteral("the archive holds %1 entries; at most %2 are allowed")
                           .arg(count)
                           .arg(limits.maxEntries));
    QList<PlannedFile> files;
    QSet<QString> paths;
    for (zip_int64_t i = 0; i < count; ++i) {
        const zip_uint64_t index = zip_uint64_t(i);
        const char *rawName = zip_get_name(zip, index, ZIP_FL_ENC_GUESS);
        zip_stat_t st;
        zip_stat_init(&st);
        if (!rawName || zip_stat_index(zip, index, 0, &st) != 0)
            return invalid(QStringLiteral("zip entry %1 cannot be read: %2")
                               .arg(i)
                               .arg(QString::fromUtf8(zip_strerror(zip))));
        const QString name = QString::fromUtf8(rawName);
        if (const QString problem = nameProblem(name); !problem.isEmpty())
            return refuse(name, problem);

        bool folder = name.endsWith(u'/');
        zip_uint8_t opsys = 0;
        zip_uint32_t attributes = 0;
        if (zip_file_get_external_attributes(zip, index, 0, &opsys, &attributes) == 0 &&
            opsys == ZIP_OPSYS_UNIX) {
            const quint32 type = (attributes >> 16) & kTypeMask;
            if (type == kSymlink)
                return refuse(name, QStringLiteral("is a symbolic link"));
            if (type != 0 && type != kRegular && type != kDirectory)
                return refuse(name, QStringLiteral("is not a regular file (unix mode %1)")
                                        .arg(attributes >> 16, 0, 8));
            folder = folder || type == kDirectory;
        }
        if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
            return refuse(name, QStringLiteral("is encrypted"));
        if (folder)
            continue;

        const QString path = bundle::normalizePath(name);
        if (isLeftOut(path))
            continue;
        if (const QString problem = bundle::bundlePathProblem(path); !problem.isEmpty())
            return refuse(name, problem);
        if (paths.contains(path))
            return refuse(name, QStringLiteral("names the same path as an earlier entry"));
        paths.insert(path);
        const qint64 compressed = (st.valid & ZIP_STAT_COMP_SIZE)
                                      ? qint64(qMin<zip_uint64_t>(st.comp_size, archiveSize))
                                      : archiveSize;
        files.append({index, path, compressed});
    }
    if (files.isEmpty())
        return invalid(QStringLiteral("the archive holds no files"));
    // A bundle is laid out as folders on the node: no file may also be a folder.
    for (const PlannedFile &f : std::as_const(files)) {
        for (qsizetype slash = f.path.indexOf(u'/'); slash >= 0;
             slash = f.path.indexOf(u'/', slash + 1)) {
            if (paths.contains(f.path.left(slash)))
                return refuse(
                    f.path,
                    QStringLiteral("lies under '%1', which is a file").arg(f.path.left(slash)));
        }
    }
    return files;
}

// Inflates one entry into a new file under tempDir, counting what it really inflates to.
Result<ZipEntryFile> unpack(zip_t *zip, const PlannedFile &entry, const QString &tempDir,
                            const ZipLimits &limits, qint64 &total, TempFiles &written)
{
    QTemporaryFile out(tempDir + QLatin1String("/zipentry-XXXXXX"));
    out.setAutoRemove(false);
    if (!out.open())
        return makeError(
            QStringLiteral("io_error"),
            QStringLiteral("cannot create a file in %1: %2").arg(tempDir, out.errorString()));
    written.add(out.fileName());

    const ZipFilePtr file(zip_fopen_index(zip, entry.index, 0));
    if (!file)
        return refuse(
            entry.path,
            QStringLiteral("cannot be read: %1").arg(QString::fromUtf8(zip_strerror(zip))));
    QCryptographicHash hash(QCryptographicHash::Sha256);
    const auto buffer = std::make_unique<char[]>(kBufferSize);
    const double allowed = limits.maxRatio * double(qMax<qint64>(entry.compressed, 1));
    qint64 size = 0;
    for (;;) {
        const zip_int64_t n = zip_fread(file.get(), buffer.get(), kBufferSize);
        if (n < 0)
            return refuse(entry.path, QStringLiteral("is damaged: %1")
                                          .arg(QString::fromUtf8(zip_file_strerror(file.get()))));
        if (n == 0)
            break;
        size += n;
        total += n;
        if (total > limits.maxTotal)
            return refuse(entry.path, QStringLiteral("takes the archive over %1 bytes uncompressed")
                                          .arg(limits.maxTotal));
        if (size > limits.ratioAfter && double(size) > allowed)
            return refuse(entry.path, QStringLiteral("expands more than %1 times its compressed "
                                                     "size of %2 bytes")
                                          .arg(limits.maxRatio)
                                          .arg(entry.compressed));
        hash.addData(QByteArrayView(buffer.get(), n));
        if (out.write(buffer.get(), n) != n)
            return makeError(
                QStringLiteral("io_error"),
                QStringLiteral("cannot write %1: %2").arg(out.fileName(), out.errorString()));
    }
    if (!out.flush())
        return makeError(
            QStringLiteral("io_error"),
            QStringLiteral("cannot write %1: %2").arg(out.fileName(), out.errorString()));
    return ZipEntryFile{entry.path, out.fileName(), size,
                        QString::fromLatin1(hash.result().toHex())};
}

// libzip's consistency check refuses an archive naming one entry twice without saying which:
// a second, unchecked look (never used to extract) finds the name for the message.
Error duplicateEntry(const QString &zipPath)
{
    int code = 0;
    const ZipPtr zip(zip_open(QFile::encodeName(zipPath).constData(), ZIP_RDONLY, &code));
    QSet<QByteArray> seen;
    for (zip_int64_t i = 0; zip && i < zip_get_num_entries(zip.get(), 0); ++i) {
        const QByteArray name(zip_get_name(zip.get(), zip_uint64_t(i), ZIP_FL_ENC_GUESS));
        if (seen.contains(name))
            return refuse(QString::fromUtf8(name),
                          QStringLiteral("names the same path as an earlier entry"));
        seen.insert(name);
    }
    return invalid(QStringLiteral("the archive names one path twice"));
}

} // namespace

Result<QList<ZipEntryFile>> extractZip(const QString &zipPath, const QString &tempDir,
                                       const ZipLimits &limits)
{
    if (!QFileInfo(tempDir).isDir())
        return makeError(QStringLiteral("io_error"),
                         QStringLiteral("%1 is not a folder").arg(tempDir));
    const QFileInfo archive(zipPath);
    if (!archive.isFile())
        return makeError(QStringLiteral("io_error"),
                         QStringLiteral("%1 is not a file").arg(zipPath));
    int code = 0;
    const ZipPtr zip(
        zip_open(QFile::encodeName(zipPath).constData(), ZIP_RDONLY | ZIP_CHECKCONS, &code));
    if (!zip) {
        if (code == ZIP_ER_OPEN || code == ZIP_ER_READ || code == ZIP_ER_NOENT ||
            code == ZIP_ER_MEMORY)
            return makeError(QStringLiteral("io_error"),
                             QStringLiteral("cannot read %1: %2").arg(zipPath, zipErrorText(code)));
        if (code == ZIP_ER_EXISTS)
            return duplicateEntry(zipPath);
        return invalid(
            QStringLiteral("the upload is not a usable zip archive: %1").arg(zipErrorText(code)));
    }
    const Result<QList<PlannedFile>> planned = plan(zip.get(), archive.size(), limits);
    if (!planned)
        return planned.error();

    TempFiles written;
    QList<ZipEntryFile> files;
    qint64 total = 0;
    for (const PlannedFile &entry : *planned) {
        Result<ZipEntryFile> file = unpack(zip.get(), entry, tempDir, limits, total, written);
        if (!file)
            return file.error();
        files.append(std::move(file).value());
    }
    written.keep();
    return files;
}

} // namespace farm::server
