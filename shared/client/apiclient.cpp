#include "client/apiclient.h"

#include "util/json.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkProxy>

namespace farm::client {

namespace {

constexpr qint64 kMaxErrorBody = 64 * 1024;

QString encodeSegment(const QString &s)
{
    return QString::fromLatin1(QUrl::toPercentEncoding(s));
}

} // namespace

ApiClient::ApiClient(const QUrl &baseUrl, QObject *parent)
    : QObject(parent)
    , m_baseUrl(baseUrl)
{
    // Connection refused should surface at once, not after a proxy lookup.
    m_network.setProxy(QNetworkProxy::NoProxy);
}

ApiClient::~ApiClient()
{
    // Replies die with m_network, before QObject would cut their connections to this client:
    // cut them first so no callback runs into a half-destroyed client.
    for (QNetworkReply *reply : m_network.findChildren<QNetworkReply *>()) {
        reply->disconnect(this);
        reply->abort();
    }
}

Result<QUrl> ApiClient::parseServerUrl(const QString &text)
{
    const QUrl url = QUrl::fromUserInput(text.trimmed());
    if (!url.isValid() || url.host().isEmpty())
        return makeError("invalid_url", QString("'%1' is not a server URL").arg(text));
    if (url.scheme() != "http" && url.scheme() != "https")
        return makeError("invalid_url",
                         QString("server URL '%1' must start with http:// or https://").arg(text));
    return url;
}

QNetworkRequest ApiClient::makeRequest(const QString &path) const
{
    QUrl url = m_baseUrl;
    const int q = path.indexOf('?');
    QString basePath = url.path();
    if (basePath.endsWith('/'))
        basePath.chop(1);
    url.setPath(basePath + (q < 0 ? path : path.left(q)), QUrl::TolerantMode);
    url.setQuery(q < 0 ? QString() : path.mid(q + 1));
    QNetworkRequest request(url);
    request.setRawHeader("Accept", "application/json");
    if (!m_token.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + m_token.toUtf8());
    if (m_transferTimeoutMs > 0)
        request.setTransferTimeout(m_transferTimeoutMs);
    return request;
}

Result<QByteArray> ApiClient::replyResult(QNetworkReply *reply, const QByteArray &body)
{
    const QVariant status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute);
    if (!status.isValid()) {
        const QString url = reply->url().adjusted(QUrl::RemoveQuery | QUrl::RemovePath).toString();
        if (reply->error() == QNetworkReply::OperationCanceledError)
            return makeError("timeout", QString("no answer from %1 (timed out)").arg(url));
        return makeError("unreachable",
                         QString("cannot reach server %1: %2").arg(url, reply->errorString()));
    }
    if (status.toInt() >= 400)
        return decodeErrorBody(status.toInt(), body);
    if (reply->error() != QNetworkReply::NoError)
        return makeError("network", reply->errorString());
    return body;
}

QNetworkReply *ApiClient::send(const QByteArray &verb, const QString &path, const QByteArray &body,
                               const QByteArray &contentType, Callback<QByteArray> done,
                               ProgressFn uploadProgress)
{
    QNetworkRequest request = makeRequest(path);
    if (!contentType.isEmpty())
        request.setHeader(QNetworkRequest::ContentTypeHeader, contentType);
    QNetworkReply *reply = m_network.sendCustomRequest(request, verb, body);
    if (uploadProgress)
        connect(reply, &QNetworkReply::uploadProgress, this, uploadProgress);
    connect(reply, &QNetworkReply::finished, this, [reply, done = std::move(done)] {
        reply->deleteLater();
        done(replyResult(reply, reply->readAll()));
    });
    return reply;
}

void ApiClient::sendJson(const QByteArray &verb, const QString &path, const QJsonObject *body,
                         Callback<QJsonObject> done)
{
    const QByteArray payload =
        body ? QJsonDocument(*body).toJson(QJsonDocument::Compact) : QByteArray();
    send(verb, path, payload, body ? "application/json" : QByteArray(),
         [done = std::move(done)](Result<QByteArray> r) {
             if (!r)
                 return done(r.error());
             if (r->trimmed().isEmpty()) // 204 and friends
                 return done(QJsonObject{});
             auto object = json::parseObject(*r);
             if (!object)
                 return done(makeError("bad_response", "server answer is not a JSON object: " +
                                                           object.error().message));
             done(*object);
         });
}

