#pragma once

#include "farmserver.h"
#include "protocol/message.h"
#include "scheduler/scheduler.h"
#include "store/sqlstore.h"
#include "testdatabase.h"

#include <QEventLoop>
#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTimer>
#include <QWebSocket>
#include <QtTest>

#include <memory>

namespace farm::server::test {

struct HttpResult
{
    int status = 0;
    QByteArray body;
    QByteArray contentType;
    QJsonObject json() const { return QJsonDocument::fromJson(body).object(); }
    QString errorCode() const { return json().value("error").toObject().value("code").toString(); }
};

/// A FarmServer on a free loopback port over a fresh data dir (and database: TestDatabase),
/// plus a blocking HTTP client.
struct TestServer
{
    QTemporaryDir dir;
    TestDatabase db{dir}; // before the server: it goes after it
    std::unique_ptr<FarmServer> server;
    QNetworkAccessManager net;
    QByteArray bearer;

    /// `clock` null: the system clock.
    explicit TestServer(ServerConfig config = {}, Clock *clock = nullptr)
    {
        config.port = 0;
        config.dataDir = dir.filePath("data");
        if (TestDatabase::postgres())
            config.database = db.url();
        server = std::make_unique<FarmServer>(config, clock);
        const auto port = server->start();
        if (!port)
            qFatal("server: %s", qPrintable(port.error().message));
    }

    QString dataDir() const { return dir.filePath("data"); }

    QUrl url(const QString &path) const
    {
        return QUrl(QString("http://127.0.0.1:%1%2").arg(server->port()).arg(path));
    }

    HttpResult request(const QByteArray &method, const QString &path, const QByteArray &body = {},
                       const QByteArray &contentType = "application/json")
    {
        QNetworkRequest req(url(path));
        if (!body.isEmpty() || method == "POST" || method == "PUT")
            req.setHeader(QNetworkRequest::ContentTypeHeader, contentType);
        if (!bearer.isEmpty())
            req.setRawHeader("Authorization", "Bearer " + bearer);
        // A custom "HEAD" verb would make QNAM wait for the body Content-Length announces.
        QNetworkReply *reply =
            method == "HEAD" ? net.head(req) : net.sendCustomRequest(req, method, body);
        QEventLoop loop;
        QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
        QTimer::singleShot(20000, &loop, &QEventLoop::quit);
        loop.exec();
        HttpResult r;
        r.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        r.body = reply->readAll();
        r.contentType = reply->header(QNetworkRequest::ContentTypeHeader).toByteArray();
        reply->deleteLater();
        return r;
    }
    HttpResult get(const QString &path) { return request("GET", path); }
    /// PUT of one output of `task` with `token` as bearer (a node's secret from welcome; empty:
    /// none, which loopback trust lets through to the handler).
    HttpResult putOutput(const QByteArray &token, qint64 task, const QString &name,
                         const QByteArray &bytes)
    {
        const QByteArray saved = std::exchange(bearer, token);
        HttpResult r = request("PUT", QString("/api/v1/tasks/%1/outputs/%2").arg(task).arg(name),
                               bytes, "application/octet-stream");
        bearer = saved;
        return r;
    }
    SqlStore &store() { return server->store(); }
    HttpResult post(const QString &path, const QJsonObject &body)
    {
        return request("POST", path, QJsonDocument(body).toJson(QJsonDocument::Compact));
    }

    /// Uploads bytes through the chunked API; returns the sha256.
    QString upload(const QByteArray &data, const QString &name = "model.glb")
    {
        const QString sha = QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex();
        const HttpResult created =
            post("/api/v1/uploads", {{"name", name}, {"size", data.size()}, {"sha256", sha}});
        if (created.status == 200)
            return sha;
        const QJsonObject u = created.json();
        const qint64 chunk = u.value("chunk_size").toInteger();
        for (int i = 0; i < u.value("chunks").toInt(); ++i)
            request("PUT",
                    QString("/api/v1/uploads/%1/chunks/%2").arg(u.value("id").toString()).arg(i),
                    data.mid(i * chunk, chunk), "application/octet-stream");
        const HttpResult done =
            request("POST", QString("/api/v1/uploads/%1/complete").arg(u.value("id").toString()));
        return done.json().value("file").toString();
    }
};

/// A WebSocket client that collects every envelope it receives.
class WsClient : public QObject
{
public:
    QWebSocket socket;
    QList<Envelope> received;
    EnvelopeWriter writer;
    bool closed = false;
    QWebSocketProtocol::CloseCode closeCode = QWebSocketProtocol::CloseCodeNormal;

    WsClient()
    {
        connect(&socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
            if (auto e = Envelope::parse(text.toUtf8()))
                received.append(*e);
        });
        connect(&socket, &QWebSocket::disconnected, this, [this] {
            closed = true;
            closeCode = socket.closeCode();
        });
    }

    bool open(const QUrl &url)
    {
        QSignalSpy spy(&socket, &QWebSocket::connected);
        socket.open(url);
        return spy.wait(5000);
    }
    void send(const QString &type, const QJsonObject &data)
    {
        socket.sendTextMessage(QString::fromUtf8(writer.write(type, data)));
    }
    /// Waits for the next message of `type` not seen yet by `from`, returns its index or -1.
    int waitFor(const QString &type, int from = 0,
                const std::function<bool(const QJsonObject &)> &match = {})
    {
        for (int waited = 0; waited < 10000; waited += 10) {
            for (int i = from; i < received.size(); ++i)
                if (received[i].type == type && (!match || match(received[i].data)))
                    return i;
            if (closed)
                return -1;
            QTest::qWait(10);
        }
        return -1;
    }
    /// The node's own secret from its welcome (bearer token for downloads and uploads).
    QByteArray secret() const
    {
        for (const Envelope &e : received)
            if (e.type == "welcome" && e.data.contains("secret"))
                return e.data.value("secret").toString().toUtf8();
        return {};
    }
    bool waitClosed()
    {
        for (int waited = 0; waited < 10000 && !closed; waited += 10)
            QTest::qWait(10);
        return closed;
    }
};

inline QJsonObject nodeHello(const QString &name, int slotCount = 1, const QString &token = {})
{
    QJsonObject h{{"protocol", 1},
                  {"name", name},
                  {"slots", slotCount},
                  {"cores", 2},
                  {"ram_mb", 4000},
                  {"engines", QJsonArray{QJsonObject{{"name", "farmhand"}, {"version", "1"}}}},
                  {"gpus", QJsonArray{}},
                  {"tags", QJsonArray{}},
                  {"running", QJsonArray{}}};
    if (!token.isEmpty())
        h.insert("token", token);
    return h;
}

inline QJsonObject jobBody(const QString &sha, const QString &frames = "1-2", int chunk = 1)
{
    return {{"name", "api job"},
            {"type", "model"},
            {"input", QJsonObject{{"file", sha}, {"name", "model.glb"}}},
            {"frames", frames},
            {"chunk", chunk},
            {"settings", QJsonObject{{"width", 64}, {"height", 48}, {"spp", 1}}}};
}

} // namespace farm::server::test
