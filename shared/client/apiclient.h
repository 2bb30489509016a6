#pragma once

#include "client/apitypes.h"

#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QObject>
#include <QUrl>

#include <functional>

namespace farm::client {

template<typename T> using Callback = std::function<void(Result<T>)>;
using ProgressFn = std::function<void(qint64 done, qint64 total)>;

/// Asynchronous client of the farm-server REST API (docs/API.md). Every call returns at once;
/// its callback runs on the event loop with the decoded value or a farm::Error (the server's
/// `{"error": ...}` body, or `unreachable` when no HTTP answer came). Callbacks never run after
/// the client is destroyed.
class ApiClient : public QObject
{
    Q_OBJECT
public:
    explicit ApiClient(const QUrl &baseUrl = {}, QObject *parent = nullptr);
    ~ApiClient() override;

    void setBaseUrl(const QUrl &url) { m_baseUrl = url; }
    QUrl baseUrl() const { return m_baseUrl; }
    void setToken(const QString &token) { m_token = token; }
    QString token() const { return m_token; }
    /// Milliseconds without any byte moving before a request fails (0: never).
    void setTransferTimeout(int ms) { m_transferTimeoutMs = ms; }

    /// Checks an http(s) base URL with a host; the message says what is wrong.
    static Result<QUrl> parseServerUrl(const QString &text);

    void status(Callback<ServerStatus> done);
    void listJobs(const JobQuery &query, Callback<JobPage> done);
    void getJob(qint64 id, Callback<Job> done);
    void createJob(const JobSpec &spec, Callback<Job> done);
    void cancelJob(qint64 id, Callback<Job> done);
    /// POST /api/v1/jobs/{id}/{action} (pause, resume, retry, rerun, priority, cancel) with an
    /// optional body ({"frames": "2,5-7"}, {"priority": 80}); yields the job as it is now.
    void jobAction(qint64 id, const QString &action, const QJsonObject &body, Callback<Job> done);
    /// DELETE /api/v1/jobs/{id} (jobs in a final state only; 409 otherwise).
    void deleteJob(qint64 id, Callback<void> done);
    /// POST /api/v1/tasks/{id}/requeue: the task renders again.
    void requeueTask(qint64 taskId, Callback<Task> done);
    /// GET /api/v1/jobs/{id}/explain: why the job is not running, one reason a line.
    void explainJob(qint64 id, Callback<QStringList> done);
    /// POST /api/v1/nodes/{id}/{drain|enable|disable}; yields the node as it is now.
    void nodeAction(qint64 id, const QString &action, Callback<Node> done);
    void jobTasks(qint64 id, Callback<QList<Task>> done);
    void jobOutputs(qint64 id, Callback<QList<OutputInfo>> done);
    /// Streams one output to `filePath` as it arrives (written to `filePath.part`, renamed when
    /// complete); yields the byte count.
    void downloadOutput(qint64 jobId, const QString &name, const QString &filePath,
                        Callback<qint64> done, ProgressFn progress = {});
    /// Every output of a job as one zip (GET /api/v1/jobs/{id}/archive), streamed to
    /// `filePath` like downloadOutput.
    void downloadArchive(qint64 jobId, const QString &filePath, Callback<qint64> done,
                         ProgressFn progress = {});
    /// Streams the answer of GET `path` to `filePath` (through `filePath.part`).
    void downloadFile(const QString &path, const QString &filePath, Callback<qint64> done,
                      ProgressFn progress = {});
    /// Small outputs held in memory (thumbnails).
    void fetchOutput(qint64 jobId, const QString &name, Callback<QByteArray> done);
    void taskLog(qint64 taskId, Callback<QString> done);
    /// The last `tailBytes` bytes of a task's log (GET /api/v1/tasks/{id}/log?tail=n).
    void taskLogTail(qint64 taskId, qint64 tailBytes, Callback<QString> done);
    /// The latest partial image (JPEG bytes) of a running task; `not_found` when it has none.
    void taskPreview(qint64 taskId, Callback<QByteArray> done);
    void nodes(Callback<QList<Node>> done);
    /// GET /api/v1/job-types: every job type the server takes, with its settings schema.
    void jobTypes(Callback<QList<JobTypeInfo>> done);

    /// Sends one request and yields the answer body; JSON object bodies are parsed by the callers.
    /// `path` is relative to the base URL and may carry a query ("/api/v1/jobs?limit=5").
    QNetworkReply *send(const QByteArray &verb, const QString &path, const QByteArray &body,
                        const QByteArray &contentType, Callback<QByteArray> done,
                        ProgressFn uploadProgress = {});
    void sendJson(const QByteArray &verb, const QString &path, const QJsonObject *body,
                  Callback<QJsonObject> done);

    QNetworkRequest makeRequest(const QString &path) const;
    QNetworkAccessManager *network() { return &m_network; }

    /// Turns a finished reply into its body or an Error (network failure or HTTP >= 400).
    static Result<QByteArray> replyResult(QNetworkReply *reply, const QByteArray &body);

private:
    template<typename T>
    void getDecoded(const QString &path, Result<T> (*decode)(const QJsonObject &),
                    Callback<T> done);

    QNetworkAccessManager m_network;
    QUrl m_baseUrl;
    QString m_token;
    int m_transferTimeoutMs = 30000;
};

} // namespace farm::client
