#pragma once

#include "model/job.h"
#include "model/node.h"
#include "model/task.h"

#include <QHash>
#include <QJsonArray>
#include <QJsonObject>
#include <QMap>
#include <QObject>
#include <QRegularExpression>
#include <QTcpServer>
#include <QUrl>
#include <QWebSocketServer>

#include <functional>
#include <optional>

class QTcpSocket;
class QWebSocket;

namespace farm::testing {

/// A small stand-in for farm-server on loopback: plain HTTP/1.1 on a QTcpServer for the REST
/// endpoints the client tests need, and /ws/events on the same port through QWebSocketServer.
/// It keeps real state (uploads with hashes, jobs, tasks, outputs) so tests assert behaviour.
class FakeFarmServer : public QObject
{
    Q_OBJECT
public:
    struct Request
    {
        QByteArray method;
        QString path;
        QString query;
        QHash<QByteArray, QByteArray> headers; // lower-case names
        QByteArray body;
    };
    struct Response
    {
        int status = 200;
        QByteArray body;
        QByteArray contentType = "application/json";
    };
    struct Upload
    {
        QString id, name, sha256;
        qint64 size = 0;
        QMap<int, QByteArray> chunks;
    };

    explicit FakeFarmServer(QObject *parent = nullptr);
    ~FakeFarmServer() override;

    bool listen();
    QUrl url() const;

    // Uploads.
    qint64 chunkSize = 64 * 1024;
    int failPuts = 0;                 // answer the next N chunk PUTs with 500
    int corruptPuts = 0;              // damage the next N chunk bodies "on the way"
    QList<QByteArray> chunkChecksums; // X-Chunk-SHA256 of each chunk PUT, in order
    QStringList deletedUploads;       // ids abandoned with DELETE
    QHash<QString, QByteArray> files; // sha256 -> content
    QList<int> putChunks;             // chunk indexes received, in order
    /// Starts an upload session for `data` as if a previous client had sent `chunks` of it.
    QString preReceive(const QString &name, const QByteArray &data, const QList<int> &chunks);

    // Job types: GET /api/v1/job-types serves these (from jobtypes.json beside this file, a copy
    // of the real server's built-in types that tst_bundles_e2e compares with the real thing);
    // tests append their own. POST /api/v1/jobs refuses other type names.
    QJsonArray jobTypes;
    static QJsonArray builtinJobTypes();

    // Jobs, tasks, nodes, outputs.
    QMap<qint64, Job> jobs;
    QMap<qint64, QList<Task>> tasks;
    QMap<qint64, QList<QPair<QString, QByteArray>>> outputs;
    QList<Node> nodes;
    QHash<qint64, QString> logs;
    Job &addJob(const JobSpec &spec); // stored and announced as job.created
    /// Moves a job on and announces job.updated (and task.updated for its tasks).
    void setJobState(qint64 id, JobState state, double progress, const QString &error = {});
    /// Marks every task done, stores one output per frame and announces it all.
    void completeJob(qint64 id, const QByteArray &frameBytes);

    // Events.
    bool acceptWebSockets = true;
    int eventClients() const { return int(m_clients.size()); }
    void broadcast(const QString &type, const QJsonObject &data);
    void broadcastRaw(const QString &text);
    /// Closes every /ws/events connection from the server side.
    void dropEventClients();

    QStringList requestLog; // "GET /api/v1/jobs?limit=50"
    QByteArray lastAuthorization;
    /// Overrides one route: return a response to answer it, std::nullopt for the normal handler.
    std::function<std::optional<Response>(const Request &)> intercept;

signals:
    void eventClientConnected();
    void jobCreated(qint64 id);

private:
    struct Route
    {
        QByteArray method;
        QRegularExpression path;
        std::function<Response(const Request &, const QRegularExpressionMatch &)> handler;
    };

    void onConnection();
    void onReadyRead(QTcpSocket *socket);
    Response dispatch(const Request &request);
    void addRoutes();
    void addJobRoutes();

    QTcpServer m_tcp;
    QWebSocketServer m_ws{"fake-farm", QWebSocketServer::NonSecureMode};
    QList<QWebSocket *> m_clients;
    QHash<QTcpSocket *, QByteArray> m_buffers;
    QList<Route> m_routes;
    QHash<QString, Upload> m_uploads;
    qint64 m_nextJob = 1, m_nextTask = 100, m_seq = 0;
    int m_nextUpload = 1;
};

QByteArray errorBody(const QString &code, const QString &message);

} // namespace farm::testing
