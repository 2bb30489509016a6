#include "files/filestore.h"

#include "model/job.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QRandomGenerator>
#include <QSaveFile>

#include <algorithm>

namespace farm::server {

FileStore::FileStore(QString dataDir, JobStore &store, const Clock &clock)
    : m_dir(std::move(dataDir))
    , m_store(store)
    , m_clock(clock)
{}

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

Result<UploadRecord> FileStore::createUpload(const QString &name, qint64 size,
                                             const QString &sha256)
{
    if (!isSafeFileName(name))
        return makeError("invalid_field", "name must be a plain file name of 1-255 characters");
    if (size < 1 || size > kMaxFileSize)
        return makeError("invalid_field",
                         QString("size must be between 1 and %1 bytes").arg(kMaxFileSize));
    if (!isSha256Hex(sha256))
        return makeError("invalid_field", "sha256 must be 64 lowercase hex characters");
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
    QFile part(partPath(u.id));
    if (!part.open(QIODevice::WriteOnly) || !part.resize(size))
        return makeError("internal", "cannot create the upload file: " + part.errorString());
    if (auto r = m_store.insertUpload(u); !r) {
        part.remove();
        return r.error();
    }
    return u;
}

Result<UploadRecord> FileStore::writeChunk(const QString &id, int index, const QByteArray &data)
{
    auto found = m_store.upload(id);
    if (!found)
        return makeError("not_found", QString("upload %1 does not exist").arg(id));
    UploadRecord u = *found;
    if (index < 0 || index >= u.chunks)
        return makeError("invalid_field",
                         QString("chunk index must be between 0 and %1").arg(u.chunks - 1));
    const qint64 expected =
        index < u.chunks - 1 ? u.chunkSize : u.size - u.chunkSize * (u.chunks - 1);
    if (data.size() != expected)
        return makeError("invalid_field", QString("chunk %1 must be exactly %2 bytes, got %3")
                                              .arg(index)
                                              .arg(expected)
                                              .arg(data.size()));
    if (m_completing.contains(id))
        return makeError("conflict", "the upload is being completed");
    QFile part(partPath(id));
    if (!part.open(QIODevice::ReadWrite) || !part.seek(qint64(index) * u.chunkSize) ||
        part.write(data) != data.size() || !part.flush())
        return makeError("internal", "cannot write the chunk: " + part.errorString());
    if (!u.received.contains(index)) {
        u.received.append(index);
        std::sort(u.received.begin(), u.received.end());
        if (auto r = m_store.setUploadReceived(id, u.received); !r)
            return r.error();
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
    if (*hash != u.sha256)
        return makeError("hash_mismatch", QString("the received bytes hash to %1, not %2; "
                                                  "upload the chunks again")
                                              .arg(*hash, u.sha256));
    const QString target = filePath(u.sha256);
    if (QFile::exists(target))
        QFile::remove(partPath(u.id)); // someone else uploaded the same bytes meanwhile
    else if (!QFile::rename(partPath(u.id), target))
        return makeError("internal", "cannot move the upload into the file store");
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

void FileStore::removeOutputs(qint64 jobId)
{
    QDir(outputDir(jobId)).removeRecursively();
}

} // namespace farm::server
