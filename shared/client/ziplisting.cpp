#include "client/ziplisting.h"

#include <QFile>
#include <QFileInfo>
#include <QtEndian>

namespace farm::client {

namespace {

constexpr quint32 kEndOfCentralDir = 0x06054b50;
constexpr quint32 kZip64Locator = 0x07064b50;
constexpr quint32 kZip64EndOfCentralDir = 0x06064b50;
constexpr quint32 kCentralHeader = 0x02014b50;
constexpr qint64 kMaxCommentTail = 22 + 0xffff;
constexpr qint64 kMaxCentralDir = 256 * 1024 * 1024;

template<typename T> T at(const QByteArray &b, qsizetype offset)
{
    return qFromLittleEndian<T>(b.constData() + offset);
}

Error notZip(const QString &path, const QString &why)
{
    return makeError("invalid_archive", QString("%1 is not a readable .zip: %2").arg(path, why));
}

} // namespace

Result<QStringList> zipEntryNames(const QString &zipPath)
{
    QFile file(zipPath);
    if (!file.open(QIODevice::ReadOnly))
        return makeError("io", QString("cannot read %1: %2").arg(zipPath, file.errorString()));
    const qint64 size = file.size();
    const qint64 tailStart = qMax<qint64>(0, size - kMaxCommentTail);
    file.seek(tailStart);
    const QByteArray tail = file.read(size - tailStart);
    qsizetype eocd = -1;
    for (qsizetype i = tail.size() - 22; i >= 0; --i)
        if (at<quint32>(tail, i) == kEndOfCentralDir) {
            eocd = i;
            break;
        }
    if (eocd < 0)
        return notZip(zipPath, "no end of central directory");
    quint64 entries = at<quint16>(tail, eocd + 10);
    quint64 dirSize = at<quint32>(tail, eocd + 12);
    quint64 dirOffset = at<quint32>(tail, eocd + 16);
    if ((entries == 0xffff || dirOffset == 0xffffffff) && eocd >= 20 &&
        at<quint32>(tail, eocd - 20) == kZip64Locator) {
        const quint64 zip64At = at<quint64>(tail, eocd - 20 + 8);
        file.seek(qint64(zip64At));
        const QByteArray z = file.read(56);
        if (z.size() < 56 || at<quint32>(z, 0) != kZip64EndOfCentralDir)
            return notZip(zipPath, "broken zip64 directory");
        entries = at<quint64>(z, 32);
        dirSize = at<quint64>(z, 40);
        dirOffset = at<quint64>(z, 48);
    }
    if (dirSize > quint64(kMaxCentralDir) || dirOffset + dirSize > quint64(size))
        return notZip(zipPath, "central directory out of range");
    file.seek(qint64(dirOffset));
    const QByteArray dir = file.read(qint64(dirSize));
    QStringList names;
    qsizetype pos = 0;
    for (quint64 n = 0; n < entries; ++n) {
        if (pos + 46 > dir.size() || at<quint32>(dir, pos) != kCentralHeader)
            return notZip(zipPath, "broken central directory");
        const quint16 flags = at<quint16>(dir, pos + 8);
        const quint16 nameLen = at<quint16>(dir, pos + 28);
        const quint16 extraLen = at<quint16>(dir, pos + 30);
        const quint16 commentLen = at<quint16>(dir, pos + 32);
        if (pos + 46 + nameLen > dir.size())
            return notZip(zipPath, "broken central directory");
        const QByteArray raw = dir.mid(pos + 46, nameLen);
        // Bit 11: UTF-8 names; older tools wrote CP437, which is ASCII for the names that matter.
        const QString name = (flags & 0x800) ? QString::fromUtf8(raw) : QString::fromLatin1(raw);
        pos += 46 + nameLen + extraLen + commentLen;
        if (name.endsWith('/') || name.startsWith("__MACOSX/") ||
            name.section('/', -1) == ".DS_Store")
            continue;
        names.append(name);
    }
    return names;
}

QStringList mainCandidates(const QStringList &names, const QStringList &extensions)
{
    QStringList out;
    for (const QString &n : names)
        if (extensions.contains(QFileInfo(n).suffix().toLower()))
            out.append(n);
    return out;
}

} // namespace farm::client
