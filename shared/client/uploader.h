#pragma once

#include "client/apiclient.h"
#include "protocol/uploads.h"

#include <QCryptographicHash>
#include <QFile>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QSet>

namespace farm::client {

/// Uploads one file with the resumable chunk protocol of docs/API.md: hash (SHA-256, 1 MiB
/// blocks, on the event loop so a GUI stays live), HEAD /api/v1/files/{sha} (done when the server
/// holds it), else open an upload session, PUT the chunks it does not have yet (retrying a failed
/// chunk; each chunk carries its SHA-256 so the server refuses a damaged one at once), then
/// complete. Never holds more than one chunk in memory. abort() abandons the server's session.
class Uploader : public QObject
{
    Q_OBJECT
public:
    static constexpr qint64 kHashBlock = 1024 * 1024;
    static constexpr qint64 kMaxChunkSize = 16 * 1024 * 1024;
    /// Request header carrying a chunk's SHA-256 (lowercase hex), docs/API.md.
    static constexpr const char *kChunkChecksumHeader = upload::kChunkChecksumHeader;

    explicit Uploader(ApiClient *api, QObject *parent = nullptr);

    /// Starts uploading `filePath` under `name` (default: the file's name). One upload at a time.
    void start(const QString &filePath, const QString &name = {});
    /// Stops, and abandons the server's upload session (DELETE) so its reservation is freed.
    void abort();
    bool isRunning() const { return m_running; }

    void setMaxAttempts(int attempts) { m_maxAttempts = attempts; }
    void setRetryDelay(int ms) { m_retryDelayMs = ms; }

    QString fileName() const { return m_name; }
    QString sha256() const { return m_sha256; }
    qint64 size() const { return m_size; }
    /// Chunk indexes actually sent by this upload (resumed ones are skipped).
    const QList<int> &sentChunks() const { return m_sent; }
    /// Bytes of chunks this upload sent (resumed chunks and a file the server held: none).
    qint64 bytesSent() const { return m_bytesSent; }

    /// Streams a file through SHA-256 in 1 MiB blocks (lowercase hex).
    static Result<QString> hashFile(const QString &filePath);

signals:
    void hashProgress(qint64 done, qint64 total);
    /// Bytes the server holds (skipped chunks count) out of the file size.
    void progress(qint64 sent, qint64 total);
    /// The server holds the file; `sha256` goes into a job's input.file.
    void finished(const QString &sha256);
    void failed(const farm::Error &error);

private:
    void hashStep();
    void createUpload();
    void startSession();
    void sendNextChunk();
    void sendChunk(int index, int attempt);
    void complete();
    void fail(Error error);

    ApiClient *m_api;
    QFile m_file;
    QCryptographicHash m_hash{QCryptographicHash::Sha256};
    QString m_name;
    QString m_sha256;
    QString m_uploadId;
    qint64 m_size = 0;
    qint64 m_hashed = 0;
    qint64 m_chunkSize = 0;
    int m_chunkCount = 0;
    QSet<int> m_received;
    QList<int> m_sent;
    qint64 m_bytesSent = 0;
    int m_maxAttempts = 4;
    int m_retryDelayMs = 500;
    bool m_running = false;
    quint64 m_generation = 0; // invalidates callbacks of an aborted upload
    QPointer<QNetworkReply> m_reply;
};

} // namespace farm::client
