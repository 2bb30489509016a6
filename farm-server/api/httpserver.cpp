#include "api/httpserver.h"

#include "scheduler/nodecredentials.h"

#include <QFile>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>

#include <cmath>
#include <optional>

#ifdef Q_OS_UNIX
#include <sys/socket.h>
#endif

Q_LOGGING_CATEGORY(lcHttp, "farm.http")

namespace farm::server {
namespace {

/// Qt's read buffer per connection: a peer that sends faster than we read is slowed by TCP.
constexpr qint64 kReadBufferBytes = 256 * 1024;
/// After a refusal, what the peer still sends is read and dropped for this long, so that it
/// sees the answer instead of a reset.
constexpr int kLingerMs = 2000;

/// Sends FIN after everything written; reading goes on until the peer closes.
void halfClose(QTcpSocket *socket)
{
#ifdef Q_OS_UNIX
    ::shutdown(int(socket->socketDescriptor()), SHUT_WR);
#else
    socket->disconnectFromHost();
#endif
}

QByteArray reason(int status)
{
    static const QHash<int, QByteArray> kReasons{{100, "Continue"},
                                                 {200, "OK"},
                                                 {201, "Created"},
                                                 {204, "No Content"},
                                                 {308, "Permanent Redirect"},
                                                 {400, "Bad Request"},
                                                 {401, "Unauthorized"},
                                                 {403, "Forbidden"},
                                                 {404, "Not Found"},
                                                 {405, "Method Not Allowed"},
                                                 {408, "Request Timeout"},
                                                 {409, "Conflict"},
                                                 {413, "Content Too Large"},
                                                 {417, "Expectation Failed"},
                                                 {426, "Upgrade Required"},
                                                 {429, "Too Many Requests"},
                                                 {431, "Request Header Fields Too Large"},
                                                 {500, "Internal Server Error"},
                                                 {501, "Not Implemented"},
                                                 {503, "Service Unavailable"},
                                                 {505, "HTTP Version Not Supported"},
                                                 {507, "Insufficient Storage"}};
    return kReasons.value(status, "Status");
}

QByteArray errorBody(const QString &code, const QString &message)
{
    return QJsonDocument(QJsonObject{{"error", QJsonObject{{"code", code}, {"message", message}}}})
        .toJson(QJsonDocument::Compact);
}

/// A configured token (empty: none configured, matching nothing), compared in constant time.
bool sameSecret(const QByteArray &given, const QString &expected)
{
    return !expected.isEmpty() && credentials::constantTimeEquals(given, expected.toUtf8());
}

QByteArray responseHead(int status, qint64 length, const QByteArray &contentType,
                        const QList<QPair<QByteArray, QByteArray>> &extra, bool close)
{
    QByteArray out = "HTTP/1.1 " + QByteArray::number(status) + ' ' + reason(status) + "\r\n";
    if (!contentType.isEmpty())
        out += "Content-Type: " + contentType + "\r\n";
    if (status != 204)
        out += "Content-Length: " + QByteArray::number(length) + "\r\n";
    for (const auto &[k, v] : extra)
        out += k + ": " + v + "\r\n";
    if (close)
        out += "Connection: close\r\n";
    return out + "\r\n";
}

} // namespace

/// One TCP connection: reads a head, checks it, reads the body under its limits, hands the
/// request to its route, waits for the response to be out, then reads the next request.
class HttpConnection : public QObject
{
public:
    /// `onFront`: the connection lives on the front thread (HttpServer::accept), which answers
    /// front routes only and hands the connection over at any other request.
    HttpConnection(HttpServer *server, QTcpSocket *socket, QObject *parent, bool onFront);
    ~HttpConnection() override;

    /// Reads what arrived before this object took the socket over.
    void start();
    /// The response of the current request is written (or, for files, queued whole).
    void responseDone(bool close);

private:
    enum class State { Idle, Head, Body, Responding, Closing, HandingOver };

    void onReadable();
    void readHead();
    void readBody();
    /// Takes a parsed head as the connection's current request (method, path, headers, peer,
    /// the client its token names).
    void beginRequest(RequestHead head);
    void onHead(RequestHead head);
    /// On the front thread: answers a front route's request from its head alone, there or,
    /// when its answer function declines, by way of the event loop.
    void answerOnFront(RequestHead head, const FrontRoute &route);
    void sendFrontResponse(const FrontResponse &response);
    /// On the front thread: gives the socket, unread bytes and all, to the event loop's thread.
    void handOver();
    void answerRateLimited(int waitS);
    void dispatch();
    /// Answers a request whose body was not read: keeps the connection when there is none.
    void answerEarly(int status, const QString &code, const QString &message,
                     const QList<QPair<QByteArray, QByteArray>> &extra = {});
    /// Answers and closes: what the peer still sends is dropped.
    void refuse(int status, const QString &code, const QString &message,
                const QList<QPair<QByteArray, QByteArray>> &extra = {});
    void closeGracefully();
    void onWritten();
    void onTimeout();
    void arm(int ms) { m_timer.start(ms); }
    std::shared_ptr<ReplyState> newReply(bool close);

