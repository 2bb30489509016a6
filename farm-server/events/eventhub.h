#pragma once

#include "events/eventsink.h"

#include <QList>
#include <QObject>

#include <memory>

class QWebSocket;

namespace farm::server {

/// /ws/events: dashboards get `hello`, then every published job.*, task.* and node.* event. One
/// that does not keep up is closed (docs/API.md, "Budgets").
class EventHub
    : public QObject
    , public EventSink
{
    Q_OBJECT
public:
    explicit EventHub(QObject *parent = nullptr);
    ~EventHub() override;

    void addClient(std::unique_ptr<QWebSocket> socket);
    void publish(const QString &type, const QJsonObject &data) override;
    int clientCount() const { return int(m_clients.size()); }
    /// Closes every dashboard with `reason`: events were lost, and a dashboard loads everything
    /// again when it reconnects.
    void closeAll(const QString &reason);
    /// The most bytes waiting to be sent to one dashboard (bounded by
    /// budget::kDashboardMaxBacklogBytes plus one event).
    qint64 largestBacklog() const;

private:
    struct Client;
    QList<Client *> m_clients;
};

} // namespace farm::server
