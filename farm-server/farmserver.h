#pragma once

#include "events/metricsrecorder.h"
#include "jobtypes/jobtyperegistry.h"
#include "scheduler/clock.h"
#include "serverconfig.h"

#include <QDateTime>
#include <QObject>
#include <QTimer>

#include <memory>

namespace farm::server {

class SqlStore;
class FileStore;
class EventHub;
class DbEventRelay;
class PreviewStore;
class StateMachine;
class Scheduler;
class UrlInputs;
class NodeHub;
class HttpServer;
class AccessStore;
class Webhooks;
class MetricsRecorder;
class JobListCache;
class HealthState;
struct ApiContext;

/// The whole server in one object: database, files, scheduler, hubs and HTTP. main() wires it
/// to the command line; tests run it in-process on port 0.
class FarmServer : public QObject
{
    Q_OBJECT
public:
    /// `clock` defaults to the system clock; tests pass a ManualClock they keep alive.
    explicit FarmServer(ServerConfig config, Clock *clock = nullptr, QObject *parent = nullptr);
    ~FarmServer() override;

    /// Opens the data dir and database, re-queues orphaned tasks, starts listening.
    Result<quint16> start();
    quint16 port() const { return m_port; }
    QString url() const;
    const ServerConfig &config() const { return m_config; }

    SqlStore &store() { return *m_store; }
    FileStore &files() { return *m_files; }
    Scheduler &scheduler() { return *m_scheduler; }
    StateMachine &stateMachine() { return *m_machine; }
    EventHub &events() { return *m_events; }
    PreviewStore &previews() { return *m_previews; }
    AccessStore &access() { return *m_access; }
    HttpServer &http() { return *m_http; }
    ServerMetrics &metrics() { return m_metrics; }
    /// Pages of GET /api/v1/jobs kept in memory (off on PostgreSQL: api/joblistcache.h).
    JobListCache &jobList() { return *m_jobList; }

private:
    void onWebSocket();
    /// Applies the retention rules of the config (hourly and at start).
    void expireByRetention();

    ServerConfig m_config;
    std::unique_ptr<Clock> m_ownClock;
    Clock *m_clock;
    JobTypeRegistry m_jobTypes = JobTypeRegistry::builtin();
    std::unique_ptr<SqlStore> m_store;
    std::unique_ptr<AccessStore> m_access;
    std::unique_ptr<EventHub> m_events;
    std::unique_ptr<DbEventRelay> m_relay;
    std::unique_ptr<PreviewStore> m_previews;
    std::unique_ptr<Webhooks> m_webhooks;
    std::unique_ptr<MetricsRecorder> m_recorder;
    std::unique_ptr<FileStore> m_files;
    std::unique_ptr<StateMachine> m_machine;
    std::unique_ptr<Scheduler> m_scheduler;
    std::unique_ptr<UrlInputs> m_urlInputs;
    std::unique_ptr<NodeHub> m_nodes;
    std::unique_ptr<ApiContext> m_api;
    std::unique_ptr<JobListCache> m_jobList;
    std::unique_ptr<HealthState> m_health;
    std::unique_ptr<HttpServer> m_http;
    QTimer m_leaseTimer;
    QTimer m_cleanupTimer;
    quint16 m_port = 0;
    ServerMetrics m_metrics;
};

} // namespace farm::server