template<typename T>
void ApiClient::getDecoded(const QString &path, Result<T> (*decode)(const QJsonObject &),
                           Callback<T> done)
{
    sendJson("GET", path, nullptr, [decode, done = std::move(done)](Result<QJsonObject> r) {
        if (!r)
            return done(r.error());
        done(decode(*r));
    });
}

void ApiClient::status(Callback<ServerStatus> done)
{
    getDecoded<ServerStatus>("/api/v1/status", &decodeStatus, std::move(done));
}

void ApiClient::listJobs(const JobQuery &query, Callback<JobPage> done)
{
    getDecoded<JobPage>("/api/v1/jobs?" + query.toUrlQuery().toString(QUrl::FullyEncoded),
                        &decodeJobPage, std::move(done));
}

void ApiClient::getJob(qint64 id, Callback<Job> done)
{
    getDecoded<Job>(QString("/api/v1/jobs/%1").arg(id), &decodeJob, std::move(done));
}

void ApiClient::createJob(const JobSpec &spec, Callback<Job> done)
{
    const QJsonObject body = spec.toJson();
    sendJson("POST", "/api/v1/jobs", &body, [done = std::move(done)](Result<QJsonObject> r) {
        if (!r)
            return done(r.error());
        done(decodeJob(*r));
    });
}

void ApiClient::cancelJob(qint64 id, Callback<Job> done)
{
    const QJsonObject empty;
    sendJson("POST", QString("/api/v1/jobs/%1/cancel").arg(id), &empty,
             [done = std::move(done)](Result<QJsonObject> r) {
                 if (!r)
                     return done(r.error());
                 done(decodeJob(*r));
             });
}

void ApiClient::jobAction(qint64 id, const QString &action, const QJsonObject &body,
                          Callback<Job> done)
{
    sendJson("POST", QString("/api/v1/jobs/%1/%2").arg(id).arg(action), &body,
             [done = std::move(done)](Result<QJsonObject> r) {
                 if (!r)
                     return done(r.error());
                 done(decodeJob(*r));
             });
}

void ApiClient::deleteJob(qint64 id, Callback<void> done)
{
    send("DELETE", QString("/api/v1/jobs/%1").arg(id), {}, {},
         [done = std::move(done)](Result<QByteArray> r) {
             if (!r)
                 return done(r.error());
             done({});
         });
}

void ApiClient::requeueTask(qint64 taskId, Callback<Task> done)
{
    const QJsonObject empty;
    sendJson("POST", QString("/api/v1/tasks/%1/requeue").arg(taskId), &empty,
             [done = std::move(done)](Result<QJsonObject> r) {
                 if (!r)
                     return done(r.error());
                 done(Task::fromJson(*r));
             });
}

void ApiClient::explainJob(qint64 id, Callback<QStringList> done)
{
    sendJson("GET", QString("/api/v1/jobs/%1/explain").arg(id), nullptr,
             [done = std::move(done)](Result<QJsonObject> r) {
                 if (!r)
                     return done(r.error());
                 QStringList reasons;
                 for (const QJsonValue &v : r->value("reasons").toArray())
                     reasons.append(v.toString());
                 done(reasons);
             });
}

void ApiClient::nodeAction(qint64 id, const QString &action, Callback<Node> done)
{
    const QJsonObject empty;
    sendJson("POST", QString("/api/v1/nodes/%1/%2").arg(id).arg(action), &empty,
             [done = std::move(done)](Result<QJsonObject> r) {
                 if (!r)
                     return done(r.error());
                 done(Node::fromJson(*r));
             });
}

void ApiClient::jobTasks(qint64 id, Callback<QList<Task>> done)
{
    getDecoded<QList<Task>>(QString("/api/v1/jobs/%1/tasks").arg(id), &decodeTasks,
                            std::move(done));
}

void ApiClient::jobOutputs(qint64 id, Callback<QList<OutputInfo>> done)
{
    getDecoded<QList<OutputInfo>>(QString("/api/v1/jobs/%1/outputs").arg(id), &decodeOutputs,
                                  std::move(done));
}

void ApiClient::nodes(Callback<QList<Node>> done)
{
    getDecoded<QList<Node>>("/api/v1/nodes", &decodeNodes, std::move(done));
}

void ApiClient::jobTypes(Callback<QList<JobTypeInfo>> done)
{
    getDecoded<QList<JobTypeInfo>>("/api/v1/job-types", &decodeJobTypes, std::move(done));
}

