#include "api/httpserver.h"

#include <QFile>
#include <QHttpServerRequest>
#include <QJsonDocument>
#include <QTcpServer>
#include <QTcpSocket>

#include <algorithm>

namespace farm::server {
namespace {

QByteArray reason(int status)
{
    static const QHash<int, QByteArray> kReasons{{100, "Continue"},
                                                 {200, "OK"},
                                                 {201, "Created"},
                                                 {204, "No Content"},
                                                 {400, "Bad Request"},
                                                 {401, "Unauthorized"},
                                                 {403, "Forbidden"},
                                                 {404, "Not Found"},
                                                 {405, "Method Not Allowed"},
                                                 {409, "Conflict"},
                                                 {413, "Payload Too Large"},
                                                 {426, "Upgrade Required"},
                                                 {500, "Internal Server Error"}};
    return kReasons.value(status, "Status");
}

QByteArray methodName(QHttpServerRequest::Method m)
{
    switch (m) {
    case QHttpServerRequest::Method::Get:
        return "GET";
    case QHttpServerRequest::Method::Put:
        return "PUT";
    case QHttpServerRequest::Method::Delete:
        return "DELETE";
    case QHttpServerRequest::Method::Post:
        return "POST";
    case QHttpServerRequest::Method::Head:
        return "HEAD";
    case QHttpServerRequest::Method::Options:
        return "OPTIONS";
    case QHttpServerRequest::Method::Patch:
        return "PATCH";
    default:
        return "UNKNOWN";
    }
}

QByteArray errorBody(const QString &code, const QString &message)
{
    return QJsonDocument(QJsonObject{{"error", QJsonObject{{"code", code}, {"message", message}}}})
        .toJson(QJsonDocument::Compact);
}

/// Streams one file to a socket as it drains; deletes itself when done or when the peer leaves.
class FilePump : public QObject
{
public:
    FilePump(QTcpSocket *socket, const QString &path)
        : QObject(socket)
        , m_socket(socket)
        , m_file(path)
    {
        m_file.open(QIODevice::ReadOnly);
        connect(socket, &QTcpSocket::bytesWritten, this, &FilePump::pump);
        pump();
    }

private:
    void pump()
    {
        constexpr qint64 kPiece = 256 * 1024;
        while (m_socket->bytesToWrite() < 4 * kPiece) {
            const QByteArray piece = m_file.read(kPiece);
            if (piece.isEmpty()) {
                deleteLater();
                disconnect(m_socket, nullptr, this, nullptr);
                return;
            }
            m_socket->write(piece);
        }
    }
    QTcpSocket *m_socket;
    QFile m_file;
};

/// Looks at request heads before QAbstractHttpServer buffers the body: refuses bodies larger
/// than the route allows with 413, and answers `Expect: 100-continue` (6.4 never does).
class GuardedTcpServer : public QTcpServer
{
public:
    explicit GuardedTcpServer(HttpServer *http)
        : m_http(http)
    {}

protected:
    void incomingConnection(qintptr handle) override
    {
        auto *socket = new QTcpSocket(this);
        if (!socket->setSocketDescriptor(handle)) {
            delete socket;
            return;
        }
        // Connected before QAbstractHttpServer's own slot, so it runs first.
        connect(socket, &QTcpSocket::readyRead, socket, [this, socket] { inspect(socket); });
        addPendingConnection(socket);
    }

private:
    void inspect(QTcpSocket *socket)
    {
        if (socket->isTransactionStarted() || socket->property("farm.rejected").toBool())
            return; // mid-request: the head was already looked at
        const QByteArray head = socket->peek(16 * 1024);
        const qsizetype end = head.indexOf("\r\n\r\n");
        if (end < 0)
            return;
        const QList<QByteArray> lines = head.left(end).split('\n');
        const QList<QByteArray> first = lines.value(0).trimmed().split(' ');
        if (first.size() < 2)
            return;
        qint64 length = 0;
        bool expectContinue = false;
        for (const QByteArray &raw : lines.mid(1)) {
            const qsizetype colon = raw.indexOf(':');
            const QByteArray key = raw.left(colon).trimmed().toLower();
            const QByteArray value = raw.mid(colon + 1).trimmed();
            if (key == "content-length")
                length = value.toLongLong();
            else if (key == "expect" && value.toLower() == "100-continue")
                expectContinue = true;
        }
        const QString path = QUrl(QString::fromLatin1(first[1])).path();
        const qint64 limit = m_http->bodyLimit(first[0], path);
        if (limit >= 0 && length > limit) {
            socket->setProperty("farm.rejected", true);
            const QByteArray body = errorBody(
                "too_large", QString("the request body is %1 bytes; this endpoint takes at most %2")
                                 .arg(length)
                                 .arg(limit));
            // QAbstractHttpServer never sees this request; its other connections (cleanup on
            // disconnect) stay.
            QObject::disconnect(socket, &QTcpSocket::readyRead, nullptr, nullptr);
            connect(socket, &QTcpSocket::readyRead, socket, [socket] { socket->readAll(); });
            socket->readAll();
            socket->write("HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
                          "Connection: close\r\nContent-Length: " +
                          QByteArray::number(body.size()) + "\r\n\r\n" + body);
            socket->disconnectFromHost();
            return;
        }
        if (expectContinue)
            socket->write("HTTP/1.1 100 Continue\r\n\r\n");
    }
    HttpServer *m_http;
};

} // namespace

QByteArray HttpRequest::header(const QByteArray &name) const
{
    for (const auto &[k, v] : headers)
        if (k.compare(name, Qt::CaseInsensitive) == 0)
            return v;
    return {};
}

bool HttpRequest::isLoopback() const
{
    return peer.isLoopback();
}

QByteArray HttpRequest::bearer() const
{
    // The scheme is case-insensitive (RFC 9110 section 11.1): "bearer" works like "Bearer".
    const QByteArray auth = header("authorization").trimmed();
    if (auth.size() > 7 && auth.left(7).toLower() == "bearer ")
        return auth.mid(7).trimmed();
    return query.queryItemValue("token").toUtf8(); // browsers cannot set headers on WebSockets
}

HttpReply::HttpReply(QTcpSocket *socket, bool headOnly)
    : m_socket(socket)
    , m_headOnly(headOnly)
{}

void HttpReply::head(int status, qint64 length, const QByteArray &contentType,
                     const QList<QPair<QByteArray, QByteArray>> &extra)
{
    QByteArray out = "HTTP/1.1 " + QByteArray::number(status) + ' ' + reason(status) + "\r\n";
    if (!contentType.isEmpty())
        out += "Content-Type: " + contentType + "\r\n";
    out += "Content-Length: " + QByteArray::number(length) + "\r\n";
    for (const auto &[k, v] : extra)
        out += k + ": " + v + "\r\n";
    m_socket->write(out + "\r\n");
}

void HttpReply::send(int status, const QByteArray &body, const QByteArray &contentType,
                     const QList<QPair<QByteArray, QByteArray>> &extra)
{
    if (!m_socket)
        return;
    head(status, body.size(), contentType, extra);
    if (!m_headOnly)
        m_socket->write(body);
}

void HttpReply::json(int status, const QJsonObject &body)
{
    send(status, QJsonDocument(body).toJson(QJsonDocument::Compact), "application/json");
}

void HttpReply::error(int status, const QString &code, const QString &message)
{
    send(status, errorBody(code, message), "application/json");
}

void HttpReply::noContent()
{
    if (m_socket)
        m_socket->write("HTTP/1.1 204 No Content\r\n\r\n");
}

void HttpReply::file(const QString &path, const QByteArray &contentType)
{
    if (!m_socket)
        return;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        error(404, "not_found", "the file is gone");
        return;
    }
    head(200, f.size(), contentType, {});
    if (!m_headOnly && f.size() > 0)
        new FilePump(m_socket, path);
}

