#pragma once

#include "api/httphead.h"

#include <QElapsedTimer>
#include <QHash>
#include <QHostAddress>
#include <QJsonObject>
#include <QMutex>
#include <QObject>
#include <QPointer>
#include <QRegularExpression>
#include <QUrlQuery>

#include <functional>
#include <memory>
#include <optional>
#include <variant>

class QTcpServer;
class QTcpSocket;
class QThread;
class QWebSocket;
class QWebSocketServer;

namespace farm::server {

/// Roles of API users (docs/API.md, "Users and roles").
enum class Role { None, User, Admin };

/// Who a request speaks for: a user of the users table, the client token's bootstrap admin
/// ("admin"), a trusted loopback peer ("local", an admin), or nobody.
struct Principal
{
    QString name;
    Role role = Role::None;
};

struct HttpRequest
{
    QByteArray method;
    QString path; // without the configured base path
    QUrlQuery query;
    QByteArray body;
    QHostAddress peer;          // the TCP peer: loopback trust and connection caps go by it
    QHostAddress client;        // the peer, or the client a trusted proxy names in X-Forwarded-For
    QByteArray scheme = "http"; // "https" when a trusted proxy says so (X-Forwarded-Proto)
    QList<QPair<QByteArray, QByteArray>> headers;
    QStringList args;  // captures of the route pattern
    qint64 nodeId = 0; // > 0 when the bearer token was that render node's own credential
    Principal user;    // set by HttpServer::allowed

    QByteArray header(const QByteArray &name) const;
    bool isLoopback() const;
    QByteArray bearer() const;
};

class HttpConnection;
struct ReplyState;

/// Writes one HTTP/1.1 response to the connection; cheap to copy, so a handler may keep it and
/// answer later (after work on another thread). The connection reads its next request only
/// once the response is out; a handler that drops every copy without answering gets a 500
/// written for it. Writes after the peer left are dropped.
class HttpReply
{
public:
    explicit HttpReply(std::shared_ptr<ReplyState> state);

    void json(int status, const QJsonObject &body);
    void error(int status, const QString &code, const QString &message,
               const QList<QPair<QByteArray, QByteArray>> &extra = {});
    void send(int status, const QByteArray &body, const QByteArray &contentType,
              const QList<QPair<QByteArray, QByteArray>> &extra = {});
    void noContent();
    /// Streams a file in pieces as the socket drains, never holding it in memory.
    void file(const QString &path, const QByteArray &contentType,
              const QList<QPair<QByteArray, QByteArray>> &extra = {});

private:
    std::shared_ptr<ReplyState> m_state;
};

/// Who may call a route.
enum class Access {
    Public, // anyone (health, the web UI's static files)
    Client, // trusted loopback, the client token or a user's token
    Node,   // as Client, or the join token (file downloads and output uploads by agents)
    Admin,  // trusted loopback, the client token or an admin user's token
};

struct Route
{
    QByteArray method;
    QRegularExpression pattern; // anchored, captures become HttpRequest::args
    QString literal;            // the pattern when it has no regex syntax: compared as text
    Access access = Access::Client;
    qint64 maxBody = 1024 * 1024;
    std::function<void(const HttpRequest &, HttpReply)> handler;
};

/// A response made on the front end's own thread (HttpServer::addFrontRoute).
struct FrontResponse
{
    int status = 200;
    QByteArray body;
    QByteArray contentType = "application/json";
};

/// A path the front end's thread answers (HttpServer::addFrontRoute).
struct FrontRoute
{
    /// On the front thread: the response, or nothing when the event loop must make it.
    std::function<std::optional<FrontResponse>()> answer;
    /// On the event loop's thread, when `answer` gave nothing.
    std::function<FrontResponse()> onLoop;
};

/// Requests a token (or an address without one) may make: a bucket of `burst` requests that
/// refills at `perSecond`; 0: no limit.
struct RateLimit
{
    double perSecond = 0;
    int burst = 0;
};

struct AuthConfig
{
    QString token;
    QString joinToken;
    bool trustLoopback = true;
    /// Maps a render node's own credential (its secret from `welcome`) to its node id; 0 when
    /// the token is no node's. Such a token passes Access::Node and sets HttpRequest::nodeId.
    std::function<qint64(const QByteArray &token)> nodeForToken;
    /// Reverse proxies whose X-Forwarded-For/Proto are believed (address, prefix length).
    QList<QPair<QHostAddress, int>> trustedProxies;
    /// Prefix the web UI and API are also served under ("/farm"); empty: none.
    QString basePath;
    RateLimit rateLimit;
    /// The user whose token this is; nullopt when none.
    std::function<std::optional<Principal>(const QByteArray &token)> userForToken;
};

/// The farm's HTTP/1.1 front end: one route table, bearer-token auth, JSON errors and WebSocket
/// upgrades on chosen paths (handed to QWebSocketServer). It reads every request itself so that
/// limits hold before a body byte is buffered: the head is parsed and checked (size, route,
/// method, auth, Content-Length or chunked size against the route's limit, the server-wide
/// body budget) first; slow heads, stalled bodies and idle keep-alive connections time out;
/// `Connection: close` and HTTP/1.0 are honoured; connections are capped per peer and in all.
///
/// Connections are accepted on a thread of the front end's own, which answers the requests of
/// its front routes there (GET /health: a busy event loop does not delay it) and hands a
/// connection to the event loop's thread, for good, at its first other request (or a head it
/// cannot take whole at once); routes, handlers and WebSockets all run on the event loop.
class HttpServer : public QObject
{
    Q_OBJECT
public:
    explicit HttpServer(AuthConfig auth, HttpLimits limits = {}, QObject *parent = nullptr);
    ~HttpServer() override;

