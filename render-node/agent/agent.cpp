#include "agent.h"

#include "rendertask.h"
#include "taskspec.h"

#include <QJsonArray>
#include <QLoggingCategory>
#include <QSet>
#include <QThread>

#include <algorithm>

Q_LOGGING_CATEGORY(lcAgent, "farm.node.agent")

namespace farm::node {

namespace {
constexpr int kDefaultHeartbeatS = 5;
// Bounded so a long outage cannot grow memory without limit; the oldest reports go first.
constexpr int kMaxOutbox = 2000;

// Each agent keeps its own secret, read from its cache dir, whatever config it was copied from.
NodeConfig withOwnCredentials(NodeConfig config)
{
    config.credentials = std::make_shared<NodeCredentials>(config.credentialsPath());
    config.credentials->load(config.server, config.name);
    config.activeServer = std::make_shared<std::atomic<int>>(0); // and follows its own connection
    return config;
}

QList<QUrl> webSocketUrls(const NodeConfig &config)
{
    QList<QUrl> urls;
    for (const QUrl &server : config.controllers())
        urls.append(NodeConfig::webSocketUrl(server));
    return urls;
}

QJsonArray toJsonArray(const QList<qint64> &ids)
{
    QJsonArray a;
    for (qint64 id : ids)
        a.append(id);
    return a;
}
} // namespace

Agent::Agent(NodeConfig config, QObject *parent)
    : Agent(config, EngineRegistry::builtins(config), parent)
{}

Agent::Agent(NodeConfig config, std::shared_ptr<EngineRegistry> engines, QObject *parent)
    : QObject(parent)
    , m_config(withOwnCredentials(std::move(config)))
    , m_engines(std::move(engines))
    , m_inputs(&m_network, m_config)
    , m_connection(webSocketUrls(m_config), m_config.token, m_config.backoffInitialMs,
                   m_config.backoffMaxMs)
{
    connect(&m_connection, &ServerConnection::connected, this, &Agent::onConnected);
    connect(&m_connection, &ServerConnection::disconnected, this, &Agent::onDisconnected);
    connect(&m_connection, &ServerConnection::messageReceived, this, &Agent::onMessage);
    connect(&m_heartbeat, &QTimer::timeout, this, &Agent::sendHeartbeat);
}

Agent::~Agent()
{
    stop();
    // Before the network manager (a member) goes: tasks still hold transfers on it.
    qDeleteAll(findChildren<RenderTask *>(Qt::FindDirectChildrenOnly));
}

const QHash<QString, Agent::Handler> &Agent::handlers()
{
    static const QHash<QString, Handler> table{
        {msg::Welcome, &Agent::onWelcome},       {msg::TaskAssign, &Agent::onTaskAssign},
        {msg::TaskCancel, &Agent::onTaskCancel}, {msg::Error, &Agent::onServerError},
        {"node.drain", &Agent::onDrain},
    };
    return table;
}

void Agent::start()
{
    m_stopped = false;
    if (!m_engines->isDetected())
        m_engines->detect();
    qCInfo(lcAgent).noquote() << "node" << m_config.name << "with" << m_config.gpus.size()
                              << "GPU and" << m_config.slotCount << "CPU slot(s), cache"
                              << m_config.cacheDir;
    m_connection.open();
}

void Agent::stop()
{
    if (m_stopped)
        return;
    m_stopped = true;
    m_heartbeat.stop();
    const auto tasks = m_tasks;
    m_tasks.clear();
    for (RenderTask *task : tasks) {
        task->disconnect(this);
        task->cancel();
    }
    m_connection.close();
}

QList<qint64> Agent::runningTasks() const
{
    return m_tasks.keys();
}

int Agent::freeSlot() const
{
    // GPU slots first: a GPU renders a frame many times faster than a CPU slot.
    QSet<int> busy;
    for (const RenderTask *t : m_tasks)
        busy.insert(t->slot().index);
    for (int i = 0; i < m_config.totalSlots(); ++i)
        if (!busy.contains(i))
            return i;
    return -1;
}

QJsonObject Agent::helloData() const
{
    NodeCapabilities caps;
    caps.name = m_config.name;
    caps.slotCount = m_config.totalSlots();
    caps.cores = std::max(1, QThread::idealThreadCount());
    caps.ramMb = systemRamMb();
    caps.version = kFarmVersion;
    // The engines found here: the server sends a task only to nodes that list its engine.
    caps.engines = m_engines->available();
    caps.gpus = m_config.gpus;
    caps.tags = m_config.tags;
    QJsonObject hello = caps.toJson();
    hello.insert("protocol", kProtocolVersion);
    // The node's own secret proves its name; the join token is only for joining (a first
    // hello, or one after the server forgot the node).
    if (m_config.credentials->hasSecret())
        hello.insert("secret", m_config.credentials->secret());
    else if (!m_config.token.isEmpty())
        hello.insert("token", m_config.token);
    hello.insert("running", toJsonArray(runningTasks()));
    return hello;
}

void Agent::onConnected()
{
    m_welcomed = false;
    // Downloads and uploads (every copy of the config) go to the controller we talk to; the
    // hello below tells it what runs here, as after a server restart.
    m_config.activeServer->store(m_connection.currentIndex());
    const QJsonObject hello = helloData();
    m_helloHadSecret = hello.contains("secret");
    m_connection.send(msg::Hello, hello);
}

void Agent::onDisconnected()
{
    m_welcomed = false;
    m_heartbeat.stop();
}

void Agent::onMessage(const Envelope &envelope)
{
    const auto handler = handlers().value(envelope.type);
    if (!handler) {
        qCWarning(lcAgent).noquote() << "ignoring a message of unknown type" << envelope.type;
        return;
    }
    (this->*handler)(envelope.data);
}

void Agent::onWelcome(const QJsonObject &data)
{
    const int protocol = data.value("protocol").toInt(-1);
    if (protocol != kProtocolVersion)
        qCWarning(lcAgent) << "server speaks protocol" << protocol << "but this node speaks"
                           << kProtocolVersion;
    int heartbeatS = data.value("heartbeat_s").toInt(kDefaultHeartbeatS);
    if (heartbeatS < 1 || heartbeatS > 3600) {
        qCWarning(lcAgent) << "welcome carries heartbeat_s" << data.value("heartbeat_s")
                           << "; using" << kDefaultHeartbeatS;
        heartbeatS = kDefaultHeartbeatS;
    }
    m_nodeId = data.value("node_id").toInteger();
    if (const QString secret = data.value("secret").toString(); !secret.isEmpty()) {
        // Issued at our first join: it proves our name from now on, so it must survive us.
        if (auto saved =
                m_config.credentials->save(m_config.server, m_config.name, m_nodeId, secret);
            !saved)
            qCCritical(lcAgent).noquote()
                << "could not keep this node's secret:" << saved.error().message
                << "- after a restart the server will refuse the name" << m_config.name;
        else
            qCInfo(lcAgent).noquote() << "registered as node" << m_nodeId << "; its secret is in"
                                      << m_config.credentials->path();
    }
    m_welcomed = true;
    m_connection.resetBackoff();
    m_heartbeat.start(heartbeatS * 1000);
    qCInfo(lcAgent) << "welcomed as node" << m_nodeId << "heartbeat every" << heartbeatS << "s";
    flushOutbox();
    emit welcomed(m_nodeId);
}

void Agent::onTaskAssign(const QJsonObject &data)
{
    if (!data.value("task").isDouble() || data.value("task").toInteger() <= 0) {
        qCWarning(lcAgent) << "ignoring a task.assign without a task id";
        return;
    }
    const qint64 id = data.value("task").toInteger();
    sendTaskMessage(msg::TaskAccepted, {{"task", id}});
    if (m_tasks.contains(id))
        return; // given back to us after a reconnect: it is still running here

    auto spec = TaskSpec::fromAssign(data);
    if (!spec) {
        qCWarning(lcAgent).noquote() << "task" << id << "is invalid:" << spec.error().message;
        sendTaskMessage(msg::TaskFailed, {{"task", id}, {"error", spec.error().message}});
        return;
    }
    const std::shared_ptr<const Engine> engine = m_engines->find(spec->engine);
    if (!engine) {
        sendTaskMessage(msg::TaskFailed,
                        {{"task", id}, {"error", m_engines->whyUnavailable(spec->engine)}});
        return;
    }
    if (auto checked = engine->check(*spec); !checked) {
        qCWarning(lcAgent).noquote() << "task" << id << "is invalid:" << checked.error().message;
        QJsonObject failed{{"task", id}, {"error", checked.error().message}};
        if (errc::isNonRetryableFailure(checked.error().code))
            failed.insert("code", checked.error().code);
        sendTaskMessage(msg::TaskFailed, failed);
        return;
    }
    const int slot = freeSlot();
    if (slot < 0) {
        sendTaskMessage(msg::TaskFailed,
                        {{"task", id},
                         {"error", QString("node %1 has no free slot (%2 of %2 busy)")
                                       .arg(m_config.name)
                                       .arg(m_config.totalSlots())}});
        return;
    }

    TaskSlot taskSlot;
    taskSlot.index = slot;
    if (slot < m_config.gpus.size())
        taskSlot.cudaDevice = m_config.gpuDevices.value(slot);
    auto *task = new RenderTask(*spec, engine, m_config, &m_network, &m_inputs, taskSlot, this);
    m_tasks.insert(id, task);
    connect(task, &RenderTask::progress, this, [this](qint64 t, double fraction, int frame) {
        // Progress is only worth sending live; stale values are not queued.
        if (m_welcomed)
            m_connection.send(msg::TaskProgress,
                              {{"task", t}, {"progress", fraction}, {"frame", frame}});
    });
    connect(task, &RenderTask::log, this, [this](qint64 t, const QString &text) {
        sendTaskMessage(msg::TaskLog, {{"task", t}, {"text", text}});
    });
    connect(task, &RenderTask::preview, this,
            [this](qint64 t, int frame, int samples, int spp, const QByteArray &jpeg) {
                // Like progress, a preview is only worth sending live.
                if (m_welcomed)
                    m_connection.send(msg::TaskPartial,
                                      {{"task", t},
                                       {"frame", frame},
                                       {"samples", samples},
                                       {"spp", spp},
                                       {"jpeg", QString::fromLatin1(jpeg.toBase64())}});
            });
    connect(task, &RenderTask::finished, this, &Agent::onTaskFinished);
    connect(task, &RenderTask::lost, this, &Agent::onTaskLost);
    qCInfo(lcAgent).noquote() << "task" << id << "of job" << spec->jobId << "in" << spec->engine
                              << "frames" << spec->frames.toString();
    task->start();
}

void Agent::onTaskCancel(const QJsonObject &data)
{
    const qint64 id = data.value("task").toInteger();
    RenderTask *task = m_tasks.take(id);
    if (!task) {
        qCWarning(lcAgent) << "task.cancel for task" << id << "which does not run here";
        return;
    }
    qCInfo(lcAgent) << "canceling task" << id;
    task->disconnect(this);
    task->cancel();
}

void Agent::onServerError(const QJsonObject &data)
{
    const QString code = data.value("code").toString();
    const QString text =
        QString("server reports an error: %1: %2").arg(code, data.value("message").toString());
    if (code == QLatin1String(errc::NameTaken)) {
        qCCritical(lcAgent).noquote() << text;
        return;
    }
    qCWarning(lcAgent).noquote() << text;
    if (!m_welcomed && m_helloHadSecret && code == QLatin1String("unauthorized") &&
        !m_config.token.isEmpty()) {
        // The server does not know our secret (its database is new, or it forgot this node):
        // join again with the join token on the next connection.
        qCWarning(lcAgent) << "the server does not know this node's secret; joining again";
        m_config.credentials->clear();
    }
}

void Agent::onTaskLost(qint64 task, const QString &why)
{
    m_tasks.remove(task); // the task stopped like a canceled one and deletes itself
    qCWarning(lcAgent).noquote() << "stopped task" << task
                                 << "and report nothing more for it:" << why;
    emit taskLost(task, why);
}

void Agent::onDrain(const QJsonObject &)
{
    // Draining is the scheduler's business (no new tasks); running ones simply finish.
    qCInfo(lcAgent) << "the server drains this node; running tasks finish:" << runningTasks();
}

void Agent::onTaskFinished(qint64 task, const QStringList &outputs, const QString &error,
                           const QString &code)
{
    m_tasks.remove(task); // the task deletes itself
    if (error.isEmpty())
        sendTaskMessage(msg::TaskDone,
                        {{"task", task}, {"outputs", QJsonArray::fromStringList(outputs)}});
    else if (code.isEmpty())
        sendTaskMessage(msg::TaskFailed, {{"task", task}, {"error", error}});
    else
        sendTaskMessage(msg::TaskFailed, {{"task", task}, {"error", error}, {"code", code}});
    emit taskFinished(task, error);
}

void Agent::sendHeartbeat()
{
    QJsonObject beat{{"running", toJsonArray(runningTasks())}};
    if (m_gpuMonitor.available()) {
        QJsonArray gpus;
        for (const GpuSample &g : m_gpuMonitor.sample())
            gpus.append(g.toJson());
        beat.insert("gpus", gpus);
    }
    if (const auto load = systemLoadAverage())
        beat.insert("load", std::min(*load, kMaxNodeLoad));
    m_connection.send(msg::Heartbeat, beat);
}

void Agent::sendTaskMessage(const QString &type, const QJsonObject &data)
{
    if (m_welcomed && m_outbox.isEmpty() && m_connection.send(type, data))
        return;
    if (m_outbox.size() >= kMaxOutbox)
        m_outbox.removeFirst();
    m_outbox.append({type, data});
}

void Agent::flushOutbox()
{
    while (!m_outbox.isEmpty() && m_welcomed) {
        if (!m_connection.send(m_outbox.first().first, m_outbox.first().second))
            return;
        m_outbox.removeFirst();
    }
}

} // namespace farm::node
