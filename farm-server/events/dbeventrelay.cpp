#include "events/dbeventrelay.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QSqlError>
#include <QSqlQuery>
#include <QUuid>

Q_LOGGING_CATEGORY(lcRelay, "farm.relay")

namespace farm::server {

namespace {

int g_connections = 0; // names of this process's relay connections

QByteArray batchOf(const QString &from, const QList<QByteArray> &events)
{
    return "{\"from\":\"" + from.toLatin1() + "\",\"events\":[" + events.join(',') + "]}";
}

} // namespace

DbEventRelay::DbEventRelay(EventSink &next, QObject *parent)
    : QObject(parent)
    , m_next(next)
    , m_id(QUuid::createUuid().toString(QUuid::WithoutBraces))
{
    m_flushTimer.setSingleShot(true);
    m_flushTimer.setInterval(0);
    connect(&m_flushTimer, &QTimer::timeout, this, &DbEventRelay::flush);
    m_pruneTimer.setInterval(30 * 1000);
    connect(&m_pruneTimer, &QTimer::timeout, this, &DbEventRelay::prune);
    m_pingTimer.setInterval(kPingIntervalMs);
    connect(&m_pingTimer, &QTimer::timeout, this, &DbEventRelay::ping);
}

QString DbEventRelay::listenerName() const
{
    return "farm-relay-" + m_id.left(8);
}

DbEventRelay::~DbEventRelay()
{
    if (m_started)
        flush();
    for (QSqlDatabase *db : {&m_listen, &m_send})
        db->close();
    m_listen = m_send = QSqlDatabase();
    for (const QString &name : {m_listenName, m_sendName})
        if (!name.isEmpty())
            QSqlDatabase::removeDatabase(name);
}

Result<void> DbEventRelay::start(const QSqlDatabase &like)
{
    // The store's schema (DatabaseUrl::schema), when it set one.
    if (QSqlQuery path(like); path.exec("SHOW search_path") && path.next())
        m_searchPath = path.value(0).toString();
    QString schema;
    if (QSqlQuery current(like); current.exec("SELECT current_schema()") && current.next())
        schema = current.value(0).toString();
    m_channel = (kChannelPrefix + schema).left(63); // PostgreSQL's longest identifier
    const int n = ++g_connections;
    m_listenName = QString("farm-relay-listen-%1").arg(n);
    m_sendName = QString("farm-relay-send-%1").arg(n);
    m_listen = QSqlDatabase::cloneDatabase(like, m_listenName);
    m_send = QSqlDatabase::cloneDatabase(like, m_sendName);
    QStringList options = like.connectOptions().split(';', Qt::SkipEmptyParts);
    options.append("application_name=" + listenerName());
    m_listen.setConnectOptions(options.join(';'));
    // Table event_relay is made by the store's migrations (011).
    if (auto r = connectToDatabase(); !r)
        return r;
    connect(m_listen.driver(), &QSqlDriver::notification, this, &DbEventRelay::onNotification);
    m_started = true;
    m_pruneTimer.start();
    m_pingTimer.start();
    qCInfo(lcRelay).noquote() << "controller" << m_id << "relays events through channel"
                              << m_channel;
    return {};
}

Result<void> DbEventRelay::connectToDatabase()
{
    m_connected = false;
    for (QSqlDatabase *db : {&m_listen, &m_send}) {
        db->close();
        if (!db->open())
            return makeError("internal", "event relay: cannot connect to the database: " +
                                             db->lastError().text());
        QSqlQuery q(*db);
        if (!m_searchPath.isEmpty() && !q.exec(QString("SET search_path TO %1").arg(m_searchPath)))
            return makeError("internal", "event relay: " + q.lastError().text());
    }
    QSqlDriver *driver = m_listen.driver();
    if (!driver->hasFeature(QSqlDriver::EventNotifications))
        return makeError("internal", "event relay: the database driver has no notifications");
    if (!driver->subscribeToNotification(m_channel))
        return makeError("internal", "event relay: LISTEN failed: " + driver->lastError().text());
    m_connected = true;
    m_pingReceived = m_pingSent;
    return {};
}

void DbEventRelay::ping()
{
    if (m_connected && m_pingReceived == m_pingSent) {
        const QByteArray payload =
            QJsonDocument(QJsonObject{{"from", m_id}, {"ping", ++m_pingSent}})
                .toJson(QJsonDocument::Compact);
        if (notify(payload))
            return;
    }
    // The last ping did not come back within an interval (or could not be sent): a connection
    // dropped and notifications stopped without an error. Connect again; what other controllers
    // sent in the gap is lost.
    qCWarning(lcRelay).noquote() << "event relay: no answer on channel" << m_channel
                                 << "- connecting to the database again";
    if (auto r = connectToDatabase(); !r) {
        qCWarning(lcRelay).noquote()
            << r.error().message << "- trying again in" << m_pingTimer.interval() << "ms";
        return;
    }
    qCWarning(lcRelay).noquote() << "event relay: listening again on" << m_channel
                                 << "; events of the gap are lost, dashboards reload";
    emit resumedAfterGap();
}

void DbEventRelay::publish(const QString &type, const QJsonObject &data)
{
    m_next.publish(type, data);
    if (!m_started)
        return;
    m_outbox.append(QJsonDocument(QJsonArray{type, data}).toJson(QJsonDocument::Compact));
    if (!m_flushTimer.isActive())
        m_flushTimer.start();
}

void DbEventRelay::flush()
{
    m_flushTimer.stop();
    const QList<QByteArray> events = std::exchange(m_outbox, {});
    QList<QByteArray> chunk;
    qsizetype bytes = 0;
    const qsizetype overhead = batchOf(m_id, {}).size() + 1;
    const auto send = [&] {
        if (chunk.isEmpty())
            return;
        if (auto r = notify(batchOf(m_id, chunk)); !r)
            qCWarning(lcRelay).noquote() << r.error().message;
        chunk.clear();
        bytes = 0;
    };
    for (const QByteArray &e : events) {
        if (!chunk.isEmpty() && overhead + bytes + e.size() + 1 > kMaxPayloadBytes)
            send();
        chunk.append(e);
        bytes += e.size() + 1;
    }
    send();
}

Result<void> DbEventRelay::notify(const QByteArray &payload)
{
    QByteArray message = payload;
    if (payload.size() > kMaxPayloadBytes) {
        // One event larger than a notification: its row carries it.
        QSqlQuery insert(m_send);
        insert.prepare("INSERT INTO event_relay (payload) VALUES (?) RETURNING id");
        insert.addBindValue(QString::fromUtf8(payload));
        if (!insert.exec() || !insert.next())
            return makeError("internal", "event relay: " + insert.lastError().text());
        message = QJsonDocument(QJsonObject{{"from", m_id}, {"ref", insert.value(0).toLongLong()}})
                      .toJson(QJsonDocument::Compact);
    }
    QSqlQuery q(m_send);
    q.prepare("SELECT pg_notify(?, ?)");
    q.addBindValue(m_channel);
    q.addBindValue(QString::fromUtf8(message));
    if (!q.exec())
        return makeError("internal", "event relay: NOTIFY failed: " + q.lastError().text());
    ++m_sent;
    return {};
}

void DbEventRelay::onNotification(const QString &name, QSqlDriver::NotificationSource source,
                                  const QVariant &payload)
{
    if (name != m_channel || source == QSqlDriver::SelfSource)
        return;
    const QByteArray text = payload.toString().toUtf8();
    const QJsonObject o = QJsonDocument::fromJson(text).object();
    if (o.value("from").toString() == m_id) {
        // Its own events come back too (the sending connection is not the listening one): only
        // its pings matter, as proof that both connections work.
        if (const qint64 seq = o.value("ping").toInteger(); seq == m_pingSent)
            m_pingReceived = seq;
        return;
    }
    if (o.contains("ping"))
        return; // another controller's
    if (o.contains("ref")) {
        QSqlQuery q(m_send);
        q.prepare("SELECT payload FROM event_relay WHERE id = ?");
        q.addBindValue(o.value("ref").toInteger());
        if (!q.exec() || !q.next()) {
            qCWarning(lcRelay) << "event relay: batch" << o.value("ref").toInteger()
                               << "is gone:" << q.lastError().text();
            return;
        }
        return deliver(q.value(0).toString().toUtf8());
    }
    deliver(text);
}

void DbEventRelay::deliver(const QByteArray &batch)
{
    const QJsonArray events = QJsonDocument::fromJson(batch).object().value("events").toArray();
    for (const QJsonValue &v : events) {
        const QJsonArray e = v.toArray();
        const QString type = e.at(0).toString();
        const QJsonObject data = e.at(1).toObject();
        if (type.isEmpty())
            continue;
        m_next.publish(type, data);
        emit peerEvent(type, data);
    }
}

void DbEventRelay::prune()
{
    QSqlQuery q(m_send);
    if (!q.exec("DELETE FROM event_relay WHERE created_at < now() - interval '1 minute'"))
        qCWarning(lcRelay).noquote() << "event relay: " << q.lastError().text();
}

} // namespace farm::server
