#pragma once

#include "protocol/message.h"

#include <QJsonObject>
#include <QObject>
#include <QTimer>
#include <QUrl>
#include <QWebSocket>

#include <memory>

namespace farm::node {

/// The agent's WebSocket to `/ws/node`: bearer auth, envelopes, and reconnects with
/// exponential backoff and jitter for as long as it is open. Given several URLs (controllers of
/// one farm, docs/CONTROLLERS.md) it uses one at a time and moves to the next whenever a
/// connection drops or does not come up.
class ServerConnection : public QObject
{
    Q_OBJECT
public:
    ServerConnection(QUrl url, QString token, int backoffInitialMs, int backoffMaxMs,
                     QObject *parent = nullptr);
    ServerConnection(QList<QUrl> urls, QString token, int backoffInitialMs, int backoffMaxMs,
                     QObject *parent = nullptr);
    ~ServerConnection() override;

    /// Starts connecting; keeps reconnecting until close().
    void open();
    /// Closes the socket and stops reconnecting.
    void close();
    bool isConnected() const { return m_connected; }
    /// Sends one envelope; false (nothing sent) while not connected.
    bool send(const QString &type, const QJsonObject &data = {});
    /// Called once the server accepted us, so the next drop retries quickly again.
    void resetBackoff();
    /// Delay before the next reconnect attempt, without jitter (for logs and tests).
    int currentBackoffMs() const { return m_backoffMs; }
    /// Index in the URL list of the one connected to, or tried next.
    int currentIndex() const { return m_index; }
    QUrl currentUrl() const { return m_urls.value(m_index); }

signals:
    void connected();
    void disconnected();
    void messageReceived(const farm::Envelope &envelope);

private:
    void connectNow();
    void onConnected();
    void onDropped(const QString &why);
    void onText(const QString &text);
    void scheduleReconnect();

    QList<QUrl> m_urls;
    int m_index = 0;
    QString m_token;
    int m_backoffInitialMs;
    int m_backoffMaxMs;
    int m_backoffMs;
    bool m_open = false;
    bool m_connected = false;
    std::unique_ptr<QWebSocket> m_socket;
    EnvelopeWriter m_writer;
    QTimer m_reconnectTimer;
    QTimer m_handshakeTimer;
};

} // namespace farm::node