    /// Listens on address:port (0 picks a free port); returns the port, or an error sentence.
    std::variant<quint16, QString> listenOn(const QHostAddress &address, quint16 port);

    void addRoute(const QByteArray &method, const QString &pattern, Access access,
                  std::function<void(const HttpRequest &, HttpReply)> handler,
                  qint64 maxBody = 1024 * 1024);
    /// A public GET (and HEAD) path answered on the front end's thread without waiting for the
    /// event loop: for a request to `path` with no body and no token on a connection the
    /// front thread holds, `route.answer` runs there and gives the response; when it gives
    /// nothing, `route.onLoop` makes it on the event loop and the front thread sends it (the
    /// connection stays). Every other request to `path` goes to its route on the event loop,
    /// which therefore must exist too. Rate limits apply as to any request. `route.answer`
    /// must be safe to call from another thread. Add before listenOn.
    void addFrontRoute(const QString &path, FrontRoute route);
    /// Paths accepted for WebSocket upgrades and who may open them.
    void addWebSocketPath(const QString &path, Access access);
    /// Whether the request may call a route of this access; sets request.user, and
    /// request.nodeId for node tokens.
    bool allowed(HttpRequest &request, Access access) const;
    /// Method and pattern (without anchors) of every route, in the order added.
    QList<QPair<QByteArray, QString>> routes() const;

    bool hasPendingWebSocketConnections() const;
    std::unique_ptr<QWebSocket> nextPendingWebSocketConnection();

    const HttpLimits &limits() const { return m_limits; }
    /// Open TCP connections, WebSockets included.
    int connectionCount() const;
    qint64 bufferedBodyBytes() const { return m_bufferedBody; }

signals:
    void newWebSocketConnection();

private:
    friend class HttpConnection;
    struct Match
    {
        const Route *route = nullptr;
        QStringList args;
        QByteArrayList allow; // methods the path takes, when the method did not match
        bool webSocketPath = false;
        Access webSocketAccess = Access::Public;
    };
    Match match(const QByteArray &method, const QString &path) const;
    /// The answer function of a front route for this (local) path; null when none.
    const FrontRoute *frontRoute(const QString &path) const;
    /// On the front thread: a new connection.
    void accept(qintptr handle);
    /// On the event loop's thread: a connection the front thread handed over.
    void adopt(QTcpSocket *socket);
    bool reserveBody(qint64 bytes);
    void releaseBody(qint64 bytes);
    void upgrade(QTcpSocket *socket);
    bool isTrustedProxy(const QHostAddress &address) const;
    /// The path without the base path when it starts with it.
    std::optional<QString> localPath(const QString &path) const;
    /// Sets request.client and request.scheme from the peer and, from trusted proxies only,
    /// X-Forwarded-For/Proto.
    void resolveClient(HttpRequest &request) const;
    /// Takes one request from the caller's bucket; the seconds to wait when it is empty.
    std::optional<int> takeRateToken(const HttpRequest &request);

    AuthConfig m_auth;
    HttpLimits m_limits;
    QList<Route> m_routes;
    QList<QPair<QString, Access>> m_webSocketPaths;
    QHash<QString, FrontRoute> m_frontRoutes;
    QThread *m_frontThread = nullptr;
    QObject *m_front = nullptr; // lives on m_frontThread: the listener and its connections
    QWebSocketServer *m_webSockets = nullptr;
    /// Guards what both threads touch: the connection counts and the rate-limit buckets.
    mutable QMutex m_lock;
    QHash<QHostAddress, int> m_perPeer;
    struct Bucket
    {
        double tokens = 0;
        qint64 atMs = 0;
    };
    QHash<QByteArray, Bucket> m_buckets; // by token hash or client address
    QElapsedTimer m_uptime;
    int m_connections = 0;
    qint64 m_bufferedBody = 0;
};

} // namespace farm::server
