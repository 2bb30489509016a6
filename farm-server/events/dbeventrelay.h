#pragma once

#include "events/eventsink.h"
#include "util/result.h"

#include <QList>
#include <QObject>
#include <QSqlDatabase>
#include <QSqlDriver>
#include <QTimer>

namespace farm::server {

/// Events of several controllers on one PostgreSQL database (docs/CONTROLLERS.md). What this
/// controller publishes goes on to `next` at once and, batched at the next turn of the event
/// loop, to the other controllers through NOTIFY on channel `farm_events_<schema>`; what they
/// publish
/// arrives through LISTEN and goes to `next` (the dashboards) and to peerEvent (the scheduler).
/// A batch too large for one notification (PostgreSQL takes under 8000 bytes) is kept a minute
/// in table `event_relay`, and the notification names its row. A single server needs none of
/// this: it publishes straight to `next`.
class DbEventRelay
    : public QObject
    , public EventSink
{
    Q_OBJECT
public:
    /// The channel is this prefix and the farm's schema: farms in other schemas of the same
    /// database (NOTIFY reaches the whole database) do not hear each other.
    static constexpr char kChannelPrefix[] = "farm_events_";
    /// Bytes of one notification's payload; PostgreSQL refuses 8000 and more.
    static constexpr int kMaxPayloadBytes = 7900;

    /// How often the relay sends itself a ping through the database, and how long it waits for
    /// it: a ping that does not come back means a connection dropped (notifications stop without
    /// an error), and the relay connects again.
    static constexpr int kPingIntervalMs = 5000;

    explicit DbEventRelay(EventSink &next, QObject *parent = nullptr);
    ~DbEventRelay() override;

    /// Opens two connections of its own to the database `like` is open on, with its search
    /// path (a listening connection must run no statements, or libpq would swallow
    /// notifications between them), and listens.
    Result<void> start(const QSqlDatabase &like);
    void publish(const QString &type, const QJsonObject &data) override;
    /// Sends the events waiting for the next turn of the event loop now.
    void flush();
    /// Random per process: a controller ignores its own notifications.
    QString controllerId() const { return m_id; }
    QString channel() const { return m_channel; }
    qint64 sentNotifications() const { return m_sent; }
    /// The `application_name` of its listening connection (tests find its backend by it).
    QString listenerName() const;
    /// For tests: ping more often than kPingIntervalMs.
    void setPingInterval(int ms) { m_pingTimer.setInterval(ms); }

signals:
    void peerEvent(const QString &type, const QJsonObject &data);
    /// The relay connected again after a drop: other controllers' events of the gap are lost,
    /// so whatever follows them (dashboards) must load again.
    void resumedAfterGap();

private:
    /// Opens both connections and listens; again after a drop.
    Result<void> connectToDatabase();
    void ping();
    void onNotification(const QString &name, QSqlDriver::NotificationSource source,
                        const QVariant &payload);
    Result<void> notify(const QByteArray &payload);
    void deliver(const QByteArray &batch);
    void prune();

    EventSink &m_next;
    QString m_id;
    QString m_channel;
    QString m_listenName, m_sendName;
    QSqlDatabase m_listen, m_send;
    QList<QByteArray> m_outbox; // compact JSON [type, data] each
    QTimer m_flushTimer;
    QTimer m_pruneTimer;
    QTimer m_pingTimer;
    QString m_searchPath;
    qint64 m_pingSent = 0;     // the last ping's number
    qint64 m_pingReceived = 0; // the last of its pings that came back
    bool m_connected = false;
    qint64 m_sent = 0;
    bool m_started = false;
};

} // namespace farm::server
