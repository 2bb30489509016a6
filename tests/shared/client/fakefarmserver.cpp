#include "fakefarmserver.h"

#include "protocol/message.h"

#include <QCryptographicHash>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTcpSocket>
#include <QWebSocket>

namespace farm::testing {

namespace {

QByteArray toJson(const QJsonObject &o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

QByteArray reason(int status)
{
    static const QHash<int, QByteArray> names{{200, "OK"},
                                              {201, "Created"},
                                              {204, "No Content"},
                                              {400, "Bad Request"},
                                              {404, "Not Found"},
                                              {409, "Conflict"},
                                              {426, "Upgrade Required"},
                                              {500, "Internal Server Error"}};
    return names.value(status, "Status");
}

} // namespace

QByteArray errorBody(const QString &code, const QString &message)
{
    return toJson({{"error", QJsonObject{{"code", code}, {"message", message}}}});
}

QJsonArray FakeFarmServer::builtinJobTypes()
{
    QFile file(FAKE_JOB_TYPES_JSON);
    if (!file.open(QIODevice::ReadOnly))
        qFatal("cannot read %s", FAKE_JOB_TYPES_JSON);
    return QJsonDocument::fromJson(file.readAll()).object().value("job_types").toArray();
}

FakeFarmServer::FakeFarmServer(QObject *parent)
    : QObject(parent)
    , jobTypes(builtinJobTypes())
{
    connect(&m_tcp, &QTcpServer::newConnection, this, &FakeFarmServer::onConnection);
    connect(&m_ws, &QWebSocketServer::newConnection, this, [this] {
        while (QWebSocket *ws = m_ws.nextPendingConnection()) {
            m_clients.append(ws);
            connect(ws, &QWebSocket::disconnected, this, [this, ws] {
                m_clients.removeAll(ws);
                ws->deleteLater();
            });
            ws->sendTextMessage(EnvelopeWriter().write(msg::Hello, {{"protocol", 1}}));
            emit eventClientConnected();
        }
    });
    addRoutes();
    addJobRoutes();
}

FakeFarmServer::~FakeFarmServer()
{
    // Sockets die with m_tcp after the members their handlers touch: cut them loose first.
    m_tcp.close();
    for (QTcpSocket *socket : m_tcp.findChildren<QTcpSocket *>()) {
        socket->disconnect(this);
        delete socket;
    }
    for (QWebSocket *ws : std::as_const(m_clients)) {
        ws->disconnect(this);
        ws->abort();
        delete ws;
    }
}

bool FakeFarmServer::listen()
{
    return m_tcp.listen(QHostAddress::LocalHost, 0);
}

QUrl FakeFarmServer::url() const
{
    return QUrl(QString("http://127.0.0.1:%1").arg(m_tcp.serverPort()));
}

void FakeFarmServer::broadcast(const QString &type, const QJsonObject &data)
{
    broadcastRaw(QString::fromUtf8(toJson({{"type", type}, {"seq", ++m_seq}, {"data", data}})));
}

void FakeFarmServer::broadcastRaw(const QString &text)
{
    for (QWebSocket *ws : std::as_const(m_clients))
        ws->sendTextMessage(text);
}

void FakeFarmServer::dropEventClients()
{
    for (QWebSocket *ws : std::as_const(m_clients))
        ws->close(QWebSocketProtocol::CloseCodeGoingAway, "restart");
}

void FakeFarmServer::onConnection()
{
    while (QTcpSocket *socket = m_tcp.nextPendingConnection()) {
        connect(socket, &QTcpSocket::readyRead, this, [this, socket] { onReadyRead(socket); });
        connect(socket, &QTcpSocket::disconnected, this, [this, socket] {
            m_buffers.remove(socket);
            socket->deleteLater();
        });
    }
}

void FakeFarmServer::onReadyRead(QTcpSocket *socket)
{
    // The first request of a connection may be a WebSocket upgrade: look without consuming, so
    // QWebSocketServer can read the handshake itself.
    if (!m_buffers.contains(socket)) {
        const QByteArray head = socket->peek(socket->bytesAvailable());
        if (!head.contains("\r\n\r\n"))
            return;
        if (head.toLower().contains("upgrade: websocket")) {
            lastAuthorization.clear();
            for (const QByteArray &line : head.split('\n'))
                if (line.toLower().startsWith("authorization:"))
                    lastAuthorization = line.mid(14).trimmed();
            socket->disconnect(this);
            if (!acceptWebSockets) {
                socket->write("HTTP/1.1 503 Service Unavailable\r\nContent-Length: "
                              "0\r\nConnection: close\r\n\r\n");
                socket->disconnectFromHost();
                connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
                return;
            }
            m_ws.handleConnection(socket);
            return;
        }
    }
    QByteArray &buffer = m_buffers[socket];
    buffer += socket->readAll();
    for (;;) {
        const qsizetype end = buffer.indexOf("\r\n\r\n");
        if (end < 0)
            return;
        const QList<QByteArray> lines = buffer.left(end).split('\n');
        const QList<QByteArray> first = lines.value(0).trimmed().split(' ');
        Request req;
        req.method = first.value(0);
        const QString target = QString::fromUtf8(first.value(1));
        req.path = QUrl::fromPercentEncoding(target.section('?', 0, 0).toUtf8());
        req.query = target.section('?', 1);
        for (int i = 1; i < lines.size(); ++i) {
            const qsizetype colon = lines[i].indexOf(':');
            if (colon > 0)
                req.headers.insert(lines[i].left(colon).trimmed().toLower(),
                                   lines[i].mid(colon + 1).trimmed());
        }
        const qint64 length = req.headers.value("content-length", "0").toLongLong();
        if (buffer.size() < end + 4 + length)
            return;
        req.body = buffer.mid(end + 4, length);
        buffer.remove(0, end + 4 + length);
        lastAuthorization = req.headers.value("authorization");
        requestLog.append(QString("%1 %2").arg(QString::fromLatin1(req.method), target));

        std::optional<Response> r = intercept ? intercept(req) : std::nullopt;
        const Response resp = r ? *r : dispatch(req);
        QByteArray out =
            "HTTP/1.1 " + QByteArray::number(resp.status) + ' ' + reason(resp.status) + "\r\n";
        if (resp.status != 204)
            out += "Content-Type: " + resp.contentType + "\r\n";
        out += "Content-Length: " + QByteArray::number(resp.body.size()) + "\r\n\r\n";
        socket->write(out + resp.body);
    }
}

FakeFarmServer::Response FakeFarmServer::dispatch(const Request &request)
{
    bool pathKnown = false;
    for (const Route &route : std::as_const(m_routes)) {
        const auto match = route.path.match(request.path);
        if (!match.hasMatch())
            continue;
        pathKnown = true;
        if (route.method == request.method)
            return route.handler(request, match);
    }
    if (request.path == "/ws/events")
        return {426, errorBody("bad_request", "WebSocket upgrade required")};
    return {404, errorBody("not_found", pathKnown ? "method not allowed" : "no such endpoint")};
}

QString FakeFarmServer::preReceive(const QString &name, const QByteArray &data,
                                   const QList<int> &chunks)
{
    Upload u;
    u.id = QString("up%1").arg(m_nextUpload++);
    u.name = name;
    u.size = data.size();
    u.sha256 =
        QString::fromLatin1(QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex());
    for (int i : chunks)
        u.chunks.insert(i, data.mid(qint64(i) * chunkSize, chunkSize));
    m_uploads.insert(u.id, u);
    return u.id;
}

void FakeFarmServer::addRoutes()
{
    auto route = [this](const char *method, const char *pattern, auto handler) {
        m_routes.append({method, QRegularExpression(QString("^%1$").arg(pattern)), handler});
    };
    auto chunkCount = [this](const Upload &u) { return int((u.size + chunkSize - 1) / chunkSize); };
    auto received = [](const Upload &u) {
        QJsonArray a;
        for (int i : u.chunks.keys())
            a.append(i);
        return a;
    };
    route("GET", "/api/v1/status", [this](const Request &, const QRegularExpressionMatch &) {
        return Response{200, toJson({{"version", "0.1.0"},
                                     {"protocol", 1},
                                     {"uptime_s", 5},
                                     {"jobs", QJsonObject{{"queued", int(jobs.size())}}},
                                     {"nodes", QJsonObject{{"online", int(nodes.size())},
                                                           {"total", int(nodes.size())}}}})};
    });
    route("POST", "/api/v1/uploads", [=, this](const Request &r, const QRegularExpressionMatch &) {
        const QJsonObject o = QJsonDocument::fromJson(r.body).object();
        const QString sha = o.value("sha256").toString();
        if (!isSha256Hex(sha) || !o.value("size").isDouble() ||
            o.value("name").toString().isEmpty())
            return Response{400, errorBody("invalid_field", "name, size and sha256 are required")};
        if (files.contains(sha))
            return Response{200, toJson({{"exists", true}, {"file", sha}})};
        auto it = std::find_if(m_uploads.begin(), m_uploads.end(),
                               [&](const Upload &u) { return u.sha256 == sha; });
        if (it == m_uploads.end()) {
            Upload u{QString("up%1").arg(m_nextUpload++),
                     o.value("name").toString(),
                     sha,
                     o.value("size").toInteger(),
                     {}};
            it = m_uploads.insert(u.id, u);
        }
        return Response{201, toJson({{"id", it->id},
                                     {"chunk_size", chunkSize},
                                     {"chunks", chunkCount(*it)},
                                     {"received", received(*it)}})};
    });
    route("PUT", "/api/v1/uploads/(\\w+)/chunks/(\\d+)",
          [=, this](const Request &r, const QRegularExpressionMatch &m) {
              if (!m_uploads.contains(m.captured(1)))
                  return Response{404, errorBody("not_found", "no such upload")};
              Upload &u = m_uploads[m.captured(1)];
              const int n = m.captured(2).toInt();
              if (failPuts > 0) {
                  --failPuts;
                  return Response{500, errorBody("internal", "disk hiccup")};
              }
              if (n >= chunkCount(u) || r.body.size() > chunkSize)
                  return Response{400, errorBody("invalid_field", "chunk out of range")};
              QByteArray body = r.body;
              if (corruptPuts > 0 && !body.isEmpty()) {
                  --corruptPuts;
                  body[0] = char(body[0] ^ 0x5a);
              }
              // The real server's rule: a chunk that hashes otherwise is refused, not kept.
              const QByteArray claimed = r.headers.value("x-chunk-sha256");
              chunkChecksums.append(claimed);
              if (!claimed.isEmpty() &&
                  claimed != QCryptographicHash::hash(body, QCryptographicHash::Sha256).toHex())
                  return Response{400, errorBody("chunk_checksum",
                                                 QString("chunk %1 hashes otherwise").arg(n))};
              putChunks.append(n);
              u.chunks.insert(n, body);
              return Response{200, toJson({{"received", received(u)}})};
          });
    route("DELETE", "/api/v1/uploads/(\\w+)",
          [this](const Request &, const QRegularExpressionMatch &m) {
              if (!m_uploads.remove(m.captured(1)))
                  return Response{404, errorBody("not_found", "no such upload")};
              deletedUploads.append(m.captured(1));
              return Response{204, {}};
          });
    route("POST", "/api/v1/uploads/(\\w+)/complete",
          [=, this](const Request &, const QRegularExpressionMatch &m) {
              if (!m_uploads.contains(m.captured(1)))
                  return Response{404, errorBody("not_found", "no such upload")};
              const Upload u = m_uploads.value(m.captured(1));
              if (u.chunks.size() != chunkCount(u))
                  return Response{400, errorBody("incomplete", "chunks are missing")};
              QByteArray data;
              for (const QByteArray &c : u.chunks)
                  data += c;
              const QString sha = QString::fromLatin1(
                  QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex());
              if (sha != u.sha256)
                  return Response{400, errorBody("hash_mismatch", "uploaded bytes do not match")};
              files.insert(sha, data);
              m_uploads.remove(u.id);
              return Response{200, toJson({{"file", sha}, {"size", data.size()}})};
          });
    route("HEAD", "/api/v1/files/([0-9a-f]{64})",
          [this](const Request &, const QRegularExpressionMatch &m) {
              return Response{files.contains(m.captured(1)) ? 200 : 404, {}};
          });
    route("GET", "/api/v1/job-types", [this](const Request &, const QRegularExpressionMatch &) {
        return Response{200, toJson({{"job_types", jobTypes}})};
    });
    route("GET", "/api/v1/nodes", [this](const Request &, const QRegularExpressionMatch &) {
        QJsonArray a;
        for (const Node &n : std::as_const(nodes))
            a.append(n.toJson());
        return Response{200, toJson({{"nodes", a}})};
    });
    route(
        "GET", "/api/v1/tasks/(\\d+)/log",
        [this](const Request &, const QRegularExpressionMatch &m) {
            const qint64 id = m.captured(1).toLongLong();
            if (!logs.contains(id))
                return Response{404, errorBody("not_found", QString("task %1 not found").arg(id))};
            return Response{200, logs.value(id).toUtf8(), "text/plain; charset=utf-8"};
        });
}

} // namespace farm::testing
