#include "bundlelayout.h"

#include <QFile>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace farm::node {

namespace {

QString errnoText()
{
    return QString::fromLocal8Bit(std::strerror(errno));
}

/// Makes `dir` a real directory: creates it, or accepts one that is already there (lstat: a
/// symlink to a directory is refused).
Result<void> ensureDir(const QByteArray &dir)
{
    if (::mkdir(dir.constData(), 0755) == 0)
        return {};
    struct stat st
    {};
    if (errno == EEXIST && ::lstat(dir.constData(), &st) == 0 && S_ISDIR(st.st_mode))
        return {};
    return makeError("bundle_layout",
                     QString("cannot create folder %1: %2")
                         .arg(QString::fromLocal8Bit(dir),
                              errno == EEXIST ? "something else is there" : errnoText()));
}

/// Copies `from` to a new file `to` (O_EXCL|O_NOFOLLOW: never through a link, never over a file).
Result<void> copyFile(const QByteArray &from, const QByteArray &to)
{
    const int in = ::open(from.constData(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return makeError(
            "bundle_layout",
            QString("cannot read %1: %2").arg(QString::fromLocal8Bit(from), errnoText()));
    const int out =
        ::open(to.constData(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
    if (out < 0) {
        const QString why = errnoText();
        ::close(in);
        return makeError("bundle_layout",
                         QString("cannot create %1: %2").arg(QString::fromLocal8Bit(to), why));
    }
    char buffer[1 << 16];
    bool ok = true;
    for (;;) {
        const ssize_t n = ::read(in, buffer, sizeof buffer);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            ok = false;
            break;
        }
        for (ssize_t done = 0; done < n;) {
            const ssize_t w = ::write(out, buffer + done, size_t(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                ok = false;
                break;
            }
            done += w;
        }
        if (!ok)
            break;
    }
    const QString why = errnoText();
    ::close(in);
    if (::close(out) != 0)
        ok = false;
    if (!ok)
        return makeError("bundle_layout",
                         QString("cannot copy to %1: %2").arg(QString::fromLocal8Bit(to), why));
    return {};
}

} // namespace

Result<void> layOutBundle(const QString &root, const QList<CachedBundleFile> &files)
{
    const QByteArray base = QFile::encodeName(root);
    if (::mkdir(base.constData(), 0755) != 0)
        return makeError("bundle_layout",
                         QString("cannot create input folder %1: %2").arg(root, errnoText()));
    for (const CachedBundleFile &f : files) {
        if (!isSafeBundlePath(f.path))
            return makeError("bundle_layout",
                             QString("bundle path '%1' would leave the input folder").arg(f.path));
        const QByteArray cached = QFile::encodeName(f.cached);
        struct stat st
        {};
        if (::lstat(cached.constData(), &st) != 0 || !S_ISREG(st.st_mode))
            return makeError("bundle_layout",
                             QString("cached input %1 is not a regular file").arg(f.cached));
        // Folders one segment at a time, each checked to be a real folder of our own.
        const QStringList segments = f.path.split('/');
        QByteArray at = base;
        for (qsizetype i = 0; i + 1 < segments.size(); ++i) {
            at += '/' + QFile::encodeName(segments[i]);
            if (auto made = ensureDir(at); !made)
                return made.error();
        }
        const QByteArray target = at + '/' + QFile::encodeName(segments.last());
        if (::link(cached.constData(), target.constData()) == 0) {
            ::chmod(target.constData(), 0444);
            continue;
        }
        if (errno == EEXIST)
            return makeError("bundle_layout",
                             QString("bundle path '%1' is there twice").arg(f.path));
        // EXDEV (cache on another filesystem), EPERM (no hard links there), EMLINK ...
        if (auto copied = copyFile(cached, target); !copied)
            return copied.error();
    }
    return {};
}

} // namespace farm::node
