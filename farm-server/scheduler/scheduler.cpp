#include "scheduler/scheduler.h"

#include <QJsonArray>
#include <QLoggingCategory>

#include <algorithm>
#include <utility>

Q_LOGGING_CATEGORY(lcScheduler, "farm.scheduler")

namespace farm::server {
namespace {

constexpr int kPolicyViolation = 1008;

bool readIds(const QJsonObject &d, const char *key, QList<qint64> &out)
{
    const QJsonValue v = d.value(QLatin1String(key));
    if (v.isUndefined() || v.isNull())
        return true;
    if (!v.isArray())
        return false;
    for (const QJsonValue &x : v.toArray()) {
        if (!x.isDouble() || x.toDouble() != double(x.toInteger()) || x.toInteger() <= 0)
            return false;
        out.append(x.toInteger());
    }
    return true;
}

Result<qint64> readTaskId(const QJsonObject &d)
{
    const QJsonValue v = d.value("task");
    if (!v.isDouble() || v.toDouble() != double(v.toInteger()) || v.toInteger() <= 0)
        return makeError("invalid_field", "'task' must be a positive integer task id");
    return v.toInteger();
}

} // namespace

Scheduler::Scheduler(JobStore &store, StateMachine &machine, const Clock &clock, EventSink &events,
                     SchedulerConfig config, QObject *parent)
    : QObject(parent)
    , m_store(store)
    , m_machine(machine)
    , m_clock(clock)
    , m_events(events)
    , m_config(std::move(config))
{}

Result<void> Scheduler::recover()
{
    QList<TaskChange> changes;
    for (const TaskRecord &t : m_store.tasksInStates({TaskState::Assigned, TaskState::Running}))
        changes.append({t.task.id, TaskState::Queued, 0, {}, TaskChange::Reason::Orphaned});
    if (changes.isEmpty())
        return {};
    auto out = m_machine.apply(changes);
    if (!out)
        return out.error();
    qCInfo(lcScheduler) << "re-queued" << changes.size() << "tasks left on nodes by the last run";
    return {};
}

Result<qint64> Scheduler::connectNode(NodeLink *link, const QJsonObject &hello)
{
    const QJsonValue protocol = hello.value("protocol");
    if (!protocol.isDouble() || protocol.toInt() != kProtocolVersion)
        return makeError("unsupported_protocol",
                         QString("hello must carry protocol %1").arg(kProtocolVersion));
    if (!m_config.joinToken.isEmpty() && hello.value("token").toString() != m_config.joinToken)
        return makeError("unauthorized", "the join token is missing or wrong");
    auto caps = NodeCapabilities::fromJson(hello);
    if (!caps)
        return caps.error();
    QList<qint64> running;
    if (!readIds(hello, "running", running))
        return makeError("invalid_field", "'running' must be a list of task ids");

    const QDateTime now = m_clock.now();
    auto id = m_store.upsertNode(*caps, now);
    if (!id)
        return id.error();
    // Hold dispatch until the node has its running tasks back: a stale socket's tasks must
    // not go to other nodes in between.
    const bool held = std::exchange(m_dispatching, true);
    if (m_live.contains(*id)) { // the same machine again: the old socket is stale
        NodeLink *old = m_live[*id].link;
        disconnectNode(*id, old, "replaced by a new connection");
        old->close(kPolicyViolation, "replaced by a new connection");
    }
    LiveNode n;
    n.id = *id;
    n.caps = *caps;
    n.link = link;
    n.admin = m_store.node(*id).value_or(NodeRecord{}).admin;
    n.connectedAt = n.lastSeen = now;
    m_live.insert(n.id, n);
    link->send(msg::Welcome, {{"protocol", kProtocolVersion},
                              {"node_id", n.id},
                              {"heartbeat_s", m_config.heartbeatS},
                              {"lease_s", m_config.leaseS}});
    reconcile(m_live[n.id], running);
    m_dispatching = held;
    publishNode(n.id);
    dispatch();
    return n.id;
}

void Scheduler::reconcile(LiveNode &n, const QList<qint64> &running)
{
    QList<TaskChange> changes;
    for (qint64 id : running) {
        const auto t = m_store.task(id);
        const auto job = t ? m_store.job(t->task.jobId) : std::nullopt;
        const bool jobLive =
            job && (job->state == JobState::Queued || job->state == JobState::Active);
        if (t && jobLive && t->task.state == TaskState::Queued) {
            changes.append({id, TaskState::Assigned, n.id});
            changes.append({id, TaskState::Running, n.id});
        } else if (t && t->task.nodeId == n.id &&
                   (t->task.state == TaskState::Assigned || t->task.state == TaskState::Running)) {
            n.tasks.insert(id);
        } else {
            n.link->send(msg::TaskCancel, {{"task", id}});
        }
    }
    if (changes.isEmpty())
        return;
    auto out = m_machine.apply(changes);
    if (!out) {
        qCWarning(lcScheduler) << "could not give tasks back to node" << n.id
                               << out.error().message;
        return;
    }
    forget(*out);
}

void Scheduler::disconnectNode(qint64 nodeId, NodeLink *link, const QString &why)
{
    auto it = m_live.find(nodeId);
    if (it == m_live.end() || it->link != link)
        return;
    m_live.erase(it);
    if (auto r = m_store.touchNode(nodeId, m_clock.now()); !r)
        qCWarning(lcScheduler) << r.error().message;
    QList<TaskChange> changes;
    for (const TaskRecord &t : m_store.tasksOnNode(nodeId))
        changes.append({t.task.id, TaskState::Queued, 0, {}, TaskChange::Reason::Orphaned});
    qCInfo(lcScheduler) << "node" << nodeId << "offline:" << why << "-" << changes.size()
                        << "tasks back to the queue";
    if (!changes.isEmpty()) {
        if (auto out = m_machine.apply(changes))
            sendCancels(out->cancels);
        else
            qCWarning(lcScheduler) << "re-queue failed:" << out.error().message;
    }
    publishNode(nodeId);
    dispatch();
}

void Scheduler::checkLeases()
{
    const QDateTime now = m_clock.now();
    QList<std::pair<qint64, NodeLink *>> lost;
    for (const LiveNode &n : std::as_const(m_live))
        if (n.lastSeen.msecsTo(now) > qint64(m_config.leaseS) * 1000)
            lost.append({n.id, n.link});
    for (const auto &[id, link] : lost) {
        disconnectNode(id, link, "missed its lease");
        link->close(kPolicyViolation, "lease expired");
    }
}

Result<void> Scheduler::handleMessage(qint64 nodeId, const Envelope &message)
{
    static const QHash<QString, Handler> handlers{
        {msg::Heartbeat, &Scheduler::onHeartbeat},   {msg::TaskAccepted, &Scheduler::onAccepted},
        {msg::TaskProgress, &Scheduler::onProgress}, {msg::TaskLog, &Scheduler::onLog},
        {msg::TaskDone, &Scheduler::onDone},         {msg::TaskFailed, &Scheduler::onFailed},
        {msg::TaskPartial, &Scheduler::onPartial},
    };
    auto it = m_live.find(nodeId);
    if (it == m_live.end())
        return makeError("not_connected", "this node is not registered; send hello first");
    it->lastSeen = m_clock.now();
    const Handler h = handlers.value(message.type, nullptr);
    if (!h)
        return makeError("unknown_type", QString("unknown message type '%1'").arg(message.type));
    return (this->*h)(*it, message.data);
}

Result<void> Scheduler::onHeartbeat(LiveNode &n, const QJsonObject &d)
{
    QList<qint64> running;
    if (!readIds(d, "running", running))
        return makeError("invalid_field", "'running' must be a list of task ids");
    if (auto r = m_store.touchNode(n.id, n.lastSeen); !r)
        return r;
    // Work the node runs but should not (canceled, or given to another node meanwhile).
    for (qint64 id : running)
        if (!n.tasks.contains(id))
            n.link->send(msg::TaskCancel, {{"task", id}});
    return {};
}

Result<TaskRecord> Scheduler::ownTask(const LiveNode &n, const QJsonObject &d)
{
    const auto id = readTaskId(d);
    if (!id)
        return id.error();
    const auto t = m_store.task(*id);
    if (!t)
        return makeError("not_found", QString("task %1 does not exist").arg(*id));
    if (t->task.nodeId != n.id ||
        (t->task.state != TaskState::Assigned && t->task.state != TaskState::Running))
        return makeError("not_assigned", QString("task %1 is not assigned to this node").arg(*id));
    return *t;
}

Result<void> Scheduler::onAccepted(LiveNode &n, const QJsonObject &d)
{
    const auto t = ownTask(n, d);
    if (!t)
        return t.error();
    if (t->task.state == TaskState::Assigned)
        if (auto out = m_machine.apply({{t->task.id, TaskState::Running, n.id}}); !out)
            return out.error();
    return {};
}

Result<void> Scheduler::onProgress(LiveNode &n, const QJsonObject &d)
{
    const auto t = ownTask(n, d);
    if (!t)
        return t.error();
    const QJsonValue p = d.value("progress");
    if (!p.isDouble() || p.toDouble() < 0.0 || p.toDouble() > 1.0)
        return makeError("invalid_field", "'progress' must be a number from 0 to 1");
    if (t->task.state == TaskState::Assigned)
        if (auto out = m_machine.apply({{t->task.id, TaskState::Running, n.id}}); !out)
            return out.error();
    if (auto out = m_machine.setProgress(t->task.id, p.toDouble()); !out)
        return out.error();
    return {};
}

Result<void> Scheduler::onLog(LiveNode &n, const QJsonObject &d)
{
    const auto id = readTaskId(d);
    if (!id)
        return id.error();
    const QJsonValue text = d.value("text");
    if (!text.isString() || text.toString().size() > 1024 * 1024)
        return makeError("invalid_field", "'text' must be a string of at most 1 MiB");
    const auto t = m_store.task(*id);
    if (!t || t->task.nodeId != n.id) // logs may trail a finished task, but only from its node
        return makeError("not_assigned", QString("task %1 is not assigned to this node").arg(*id));
    return m_store.appendLog(*id, t->task.attempts + t->orphaned + 1, text.toString(),
                             m_clock.now());
}

Result<void> Scheduler::onDone(LiveNode &n, const QJsonObject &d)
{
    const auto id = readTaskId(d);
    if (!id)
        return id.error();
    const auto current = m_store.task(*id);
    if (current && current->task.state == TaskState::Done && current->task.nodeId == n.id)
        return {}; // a repeated done: already recorded
    const auto t = ownTask(n, d);
    if (!t)
        return t.error();
    const QJsonValue outputs = d.value("outputs");
    if (!outputs.isUndefined() && !outputs.isArray())
        return makeError("invalid_field", "'outputs' must be a list of output names");
    QStringList missing;
    for (const QJsonValue &v : outputs.toArray()) {
        if (!v.isString() || !isValidOutputName(v.toString()))
            return makeError("invalid_field", "'outputs' holds an invalid output name");
        if (!m_store.output(t->task.jobId, v.toString()))
            missing.append(v.toString());
    }
    if (!missing.isEmpty())
        return makeError("missing_outputs", "outputs not uploaded yet: " + missing.join(", "));
    auto out = m_machine.apply({{t->task.id, TaskState::Done, n.id}});
    if (!out)
        return out.error();
    forget(*out);
    dispatch();
    return {};
}

Result<void> Scheduler::onFailed(LiveNode &n, const QJsonObject &d)
{
    const auto t = ownTask(n, d);
    if (!t)
        return t.error();
    const QJsonValue error = d.value("error");
    if (!error.isString() || error.toString().isEmpty() || error.toString().size() > 4000)
        return makeError("invalid_field", "'error' must be a readable reason (1-4000 chars)");
    ++m_failures[t->task.jobId][n.id];
    auto out = m_machine.apply(
        {{t->task.id, TaskState::Failed, n.id, error.toString(), TaskChange::Reason::Failure}});
    if (!out)
        return out.error();
    forget(*out);
    sendCancels(out->cancels);
    dispatch();
    return {};
}

void Scheduler::sendCancels(const QList<std::pair<qint64, qint64>> &cancels)
{
    for (const auto &[nodeId, taskId] : cancels) {
        auto it = m_live.find(nodeId);
        if (it == m_live.end())
            continue;
        it->link->send(msg::TaskCancel, {{"task", taskId}});
        if (it->tasks.remove(taskId))
            publishNode(nodeId);
    }
    dispatch();
}

void Scheduler::forget(const Outcome &out)
{
    QSet<qint64> touched;
    for (const TaskRecord &r : out.tasks) {
        const bool onNode =
            r.task.state == TaskState::Assigned || r.task.state == TaskState::Running;
        for (LiveNode &n : m_live) {
            const bool here = onNode && r.task.nodeId == n.id;
            if (here && !n.tasks.contains(r.task.id)) {
                n.tasks.insert(r.task.id);
                touched.insert(n.id);
            } else if (!here && n.tasks.remove(r.task.id)) {
                touched.insert(n.id);
            }
        }
    }
    for (qint64 id : touched)
        publishNode(id);
}

} // namespace farm::server
