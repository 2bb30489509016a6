#include "events/eventhub.h"

#include "events/budgets.h"
#include "protocol/message.h"
#include "protocol/states.h"

#include <QElapsedTimer>
#include <QWebSocket>

#include <algorithm>

namespace farm::server {

struct EventHub::Client
{
    QWebSocket *socket;
    EnvelopeWriter writer;
    QElapsedTimer clock;
    SocketBudget budget{budget::kDashboardMessagesPerS, budget::kDashboardMessageBurst,
                        budget::kDashboardBytesPerS, budget::kDashboardBytesBurst};
    qint64 behindSinceMs = -1; // when unsent events last started to pile up
    bool closing = false;

    void send(const QString &type, const QJsonObject &data)
    {
        socket->sendTextMessage(QString::fromUtf8(writer.write(type, data)));
    }
    void close(QWebSocketProtocol::CloseCode code, const QString &reason)
    {
        if (closing)
            return;
        closing = true;
        closeWithGrace(socket, code, reason); // may delete this client: nothing after it
    }
    /// Why it must be dropped for not reading its events, or nothing while it keeps up.
    QString lagging()
    {
        const qint64 backlog = socket->bytesToWrite();
        if (backlog == 0) {
            behindSinceMs = -1;
            return {};
        }
        if (behindSinceMs < 0)
            behindSinceMs = clock.elapsed();
        if (backlog > budget::kDashboardMaxBacklogBytes)
            return QString("too slow: over %1 KiB of events unread; reconnect and reload")
                .arg(budget::kDashboardMaxBacklogBytes / 1024);
        if (clock.elapsed() - behindSinceMs > budget::kDashboardMaxBehindMs)
            return QString("too slow: events unread for over %1 s; reconnect and reload")
                .arg(budget::kDashboardMaxBehindMs / 1000);
        return {};
    }
    void onText(const QString &text)
    {
        if (closing)
            return;
        const QByteArray utf8 = text.toUtf8();
        switch (budget.admit(utf8.size(), clock.elapsed())) {
        case SocketBudget::Verdict::Accept:
            break;
        case SocketBudget::Verdict::DropNotify:
            send(msg::Error, {{"code", "rate_limited"},
                              {"message", "dashboards only listen; messages are dropped"}});
            return;
        case SocketBudget::Verdict::Drop:
            return;
        case SocketBudget::Verdict::Close:
            return close(QWebSocketProtocol::CloseCodePolicyViolated, "message budget exceeded");
        }
        // Dashboards only listen; anything they send is answered, never acted on.
        const auto e = Envelope::parse(utf8);
        const QString why =
            e ? QString("unknown message type '%1' on /ws/events").arg(e->type) : e.error().message;
        send(msg::Error, {{"code", e ? "unknown_type" : e.error().code}, {"message", why}});
    }
};

EventHub::EventHub(QObject *parent)
    : QObject(parent)
{}

EventHub::~EventHub()
{
    for (Client *c : std::as_const(m_clients)) {
        c->socket->disconnect(this);
        c->socket->close();
        delete c->socket;
        delete c;
    }
}

void EventHub::addClient(std::unique_ptr<QWebSocket> socket)
{
    auto *c = new Client{socket.release(), {}};
    c->clock.start();
    c->socket->setParent(nullptr);
    c->socket->setMaxAllowedIncomingMessageSize(budget::kDashboardMaxMessageBytes);
    m_clients.append(c);
    connect(c->socket, &QWebSocket::textMessageReceived, this,
            [c](const QString &text) { c->onText(text); });
    connect(c->socket, &QWebSocket::binaryMessageReceived, this, [c] {
        c->close(QWebSocketProtocol::CloseCodeDatatypeNotSupported,
                 "binary frames are not part of the protocol");
    });
    connect(c->socket, &QWebSocket::bytesWritten, this, [c] {
        if (c->socket->bytesToWrite() == 0)
            c->behindSinceMs = -1;
    });
    connect(c->socket, &QWebSocket::disconnected, this, [this, c] {
        m_clients.removeOne(c);
        c->socket->deleteLater();
        delete c;
    });
    c->send(msg::Hello, {{"protocol", kProtocolVersion}});
}

void EventHub::closeAll(const QString &reason)
{
    const QList<Client *> all = m_clients; // closing may remove a client
    for (Client *c : all)
        c->close(QWebSocketProtocol::CloseCodeGoingAway, reason);
}

qint64 EventHub::largestBacklog() const
{
    qint64 most = 0;
    for (const Client *c : m_clients)
        most = std::max(most, c->socket->bytesToWrite());
    return most;
}

void EventHub::publish(const QString &type, const QJsonObject &data)
{
    QList<std::pair<Client *, QString>> slow;
    for (Client *c : std::as_const(m_clients)) {
        if (c->closing)
            continue;
        // A dashboard that stopped reading must not grow the server's memory.
        if (QString why = c->lagging(); !why.isEmpty())
            slow.append({c, why});
        else
            c->send(type, data);
    }
    for (const auto &[c, why] : slow) // after the loop: closing may remove the client
        c->close(QWebSocketProtocol::CloseCodePolicyViolated, why);
}

} // namespace farm::server
