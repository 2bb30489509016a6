#include "models/dropbundle.h"

#include "bundle/sidefiles.h"
#include "client/jobtypes.h"
#include "client/ziplisting.h"

#include <QDir>
#include <QDirIterator>
#include <QFileInfo>
#include <QSet>

namespace farm::gui {

namespace {

/// The deepest folder holding every one of these absolute file paths.
QString commonFolder(const QStringList &files)
{
    QStringList common = QFileInfo(files.value(0)).absolutePath().split('/');
    for (const QString &f : files) {
        const QStringList parts = QFileInfo(f).absolutePath().split('/');
        qsizetype n = 0;
        while (n < common.size() && n < parts.size() && common[n] == parts[n])
            ++n;
        common = common.first(n);
    }
    const QString joined = common.join('/');
    return joined.isEmpty() ? QStringLiteral("/") : joined;
}

/// Regular files under `dir`, the way gatherFromFolder walks it (no hidden files, no links).
QStringList filesUnder(const QString &dir)
{
    QStringList out;
    QDirIterator it(dir, QDir::Files | QDir::NoSymLinks, QDirIterator::Subdirectories);
    while (it.hasNext() && out.size() <= bundle::kMaxGatherFiles)
        out.append(QDir::cleanPath(it.next()));
    out.sort();
    return out;
}

bool takes(const QStringList &extensions, const QString &path)
{
    return extensions.contains(QFileInfo(path).suffix().toLower());
}

} // namespace

Result<DropBundle> DropBundle::fromPaths(const QStringList &paths,
                                         const QStringList &mainExtensions)
{
    DropBundle b;
    b.m_extensions = mainExtensions;
    for (const QString &p : paths)
        if (!b.m_dropped.contains(QFileInfo(p).absoluteFilePath()))
            b.m_dropped.append(QDir::cleanPath(QFileInfo(p).absoluteFilePath()));
    if (b.m_dropped.isEmpty())
        return makeError("no_main_file", QObject::tr("Nothing to submit."));

    const QFileInfo first(b.m_dropped.first());
    if (b.m_dropped.size() == 1 && first.isFile() && first.size() == 0)
        return makeError("empty_file",
                         QObject::tr("%1 is empty (0 bytes): there is nothing to render.")
                             .arg(first.fileName()));
    if (b.m_dropped.size() == 1 && first.isFile() && first.suffix().toLower() == "zip") {
        const auto names = client::zipEntryNames(first.filePath());
        if (!names)
            return names.error();
        b.m_archive = first.filePath();
        b.m_root = first.absolutePath();
        b.m_files = *names;
        b.m_candidates = client::mainCandidates(*names, mainExtensions);
    } else {
        b.m_oneFolder = b.m_dropped.size() == 1 && first.isDir();
        b.m_oneFile = b.m_dropped.size() == 1 && first.isFile();
        QStringList absolute;
        QStringList candidates;
        for (const QString &p : std::as_const(b.m_dropped)) {
            const QFileInfo info(p);
            if (info.isDir()) {
                for (const QString &f : filesUnder(p)) {
                    absolute.append(f);
                    if (takes(mainExtensions, f))
                        candidates.append(f);
                }
            } else if (info.isFile()) {
                // Side files of a dropped file come along even when they sit in other folders.
                const bundle::LocalBundle local = bundle::gatherFromFile(p);
                for (const QString &f : local.files)
                    absolute.append(QDir::cleanPath(QDir(local.root).filePath(f)));
                absolute.append(p);
                if (takes(mainExtensions, p))
                    candidates.append(p);
            }
        }
        absolute.removeDuplicates();
        if (absolute.size() > bundle::kMaxGatherFiles)
            return makeError(
                "too_many_files",
                QObject::tr("The drop holds more than %1 files.").arg(bundle::kMaxGatherFiles));
        if (absolute.isEmpty())
            return makeError("no_main_file", QObject::tr("The drop holds no files."));
        b.m_root = b.m_oneFolder ? first.absoluteFilePath() : commonFolder(absolute);
        const QDir root(b.m_root);
        for (const QString &f : std::as_const(absolute))
            b.m_files.append(root.relativeFilePath(f));
        for (const QString &c : std::as_const(candidates))
            b.m_candidates.append(root.relativeFilePath(c));
        b.m_candidates.removeDuplicates();
    }
    if (b.m_candidates.isEmpty() && b.m_oneFile && !first.suffix().isEmpty())
        return makeError(
            "no_main_file",
            QObject::tr("%1: no job type of this server takes .%2 files (it takes "
                        ".%3).")
                .arg(first.fileName(), first.suffix().toLower(), mainExtensions.join(", .")));
    if (b.m_candidates.isEmpty())
        return makeError("no_main_file", QObject::tr("No file here is one a job type takes (.%1).")
                                             .arg(mainExtensions.join(", .")));
    const auto chosen = b.setMain(b.m_candidates.first());
    if (!chosen)
        return chosen.error();
    return b;
}

Result<void> DropBundle::setMain(const QString &main)
{
    if (!m_candidates.contains(main))
        return makeError("no_main_file",
                         QObject::tr("%1 cannot be the main file of this bundle.").arg(main));
    if (!isArchive() && QFileInfo(QDir(m_root).filePath(main)).size() == 0)
        return makeError(
            "empty_file",
            QObject::tr("%1 is empty (0 bytes): there is nothing to render.").arg(main));
    m_main = main;
    findMissing();
    return {};
}

void DropBundle::findMissing()
{
    m_missing.clear();
    if (isArchive())
        return; // the server checks an archive's side files once it is unpacked
    if (m_oneFolder) {
        const auto gathered = bundle::gatherFromFolder(m_root, m_main, m_extensions);
        if (gathered) {
            m_files = gathered->files;
            m_missing = gathered->missing;
        } else {
            m_missing = {gathered.error().message};
        }
        return;
    }
    if (m_oneFile) {
        // gatherFromFile's own words: it also tells to copy an absolute reference beside.
        m_missing = bundle::gatherFromFile(QDir(m_root).filePath(m_main)).missing;
        return;
    }
    const QSet<QString> present(m_files.cbegin(), m_files.cend());
    const QDir root(m_root);
    m_missing = bundle::missingFiles(
        m_main,
        [&](const QString &p) -> std::optional<QByteArray> {
            QFile f(root.filePath(p));
            if (!present.contains(p) || !f.open(QIODevice::ReadOnly))
                return std::nullopt;
            return f.readAll();
        },
        [&](const QString &p) { return present.contains(p); });
}

void DropBundle::setSideExtensions(const QStringList &extensions)
{
    m_sideExtensions = extensions;
}

QStringList DropBundle::leftOut() const
{
    client::JobTypeInfo type; // only its side-file rule
    type.sideExtensions = m_sideExtensions;
    QStringList out;
    for (const QString &f : m_files)
        if (f != m_main && !type.takesBeside(f))
            out.append(f);
    return out;
}

QStringList DropBundle::files() const
{
    QStringList out = m_files;
    if (!isArchive()) // an archive is sent whole; its listing stays what it holds
        for (const QString &f : leftOut())
            out.removeOne(f);
    if (out.removeOne(m_main))
        out.prepend(m_main);
    return out;
}

client::BundleSource DropBundle::source() const
{
    if (isArchive())
        return client::BundleSource::fromArchive(m_archive, m_main);
    client::BundleSource s;
    s.root = m_root;
    s.main = m_main;
    s.files = files();
    return s;
}

} // namespace farm::gui
