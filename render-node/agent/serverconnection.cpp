#include "serverconnection.h"

#include <QLoggingCategory>
#include <QNetworkRequest>
#include <QRandomGenerator>

#include <algorithm>

Q_LOGGING_CATEGORY(lcConn, "farm.node.connection")

namespace farm::node {

namespace {
// A server that accepts TCP but never finishes the handshake must not stall us forever.
constexpr int kHandshakeTimeoutMs = 10000;
} // namespace

ServerConnection::ServerConnection(QUrl url, QString token, int backoffInitialMs, int backoffMaxMs,
                                   QObject *parent)
    : ServerConnection(QList<QUrl>{std::move(url)}, std::move(token), backoffInitialMs,
                       backoffMaxMs, parent)
{}

ServerConnection::ServerConnection(QList<QUrl> urls, QString token, int backoffInitialMs,
                                   int backoffMaxMs, QObject *parent)
    : QObject(parent)
    , m_urls(std::move(urls))
    , m_token(std::move(token))
    , m_backoffInitialMs(std::max(1, backoffInitialMs))
    , m_backoffMaxMs(std::max(m_backoffInitialMs, backoffMaxMs))
    , m_backoffMs(m_backoffInitialMs)
{
    m_reconnectTimer.setSingleShot(true);
    connect(&m_reconnectTimer, &QTimer::timeout, this, &ServerConnection::connectNow);
    m_handshakeTimer.setSingleShot(true);
    m_handshakeTimer.setInterval(kHandshakeTimeoutMs);
    connect(&m_handshakeTimer, &QTimer::timeout, this,
            [this] { onDropped("no WebSocket handshake within 10 s"); });
}

ServerConnection::~ServerConnection()
{
    close();
}

void ServerConnection::open()
{
    if (m_open)
        return;
    m_open = true;
    connectNow();
}

void ServerConnection::close()
{
    m_open = false;
    m_reconnectTimer.stop();
    m_handshakeTimer.stop();
    if (m_socket) {
        // Detach first: close() would emit disconnected() and schedule a reconnect.
        m_socket->disconnect(this);
        m_socket->close();
        m_socket.release()->deleteLater(); // close() may run inside one of its signals
    }
    if (m_connected) {
        m_connected = false;
        emit disconnected();
    }
}

bool ServerConnection::send(const QString &type, const QJsonObject &data)
{
    if (!m_connected || !m_socket)
        return false;
    m_socket->sendTextMessage(QString::fromUtf8(m_writer.write(type, data)));
    return true;
}

void ServerConnection::resetBackoff()
{
    m_backoffMs = m_backoffInitialMs;
}

void ServerConnection::connectNow()
{
    if (!m_open)
        return;
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
        m_socket.release()->deleteLater();
    }
    m_socket = std::make_unique<QWebSocket>();
    QWebSocket *s = m_socket.get();
    connect(s, &QWebSocket::connected, this, &ServerConnection::onConnected);
    connect(s, &QWebSocket::disconnected, this, [this, s] {
        onDropped(s->closeReason().isEmpty() ? QString("connection closed")
                                             : "closed by the server: " + s->closeReason());
    });
    connect(s, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            [this, s](QAbstractSocket::SocketError) { onDropped(s->errorString()); });
    connect(s, &QWebSocket::textMessageReceived, this, &ServerConnection::onText);
    connect(s, &QWebSocket::binaryMessageReceived, this, [](const QByteArray &data) {
        qCWarning(lcConn) << "ignoring a binary frame of" << data.size() << "bytes";
    });

    QNetworkRequest request(currentUrl());
    if (!m_token.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + m_token.toUtf8());
    qCInfo(lcConn).noquote() << "connecting to" << currentUrl().toString();
    m_handshakeTimer.start();
    s->open(request);
}

void ServerConnection::onConnected()
{
    m_handshakeTimer.stop();
    m_connected = true;
    m_writer = EnvelopeWriter(); // seq counts from 1 on every connection
    qCInfo(lcConn).noquote() << "connected to" << currentUrl().toString();
    emit connected();
}

void ServerConnection::onDropped(const QString &why)
{
    // error() and disconnected() may both arrive for one drop; act once.
    if (!m_socket)
        return;
    m_handshakeTimer.stop();
    qCWarning(lcConn).noquote() << "connection to" << currentUrl().toString() << "lost:" << why;
    m_socket->disconnect(this);
    m_socket->abort();
    m_socket.release()->deleteLater();
    const bool wasConnected = m_connected;
    m_connected = false;
    // Another controller of the farm next: one that is down (killed, restarted) is tried again
    // only after the others.
    if (m_urls.size() > 1)
        m_index = (m_index + 1) % int(m_urls.size());
    if (wasConnected)
        emit disconnected();
    scheduleReconnect();
}

void ServerConnection::scheduleReconnect()
{
    if (!m_open || m_reconnectTimer.isActive())
        return;
    // ±20 % jitter so a farm of nodes does not reconnect in lockstep after a server restart.
    const double jitter = 0.8 + 0.4 * QRandomGenerator::global()->generateDouble();
    const int delay = std::min(m_backoffMaxMs, int(m_backoffMs * jitter));
    qCInfo(lcConn).noquote() << "reconnecting to" << currentUrl().toString() << "in" << delay
                             << "ms";
    m_reconnectTimer.start(delay);
    m_backoffMs = std::min(m_backoffMaxMs, m_backoffMs * 2);
}

void ServerConnection::onText(const QString &text)
{
    auto envelope = Envelope::parse(text.toUtf8());
    if (!envelope) {
        qCWarning(lcConn).noquote() << "ignoring a malformed message:" << envelope.error().message;
        return;
    }
    emit messageReceived(*envelope);
}

} // namespace farm::node