HttpServer::HttpServer(AuthConfig auth, QObject *parent)
    : QAbstractHttpServer(parent)
    , m_auth(std::move(auth))
{}

std::variant<quint16, QString> HttpServer::listenOn(const QHostAddress &address, quint16 port)
{
    auto *server = new GuardedTcpServer(this);
    if (!server->listen(address, port)) {
        const QString why = server->errorString();
        delete server;
        return QString("cannot listen on %1:%2: %3").arg(address.toString()).arg(port).arg(why);
    }
    bind(server);
    return server->serverPort();
}

void HttpServer::addRoute(const QByteArray &method, const QString &pattern, Access access,
                          std::function<void(const HttpRequest &, HttpReply)> handler,
                          qint64 maxBody)
{
    m_routes.append(
        {method, QRegularExpression('^' + pattern + '$'), access, maxBody, std::move(handler)});
}

void HttpServer::addWebSocketPath(const QString &path, Access access)
{
    m_webSocketPaths.append({path, access});
}

bool HttpServer::allowed(HttpRequest &request, Access access) const
{
    const QByteArray token = request.bearer();
    if (access == Access::Node && !token.isEmpty() && m_auth.nodeForToken)
        request.nodeId = m_auth.nodeForToken(token);
    if (access == Access::Public)
        return true;
    if (m_auth.trustLoopback && request.isLoopback())
        return true;
    if (token.isEmpty())
        return false;
    if (!m_auth.token.isEmpty() && token == m_auth.token.toUtf8())
        return true;
    if (access != Access::Node)
        return false;
    return request.nodeId > 0 ||
           (!m_auth.joinToken.isEmpty() && token == m_auth.joinToken.toUtf8());
}

