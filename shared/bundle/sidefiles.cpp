#include "sidefiles.h"

#include "refparsers.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSet>

#include <algorithm>

namespace farm::bundle {
namespace {

using detail::RawRef;

constexpr int kMaxPathLength = 1024;
constexpr int kMaxPathLevels = 32;

bool startsWithDrive(QStringView s)
{
    return s.size() >= 2 && s.at(1) == u':' && s.at(0).isLetter() && s.at(0).unicode() < 128;
}

bool startsWithScheme(QStringView s)
{
    static const QRegularExpression scheme(QStringLiteral("^[A-Za-z][A-Za-z0-9+.\\-]+:"));
    return scheme.match(s).hasMatch();
}

// A reference with file:// (and the "/C:" Cinema 4D writes after it) taken away.
QString withoutFileScheme(QString t)
{
    if (t.startsWith(QLatin1String("file://"), Qt::CaseInsensitive))
        t.remove(0, 7);
    else if (t.startsWith(QLatin1String("file:"), Qt::CaseInsensitive))
        t.remove(0, 5);
    if (t.size() >= 3 && t.at(0) == u'/' && startsWithDrive(QStringView(t).sliced(1)))
        t.remove(0, 1);
    return t;
}

bool isAbsoluteReference(const QString &t)
{
    return t.startsWith(u'/') || t.startsWith(u'\\') || startsWithDrive(t) || startsWithScheme(t);
}

QStringList segments(const QString &path)
{
    static const QRegularExpression separators(QStringLiteral("[/\\\\]"));
    return path.split(separators);
}

// Binary garbage where a file name should be is no reference.
bool hasControlCharacter(const QString &s)
{
    return std::any_of(s.cbegin(), s.cend(), [](QChar c) { return c.unicode() < 0x20; });
}

// The last segment, or empty when the reference names a folder ("x/", "..", ".").
QString fileNameOf(const QString &reference)
{
    const QString last = segments(reference).constLast();
    return last == QLatin1String(".") || last == QLatin1String("..") ? QString() : last;
}

QString folderOf(const QString &bundlePath)
{
    const qsizetype slash = bundlePath.lastIndexOf(u'/');
    return slash < 0 ? QString() : bundlePath.left(slash);
}

QString joined(const QString &folder, const QString &name)
{
    return folder.isEmpty() ? name : folder + u'/' + name;
}

// referencedFiles with the decoded references kept, for the fallback by file name.
struct Resolved
{
    QStringList files;
    QList<RawRef> outside;
    QList<RawRef> absolute;
};

Resolved resolve(const QString &path, const QByteArray &content, const FileExists &exists)
{
    Resolved out;
    const detail::RefParser parser = detail::parserFor(path);
    if (!parser)
        return out;
    const QString folder = folderOf(path);
    const auto add = [&](const RawRef &ref) {
        const QString target = withoutFileScheme(ref.target);
        if (target.isEmpty() || fileNameOf(target).isEmpty() || hasControlCharacter(target))
            return;
        if (isAbsoluteReference(target)) {
            out.absolute.append(ref);
            return;
        }
        const QString file = normalizePath(joined(folder, target));
        if (file.isEmpty())
            out.outside.append(ref);
        else if (!out.files.contains(file))
            out.files.append(file);
    };
    for (const RawRef &ref : parser(content)) {
        if (ref.alternatives.isEmpty()) {
            add(ref);
            continue;
        }
        const QString whole = normalizePath(joined(folder, ref.target));
        if (exists && !whole.isEmpty() && exists(whole)) {
            add(ref);
            continue;
        }
        for (const QString &name : ref.alternatives)
            add({name, name, {}});
    }
    return out;
}

QStringList writtenForms(const QList<RawRef> &refs)
{
    QStringList out;
    for (const RawRef &r : refs)
        if (!out.contains(r.written))
            out.append(r.written);
    return out;
}

QString needsMessage(const QString &file, const QString &reference, const char *tail)
{
    return QStringLiteral("%1 needs %2, %3").arg(file, reference, QLatin1String(tail));
}

QString commonFolder(const QStringList &absoluteFiles)
{
    QStringList common = QFileInfo(absoluteFiles.constFirst()).absolutePath().split(u'/');
    for (const QString &f : absoluteFiles) {
        const QStringList parts = QFileInfo(f).absolutePath().split(u'/');
        qsizetype n = 0;
        while (n < common.size() && n < parts.size() && common.at(n) == parts.at(n))
            ++n;
        common = common.first(n);
    }
    const QString root = common.join(u'/');
    return root.isEmpty() ? QStringLiteral("/") : root;
}

} // namespace

Refs referencedFiles(const QString &path, const QByteArray &content, const FileExists &exists)
{
    const Resolved r = resolve(path, content, exists);
    return {r.files, writtenForms(r.outside), writtenForms(r.absolute)};
}

std::optional<QByteArray> readForReferences(const QString &path, const QString &localPath)
{
    if (QFileInfo(path).suffix().compare(QLatin1String("obj"), Qt::CaseInsensitive) == 0)
        return detail::objReferenceLines(localPath);
    QFile file(localPath);
    if (!file.open(QIODevice::ReadOnly))
        return std::nullopt;
    return file.readAll();
}

bool hasSideFiles(const QString &path)
{
    return detail::parserFor(path) != nullptr;
}

QString normalizePath(const QString &path)
{
    if (path.isEmpty() || path.startsWith(u'/') || path.startsWith(u'\\') || startsWithDrive(path))
        return {};
    QStringList out;
    for (const QString &segment : segments(path)) {
        if (segment.isEmpty() || segment == QLatin1String("."))
            continue;
        if (segment == QLatin1String("..")) {
            if (out.isEmpty())
                return {};
            out.removeLast();
            continue;
        }
        out.append(segment);
    }
    // "./C:x" or "a/../C:x" ends as "C:x", a drive path: none either (found by fuzz_bundle).
    const QString normal = out.join(u'/');
    return startsWithDrive(normal) ? QString() : normal;
}

QString bundlePathProblem(const QString &path)
{
    if (path.isEmpty())
        return QStringLiteral("is empty");
    if (path.size() > kMaxPathLength)
        return QStringLiteral("is longer than %1 characters").arg(kMaxPathLength);
    if (path.startsWith(u'/'))
        return QStringLiteral("is an absolute path");
    if (path.contains(u'\\'))
        return QStringLiteral("holds a backslash");
    if (startsWithDrive(path))
        return QStringLiteral("starts with a drive letter");
    for (const QChar c : path)
        if (c.unicode() < 0x20 || c.unicode() == 0x7f)
            return QStringLiteral("holds a control character");
    if (path.contains(u':'))
        return QStringLiteral("holds a ':'");
    const QStringList parts = path.split(u'/');
    if (parts.contains(QLatin1String("..")))
        return QStringLiteral("holds '..'");
    if (parts.contains(QLatin1String(".")))
        return QStringLiteral("holds a '.' folder");
    if (parts.contains(QString()))
        return QStringLiteral("holds an empty folder name");
    if (parts.size() > kMaxPathLevels)
        return QStringLiteral("is more than %1 levels deep").arg(kMaxPathLevels);
    return {};
}

QStringList missingFiles(const QString &main, const ReadFile &read, const FileExists &exists)
{
    const FileExists has =
        exists ? exists : FileExists([&read](const QString &p) { return read(p).has_value(); });
    if (!hasSideFiles(main))
        return has(main) ? QStringList() : QStringList{main + QLatin1String(" was not sent")};

    QStringList messages;
    QStringList queue{main};
    QSet<QString> queued{main};
    const auto visit = [&](const QString &p) {
        if (hasSideFiles(p) && !queued.contains(p)) {
            queued.insert(p);
            queue.append(p);
        }
    };
    const auto note = [&](const QString &message) {
        if (!messages.contains(message))
            messages.append(message);
    };
    for (qsizetype i = 0; i < queue.size(); ++i) {
        const QString file = queue.at(i);
        const std::optional<QByteArray> content = read(file);
        if (!content) {
            if (i == 0)
                return {main + QLatin1String(" was not sent")};
            continue; // `exists` said it is there; it is checked on its own account
        }
        const Resolved refs = resolve(file, *content, has);
        for (const QString &p : refs.files) {
            if (has(p))
                visit(p);
            else
                note(needsMessage(file, p, "which was not sent"));
        }
        // Exporters write artists' absolute paths; the renderer then looks the file name up.
        for (const QList<RawRef> *list : {&refs.outside, &refs.absolute}) {
            for (const RawRef &ref : *list) {
                const QString name = fileNameOf(withoutFileScheme(ref.target));
                const QString beside = joined(folderOf(file), name);
                if (has(beside))
                    visit(beside);
                else if (has(name))
                    visit(name);
                else
                    note(needsMessage(file, ref.written, "which was not sent"));
            }
        }
    }
    return messages;
}

LocalBundle gatherFromFile(const QString &absolutePath)
{
    const QString mainPath = QDir::cleanPath(QFileInfo(absolutePath).absoluteFilePath());
    struct Gap
    {
        QString file; // absolute path of the referencing file
        QString reference;
        QString tail;
    };
    QStringList found{mainPath};
    QList<Gap> gaps;
    for (qsizetype i = 0; i < found.size() && found.size() <= kMaxGatherFiles; ++i) {
        const QString file = found.at(i);
        if (!hasSideFiles(file))
            continue;
        const std::optional<QByteArray> content = readForReferences(file, file);
        if (!content)
            continue;
        const QString folder = QFileInfo(file).absolutePath();
        const auto take = [&](const QString &candidate) {
            if (!QFileInfo(candidate).isFile())
                return false;
            if (!found.contains(candidate))
                found.append(candidate);
            return true;
        };
        const detail::RefParser parser = detail::parserFor(file);
        for (const RawRef &raw : parser(*content)) {
            QList<RawRef> refs{raw};
            if (!raw.alternatives.isEmpty() && !QFileInfo(folder + u'/' + raw.target).isFile()) {
                refs.clear();
                for (const QString &name : raw.alternatives)
                    refs.append({name, name, {}});
            }
            for (const RawRef &ref : refs) {
                const QString target = withoutFileScheme(ref.target);
                const QString name = fileNameOf(target);
                if (target.isEmpty() || name.isEmpty())
                    continue;
                const QString unixTarget = QString(target).replace(u'\\', u'/');
                if (!isAbsoluteReference(target)) {
                    if (!take(QDir::cleanPath(folder + u'/' + unixTarget)))
                        gaps.append({file, ref.written, QStringLiteral("which was not found")});
                } else if (!take(folder + u'/' + name)) {
                    const bool onDisk =
                        unixTarget.startsWith(u'/') && QFileInfo(unixTarget).isFile();
                    gaps.append(
                        {file, ref.written,
                         onDisk ? QStringLiteral("an absolute path: copy %1 beside it").arg(name)
                                : QStringLiteral("which was not found")});
                }
            }
        }
    }

    LocalBundle bundle;
    bundle.root = commonFolder(found);
    const QDir root(bundle.root);
    bundle.main = root.relativeFilePath(mainPath);
    if (!QFileInfo(mainPath).isFile()) {
        bundle.missing.append(bundle.main + QLatin1String(" was not found"));
        return bundle;
    }
    for (const QString &f : found)
        bundle.files.append(root.relativeFilePath(f));
    for (const Gap &g : gaps) {
        const QString message = QStringLiteral("%1 needs %2, %3")
                                    .arg(root.relativeFilePath(g.file), g.reference, g.tail);
        if (!bundle.missing.contains(message))
            bundle.missing.append(message);
    }
    return bundle;
}

Result<LocalBundle> gatherFromFolder(const QString &dir, const QString &main,
                                     const QStringList &mainExtensions)
{
    const QFileInfo info(dir);
    if (!info.isDir())
        return makeError(QStringLiteral("io_error"), QStringLiteral("%1 is not a folder").arg(dir));
    LocalBundle bundle;
    bundle.root = QDir::cleanPath(info.absoluteFilePath());
    const QDir root(bundle.root);
    // Without QDir::Hidden the iterator neither lists nor enters hidden entries; without
    // FollowSymlinks it never enters a linked folder; NoSymLinks leaves linked files out.
    QDirIterator it(bundle.root, QDir::Files | QDir::NoSymLinks, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        if (bundle.files.size() == kMaxGatherFiles)
            return makeError(
                QStringLiteral("too_many_files"),
                QStringLiteral("%1 holds more than %2 files").arg(dir).arg(kMaxGatherFiles));
        bundle.files.append(root.relativeFilePath(path));
    }
    bundle.files.sort();

    if (!main.isEmpty()) {
        bundle.main = normalizePath(main);
        if (!bundle.files.contains(bundle.main))
            return makeError(QStringLiteral("no_main_file"),
                             QStringLiteral("%1 is not a file in %2").arg(main, dir));
    } else {
        QStringList candidates;
        for (const QString &f : std::as_const(bundle.files))
            if (mainExtensions.contains(QFileInfo(f).suffix().toLower()))
                candidates.append(f);
        if (candidates.isEmpty())
            return makeError(QStringLiteral("no_main_file"),
                             QStringLiteral("%1 holds no .%2 file")
                                 .arg(dir, mainExtensions.join(QLatin1String(", ."))));
        if (candidates.size() > 1) {
            constexpr int kListed = 20;
            QString list = candidates.first(std::min<qsizetype>(kListed, candidates.size()))
                               .join(QLatin1String(", "));
            if (candidates.size() > kListed)
                list += QStringLiteral(" and %1 more").arg(candidates.size() - kListed);
            return makeError(QStringLiteral("ambiguous_main_file"),
                             QStringLiteral("%1 holds several files that could be the main file: "
                                            "%2; choose one")
                                 .arg(dir, list));
        }
        bundle.main = candidates.constFirst();
    }

    const QSet<QString> present(bundle.files.cbegin(), bundle.files.cend());
    const FileExists exists = [&](const QString &p) { return present.contains(p); };
    const ReadFile read = [&](const QString &p) -> std::optional<QByteArray> {
        return present.contains(p) ? readForReferences(p, root.filePath(p)) : std::nullopt;
    };
    bundle.missing = missingFiles(bundle.main, read, exists);
    return bundle;
}

} // namespace farm::bundle