    HttpServer *m_server;
    QTcpSocket *m_socket;
    QTimer m_timer;
    State m_state = State::Idle;
    RequestHead m_head;
    const Route *m_route = nullptr;
    HttpRequest m_request;
    QByteArray m_body;
    qint64 m_bodyLeft = 0;
    std::optional<ChunkedDecoder> m_chunked;
    qint64 m_reserved = 0;
    bool m_shutDown = false;
    bool m_onFront = false;
};

struct ReplyState
{
    QPointer<QTcpSocket> socket;
    QPointer<HttpConnection> connection;
    bool headOnly = false;
    bool close = false;
    bool answered = false;

    ~ReplyState()
    {
        if (answered || !socket)
            return;
        qCWarning(lcHttp) << "a handler dropped its request without answering";
        const QByteArray body = errorBody("internal", "the server could not answer this request");
        socket->write(responseHead(500, body.size(), "application/json", {}, close) + body);
        done();
    }
    /// First answer wins; a second is a bug in a handler and is dropped.
    bool claim()
    {
        if (answered) {
            qCWarning(lcHttp) << "a handler answered twice; the second answer is dropped";
            return false;
        }
        answered = true;
        return socket != nullptr;
    }
    void done() const
    {
        if (!connection)
            return;
        QMetaObject::invokeMethod(
            connection.data(),
            [c = connection, close = close] {
                if (c)
                    c->responseDone(close);
            },
            Qt::QueuedConnection);
    }
};

namespace {

/// Streams one file to a socket as it drains; deletes itself when done or when the peer leaves.
class FilePump : public QObject
{
public:
    FilePump(std::shared_ptr<ReplyState> state, const QString &path)
        : QObject(state->socket)
        , m_state(std::move(state))
        , m_file(path)
    {
        m_file.open(QIODevice::ReadOnly);
        connect(m_state->socket, &QTcpSocket::bytesWritten, this, &FilePump::pump);
        pump();
    }

private:
    void pump()
    {
        constexpr qint64 kPiece = 256 * 1024;
        QTcpSocket *socket = m_state->socket;
        while (socket->bytesToWrite() < 4 * kPiece) {
            const QByteArray piece = m_file.read(kPiece);
            if (piece.isEmpty()) {
                if (!m_file.atEnd()) { // the file went away mid-way: the length is a lie now
                    socket->abort();
                    return;
                }
                disconnect(socket, nullptr, this, nullptr);
                m_state->done();
                deleteLater();
                return;
            }
            socket->write(piece);
        }
    }
    std::shared_ptr<ReplyState> m_state;
    QFile m_file;
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

HttpReply::HttpReply(std::shared_ptr<ReplyState> state)
    : m_state(std::move(state))
{}

void HttpReply::send(int status, const QByteArray &body, const QByteArray &contentType,
                     const QList<QPair<QByteArray, QByteArray>> &extra)
{
    if (!m_state->claim())
        return;
    QByteArray out = responseHead(status, body.size(), contentType, extra, m_state->close);
    if (!m_state->headOnly)
        out += body;
    m_state->socket->write(out);
    m_state->done();
}

void HttpReply::json(int status, const QJsonObject &body)
{
    send(status, QJsonDocument(body).toJson(QJsonDocument::Compact), "application/json");
}

void HttpReply::error(int status, const QString &code, const QString &message,
                      const QList<QPair<QByteArray, QByteArray>> &extra)
{
    send(status, errorBody(code, message), "application/json", extra);
}

void HttpReply::noContent()
{
    send(204, {}, {});
}

void HttpReply::file(const QString &path, const QByteArray &contentType,
                     const QList<QPair<QByteArray, QByteArray>> &extra)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return error(404, "not_found", "the file is gone");
    if (!m_state->claim())
        return;
    m_state->socket->write(responseHead(200, f.size(), contentType, extra, m_state->close));
    if (m_state->headOnly || f.size() == 0)
        m_state->done();
    else
        new FilePump(m_state, path);
}

HttpConnection::HttpConnection(HttpServer *server, QTcpSocket *socket, QObject *parent,
                               bool onFront)
    : QObject(parent)
    , m_server(server)
    , m_socket(socket)
    , m_onFront(onFront)
{
    m_socket->setParent(this);
    m_socket->setReadBufferSize(kReadBufferBytes);
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &HttpConnection::onTimeout);
    connect(m_socket, &QTcpSocket::readyRead, this, &HttpConnection::onReadable);
    connect(m_socket, &QTcpSocket::bytesWritten, this, &HttpConnection::onWritten);
    connect(m_socket, &QTcpSocket::disconnected, this, &QObject::deleteLater);
    arm(m_server->limits().headTimeoutMs); // a connection that says nothing is not kept
}

HttpConnection::~HttpConnection()
{
    m_server->releaseBody(m_reserved);
}

void HttpConnection::start()
{
    if (m_socket->bytesAvailable() > 0)
        onReadable();
    // The peer left while the socket changed threads: its disconnected signal is past.
    if (m_socket && m_socket->state() != QAbstractSocket::ConnectedState)
        deleteLater();
}

void HttpConnection::handOver()
{
    // Not from inside the socket's own readyRead: QAbstractSocket still touches its notifiers
    // after the signal returns, and those must not have changed threads by then.
    m_state = State::HandingOver;
    m_timer.stop();
    // A peer that sent its request and closed is still answered, as on the event loop.
    m_socket->disconnect(this);
    QMetaObject::invokeMethod(
        this,
        [this] {
            QTcpSocket *socket = std::exchange(m_socket, nullptr);
            socket->setParent(nullptr);
            socket->moveToThread(m_server->thread());
            // Should the server go before it takes the socket, the socket is closed with the
            // call that was to hand it over.
            struct Handed
            {
                QTcpSocket *socket = nullptr;
                ~Handed()
                {
                    if (socket)
                        socket->deleteLater();
                }
            };
            auto handed = std::make_shared<Handed>();
            handed->socket = socket;
            QMetaObject::invokeMethod(
                m_server,
                [server = m_server, handed] {
                    server->adopt(std::exchange(handed->socket, nullptr));
                },
                Qt::QueuedConnection);
            deleteLater();
        },
        Qt::QueuedConnection);
}

void HttpConnection::onReadable()
{
    switch (m_state) {
    case State::Idle:
    case State::Head:
        readHead();
        break;
    case State::Body:
        readBody();
        break;
    case State::Responding:
        break; // the next request waits in the socket (and TCP) until this one is answered
    case State::Closing:
        m_socket->skip(m_socket->bytesAvailable());
        break;
    case State::HandingOver:
        break; // the event loop's thread reads it
    }
}

void HttpConnection::readHead()
{
    while (m_socket->bytesAvailable() >= 2 && m_socket->peek(2) == "\r\n")
        m_socket->skip(2); // stray line ends between requests are allowed (RFC 9112 2.2)
    if (m_socket->bytesAvailable() == 0)
        return;
    if (m_state == State::Idle) {
        m_state = State::Head;
        arm(m_server->limits().headTimeoutMs); // the whole head within this time
    }
    const QByteArray data = m_socket->peek(HttpLimits::kMaxHeadBytes + 4);
    const qsizetype end = data.indexOf("\r\n\r\n");
    if (m_onFront) {
        // Only a whole head of a front route's request with no body and no token is answered
        // here; anything else (including what is refused) goes to the event loop as it is.
        if (end < 0)
            return handOver();
        auto parsed = parseRequestHead(QByteArrayView(data).first(end));
        auto *head = std::get_if<RequestHead>(&parsed);
        if (!head)
            return handOver();
        if (const auto local = m_server->localPath(head->path))
            head->path = *local;
        const FrontRoute *route = m_server->frontRoute(head->path);
        if (!route || (head->method != "GET" && head->method != "HEAD") || head->webSocketUpgrade ||
            head->chunked || head->contentLength != 0 || !head->header("authorization").isEmpty() ||
            head->query.hasQueryItem("token"))
            return handOver();
        m_socket->skip(end + 4);
        return answerOnFront(std::move(*head), *route);
    }
    if (end < 0) {
        if (data.size() >= HttpLimits::kMaxHeadBytes + 4)
            refuse(
                431, "head_too_large",
                QString("the request head is larger than %1 bytes").arg(HttpLimits::kMaxHeadBytes));
        return;
    }
    auto parsed = parseRequestHead(QByteArrayView(data).first(end));
    if (auto *e = std::get_if<HeadError>(&parsed))
        return refuse(e->status, e->code, e->message);
    RequestHead head = std::get<RequestHead>(std::move(parsed));
    if (const auto local = m_server->localPath(head.path))
        head.path = *local;
    if (head.webSocketUpgrade && head.method == "GET") {
        const HttpServer::Match m = m_server->match(head.method, head.path);
        if (!m.webSocketPath)
            return refuse(404, "not_found", QString("no WebSocket endpoint at %1").arg(head.path));
        HttpRequest req;
        req.headers = head.headers;
        req.query = head.query;
        req.peer = m_socket->peerAddress();
        m_server->resolveClient(req);
        if (!m_server->allowed(req, m.webSocketAccess))
            return refuse(401, "unauthorized", "this WebSocket path needs a valid token");
        // The handshake stays unread in the socket for QWebSocketServer.
        m_timer.stop();
        m_socket->disconnect(this);
        QTcpSocket *socket = std::exchange(m_socket, nullptr);
        m_server->upgrade(socket);
        deleteLater();
        return;
    }
    m_socket->skip(end + 4);
    onHead(std::move(head));
}

void HttpConnection::beginRequest(RequestHead head)
{
    m_head = std::move(head);
    m_request = {};
    m_request.method = m_head.method;
    m_request.path = m_head.path;
    m_request.query = m_head.query;
    m_request.headers = m_head.headers;
    m_request.peer = m_socket->peerAddress();
    m_server->resolveClient(m_request);
}

void HttpConnection::onHead(RequestHead head)
{
    beginRequest(std::move(head));

    if (!m_server->m_auth.basePath.isEmpty() && m_head.path == m_server->m_auth.basePath)
        return answerEarly(308, "moved", "the web UI lives under " + m_head.path + "/",
                           {{"Location", (m_head.path + '/').toUtf8()}});
    const HttpServer::Match m = m_server->match(m_head.method, m_head.path);
    if (m.webSocketPath)
        return answerEarly(426, "upgrade_required", "this path speaks WebSocket only");
    if (!m.route && !m.allow.isEmpty())
        return answerEarly(405, "method_not_allowed",
                           QString("%1 is not allowed on %2; allowed: %3")
                               .arg(QString::fromLatin1(m_head.method), m_head.path,
                                    QString::fromLatin1(m.allow.join(", "))),
                           {{"Allow", m.allow.join(", ")}});
    if (!m.route)
        return answerEarly(404, "not_found", QString("no such resource: %1").arg(m_head.path));
    if (!m_server->allowed(m_request, m.route->access)) {
        if (m.route->access == Access::Admin && m_request.user.role != Role::None)
            return answerEarly(
                403, "forbidden",
                QString("only an admin may call %1 %2; you are user '%3'")
                    .arg(QString::fromLatin1(m_head.method), m_head.path, m_request.user.name));
        return answerEarly(401, "unauthorized",
                           "a valid 'Authorization: Bearer <token>' is required");
    }
    if (const auto wait = m_server->takeRateToken(m_request))
        return answerRateLimited(*wait);
    m_route = m.route;
    m_request.args = m.args;

    const qint64 limit = m_route->maxBody;
    if (!m_head.chunked && m_head.contentLength > limit)
        return refuse(413, "too_large",
                      QString("the request body is %1 bytes; this endpoint takes at most %2")
                          .arg(m_head.contentLength)
                          .arg(limit));
    const qint64 reserve = m_head.chunked ? limit : m_head.contentLength;
    if (reserve > 0 && !m_server->reserveBody(reserve))
        return refuse(503, "busy",
                      "the server holds too many request bodies right now; retry in a moment",
                      {{"Retry-After", "1"}});
    m_reserved = reserve;
    if (!m_head.chunked && m_head.contentLength == 0)
        return dispatch();
    if (m_head.expectContinue)
        m_socket->write("HTTP/1.1 100 Continue\r\n\r\n");
    m_state = State::Body;
    m_body.clear();
    if (m_head.chunked) {
        m_chunked.emplace();
    } else {
        m_chunked.reset();
        m_bodyLeft = m_head.contentLength;
        m_body.reserve(m_head.contentLength);
    }
    arm(m_server->limits().bodyIdleTimeoutMs);
    readBody();
}

void HttpConnection::answerOnFront(RequestHead head, const FrontRoute &route)
{
    beginRequest(std::move(head));
    if (const auto wait = m_server->takeRateToken(m_request))
        return answerRateLimited(*wait);
    m_state = State::Responding;
    m_timer.stop();
    if (const std::optional<FrontResponse> response = route.answer())
        return sendFrontResponse(*response);
    // The event loop makes it; the answer comes back to this thread (the connection may be
    // gone by then: the guard is read here only).
    QMetaObject::invokeMethod(
        m_server,
        [onLoop = route.onLoop, front = m_server->m_front, guard = QPointer<HttpConnection>(this)] {
            QMetaObject::invokeMethod(
                front,
                [guard, response = onLoop()] {
                    if (guard)
                        guard->sendFrontResponse(response);
                },
                Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
}

void HttpConnection::sendFrontResponse(const FrontResponse &response)
{
    HttpReply(newReply(!m_head.keepAlive))
        .send(response.status, response.body, response.contentType);
}

void HttpConnection::answerRateLimited(int waitS)
{
    answerEarly(429, "rate_limited",
                QString("too many requests for this token or address; retry in %1 s").arg(waitS),
                {{"Retry-After", QByteArray::number(waitS)}});
}

void HttpConnection::readBody()
{
    if (m_socket->bytesAvailable() == 0)
        return;
    arm(m_server->limits().bodyIdleTimeoutMs); // progress
    if (!m_chunked) {
        m_body += m_socket->read(qMin(m_bodyLeft, m_socket->bytesAvailable()));
        m_bodyLeft = m_head.contentLength - m_body.size();
        if (m_bodyLeft == 0)
            dispatch();
        return;
    }
    const QByteArray data = m_socket->peek(m_socket->bytesAvailable());
    const qsizetype used = m_chunked->feed(data, m_body);
    m_socket->skip(used);
    if (m_body.size() > m_route->maxBody)
        return refuse(413, "too_large",
                      QString("the chunked request body passed %1 bytes, the most this "
                              "endpoint takes")
                          .arg(m_route->maxBody));
    if (m_chunked->state() == ChunkedDecoder::State::Error)
        return refuse(400, "bad_request", "malformed chunked body: " + m_chunked->error());
    if (m_chunked->state() == ChunkedDecoder::State::Done)
        dispatch();
}

std::shared_ptr<ReplyState> HttpConnection::newReply(bool close)
{
    auto state = std::make_shared<ReplyState>();
    state->socket = m_socket;
    state->connection = this;
    state->headOnly = m_head.method == "HEAD";
    state->close = close;
    return state;
}

void HttpConnection::dispatch()
{
    m_state = State::Responding;
    m_timer.stop();
    HttpRequest request = std::move(m_request);
    request.body = std::exchange(m_body, {});
    const Route *route = std::exchange(m_route, nullptr);
    auto state = newReply(!m_head.keepAlive);
    try {
        route->handler(request, HttpReply(state));
    } catch (const std::exception &e) {
        qCWarning(lcHttp) << "handler of" << request.method << request.path << "from"
                          << request.client.toString() << "threw" << e.what();
        HttpReply(state).error(500, "internal", "the server failed on this request");
    }
    state.reset();
    request = {};
    m_server->releaseBody(std::exchange(m_reserved, 0));
}

void HttpConnection::answerEarly(int status, const QString &code, const QString &message,
                                 const QList<QPair<QByteArray, QByteArray>> &extra)
{
    if (m_head.chunked || m_head.contentLength > 0)
        return refuse(status, code, message, extra);
    m_state = State::Responding;
    m_timer.stop();
    HttpReply(newReply(!m_head.keepAlive)).error(status, code, message, extra);
}

void HttpConnection::refuse(int status, const QString &code, const QString &message,
                            const QList<QPair<QByteArray, QByteArray>> &extra)
{
    const QByteArray body = errorBody(code, message);
    m_socket->write(responseHead(status, body.size(), "application/json", extra, true) + body);
    closeGracefully();
}

void HttpConnection::responseDone(bool close)
{
    if (m_state != State::Responding)
        return;
    if (close)
        return closeGracefully();
    m_state = State::Idle;
    arm(m_server->limits().keepAliveIdleMs);
    if (m_socket->bytesAvailable() > 0)
        onReadable();
}

void HttpConnection::closeGracefully()
{
    m_state = State::Closing;
    m_server->releaseBody(std::exchange(m_reserved, 0));
    m_body.clear();
    m_socket->skip(m_socket->bytesAvailable());
    arm(m_server->limits().writeIdleTimeoutMs);
    onWritten();
}

void HttpConnection::onWritten()
{
    if (m_socket->bytesToWrite() > 0) {
        if (m_state == State::Responding || m_state == State::Closing)
            arm(m_server->limits().writeIdleTimeoutMs);
        return;
    }
    if (m_state == State::Responding)
        m_timer.stop();
    if (m_state != State::Closing || m_shutDown)
        return;
    // All written: send FIN but keep reading (and dropping) for a moment, so the peer reads
    // the answer before the connection goes away (closing with unread input resets it).
    m_shutDown = true;
    halfClose(m_socket);
    arm(kLingerMs);
}

void HttpConnection::onTimeout()
{
    switch (m_state) {
    case State::Idle:
        m_socket->disconnectFromHost();
        break;
    case State::Head:
        refuse(408, "timeout",
               QString("the request head did not arrive within %1 s")
                   .arg(m_server->limits().headTimeoutMs / 1000));
        break;
    case State::Body:
        refuse(408, "timeout",
               QString("the request body stalled for %1 s")
                   .arg(m_server->limits().bodyIdleTimeoutMs / 1000));
        break;
    case State::Responding:
    case State::Closing:
        m_socket->abort(); // the peer does not read, or the linger time is over
        break;
    case State::HandingOver:
        break;
    }
}

HttpServer::HttpServer(AuthConfig auth, HttpLimits limits, QObject *parent)
    : QObject(parent)
    , m_auth(std::move(auth))
    , m_limits(limits)
    , m_webSockets(new QWebSocketServer("farm-server", QWebSocketServer::NonSecureMode, this))
{
    connect(m_webSockets, &QWebSocketServer::newConnection, this,
            &HttpServer::newWebSocketConnection);
}

HttpServer::~HttpServer()
{
    // The front thread's listener and connections go with it.
    if (m_frontThread) {
        m_frontThread->quit();
        m_frontThread->wait();
    }
    // Connections first: their sockets' destroyed signals still find the counters.
    const QObjectList children = this->children();
    for (QObject *child : children)
        if (auto *c = dynamic_cast<HttpConnection *>(child))
            delete c;
}

namespace {

class AcceptingServer : public QTcpServer
{
public:
    AcceptingServer(std::function<void(qintptr)> onIncoming, QObject *parent)
        : QTcpServer(parent)
        , m_onIncoming(std::move(onIncoming))
    {}

protected:
    void incomingConnection(qintptr handle) override { m_onIncoming(handle); }

private:
    std::function<void(qintptr)> m_onIncoming;
};

} // namespace

std::variant<quint16, QString> HttpServer::listenOn(const QHostAddress &address, quint16 port)
{
    if (!m_frontThread) {
        m_frontThread = new QThread(this);
        m_frontThread->setObjectName("http-front");
        m_front = new QObject;
        m_front->moveToThread(m_frontThread);
        connect(m_frontThread, &QThread::finished, m_front, &QObject::deleteLater);
        m_frontThread->start();
    }
    std::variant<quint16, QString> result;
    QMetaObject::invokeMethod(
        m_front,
        [&] {
            auto *server = new AcceptingServer([this](qintptr handle) { accept(handle); }, m_front);
            if (!server->listen(address, port)) {
                result = QString("cannot listen on %1:%2: %3")
                             .arg(address.toString())
                             .arg(port)
                             .arg(server->errorString());
                delete server;
                return;
            }
            result = server->serverPort();
        },
        Qt::BlockingQueuedConnection);
    return result;
}

int HttpServer::connectionCount() const
{
    QMutexLocker lock(&m_lock);
    return m_connections;
}

void HttpServer::accept(qintptr handle)
{
    auto *socket = new QTcpSocket;
    if (!socket->setSocketDescriptor(handle)) {
        delete socket;
        return;
    }
    const QHostAddress peer = socket->peerAddress();
    QMutexLocker lock(&m_lock);
    const int fromPeer = m_perPeer.value(peer);
    const bool overPeerCap = fromPeer >= m_limits.maxConnectionsPerPeer && !isTrustedProxy(peer);
    if (overPeerCap || m_connections >= m_limits.maxConnections) {
        const QString why =
            overPeerCap
                ? QString("too many connections from %1 (at most %2)")
                      .arg(peer.toString())
                      .arg(m_limits.maxConnectionsPerPeer)
                : QString("the server has %1 connections open, its limit").arg(m_connections);
        lock.unlock();
        const QByteArray body = errorBody("busy", why);
        socket->setParent(m_front);
        connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        // Read and drop what the peer sends, half-close once the answer is out, and give up
        // after the linger time: closing over unread input would reset the connection and
        // lose the answer.
        connect(socket, &QTcpSocket::readyRead, socket,
                [socket] { socket->skip(socket->bytesAvailable()); });
        connect(socket, &QTcpSocket::bytesWritten, socket, [socket] {
            if (socket->bytesToWrite() == 0)
                halfClose(socket);
        });
        QTimer::singleShot(kLingerMs, socket, [socket] { socket->abort(); });
        socket->write(
            responseHead(503, body.size(), "application/json", {{"Retry-After", "5"}}, true) +
            body);
        return;
    }
    ++m_connections;
    // A trusted proxy carries many clients: it counts in the total cap only.
    const bool perPeer = !isTrustedProxy(peer);
    if (perPeer)
        ++m_perPeer[peer];
    lock.unlock();
    // On whichever thread the socket ends; the counts are taken under the lock.
    connect(socket, &QObject::destroyed, this, [this, peer, perPeer] {
        QMutexLocker lock(&m_lock);
        --m_connections;
        if (perPeer && --m_perPeer[peer] <= 0)
            m_perPeer.remove(peer);
    });
    new HttpConnection(this, socket, m_front, true);
}

void HttpServer::adopt(QTcpSocket *socket)
{
    (new HttpConnection(this, socket, this, false))->start();
}

bool HttpServer::reserveBody(qint64 bytes)
{
    if (m_bufferedBody + bytes > m_limits.maxBufferedBodyBytes)
        return false;
    m_bufferedBody += bytes;
    return true;
}

void HttpServer::releaseBody(qint64 bytes)
{
    if (bytes != 0) // connections of the front thread never hold a body
        m_bufferedBody -= bytes;
}

void HttpServer::upgrade(QTcpSocket *socket)
{
    socket->setParent(nullptr); // QWebSocketServer, then the QWebSocket, own it from here
    socket->setReadBufferSize(0);
    m_webSockets->handleConnection(socket);
}

bool HttpServer::hasPendingWebSocketConnections() const
{
    return m_webSockets->hasPendingConnections();
}

std::unique_ptr<QWebSocket> HttpServer::nextPendingWebSocketConnection()
{
    return std::unique_ptr<QWebSocket>(m_webSockets->nextPendingConnection());
}

void HttpServer::addRoute(const QByteArray &method, const QString &pattern, Access access,
                          std::function<void(const HttpRequest &, HttpReply)> handler,
                          qint64 maxBody)
{
    // Most paths are plain text ("/health", "/api/v1/jobs"): a string compare instead of a
    // regex match for each route tried on every request.
    static const QRegularExpression syntax(QStringLiteral("[\\\\()\\[\\]{}.*+?^$|]"));
    const QString literal = pattern.contains(syntax) ? QString() : pattern;
    m_routes.append({method, QRegularExpression('^' + pattern + '$'), literal, access, maxBody,
                     std::move(handler)});
}

void HttpServer::addFrontRoute(const QString &path, FrontRoute route)
{
    Q_ASSERT(!m_frontThread); // the front thread reads the table without a lock
    m_frontRoutes.insert(path, std::move(route));
}

const FrontRoute *HttpServer::frontRoute(const QString &path) const
{
    const auto it = m_frontRoutes.constFind(path);
    return it == m_frontRoutes.cend() ? nullptr : &it.value();
}

void HttpServer::addWebSocketPath(const QString &path, Access access)
{
    m_webSocketPaths.append({path, access});
}

bool HttpServer::allowed(HttpRequest &request, Access access) const
{
    const QByteArray token = request.bearer();
    request.user = {};
    bool joinToken = false;
    if (sameSecret(token, m_auth.token)) {
        request.user = {QStringLiteral("admin"), Role::Admin}; // the bootstrap admin
    } else if (sameSecret(token, m_auth.joinToken)) {
        joinToken = true;
    } else if (!token.isEmpty() && token.size() <= credentials::kMaxSecretLength) {
        // On the routes nodes call (output uploads, downloads) the token is mostly a node's own
        // secret: it is looked up as one first, and a node's request costs no user lookup.
        // Node secrets and user tokens are random values the server makes (credentials::
        // newSecret): no token is both.
        if (access == Access::Node && m_auth.nodeForToken)
            request.nodeId = m_auth.nodeForToken(token);
        if (request.nodeId == 0 && m_auth.userForToken)
            if (const auto user = m_auth.userForToken(token))
                request.user = *user;
    }
    // A token names who calls; a trusted loopback peer without one acts as the local admin.
    if (request.user.role == Role::None && request.nodeId == 0 && m_auth.trustLoopback &&
        request.isLoopback())
        request.user = {QStringLiteral("local"), Role::Admin};
    switch (access) {
    case Access::Public:
        return true;
    case Access::Client:
        return request.user.role != Role::None;
    case Access::Node:
        return request.user.role != Role::None || joinToken || request.nodeId > 0;
    case Access::Admin:
        return request.user.role == Role::Admin;
    }
    return false;
}

QList<QPair<QByteArray, QString>> HttpServer::routes() const
{
    QList<QPair<QByteArray, QString>> out;
    for (const Route &r : m_routes) {
        QString p = r.pattern.pattern();
        out.append({r.method, p.mid(1, p.size() - 2)}); // without ^ and $
    }
    return out;
}

std::optional<QString> HttpServer::localPath(const QString &path) const
{
    const QString &base = m_auth.basePath;
    if (base.isEmpty() || !path.startsWith(base + '/'))
        return std::nullopt;
    return path.mid(base.size());
}

bool HttpServer::isTrustedProxy(const QHostAddress &address) const
{
    for (const auto &subnet : m_auth.trustedProxies)
        if (address.isInSubnet(subnet))
            return true;
    return false;
}

void HttpServer::resolveClient(HttpRequest &request) const
{
    request.client = request.peer;
    request.scheme = "http";
    if (!isTrustedProxy(request.peer))
        return;
    // The right-most address no trusted proxy added is the client: what lies left of it was
    // written by the client itself and proves nothing.
    const QList<QByteArray> hops = request.header("x-forwarded-for").split(',');
    for (auto it = hops.crbegin(); it != hops.crend(); ++it) {
        const QHostAddress hop(QString::fromLatin1(it->trimmed()));
        if (hop.isNull())
            break; // not an address: trust nothing further left
        request.client = hop;
        if (!isTrustedProxy(hop))
            break;
    }
    const QByteArray proto = request.header("x-forwarded-proto").trimmed().toLower();
    if (proto == "https" || proto == "http")
        request.scheme = proto;
}

std::optional<int> HttpServer::takeRateToken(const HttpRequest &request)
{
    const RateLimit &limit = m_auth.rateLimit;
    // Render nodes are the farm's own traffic: their uploads are not throttled.
    if (limit.perSecond <= 0 || request.nodeId > 0)
        return std::nullopt;
    const QByteArray token = request.bearer();
    if (!token.isEmpty() && sameSecret(token, m_auth.joinToken))
        return std::nullopt;
    // Per token (its hash: the table must not hold secrets), else per client address.
    const QByteArray key = request.user.role != Role::None && !token.isEmpty()
                               ? "t:" + credentials::hashSecret(token)
                               : "a:" + request.client.toString().toLatin1();
    QMutexLocker lock(&m_lock); // the front thread takes tokens too
    if (!m_uptime.isValid())
        m_uptime.start();
    const qint64 now = m_uptime.elapsed();
    if (m_buckets.size() > 100000) // many addresses: forget them all rather than grow
        m_buckets.clear();
    auto it = m_buckets.find(key);
    if (it == m_buckets.end())
        it = m_buckets.insert(key, {double(limit.burst), now});
    it->tokens = qMin(double(limit.burst), it->tokens + (now - it->atMs) * limit.perSecond / 1000);
    it->atMs = now;
    if (it->tokens >= 1) {
        it->tokens -= 1;
        return std::nullopt;
    }
    return qMax(1, int(std::ceil((1 - it->tokens) / limit.perSecond)));
}

HttpServer::Match HttpServer::match(const QByteArray &method, const QString &path) const
{
    Match out;
    for (const auto &[p, access] : m_webSocketPaths) {
        if (p == path) {
            out.webSocketPath = true;
            out.webSocketAccess = access;
            return out;
        }
    }
    for (const Route &r : m_routes) {
        QRegularExpressionMatch m;
        if (!r.literal.isEmpty() ? r.literal != path : !(m = r.pattern.match(path)).hasMatch())
            continue;
        if (r.method == method || (r.method == "GET" && method == "HEAD")) {
            out.route = &r;
            if (r.literal.isEmpty())
                out.args = m.capturedTexts().mid(1);
            out.allow.clear();
            return out;
        }
        if (!out.allow.contains(r.method))
            out.allow.append(r.method);
        if (r.method == "GET" && !out.allow.contains("HEAD"))
            out.allow.append("HEAD");
    }
    return out;
}

} // namespace farm::server
