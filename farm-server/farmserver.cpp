#include "farmserver.h"

#include "api/apicontext.h"
#include "api/healthstate.h"
#include "api/httpserver.h"
#include "api/joblistcache.h"
#include "events/dbeventrelay.h"
#include "events/eventhub.h"
#include "events/nodehub.h"
#include "events/previewstore.h"
#include "events/webhooks.h"
#include "files/filestore.h"
#include "files/retention.h"
#include "files/videoprobe.h"
#include "jobtypes/framebundles.h"
#include "scheduler/nodecredentials.h"
#include "scheduler/scheduler.h"
#include "scheduler/statemachine.h"
#include "store/accessstore.h"
#include "store/sqlstore.h"

#include <QDebug>
#include <QDir>
#include <QWebSocket>

namespace farm::server {

FarmServer::FarmServer(ServerConfig config, Clock *clock, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
{
    if (!clock) {
        m_ownClock = std::make_unique<SystemClock>();
        clock = m_ownClock.get();
    }
    m_clock = clock;
}

FarmServer::~FarmServer()
{
    // Nodes first, without telling the scheduler: their tasks stay "running" in the database
    // and the next start re-queues them for the nodes to claim back. Then HTTP, the logic, the
    // database last.
    m_nodes.reset();
    m_http.reset();
    if (m_store)
        m_store->setOnClose({});
    m_health.reset();
    m_urlInputs.reset();
    m_scheduler.reset();
    m_machine.reset();
    m_api.reset();
    m_jobList.reset(); // its hooks leave the database connection before the store closes it
    m_recorder.reset();
    m_webhooks.reset();
    m_access.reset();
    m_files.reset();
    m_previews.reset();
    m_relay.reset();
    m_events.reset();
    m_store.reset();
}

QString FarmServer::url() const
{
    const bool v6 = QHostAddress(m_config.bind).protocol() == QAbstractSocket::IPv6Protocol;
    return QString(v6 ? "http://[%1]:%2" : "http://%1:%2").arg(m_config.bind).arg(m_port);
}

Result<quint16> FarmServer::start()
{
    const QString dir = QDir(m_config.dataDir).absolutePath();
    if (!QDir().mkpath(dir))
        return makeError("internal", QString("cannot create data dir %1").arg(dir));
    m_store = std::make_unique<SqlStore>();
    m_events = std::make_unique<EventHub>();
    // Other controllers of the same PostgreSQL database get what reaches the dashboards here,
    // and theirs reaches ours (docs/CONTROLLERS.md); unstarted (SQLite) it only passes on.
    m_relay = std::make_unique<DbEventRelay>(*m_events);
    // Every publisher goes through the preview store: it sees tasks end and drops their previews.
    m_previews = std::make_unique<PreviewStore>(*m_relay);
    m_files = std::make_unique<FileStore>(dir, *m_store, *m_clock);
    if (auto r = m_files->init(); !r)
        return r.error();
    if (auto r = m_store->open(m_config.database.isEmpty() ? dir + "/farm.db" : m_config.database);
        !r)
        return r.error();
    m_access = std::make_unique<AccessStore>(m_store->database());
    // Webhooks see every event first (job updates become deliveries), then pass it on.
    m_webhooks = std::make_unique<Webhooks>(*m_access, *m_store, *m_clock, m_config, *m_previews);
    // Then metrics: task durations from task updates.
    m_recorder = std::make_unique<MetricsRecorder>(m_metrics, *m_webhooks);
    m_machine = std::make_unique<StateMachine>(*m_store, *m_clock, *m_recorder);
    if (!m_config.jobTypesDir.isEmpty())
        if (auto r = m_jobTypes.loadDirectory(m_config.jobTypesDir); !r)
            return r.error();
    // On PostgreSQL other controllers may share the farm (docs/CONTROLLERS.md).
    const bool shared = m_store->dialect().postgres();
    if (shared)
        if (auto r = m_relay->start(m_store->database()); !r)
            return r.error();
    SchedulerConfig sc{m_config.leaseS, m_config.heartbeatS, m_config.joinToken, &m_jobTypes};
    sc.sharedDatabase = shared;
    sc.noProgressS = m_config.noProgressS;
    // Throughput at scale (docs/PERFORMANCE.md): progress written in batches (a node reports
    // it every 250 ms per slot), and one dispatch per batch of finished tasks.
    sc.progressFlushMs = m_config.progressBatchMs;
    sc.deferDispatch = true;
    sc.batchChanges = true; // task.accepted and task.done of one turn: one transaction
    // An encode task gets its job's frames as input (docs/JOBTYPES.md, "Video").
    auto frameBundles = std::make_shared<FrameBundles>(*m_store, *m_files, m_jobTypes);
    sc.frameInputs = [frameBundles](qint64 jobId) { return frameBundles->forJob(jobId); };
    sc.jobOutputs = [frameBundles](qint64 jobId, const QRegularExpression &names,
                                   const QString &folder) {
        return frameBundles->outputs(jobId, names, folder);
    };
    m_scheduler = std::make_unique<Scheduler>(*m_store, *m_machine, *m_clock, *m_recorder, sc);
    m_scheduler->setPreviews(m_previews.get());
    connect(m_relay.get(), &DbEventRelay::peerEvent, m_scheduler.get(), &Scheduler::onPeerEvent);
    // Other controllers' events of a relay outage are lost: dashboards reconnect and reload.
    connect(m_relay.get(), &DbEventRelay::resumedAfterGap, m_events.get(), [this] {
        m_events->closeAll("events from other controllers were missed; reconnect and reload");
    });
    if (auto r = m_scheduler->recover(); !r)
        return r.error();
    m_nodes = std::make_unique<NodeHub>(*m_scheduler);

    m_api = std::make_unique<ApiContext>(
        ApiContext{*m_store, *m_files, *m_machine, *m_scheduler, *m_recorder, *m_clock, this,
                   m_clock->now(), *m_previews, m_jobTypes, *m_access, m_config, m_metrics});
    // Input files named by URL: fetched on this event loop; jobs left waiting by a restart
    // fetch again.
    m_urlInputs = std::make_unique<UrlInputs>(
        *m_store, *m_files, *m_machine, *m_scheduler, *m_recorder,
        FetchLimits{m_config.fetchTimeoutS, m_config.fetchMaxBytes, m_config.fetchAllow});
    m_api->urlInputs = m_urlInputs.get();
    m_jobList = std::make_unique<JobListCache>(*m_store);
    m_api->jobList = m_jobList.get();
    // GET /health from the front end's thread; a database closed under it shows at once.
    m_health = std::make_unique<HealthState>(*m_access, dir, m_config.minFreeDiskMb);
    m_api->health = m_health.get();
    m_store->setOnClose([health = m_health.get()] { health->databaseClosed(); });
    // A compose job's video named by URL decides its segments once it is here.
    m_urlInputs->onInputReady = [this](qint64 jobId) {
        const auto job = m_store->job(jobId);
        if (!job)
            return;
        auto plans = m_jobTypes.compile(job->spec, [&](const QString &path) {
            for (const BundleFile &b : job->spec.input.files)
                if (b.path == path && !b.file.isEmpty())
                    return m_files->filePath(b.file);
            return QString();
        });
        if (!plans || plans->size() <= 1 || plans->size() == job->tasks.total)
            return;
        if (auto r = m_store->replaceTasks(jobId, *plans, m_clock->now()); !r)
            qWarning().noquote() << "job" << jobId
                                 << "keeps one task: its tasks could not be made again:"
                                 << r.error().message;
    };
    m_urlInputs->resume();
    // Behind a proxy every request comes from loopback: trusting it would let anyone in.
    AuthConfig auth{m_config.token, m_config.joinToken,
                    m_config.trustLoopback && m_config.trustedProxies.isEmpty()};
    auth.trustedProxies = m_config.trustedProxies;
    auth.basePath = m_config.basePath;
    auth.rateLimit = {m_config.rateLimit, m_config.rateBurst};
    auth.userForToken = [this](const QByteArray &token) -> std::optional<Principal> {
        const auto user = m_access->userForTokenHash(credentials::hashSecret(token));
        if (!user)
            return std::nullopt;
        return Principal{user->name, user->role == "admin" ? Role::Admin : Role::User};
    };
    // A node's own secret (from welcome) is its bearer token for downloads and output uploads.
    auth.nodeForToken = [this](const QByteArray &token) {
        return m_scheduler ? m_scheduler->nodeForSecret(token) : 0;
    };
    m_http = std::make_unique<HttpServer>(auth, m_config.http);
    addSystemRoutes(*m_http, *m_api);
    addJobRoutes(*m_http, *m_api);
    addLifecycleRoutes(*m_http, *m_api);
    addEncodeRoutes(*m_http, *m_api);
    addFileRoutes(*m_http, *m_api);
    addPreviewRoutes(*m_http, *m_api);
    addUserRoutes(*m_http, *m_api);
    m_http->addWebSocketPath("/ws/events", Access::Client);
    // With a join token the hello message proves who a node is; without one, the transport must.
    m_http->addWebSocketPath("/ws/node",
                             m_config.joinToken.isEmpty() ? Access::Client : Access::Public);
    connect(m_http.get(), &HttpServer::newWebSocketConnection, this, &FarmServer::onWebSocket);

    const auto listening = m_http->listenOn(QHostAddress(m_config.bind), m_config.port);
    if (std::holds_alternative<QString>(listening))
        return makeError("internal", std::get<QString>(listening));
    m_port = std::get<quint16>(listening);
    m_webhooks->setServerUrl(url());
    m_webhooks->setVideoDuration([files = m_files.get()](qint64 jobId, const QString &name) {
        const auto facts = probeVideo(files->outputPath(jobId, name), name);
        return facts ? std::optional<double>(facts->duration) : std::nullopt;
    });
    m_webhooks->start();

    connect(&m_leaseTimer, &QTimer::timeout, m_scheduler.get(), &Scheduler::checkLeases);
    connect(&m_leaseTimer, &QTimer::timeout, m_scheduler.get(), &Scheduler::checkTasks);
    m_leaseTimer.start(1000);
    // Abandoned uploads hold up to 8 GiB each: drop those a week old, at start and hourly.
    m_files->purgeStaleUploads();
    expireByRetention();
    connect(&m_cleanupTimer, &QTimer::timeout, this, [this] {
        m_files->purgeStaleUploads();
        expireByRetention();
    });
    m_cleanupTimer.start(3600 * 1000);
    return m_port;
}

void FarmServer::expireByRetention()
{
    const RetentionRules rules = RetentionRules::fromConfig(m_config);
    if (!rules.any())
        return;
    const auto removed = applyRetention(*m_store, *m_files,
                                        planRetention(*m_store, *m_files, rules, m_clock->now()));
    if (!removed)
        qWarning("retention: %s", qPrintable(removed.error().message));
    else if (removed->bytes() > 0)
        qInfo("retention: removed the outputs of %d job(s) and %d unused file(s), %lld bytes",
              int(removed->outputs.size()), int(removed->inputs.size()), removed->bytes());
}

void FarmServer::onWebSocket()
{
    while (m_http->hasPendingWebSocketConnections()) {
        std::unique_ptr<QWebSocket> socket = m_http->nextPendingWebSocketConnection();
        if (!socket)
            break;
        QString path = socket->requestUrl().path();
        // Behind a proxy that keeps the base path, the handshake names /farm/ws/events.
        if (!m_config.basePath.isEmpty() && path.startsWith(m_config.basePath + '/'))
            path = path.mid(m_config.basePath.size());
        if (path == "/ws/node")
            m_nodes->addConnection(std::move(socket));
        else if (path == "/ws/events")
            m_events->addClient(std::move(socket));
        else
            socket->close(QWebSocketProtocol::CloseCodePolicyViolated, "unknown path");
    }
}

} // namespace farm::server
