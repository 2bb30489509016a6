#pragma once

// Input files named by URL (docs/API.md, "Input by URL"): the server fetches each into the
// content store while the job waits, then hands its tasks out; a fetch that fails fails the job.
#include "util/result.h"

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QFile>
#include <QHash>
#include <QNetworkAccessManager>
#include <QObject>
#include <QPointer>
#include <QStringList>
#include <QTimer>

#include <functional>

class QNetworkReply;

namespace farm::server {

class FileStore;
class JobStore;
class Scheduler;
class StateMachine;
class EventSink;

struct FetchLimits
{
    /// Seconds without an answer or a byte before a fetch fails (--fetch-timeout).
    int timeoutS = 30;
    /// Largest file fetched (FileStore::kMaxFileSize, an upload's limit, unless lower).
    qint64 maxBytes = 0;
    /// Where URLs and their redirects may point (ServerConfig::fetchAllow; empty: nowhere).
    QStringList allow;
    /// Redirects followed (each only to http or https).
    static constexpr int kMaxRedirects = 5;
};

/// What the first bytes of a file meant to be a video say: empty when they start like a
/// container the node's decoder reads (MP4/QuickTime, Matroska/WebM, AVI, MPEG-PS/TS), else why
/// not ("is an HTML page, not a video").
QString videoContentProblem(const QByteArray &head, const QByteArray &contentType);
/// 12.0 GiB, 3.5 MiB, 800 KiB, 12 bytes.
QString humanBytes(qint64 bytes);

/// One file fetched by GET into a temporary file of the store, hashed while it streams.
class UrlFetch : public QObject
{
    Q_OBJECT
public:
    struct Fetched
    {
        QString sha256;
        qint64 size = 0;
    };
    UrlFetch(QNetworkAccessManager &net, FileStore &files, QString url, bool video,
             FetchLimits limits, QObject *parent = nullptr);
    ~UrlFetch() override;
    void start();
    /// Stops it without a result (its job went away).
    void abort();

signals:
    /// Once: the file is in the content store, or why not.
    void finished(const Result<UrlFetch::Fetched> &result);

private:
    void onMetaData();
    void onReadyRead();
    void onFinished();
    void onTimeout();
    void fail(const QString &why);
    void done(const Result<Fetched> &result);
    qint64 limit() const;

    QNetworkAccessManager &m_net;
    FileStore &m_files;
    QString m_url;
    bool m_video = false;
    FetchLimits m_limits;
    QPointer<QNetworkReply> m_reply;
    QFile m_temp;
    QCryptographicHash m_hash{QCryptographicHash::Sha256};
    qint64 m_size = 0;
    QByteArray m_head; // the first bytes, for the content check
    bool m_checked = false;
    bool m_answered = false;
    bool m_done = false;
    QTimer m_idle;
};

/// The fetches of every job whose input names files by URL, on the server's event loop.
class UrlInputs : public QObject
{
    Q_OBJECT
public:
    UrlInputs(JobStore &store, FileStore &files, StateMachine &machine, Scheduler &scheduler,
              EventSink &events, FetchLimits limits, QObject *parent = nullptr);
    ~UrlInputs() override;

    /// Starts fetching the job's files that are named by URL and not fetched yet; nothing when
    /// there are none or they are being fetched.
    void fetchJob(qint64 jobId);
    /// Server start: fetches again for every unfinished job still waiting for its URLs.
    void resume();
    /// Stops the job's fetches (it was canceled); nothing is kept of them.
    void dropJob(qint64 jobId) { stop(jobId); }
    /// Whether the job's files are being fetched now.
    bool fetching(qint64 jobId) const { return m_jobs.contains(jobId); }
    /// Called when a fetch of a job ends (tests wait on it).
    std::function<void(qint64 jobId)> onSettled;
    /// Called once a job's input is whole, before its tasks are handed out (a compose job is
    /// split by its video's length then: docs/JOBTYPES.md, "Segments").
    std::function<void(qint64 jobId)> onInputReady;

private:
    struct JobFetch
    {
        QHash<QString, UrlFetch *> running; // bundle path → its fetch
        QHash<QString, QString> fetched;    // bundle path → sha256
    };
    void onFetched(qint64 jobId, const QString &path, const QString &url,
                   const Result<UrlFetch::Fetched> &result);
    void stop(qint64 jobId);

    JobStore &m_store;
    FileStore &m_files;
    StateMachine &m_machine;
    Scheduler &m_scheduler;
    EventSink &m_events;
    FetchLimits m_limits;
    QNetworkAccessManager m_net;
    QHash<qint64, JobFetch> m_jobs;
};

} // namespace farm::server
