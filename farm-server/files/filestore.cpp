#include "files/filestore.h"

#include "model/job.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHostAddress>
#include <QRandomGenerator>
#include <QSaveFile>

#include <algorithm>

#include <sys/statvfs.h>

namespace farm::server {
namespace {

QString gib(qint64 bytes)
{
    return QString::number(double(bytes) / (1024.0 * 1024 * 1024), 'f', 1) + " GiB";
}

qint64 chunkLength(const UploadRecord &u, int index)
{
    return index < u.chunks - 1 ? u.chunkSize : u.size - u.chunkSize * (u.chunks - 1);
}

} // namespace

FileStore::FileStore(QString dataDir, JobStore &store, const Clock &clock)
    : m_dir(std::move(dataDir))
    , m_store(store)
    , m_clock(clock)
{
    m_outputWriters.setMaxThreadCount(kOutputWriters);
    m_outputWriters.setObjectName("output writers");
}

Result<void> FileStore::init()
{
    for (const char *sub : {"files", "uploads", "outputs"}) {
        if (!QDir().mkpath(m_dir + '/' + sub))
            return makeError("internal", QString("cannot create %1/%2").arg(m_dir, sub));
    }
    QFile probe(m_dir + "/uploads/.write-test");
    if (!probe.open(QIODevice::WriteOnly) || probe.write("ok", 2) != 2)
        return makeError("internal", QString("data dir %1 is not writable").arg(m_dir));
    probe.close();
    probe.remove();
    return {};
}

QString FileStore::filePath(const QString &sha256) const
{
    return m_dir + "/files/" + sha256;
}

bool FileStore::hasFile(const QString &sha256) const
{
    return isSha256Hex(sha256) && QFile::exists(filePath(sha256));
}

QString FileStore::partPath(const QString &id) const
{
    return m_dir + "/uploads/" + id + ".part";
}

QString FileStore::clientKey(const QHostAddress &peer)
{
    bool v4 = false;
    const quint32 ip4 = peer.toIPv4Address(&v4); // also unwraps ::ffff:a.b.c.d
    if (v4)
        return QHostAddress(ip4).toString();
    if (peer.protocol() != QAbstractSocket::IPv6Protocol)
        return peer.toString();
    Q_IPV6ADDR bytes = peer.toIPv6Address();
    std::fill(bytes.c + 8, bytes.c + 16, quint8(0));
    return QHostAddress(bytes).toString() + "/64";
}

void FileStore::loadReservations()
{
    if (m_loaded)
        return;
    m_loaded = true;
    // Uploads opened before a restart: their owner is not stored, so they count in the totals.
    for (const QString &id : m_store.uploadsBefore(m_clock.now().addYears(100))) {
        const auto u = m_store.upload(id);
        if (!u || m_open.contains(id))
            continue;
        Reservation r{QString(), u->size, 0};
        for (int i : u->received)
            r.written += chunkLength(*u, i);
        m_open.insert(id, r);
    }
}

Result<void> FileStore::checkLimits(const QString &client, qint64 size)
{
    int clientCount = 0;
    qint64 clientBytes = 0, totalBytes = 0, unwritten = 0;
    for (const Reservation &r : std::as_const(m_open)) {
        if (r.client == client) {
            ++clientCount;
            clientBytes += r.size;
        }
        totalBytes += r.size;
        unwritten += r.size - r.written;
    }
    const QString finish = "complete or abandon (DELETE /api/v1/uploads/{id}) an open one first; "
                           "GET /api/v1/uploads lists yours";
    if (clientCount + 1 > m_limits.perClientCount)
        return makeError("too_many_uploads",
                         QString("%1 already holds %2 open uploads, the most one client may "
                                 "hold; %3")
                             .arg(client)
                             .arg(clientCount)
                             .arg(finish));
    if (clientBytes + size > m_limits.perClientBytes)
        return makeError("too_many_uploads",
                         QString("%1's open uploads reserve %2 bytes; %3 more would pass the %4 "
                                 "bytes (%5) one client may reserve; %6")
                             .arg(client)
                             .arg(clientBytes)
                             .arg(size)
                             .arg(m_limits.perClientBytes)
                             .arg(gib(m_limits.perClientBytes), finish));
    if (m_open.size() + 1 > m_limits.totalCount)
        return makeError("insufficient_storage",
                         QString("the server holds %1 open uploads, the most it takes; try again "
                                 "when some have completed")
                             .arg(m_open.size()));
    if (totalBytes + size > m_limits.totalBytes)
        return makeError("insufficient_storage",
                         QString("open uploads reserve %1 bytes; %2 more would pass the server's "
                                 "%3 bytes (%4); try again when some have completed")
                             .arg(totalBytes)
                             .arg(size)
                             .arg(m_limits.totalBytes)
                             .arg(gib(m_limits.totalBytes)));
    // .part files are sparse: the disk still has to take every byte not written yet.
    const qint64 available = freeDiskBytes(m_dir);
    if (available >= 0 && unwritten + size + m_limits.diskMargin > available)
        return makeError("insufficient_storage",
                         QString("the data dir's disk has %1 bytes (%2) free; open uploads still "
                                 "need %3 of them and %4 stay free, so %5 more bytes do not fit; "
                                 "free disk space or try again when some uploads have completed")
                             .arg(available)
                             .arg(gib(available))
                             .arg(unwritten)
                             .arg(m_limits.diskMargin)
                             .arg(size));
    return {};
}

qint64 FileStore::freeDiskBytes(const QString &path)
{
    struct statvfs fs;
    if (::statvfs(QFile::encodeName(path).constData(), &fs) != 0)
        return -1;
    return qint64(fs.f_bavail) * qint64(fs.f_frsize);
}

void FileStore::release(const QString &id)
{
    m_open.remove(id);
}

Result<FileStore::Opened> FileStore::createUpload(const QString &name, qint64 size,
                                                  const QString &sha256, const QString &client)
{
    if (!isSafeFileName(name))
        return makeError("invalid_field", "name must be a plain file name of 1-255 characters");
    if (size < 1 || size > kMaxFileSize)
        return makeError("invalid_field",
                         QString("size must be between 1 and %1 bytes").arg(kMaxFileSize));
    if (!isSha256Hex(sha256))
        return makeError("invalid_field", "sha256 must be 64 lowercase hex characters");
    loadReservations();
    // The same bytes asked for again resume the open upload: this client's, or one opened
    // before a server restart (whose client is not stored), which this client then takes over.
    for (auto it = m_open.begin(); it != m_open.end(); ++it) {
        if ((!it->client.isEmpty() && it->client != client) || it->size != size ||
            m_completing.contains(it.key()))
            continue;
        if (const auto u = m_store.upload(it.key()); u && u->sha256 == sha256) {
            it->client = client;
            return Opened{*u, true};
        }
    }
    if (auto r = checkLimits(client, size); !r)
        return r.error();
    UploadRecord u;
    const quint64 a = QRandomGenerator::system()->generate64();
    const quint64 b = QRandomGenerator::system()->generate64();
    u.id = QString("%1%2").arg(a, 16, 16, QChar('0')).arg(b, 16, 16, QChar('0'));
    u.name = name;
    u.size = size;
    u.sha256 = sha256;
    u.chunkSize = kChunkSize;
    u.chunks = int((size + kChunkSize - 1) / kChunkSize);
    u.createdAt = m_clock.now();
    // Empty, not resized to `size`: chunks land at their offsets, so the file takes only what
    // arrived and reaches `size` with the last chunk (beginComplete checks).
    QFile part(partPath(u.id));
    if (!part.open(QIODevice::WriteOnly))
        return makeError("internal", "cannot create the upload file: " + part.errorString());
    part.close();
    if (auto r = m_store.insertUpload(u); !r) {
        part.remove();
        return r.error();
    }
    m_open.insert(u.id, Reservation{client, size, 0});
    return Opened{u, false};
}

QList<UploadRecord> FileStore::uploadsOf(const QString &client)
{
    loadReservations();
    QList<UploadRecord> out;
    for (auto it = m_open.cbegin(); it != m_open.cend(); ++it)
        if (it->client == client)
            if (const auto u = m_store.upload(it.key()))
                out.append(*u);
    std::sort(out.begin(), out.end(), [](const UploadRecord &a, const UploadRecord &b) {
        return a.createdAt < b.createdAt || (a.createdAt == b.createdAt && a.id < b.id);
    });
    return out;
}

Result<void> FileStore::abandonUpload(const QString &id)
{
    if (!m_store.upload(id))
        return makeError("not_found", QString("upload %1 does not exist").arg(id));
    if (m_completing.contains(id))
        return makeError("conflict", "the upload is being completed");
    loadReservations();
    QFile::remove(partPath(id));
    release(id);
    return m_store.deleteUpload(id);
}

Result<std::optional<QString>> FileStore::parseChunkChecksum(const QByteArray &header)
{
    if (header.isNull())
        return std::optional<QString>();
    const QString claimed = QString::fromLatin1(header).trimmed().toLower();
    if (!isSha256Hex(claimed))
        return makeError(
            "invalid_field",
            QString("%1 must be the chunk's SHA-256 as 64 hex digits").arg(kChunkChecksumHeader));
    return std::optional<QString>(claimed);
}

QString FileStore::sha256Hex(const QByteArray &data)
{
    return QString::fromLatin1(QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex());
}

Result<UploadRecord> FileStore::checkChunk(const QString &id, int index, qint64 length)
{
    auto found = m_store.upload(id);
    if (!found)
        return makeError("not_found", QString("upload %1 does not exist").arg(id));
    if (index < 0 || index >= found->chunks)
        return makeError("invalid_field",
                         QString("chunk index must be between 0 and %1").arg(found->chunks - 1));
    const qint64 expected = chunkLength(*found, index);
    if (length != expected)
        return makeError("invalid_field", QString("chunk %1 must be exactly %2 bytes, got %3")
                                              .arg(index)
                                              .arg(expected)
                                              .arg(length));
    if (m_completing.contains(id))
        return makeError("conflict", "the upload is being completed");
    return *found;
}

Result<UploadRecord> FileStore::writeChunk(const QString &id, int index, const QByteArray &data,
                                           const std::optional<ChunkChecksum> &checksum)
{
    loadReservations(); // before the store changes, so this chunk is counted once
    auto checked = checkChunk(id, index, data.size());
    if (!checked)
        return checked.error();
    UploadRecord u = *checked;
    if (checksum && checksum->actual != checksum->claimed)
        return makeError("chunk_checksum",
                         QString("chunk %1 of upload %2 has SHA-256 %3, the client said %4; "
                                 "send it again")
                             .arg(index)
                             .arg(id, checksum->actual, checksum->claimed));
    QFile part(partPath(id));
    if (!part.open(QIODevice::ReadWrite) || !part.seek(qint64(index) * u.chunkSize) ||
        part.write(data) != data.size() || !part.flush())
        return makeError("internal", "cannot write the chunk: " + part.errorString());
    if (!u.received.contains(index)) {
        u.received.append(index);
        std::sort(u.received.begin(), u.received.end());
        if (auto r = m_store.setUploadReceived(id, u.received); !r)
            return r.error();
        if (auto it = m_open.find(id); it != m_open.end())
            it->written += data.size();
    }
    return u;
}

Result<UploadRecord> FileStore::beginComplete(const QString &id)
{
    auto u = m_store.upload(id);
    if (!u)
        return makeError("not_found", QString("upload %1 does not exist").arg(id));
    if (m_completing.contains(id))
        return makeError("conflict", "the upload is already being completed");
    if (u->received.size() != u->chunks)
        return makeError(
            "incomplete",
            QString("%1 of %2 chunks received").arg(u->received.size()).arg(u->chunks));
    if (const qint64 onDisk = QFileInfo(partPath(id)).size(); onDisk != u->size)
        return makeError(
            "internal", QString("the upload file holds %1 bytes, not %2").arg(onDisk).arg(u->size));
    m_completing.insert(id);
    return *u;
}

Result<QString> FileStore::hashFile(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return makeError("internal", "cannot read " + path + ": " + f.errorString());
    QCryptographicHash hash(QCryptographicHash::Sha256);
    QByteArray buffer(1024 * 1024, Qt::Uninitialized);
    for (;;) {
        const qint64 n = f.read(buffer.data(), buffer.size());
        if (n < 0)
            return makeError("internal", "cannot read " + path + ": " + f.errorString());
        if (n == 0)
            break;
        hash.addData(QByteArrayView(buffer.constData(), n));
    }
    return QString::fromLatin1(hash.result().toHex());
}

Result<void> FileStore::finishComplete(const UploadRecord &u, const Result<QString> &hash)
{
    m_completing.remove(u.id);
    if (!hash)
        return hash.error();
    if (*hash != u.sha256) {
        // No chunk of it can be trusted, and a create for the same sha256 would otherwise
        // answer this session again: drop it, so the next create starts afresh.
        QFile::remove(partPath(u.id));
        release(u.id);
        (void)m_store.deleteUpload(u.id);
        return makeError("hash_mismatch", QString("the received bytes hash to %1, not %2; the "
                                                  "upload is dropped: upload the file again")
                                              .arg(*hash, u.sha256));
    }
    const QString target = filePath(u.sha256);
    if (QFile::exists(target))
        QFile::remove(partPath(u.id)); // someone else uploaded the same bytes meanwhile
    else if (!QFile::rename(partPath(u.id), target))
        return makeError("internal", "cannot move the upload into the file store");
    release(u.id);
    return m_store.deleteUpload(u.id);
}

QString FileStore::tempDir() const
{
    return m_dir + "/uploads";
}

Result<void> FileStore::adoptFile(const QString &tempPath, const QString &sha256)
{
    if (!isSha256Hex(sha256))
        return makeError("internal", "adoptFile: not a SHA-256");
    const QString target = filePath(sha256);
    if (QFile::exists(target))
        QFile::remove(tempPath);
    else if (!QFile::rename(tempPath, target))
        return makeError("internal", "cannot move an unpacked file into the file store");
    return {};
}

int FileStore::purgeStaleUploads(int maxAgeDays)
{
    int removed = 0;
    for (const QString &id : m_store.uploadsBefore(m_clock.now().addDays(-maxAgeDays))) {
        if (m_completing.contains(id))
            continue;
        QFile::remove(partPath(id));
        release(id);
        if (m_store.deleteUpload(id))
            ++removed;
    }
    return removed;
}

QString FileStore::outputDir(qint64 jobId) const
{
    return m_dir + "/outputs/" + QString::number(jobId);
}

QString FileStore::outputPath(qint64 jobId, const QString &name) const
{
    return outputDir(jobId) + '/' + name;
}

Result<qint64> FileStore::writeOutput(qint64 jobId, const QString &name, const QByteArray &data)
{
    if (!isValidOutputName(name))
        return makeError("invalid_field", "output names match ^[A-Za-z0-9._-]{1,128}$ and do not "
                                          "start with '.'");
    if (data.size() > kMaxOutputSize)
        return makeError("too_large", "outputs are at most 256 MiB");
    if (!QDir().mkpath(outputDir(jobId)))
        return makeError("internal", "cannot create the output folder");
    QSaveFile f(outputPath(jobId, name)); // temp file + rename: readers never see half a frame
    if (!f.open(QIODevice::WriteOnly) || f.write(data) != data.size() || !f.commit())
        return makeError("internal", "cannot store the output: " + f.errorString());
    return qint64(data.size());
}

void FileStore::writeOutputOffLoop(qint64 jobId, const QString &name, const QByteArray &data,
                                   QObject *receiver, std::function<void(Result<qint64>)> then)
{
    QPointer<QObject> owner = receiver;
    m_outputWriters.start([this, owner, jobId, name, data, then = std::move(then)]() mutable {
        auto size = writeOutput(jobId, name, data);
        if (owner)
            QMetaObject::invokeMethod(
                owner.data(), [then = std::move(then), size]() mutable { then(std::move(size)); },
                Qt::QueuedConnection);
    });
}

QList<FileStore::StoredFile> FileStore::storedFiles() const
{
    QList<StoredFile> out;
    const QFileInfoList entries =
        QDir(m_dir + "/files")
            .entryInfoList(QDir::Files | QDir::NoDotAndDotDot, QDir::Time | QDir::Reversed);
    for (const QFileInfo &f : entries)
        if (isSha256Hex(f.fileName()))
            out.append({f.fileName(), f.size(), f.lastModified().toUTC()});
    return out;
}

bool FileStore::removeFile(const QString &sha256)
{
    return isSha256Hex(sha256) && QFile::remove(filePath(sha256));
}

void FileStore::removeOutputs(qint64 jobId)
{
    QDir(outputDir(jobId)).removeRecursively();
}

} // namespace farm::server