void ApiClient::taskLog(qint64 taskId, Callback<QString> done)
{
    send("GET", QString("/api/v1/tasks/%1/log").arg(taskId), {}, {},
         [done = std::move(done)](Result<QByteArray> r) {
             if (!r)
                 return done(r.error());
             done(QString::fromUtf8(*r));
         });
}

void ApiClient::taskLogTail(qint64 taskId, qint64 tailBytes, Callback<QString> done)
{
    send("GET", QString("/api/v1/tasks/%1/log?tail=%2").arg(taskId).arg(tailBytes), {}, {},
         [done = std::move(done)](Result<QByteArray> r) {
             if (!r)
                 return done(r.error());
             done(QString::fromUtf8(*r));
         });
}

void ApiClient::taskPreview(qint64 taskId, Callback<QByteArray> done)
{
    send("GET", QString("/api/v1/tasks/%1/preview").arg(taskId), {}, {}, std::move(done));
}

void ApiClient::fetchOutput(qint64 jobId, const QString &name, Callback<QByteArray> done)
{
    if (!isValidOutputName(name))
        return done(makeError("invalid_field", QString("'%1' is not an output name").arg(name)));
    send("GET", QString("/api/v1/jobs/%1/outputs/%2").arg(jobId).arg(encodeSegment(name)), {}, {},
         std::move(done));
}

void ApiClient::downloadOutput(qint64 jobId, const QString &name, const QString &filePath,
                               Callback<qint64> done, ProgressFn progress)
{
    if (!isValidOutputName(name))
        return done(makeError("invalid_field", QString("'%1' is not an output name").arg(name)));
    downloadFile(QString("/api/v1/jobs/%1/outputs/%2").arg(jobId).arg(encodeSegment(name)),
                 filePath, std::move(done), std::move(progress));
}

void ApiClient::downloadArchive(qint64 jobId, const QString &filePath, Callback<qint64> done,
                                ProgressFn progress)
{
    downloadFile(QString("/api/v1/jobs/%1/archive").arg(jobId), filePath, std::move(done),
                 std::move(progress));
}

void ApiClient::downloadFile(const QString &path, const QString &filePath, Callback<qint64> done,
                             ProgressFn progress)
{
    auto file = std::make_shared<QFile>(filePath + ".part");
    if (!file->open(QIODevice::WriteOnly | QIODevice::Truncate))
        return done(makeError(
            "io", QString("cannot write %1: %2").arg(file->fileName(), file->errorString())));
    QNetworkRequest request = makeRequest(path);
    request.setRawHeader("Accept", "*/*");
    QNetworkReply *reply = m_network.get(request);
    auto errorBody = std::make_shared<QByteArray>();
    auto writeFailed = std::make_shared<QString>();
    // Bytes go to disk as they arrive, so an output of any size costs one socket buffer.
    connect(reply, &QNetworkReply::readyRead, this, [=] {
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const QByteArray data = reply->readAll();
        if (status >= 400) {
            if (errorBody->size() < kMaxErrorBody)
                errorBody->append(data);
            return;
        }
        if (writeFailed->isEmpty() && file->write(data) != data.size()) {
            *writeFailed = file->errorString();
            reply->abort();
        }
    });
    if (progress)
        connect(reply, &QNetworkReply::downloadProgress, this, progress);
    connect(reply, &QNetworkReply::finished, this, [=] {
        reply->deleteLater();
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const QByteArray rest = reply->readAll();
        if (status >= 400)
            errorBody->append(rest);
        else if (writeFailed->isEmpty() && file->write(rest) != rest.size())
            *writeFailed = file->errorString();
        const qint64 written = file->size();
        const bool flushed = file->flush();
        file->close();
        auto fail = [&](Error e) {
            file->remove();
            done(std::move(e));
        };
        if (!writeFailed->isEmpty() || !flushed)
            return fail(makeError(
                "io", QString("cannot write %1: %2").arg(file->fileName(), *writeFailed)));
        const auto result = replyResult(reply, *errorBody);
        if (!result)
            return fail(result.error());
        QFile::remove(filePath);
        if (!file->rename(filePath))
            return fail(makeError("io", QString("cannot rename %1 to %2: %3")
                                            .arg(file->fileName(), filePath, file->errorString())));
        done(written);
    });
}

} // namespace farm::client
