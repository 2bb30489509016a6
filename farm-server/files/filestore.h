#pragma once

#include "scheduler/clock.h"
#include "store/jobstore.h"

#include <QSet>
#include <QString>

namespace farm::server {

/// Files on disk under the data dir: content-addressed inputs (`files/<sha256>`), resumable
/// chunked uploads (`uploads/<id>.part`) and job outputs (`outputs/<job>/<name>`).
class FileStore
{
public:
    static constexpr qint64 kChunkSize = 8 * 1024 * 1024;
    static constexpr qint64 kMaxFileSize = 8LL * 1024 * 1024 * 1024;
    static constexpr qint64 kMaxOutputSize = 256LL * 1024 * 1024;

    FileStore(QString dataDir, JobStore &store, const Clock &clock);

    /// Creates the folders and proves the data dir is writable.
    Result<void> init();

    QString filePath(const QString &sha256) const;
    bool hasFile(const QString &sha256) const;

    Result<UploadRecord> createUpload(const QString &name, qint64 size, const QString &sha256);
    std::optional<UploadRecord> upload(const QString &id) { return m_store.upload(id); }
    Result<UploadRecord> writeChunk(const QString &id, int index, const QByteArray &data);

    /// Completion is split so the hashing (up to 8 GiB) can run on a worker thread:
    /// beginComplete checks every chunk arrived, hashFile runs anywhere, finishComplete moves
    /// the verified file into place.
    Result<UploadRecord> beginComplete(const QString &id);
    static Result<QString> hashFile(const QString &path);
    Result<void> finishComplete(const UploadRecord &upload, const Result<QString> &hash);
    QString partPath(const QString &id) const;
    /// A folder on the store's file system for temporary files (unpacked archives).
    QString tempDir() const;
    /// Moves a verified temporary file into the store as `sha256` (or drops it when the store
    /// has those bytes already).
    Result<void> adoptFile(const QString &tempPath, const QString &sha256);
    /// Removes uploads nobody finished within `maxAgeDays`; returns how many.
    int purgeStaleUploads(int maxAgeDays = 7);

    QString outputDir(qint64 jobId) const;
    QString outputPath(qint64 jobId, const QString &name) const;
    /// Writes atomically (temp file + rename) and returns the size.
    Result<qint64> writeOutput(qint64 jobId, const QString &name, const QByteArray &data);
    void removeOutputs(qint64 jobId);

private:
    QString m_dir;
    JobStore &m_store;
    const Clock &m_clock;
    QSet<QString> m_completing;
};

} // namespace farm::server
