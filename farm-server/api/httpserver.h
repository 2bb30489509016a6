#pragma once

#include <QAbstractHttpServer>
#include <QHostAddress>
#include <QJsonObject>
#include <QPointer>
#include <QRegularExpression>
#include <QUrlQuery>

#include <functional>
#include <variant>

class QTcpSocket;

namespace farm::server {

struct HttpRequest
{
    QByteArray method;
    QString path;
    QUrlQuery query;
    QByteArray body;
    QHostAddress peer;
    QList<QPair<QByteArray, QByteArray>> headers;
    QStringList args;  // captures of the route pattern
    qint64 nodeId = 0; // > 0 when the bearer token was that render node's own credential

    QByteArray header(const QByteArray &name) const;
    bool isLoopback() const;
    QByteArray bearer() const;
};

/// Writes one HTTP/1.1 response straight to the connection; cheap to copy, so a handler may
/// keep it and answer later (after work on another thread). Writes after the peer left are dropped.
class HttpReply
{
public:
    HttpReply(QTcpSocket *socket, bool headOnly);

    void json(int status, const QJsonObject &body);
    void error(int status, const QString &code, const QString &message);
    void send(int status, const QByteArray &body, const QByteArray &contentType,
              const QList<QPair<QByteArray, QByteArray>> &extra = {});
    void noContent();
    /// Streams a file in pieces as the socket drains, never holding it in memory.
    void file(const QString &path, const QByteArray &contentType);

private:
    void head(int status, qint64 length, const QByteArray &contentType,
              const QList<QPair<QByteArray, QByteArray>> &extra);
    QPointer<QTcpSocket> m_socket;
    bool m_headOnly;
};

/// Who may call a route.
enum class Access {
    Public, // anyone (health, the web UI's static files)
    Client, // trusted loopback or the client token
    Node,   // as Client, or the join token (file downloads and output uploads by agents)
};

struct Route
{
    QByteArray method;
    QRegularExpression pattern; // anchored, captures become HttpRequest::args
    Access access = Access::Client;
    qint64 maxBody = 1024 * 1024;
    std::function<void(const HttpRequest &, HttpReply)> handler;
};

struct AuthConfig
{
    QString token;
    QString joinToken;
    bool trustLoopback = true;
    /// Maps a render node's own credential (its secret from `welcome`) to its node id; 0 when
    /// the token is no node's. Such a token passes Access::Node and sets HttpRequest::nodeId.
    std::function<qint64(const QByteArray &token)> nodeForToken;
};

/// QAbstractHttpServer with one route table, bearer-token auth, 404/405/413 JSON errors and
/// WebSocket upgrades on chosen paths (a path's handler "answers" an upgrade by writing nothing).
class HttpServer : public QAbstractHttpServer
{
    Q_OBJECT
public:
    explicit HttpServer(AuthConfig auth, QObject *parent = nullptr);

    /// Listens on address:port (0 picks a free port); returns the port, or an error sentence.
    std::variant<quint16, QString> listenOn(const QHostAddress &address, quint16 port);

    void addRoute(const QByteArray &method, const QString &pattern, Access access,
                  std::function<void(const HttpRequest &, HttpReply)> handler,
                  qint64 maxBody = 1024 * 1024);
    /// Paths accepted for WebSocket upgrades and who may open them.
    void addWebSocketPath(const QString &path, Access access);
    /// Whether the request may call a route of this access; sets request.nodeId for node tokens.
    bool allowed(HttpRequest &request, Access access) const;
    /// Largest body the route for this request accepts; -1 when no route matches.
    qint64 bodyLimit(const QByteArray &method, const QString &path) const;

protected:
    bool handleRequest(const QHttpServerRequest &request, QTcpSocket *socket) override;
    void missingHandler(const QHttpServerRequest &request, QTcpSocket *socket) override;

private:
    AuthConfig m_auth;
    QList<Route> m_routes;
    QList<QPair<QString, Access>> m_webSocketPaths;
};

} // namespace farm::server
