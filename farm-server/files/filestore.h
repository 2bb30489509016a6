#pragma once

#include "protocol/uploads.h"
#include "scheduler/clock.h"
#include "store/jobstore.h"

#include <QHash>
#include <QPointer>
#include <QSet>
#include <QString>
#include <QThreadPool>

#include <functional>
#include <optional>

class QHostAddress;

namespace farm::server {

/// Limits on open (created, not yet completed) uploads: each reserves its declared size until it
/// completes, is abandoned (DELETE) or is purged after a week. docs/API.md lists them.
struct UploadLimits
{
    /// Open uploads one client may hold at once; a client is its peer address (FileStore::
    /// clientKey), not its token: every client shares the one client token.
    int perClientCount = 16;
    /// Bytes one client's open uploads may reserve (two files of the largest size).
    qint64 perClientBytes = 16LL * 1024 * 1024 * 1024;
    /// Open uploads of all clients together (bounds the rows and .part files).
    int totalCount = 256;
    /// Bytes all open uploads together may reserve.
    qint64 totalBytes = 64LL * 1024 * 1024 * 1024;
    /// Free space left on the data dir's disk after every open upload got all its bytes.
    qint64 diskMargin = 1024LL * 1024 * 1024;
};

/// Files on disk under the data dir: content-addressed inputs (`files/<sha256>`), resumable
/// chunked uploads (`uploads/<id>.part`) and job outputs (`outputs/<job>/<name>`).
class FileStore
{
public:
    static constexpr qint64 kChunkSize = 8 * 1024 * 1024;
    static constexpr qint64 kMaxFileSize = 8LL * 1024 * 1024 * 1024;
    static constexpr qint64 kMaxOutputSize = 256LL * 1024 * 1024;
    /// Request header of a chunk PUT with the chunk's SHA-256 (optional, docs/API.md).
    static constexpr const char *kChunkChecksumHeader = upload::kChunkChecksumHeader;

    FileStore(QString dataDir, JobStore &store, const Clock &clock);

    /// Creates the folders and proves the data dir is writable.
    Result<void> init();

    QString filePath(const QString &sha256) const;
    bool hasFile(const QString &sha256) const;

    void setUploadLimits(const UploadLimits &limits) { m_limits = limits; }
    const UploadLimits &uploadLimits() const { return m_limits; }
    /// Who an upload counts against: the peer's IPv4 address, or the /64 prefix of an IPv6 one
    /// (one host usually holds a whole /64).
    static QString clientKey(const QHostAddress &peer);

    struct Opened
    {
        UploadRecord upload;
        bool resumed = false; // the client's open upload of the same bytes, answered again
    };
    /// Opens an upload for `client` (a clientKey) within the UploadLimits, or answers the open
    /// upload the client already has for the same sha256 and size, so a retried or restarted
    /// client resumes it instead of reserving the bytes twice.
    Result<Opened> createUpload(const QString &name, qint64 size, const QString &sha256,
                                const QString &client = {});
    std::optional<UploadRecord> upload(const QString &id) { return m_store.upload(id); }
    /// The open uploads of one client, oldest first.
    QList<UploadRecord> uploadsOf(const QString &client);
    /// A chunk's SHA-256 as the client said it (the kChunkChecksumHeader value) and as hashed
    /// here; hashing 8 MiB takes ~40 ms, so the API does it on a worker thread.
    struct ChunkChecksum
    {
        QString claimed; // lowercase hex
        QString actual;
    };
    /// Reads the header value: nothing when absent, `invalid_field` when not 64 hex digits.
    static Result<std::optional<QString>> parseChunkChecksum(const QByteArray &header);
    static QString sha256Hex(const QByteArray &data);
    /// The checks of writeChunk that need no hashing: upload, index, length, not completing.
    Result<UploadRecord> checkChunk(const QString &id, int index, qint64 length);
    /// Writes chunk `index`. With a checksum, a chunk whose bytes hash otherwise than the client
    /// said is refused (`chunk_checksum`) and not marked received.
    Result<UploadRecord> writeChunk(const QString &id, int index, const QByteArray &data,
                                    const std::optional<ChunkChecksum> &checksum = {});
    /// Drops an open upload and its reservation (the client gave up).
    Result<void> abandonUpload(const QString &id);

    /// Completion is split so the hashing (up to 8 GiB) can run on a worker thread:
    /// beginComplete checks every chunk arrived, hashFile runs anywhere, finishComplete moves
    /// the verified file into place.
    Result<UploadRecord> beginComplete(const QString &id);
    static Result<QString> hashFile(const QString &path);
    /// Bytes an unprivileged writer may still put on the file system holding `path`, or -1 when
    /// it cannot be asked. statvfs, not QStorageInfo: that one reads the mount table and finds
    /// nothing inside a chroot or some containers.
    static qint64 freeDiskBytes(const QString &path);
    Result<void> finishComplete(const UploadRecord &upload, const Result<QString> &hash);
    QString partPath(const QString &id) const;
    /// A folder on the store's file system for temporary files (unpacked archives).
    QString tempDir() const;
    /// Moves a verified temporary file into the store as `sha256` (or drops it when the store
    /// has those bytes already).
    Result<void> adoptFile(const QString &tempPath, const QString &sha256);
    /// Removes uploads nobody finished within `maxAgeDays`; returns how many.
    int purgeStaleUploads(int maxAgeDays = 7);

    /// A file of the content store (`files/<sha256>`).
    struct StoredFile
    {
        QString sha256;
        qint64 size = 0;
        QDateTime modifiedAt;
    };
    /// Every file of the content store, the least recently changed first.
    QList<StoredFile> storedFiles() const;
    /// Removes one file of the content store (retention, a deleted job's unused input).
    bool removeFile(const QString &sha256);

    QString outputDir(qint64 jobId) const;
    QString outputPath(qint64 jobId, const QString &name) const;
    /// Writes atomically (temp file + rename) and returns the size.
    Result<qint64> writeOutput(qint64 jobId, const QString &name, const QByteArray &data);
    /// writeOutput() on a pool of its own (kOutputWriters threads), then `then(size)` on the
    /// thread of `receiver` (not called once `receiver` is gone). Each file is synced to disk
    /// before `then` runs; with many uploads at once their syncs run side by side and share the
    /// file system's journal commits (ext4 commits the waiting ones together), where the two
    /// threads of the global pool (one per core) made every upload of a farm wait in line for
    /// one sync after another (docs/PERFORMANCE.md, "Output syncs side by side, state
    /// changes in batches").
    void writeOutputOffLoop(qint64 jobId, const QString &name, const QByteArray &data,
                            QObject *receiver, std::function<void(Result<qint64>)> then);
    /// Threads that write and sync outputs at the same time: fsync waits on the disk, not on a
    /// core, so it is not bound to the number of cores.
    static constexpr int kOutputWriters = 16;
    void removeOutputs(qint64 jobId);

private:
    /// What an open upload reserves; kept in memory, loaded from the store on first use.
    struct Reservation
    {
        QString client; // empty for uploads opened before a restart: they count in the totals
        qint64 size = 0;
        qint64 written = 0; // bytes of received chunks: already on the disk
    };
    void loadReservations();
    Result<void> checkLimits(const QString &client, qint64 size);
    void release(const QString &id);

    QString m_dir;
    JobStore &m_store;
    const Clock &m_clock;
    QSet<QString> m_completing;
    UploadLimits m_limits;
    QHash<QString, Reservation> m_open;
    QThreadPool m_outputWriters; // last: destroyed (waiting for its writes) first
    bool m_loaded = false;
};

} // namespace farm::server
