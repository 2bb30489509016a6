#include "client/eventsclient.h"

#include "protocol/message.h"

#include <QNetworkRequest>

namespace farm::client {

EventsClient::EventsClient(QObject *parent)
    : QObject(parent)
{
    m_reconnect.setSingleShot(true);
    connect(&m_reconnect, &QTimer::timeout, this, &EventsClient::connectNow);
    connect(&m_socket, &QWebSocket::connected, this, [this] {
        m_connected = true;
        m_backoffMs = m_initialBackoffMs;
        emit connected();
    });
    connect(&m_socket, &QWebSocket::disconnected, this, [this] {
        const bool was = m_connected;
        m_connected = false;
        if (was)
            emit disconnected();
        scheduleReconnect();
    });
    connect(&m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            [this](QAbstractSocket::SocketError) {
                emit connectionError(m_socket.errorString());
                // A refused connect never emits disconnected, so retry from here too.
                scheduleReconnect();
            });
    connect(&m_socket, &QWebSocket::textMessageReceived, this, &EventsClient::onText);

    // One handler per message type: adding an event means adding a line here.
    auto job = [this](void (EventsClient::*sig)(const Job &)) {
        return [this, sig](const QJsonObject &d) {
            auto j = decodeJob(d);
            if (!j)
                return emit frameIgnored(j.error().message);
            emit(this->*sig)(*j);
        };
    };
    m_handlers.insert(msg::JobCreated, job(&EventsClient::jobCreated));
    m_handlers.insert(msg::JobUpdated, job(&EventsClient::jobUpdated));
    m_handlers.insert(msg::JobDeleted, [this](const QJsonObject &d) {
        if (!d.value("id").isDouble())
            return emit frameIgnored("job.deleted without id");
        emit jobDeleted(d.value("id").toInteger());
    });
    m_handlers.insert(msg::TaskUpdated, [this](const QJsonObject &d) {
        auto t = Task::fromJson(d);
        if (!t)
            return emit frameIgnored(t.error().message);
        emit taskUpdated(*t);
    });
    m_handlers.insert(msg::NodeUpdated, [this](const QJsonObject &d) {
        auto n = Node::fromJson(d);
        if (!n)
            return emit frameIgnored(n.error().message);
        emit nodeUpdated(*n);
    });
    m_handlers.insert(msg::TaskPreview, [this](const QJsonObject &d) {
        const QString output = d.value("output").toString();
        if (!isValidOutputName(output))
            return emit frameIgnored("task.preview with an invalid output name");
        emit preview(d.value("task").toInteger(), d.value("job").toInteger(),
                     d.value("frame").toInt(-1), output);
    });
    m_handlers.insert(msg::TaskPartial, [this](const QJsonObject &d) {
        const qint64 task = d.value("task").toInteger();
        const int samples = d.value("samples").toInt();
        const int spp = d.value("spp").toInt();
        if (task <= 0 || samples < 1 || spp < samples)
            return emit frameIgnored("task.partial without a task or with bad sample counts");
        emit partialPreview(task, d.value("job").toInteger(), d.value("frame").toInt(-1), samples,
                            spp);
    });
    // hello carries the protocol version; nothing to act on for version 1.
    m_handlers.insert(msg::Hello, [](const QJsonObject &) {});
    m_handlers.insert(msg::Error, [](const QJsonObject &) {});
}

EventsClient::~EventsClient()
{
    m_wanted = false;
    m_socket.disconnect(this);
    m_socket.abort();
}

QUrl EventsClient::eventsUrl(const QUrl &baseUrl)
{
    QUrl url = baseUrl;
    url.setScheme(baseUrl.scheme() == "https" ? "wss" : "ws");
    QString path = url.path();
    if (path.endsWith('/'))
        path.chop(1);
    url.setPath(path + "/ws/events");
    url.setQuery(QString());
    return url;
}

void EventsClient::setBackoff(int initialMs, int maxMs)
{
    m_initialBackoffMs = qMax(1, initialMs);
    m_maxBackoffMs = qMax(m_initialBackoffMs, maxMs);
    m_backoffMs = m_initialBackoffMs;
}

void EventsClient::open(const QUrl &baseUrl, const QString &token)
{
    close();
    m_url = eventsUrl(baseUrl);
    m_token = token;
    m_wanted = true;
    m_backoffMs = m_initialBackoffMs;
    connectNow();
}

void EventsClient::close()
{
    m_wanted = false;
    m_reconnect.stop();
    if (m_socket.state() != QAbstractSocket::UnconnectedState)
        m_socket.abort();
    if (m_connected) {
        m_connected = false;
        emit disconnected();
    }
}

void EventsClient::connectNow()
{
    if (!m_wanted)
        return;
    if (m_socket.state() != QAbstractSocket::UnconnectedState)
        m_socket.abort();
    QNetworkRequest request(m_url);
    if (!m_token.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + m_token.toUtf8());
    m_socket.open(request);
}

void EventsClient::scheduleReconnect()
{
    if (!m_wanted || m_reconnect.isActive())
        return;
    m_reconnect.start(m_backoffMs);
    m_backoffMs = qMin(m_backoffMs * 2, m_maxBackoffMs);
}

void EventsClient::onText(const QString &text)
{
    const auto envelope = Envelope::parse(text.toUtf8());
    if (!envelope)
        return emit frameIgnored(envelope.error().message);
    const auto handler = m_handlers.constFind(envelope->type);
    if (handler == m_handlers.constEnd())
        return emit frameIgnored("unknown event type " + envelope->type);
    (*handler)(envelope->data);
}

} // namespace farm::client
