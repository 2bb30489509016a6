#pragma once

#include "engines/engineregistry.h"
#include "gpumonitor.h"
#include "inputcache.h"
#include "nodeconfig.h"
#include "protocol/message.h"
#include "serverconnection.h"

#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QNetworkAccessManager>
#include <QObject>
#include <QTimer>

#include <memory>

namespace farm::node {

class RenderTask;

/// The render-node agent: keeps a connection to the server's `/ws/node`, announces the node,
/// heartbeats, and runs assigned tasks in child processes of their engines, one per slot.
class Agent : public QObject
{
    Q_OBJECT
public:
    /// With the built-in engines (EngineRegistry::builtins).
    explicit Agent(NodeConfig config, QObject *parent = nullptr);
    Agent(NodeConfig config, std::shared_ptr<EngineRegistry> engines, QObject *parent = nullptr);
    ~Agent() override;

    /// Detects the engines (once; blocks while Blender answers `--version`), then connects
    /// (and keeps reconnecting) to the server.
    void start();
    /// Kills every child, forgets the tasks and closes the socket.
    void stop();

    const NodeConfig &config() const { return m_config; }
    /// Ids of the tasks this node works on, ascending.
    QList<qint64> runningTasks() const;
    /// The `hello` payload as sent on every connect.
    QJsonObject helloData() const;
    /// The id the server gave us in `welcome`, 0 before.
    qint64 nodeId() const { return m_nodeId; }

signals:
    void welcomed(qint64 nodeId);
    void taskFinished(qint64 task, const QString &error);
    /// The server refused the task's outputs (it is no longer this node's): it was stopped.
    void taskLost(qint64 task, const QString &why);

private:
    using Handler = void (Agent::*)(const QJsonObject &);
    static const QHash<QString, Handler> &handlers();

    void onConnected();
    void onDisconnected();
    void onMessage(const farm::Envelope &envelope);
    void onWelcome(const QJsonObject &data);
    void onTaskAssign(const QJsonObject &data);
    void onTaskCancel(const QJsonObject &data);
    void onServerError(const QJsonObject &data);
    void onDrain(const QJsonObject &data);
    void onTaskFinished(qint64 task, const QStringList &outputs, const QString &error,
                        const QString &code);
    void onTaskLost(qint64 task, const QString &why);
    /// Lowest free slot index (GPU slots come first), -1 when all are busy.
    int freeSlot() const;
    void sendHeartbeat();
    /// Task reports survive a dropped connection and go out after the next welcome.
    void sendTaskMessage(const QString &type, const QJsonObject &data);
    void flushOutbox();

    NodeConfig m_config;
    std::shared_ptr<EngineRegistry> m_engines;
    QNetworkAccessManager m_network;
    InputCache m_inputs;
    ServerConnection m_connection;
    QMap<qint64, RenderTask *> m_tasks;
    QTimer m_heartbeat;
    GpuMonitor m_gpuMonitor; // NVML when the driver has it: GPU load in heartbeats
    QList<std::pair<QString, QJsonObject>> m_outbox;
    qint64 m_nodeId = 0;
    bool m_welcomed = false;
    bool m_helloHadSecret = false;
    bool m_stopped = false;
};

} // namespace farm::node
