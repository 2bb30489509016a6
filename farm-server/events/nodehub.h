#pragma once

#include <QObject>

#include <memory>

class QWebSocket;

namespace farm::server {

class Scheduler;

/// /ws/node: one NodeConnection per agent socket, feeding validated envelopes to the scheduler.
class NodeHub : public QObject
{
    Q_OBJECT
public:
    explicit NodeHub(Scheduler &scheduler, QObject *parent = nullptr);
    ~NodeHub() override;

    void addConnection(std::unique_ptr<QWebSocket> socket);
    int connectionCount() const;

private:
    Scheduler &m_scheduler;
};

} // namespace farm::server
