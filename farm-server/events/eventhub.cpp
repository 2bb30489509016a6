#include "events/eventhub.h"

#include "protocol/message.h"
#include "protocol/states.h"

#include <QWebSocket>

namespace farm::server {

struct EventHub::Client
{
    QWebSocket *socket;
    EnvelopeWriter writer;
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
    c->socket->setParent(nullptr);
    c->socket->setMaxAllowedIncomingMessageSize(64 * 1024);
    m_clients.append(c);
    connect(c->socket, &QWebSocket::textMessageReceived, this, [c](const QString &text) {
        // Dashboards only listen; anything they send is answered, never acted on.
        const auto e = Envelope::parse(text.toUtf8());
        const QString why =
            e ? QString("unknown message type '%1' on /ws/events").arg(e->type) : e.error().message;
        c->socket->sendTextMessage(QString::fromUtf8(c->writer.write(
            msg::Error, {{"code", e ? "unknown_type" : e.error().code}, {"message", why}})));
    });
    connect(c->socket, &QWebSocket::disconnected, this, [this, c] {
        m_clients.removeOne(c);
        c->socket->deleteLater();
        delete c;
    });
    c->socket->sendTextMessage(
        QString::fromUtf8(c->writer.write(msg::Hello, {{"protocol", kProtocolVersion}})));
}

void EventHub::publish(const QString &type, const QJsonObject &data)
{
    constexpr qint64 kMaxBacklog = 32 * 1024 * 1024;
    QList<QWebSocket *> stalled;
    for (Client *c : std::as_const(m_clients)) {
        // A dashboard that stopped reading must not grow the server's memory without bound.
        if (c->socket->bytesToWrite() > kMaxBacklog)
            stalled.append(c->socket);
        else
            c->socket->sendTextMessage(QString::fromUtf8(c->writer.write(type, data)));
    }
    for (QWebSocket *s : stalled) // after the loop: aborting removes the client from the list
        s->abort();
}

} // namespace farm::server