qint64 HttpServer::bodyLimit(const QByteArray &method, const QString &path) const
{
    for (const Route &r : m_routes)
        if (r.method == method && r.pattern.match(path).hasMatch())
            return r.maxBody;
    return -1;
}

bool HttpServer::handleRequest(const QHttpServerRequest &request, QTcpSocket *socket)
{
    HttpRequest req;
    req.method = methodName(request.method());
    req.path = request.url().path();
    req.query = request.query();
    req.peer = request.remoteAddress();
    req.headers = request.headers();
    HttpReply reply(socket, req.method == "HEAD");

    if (request.value("upgrade").compare("websocket", Qt::CaseInsensitive) == 0) {
        for (const auto &[path, access] : m_webSocketPaths)
            if (path == req.path)
                return allowed(req, access); // true + nothing written: the upgrade proceeds
        return false;
    }
    for (const auto &[path, access] : m_webSocketPaths) {
        if (path == req.path) {
            reply.error(426, "upgrade_required", "this path speaks WebSocket only");
            return true;
        }
    }

    bool pathKnown = false;
    for (const Route &r : m_routes) {
        const auto m = r.pattern.match(req.path);
        if (!m.hasMatch())
            continue;
        pathKnown = true;
        if (r.method != req.method && !(r.method == "GET" && req.method == "HEAD"))
            continue;
        if (!allowed(req, r.access)) {
            reply.error(401, "unauthorized", "a valid 'Authorization: Bearer <token>' is required");
            return true;
        }
        req.body = request.body();
        if (req.body.size() > r.maxBody) {
            reply.error(413, "too_large",
                        QString("the request body is larger than %1 bytes").arg(r.maxBody));
            return true;
        }
        req.args = m.capturedTexts().mid(1);
        r.handler(req, reply);
        return true;
    }
    if (pathKnown) {
        reply.error(
            405, "method_not_allowed",
            QString("%1 is not allowed on %2").arg(QString::fromLatin1(req.method), req.path));
        return true;
    }
    return false;
}

void HttpServer::missingHandler(const QHttpServerRequest &request, QTcpSocket *socket)
{
    const bool upgrade = request.value("upgrade").compare("websocket", Qt::CaseInsensitive) == 0;
    HttpReply reply(socket, request.method() == QHttpServerRequest::Method::Head);
    const QString path = request.url().path();
    const bool known = std::any_of(m_webSocketPaths.cbegin(), m_webSocketPaths.cend(),
                                   [&](const auto &p) { return p.first == path; });
    if (upgrade && known)
        reply.error(401, "unauthorized", "this WebSocket path needs a valid token");
    else
        reply.error(404, "not_found", QString("no such resource: %1").arg(request.url().path()));
}

} // namespace farm::server
