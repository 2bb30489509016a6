#include "scheduler/scheduler.h"

#include "events/budgets.h"

#include "scheduler/nodecredentials.h"

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

/// Whether the task is assigned to or running on node `nodeId`.
bool heldBy(const TaskRecord &t, qint64 nodeId)
{
    return t.task.nodeId == nodeId &&
           (t.task.state == TaskState::Assigned || t.task.state == TaskState::Running);
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
{
    if (m_config.progressFlushMs > 0) {
        m_progressTimer = new QTimer(this);
        m_progressTimer->setSingleShot(true);
        m_progressTimer->setInterval(m_config.progressFlushMs);
        connect(m_progressTimer, &QTimer::timeout, this, &Scheduler::flushProgress);
    }
    if (m_config.batchChanges)
        m_machine.setLaterHandler(
            [this](const QList<TaskChange> &changes, const Result<Outcome> &out) {
                reportedApplied(changes, out);
            });
}

Scheduler::~Scheduler()
{
    if (!m_config.batchChanges)
        return; // the handler, if any, is another scheduler's
    m_machine.setLaterHandler({});
    m_machine.flushLater();
}

Result<void> Scheduler::applyReported(const TaskChange &change)
{
    if (!m_config.batchChanges) {
        auto out = m_machine.apply({change});
        if (!out)
            return out.error();
        reportedApplied({change}, out);
        return {};
    }
    m_machine.applyLater(change);
    if (change.to == TaskState::Done)
        m_doneLater.insert(change.taskId);
    else if (change.to == TaskState::Running)
        m_running.insert(change.taskId); // its progress is kept in memory like a running one's
    if (!std::exchange(m_flushQueued, true))
        QMetaObject::invokeMethod(
            this,
            [this] {
                m_flushQueued = false;
                flushChanges();
            },
            Qt::QueuedConnection);
    return {};
}

void Scheduler::reportedApplied(const QList<TaskChange> &changes, const Result<Outcome> &out)
{
    bool done = false;
    for (const TaskChange &c : changes) {
        m_doneLater.remove(c.taskId);
        done = done || c.to == TaskState::Done;
    }
    if (!out) {
        // Applied on its own (the batch failed): the node hears why, as it would have at once.
        for (const TaskChange &c : changes) {
            qCInfo(lcScheduler).noquote() << QString("task %1 of node %2 not %3: %4")
                                                 .arg(c.taskId)
                                                 .arg(c.nodeId)
                                                 .arg(toString(c.to), out.error().message);
            m_running.remove(c.taskId);
            if (const auto it = m_live.find(c.nodeId); it != m_live.end())
                it->link->send(msg::Error,
                               {{"code", out.error().code}, {"message", out.error().message}});
        }
        return;
    }
    forget(*out);
    if (!out->cancels.isEmpty())
        sendCancels(out->cancels);
    if (done)
        requestDispatch();
}

void Scheduler::requestDispatch()
{
    if (!m_config.deferDispatch)
        return dispatch();
    if (std::exchange(m_dispatchQueued, true))
        return;
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_dispatchQueued = false;
            dispatch();
        },
        Qt::QueuedConnection);
}

void Scheduler::flushProgress()
{
    QList<std::pair<qint64, double>> batch;
    for (auto it = m_pendingProgress.cbegin(); it != m_pendingProgress.cend(); ++it)
        if (m_holder.contains(it.key())) // still on a node
            batch.append({it.key(), it.value()});
    m_pendingProgress.clear();
    if (batch.isEmpty())
        return;
    if (auto out = m_machine.setProgress(batch, false); !out)
        qCWarning(lcScheduler) << "progress not stored:" << out.error().message;
}

void Scheduler::keepProgress(qint64 taskId, double progress)
{
    // Not a state change: dashboards see it now, the database with the next batch (and the
    // job's progress, which is read from there, then).
    if (const auto it = m_pendingProgress.constFind(taskId);
        it != m_pendingProgress.cend() && *it == progress)
        return;
    m_pendingProgress.insert(taskId, progress);
    if (auto t = m_store.task(taskId)) {
        t->task.progress = progress;
        m_events.publish(msg::TaskUpdated, t->task.toJson());
    }
    if (!m_progressTimer->isActive())
        m_progressTimer->start();
}

void Scheduler::release(qint64 taskId)
{
    m_holder.remove(taskId);
    m_running.remove(taskId);
    m_pendingProgress.remove(taskId);
    m_watch.remove(taskId);
}

Result<void> Scheduler::recover()
{
    flushChanges(); // what is read below includes the batched changes
    if (m_config.sharedDatabase) {
        // The tasks of nodes other controllers serve stay theirs; those of nodes nobody has
        // seen for a lease come back now, the rest once their lease runs out unclaimed.
        requeueStale();
        return {};
    }
    QList<TaskChange> changes;
    for (const TaskRecord &t : m_store.tasksInStates({TaskState::Assigned, TaskState::Running})) {
        changes.append({t.task.id, TaskState::Queued, 0, {}, TaskChange::Reason::Orphaned});
        if (t.task.nodeId)
            m_lastHolder.insert(t.task.id, t.task.nodeId); // may still run there: it may claim it
    }
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
    flushChanges(); // what is read below includes the batched changes
    const QJsonValue protocol = hello.value("protocol");
    if (!protocol.isDouble() || protocol.toInt() != kProtocolVersion)
        return makeError("unsupported_protocol",
                         QString("hello must carry protocol %1").arg(kProtocolVersion));
    auto caps = NodeCapabilities::fromJson(hello);
    if (!caps)
        return caps.error();
    const auto issue = authenticate(*caps, hello);
    if (!issue) {
        qCWarning(lcScheduler).noquote()
            << QString("refused a hello as '%1': %2: %3")
                   .arg(caps->name, issue.error().code, issue.error().message);
        return issue.error();
    }
    QList<qint64> running;
    if (!readIds(hello, "running", running))
        return makeError("invalid_field", "'running' must be a list of task ids");

    const QDateTime now = m_clock.now();
    auto id = m_store.upsertNode(*caps, now);
    if (!id)
        return id.error();
    QString secret;
    QByteArray secretHash; // the node's secret from now on: proved by its hello, or issued
    if (*issue) {
        secret = credentials::newSecret();
        secretHash = credentials::hashSecret(secret.toLatin1());
        if (auto r = m_store.setNodeSecret(*id, secretHash); !r)
            return r.error();
    } else {
        secretHash = credentials::hashSecret(hello.value("secret").toString().toUtf8());
    }
    // Hold dispatch until the node has its running tasks back: a stale socket's tasks must
    // not go to other nodes in between.
    const bool held = std::exchange(m_dispatching, true);
    if (m_live.contains(*id)) { // the same machine again (it proved it): the old socket is stale
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
    // Reports still in its outbox (task.done) come before its first heartbeat.
    n.checkHeld = m_config.sharedDatabase;
    n.secretHash = secretHash;
    m_live.insert(n.id, n);
    m_liveSecrets.insert(secretHash, n.id);
    QJsonObject welcome{{"protocol", kProtocolVersion},
                        {"node_id", n.id},
                        {"heartbeat_s", m_config.heartbeatS},
                        {"lease_s", m_config.leaseS}};
    if (!secret.isEmpty())
        welcome.insert("secret", secret);
    link->send(msg::Welcome, welcome);
    reconcile(m_live[n.id], running);
    qCInfo(lcScheduler).noquote() << QString("node %1 (%2) connected; it keeps %3 of the %4 "
                                             "task(s) it runs")
                                         .arg(n.caps.name)
                                         .arg(n.id)
                                         .arg(m_live[n.id].tasks.size())
                                         .arg(running.size());
    m_dispatching = held;
    publishNode(n.id);
    dispatch();
    return n.id;
}

Result<bool> Scheduler::authenticate(const NodeCapabilities &caps, const QJsonObject &hello)
{
    const QJsonValue secretValue = hello.value("secret");
    if (!secretValue.isUndefined() && !secretValue.isNull() &&
        (!secretValue.isString() || secretValue.toString().size() > credentials::kMaxSecretLength))
        return makeError("invalid_field",
                         QString("'secret' must be a string of at most %1 characters")
                             .arg(credentials::kMaxSecretLength));
    const QByteArray secret = secretValue.toString().toUtf8();
    const auto known = m_store.nodeByName(caps.name);
    const bool claimed = known && !known->secretHash.isEmpty();
    if (claimed && !secret.isEmpty() &&
        credentials::constantTimeEquals(credentials::hashSecret(secret), known->secretHash))
        return false; // the node itself: its secret stays
    const bool joined = m_config.joinToken.isEmpty() ||
                        credentials::constantTimeEquals(hello.value("token").toString().toUtf8(),
                                                        m_config.joinToken.toUtf8());
    if (!joined) // says nothing about the name to a peer that proved nothing
        return makeError("unauthorized", "the join token is missing or wrong");
    if (claimed)
        return makeError(
            errc::NameTaken,
            QString("a node named '%1' is already registered (node %2) and this hello does not "
                    "carry its secret. If this is that machine reinstalled, release the name "
                    "while the node is offline with 'farmctl nodes forget %1' (DELETE "
                    "/api/v1/nodes/%2); otherwise start this node with another --name")
                .arg(caps.name)
                .arg(known->id));
    return true; // a new node, or one registered before nodes had secrets: it gets one now
}

qint64 Scheduler::nodeForSecret(const QByteArray &secret) const
{
    if (secret.isEmpty() || secret.size() > credentials::kMaxSecretLength)
        return 0;
    // Looked up by the secret's SHA-256: what a lookup's timing could tell is about the hash,
    // which reveals nothing of the secret.
    const QByteArray hash = credentials::hashSecret(secret);
    if (const auto it = m_liveSecrets.constFind(hash); it != m_liveSecrets.cend())
        return *it;
    return m_store.nodeForSecret(hash);
}

void Scheduler::reconcile(LiveNode &n, const QList<qint64> &running)
{
    QList<TaskChange> changes;
    QSet<qint64> seen;
    int kept = 0;
    for (qint64 id : running) {
        if (seen.contains(id))
            continue;
        seen.insert(id);
        const auto t = m_store.task(id);
        const QString why = refuseAdoption(n, t, kept);
        const bool onNode = t && heldBy(*t, n.id);
        if (!why.isEmpty()) {
            qCInfo(lcScheduler).noquote()
                << QString("node %1 runs task %2, which it may not keep: %3; canceling it there")
                       .arg(n.caps.name)
                       .arg(id)
                       .arg(why);
            n.link->send(msg::TaskCancel, {{"task", id}});
            if (onNode) // the database still has it there: back to the queue
                changes.append({id, TaskState::Queued, 0, {}, TaskChange::Reason::Orphaned});
            continue;
        }
        ++kept;
        m_lastHolder.remove(id);
        if (onNode) {
            n.tasks.insert(id);
            m_holder.insert(id, n.id);
        } else { // a claim: another controller may have handed it out meanwhile
            TaskChange assign{id, TaskState::Assigned, n.id};
            assign.expect = TaskState::Queued;
            changes.append(assign);
            changes.append({id, TaskState::Running, n.id});
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
    for (qint64 id : std::as_const(out->lost)) {
        qCInfo(lcScheduler).noquote()
            << QString("node %1 runs task %2, which another controller handed out meanwhile; "
                       "canceling it there")
                   .arg(n.caps.name)
                   .arg(id);
        n.link->send(msg::TaskCancel, {{"task", id}});
    }
}

QString Scheduler::refuseAdoption(const LiveNode &n, const std::optional<TaskRecord> &t,
                                  int kept) const
{
    if (!t)
        return "no such task";
    const bool onNode = heldBy(*t, n.id);
    const bool orphan =
        t->task.state == TaskState::Queued && m_lastHolder.value(t->task.id) == n.id;
    if (!onNode && !orphan)
        return t->task.state == TaskState::Queued
                   ? QString("it was not taken from this node")
                   : QString("it is %1%2")
                         .arg(toString(t->task.state), t->task.nodeName.isEmpty()
                                                           ? QString()
                                                           : " on node " + t->task.nodeName);
    const auto job = m_store.job(t->task.jobId);
    if (!job || (job->state != JobState::Queued && job->state != JobState::Active))
        return QString("its job is %1").arg(job ? toString(job->state) : QString("gone"));
    if (kept >= n.caps.slotCount)
        return QString("the node has only %1 slot(s)").arg(n.caps.slotCount);
    if (!meets(n, job->spec))
        return "the node does not meet the job's requirements";
    return {};
}

void Scheduler::disconnectNode(qint64 nodeId, NodeLink *link, const QString &why)
{
    flushChanges(); // what is read below includes the batched changes
    auto it = m_live.find(nodeId);
    if (it == m_live.end() || it->link != link)
        return;
    for (qint64 id : std::as_const(it->tasks))
        release(id);
    if (m_liveSecrets.value(it->secretHash) == nodeId)
        m_liveSecrets.remove(it->secretHash);
    m_live.erase(it);
    if (auto r = m_store.touchNode(nodeId, m_clock.now()); !r)
        qCWarning(lcScheduler) << r.error().message;
    QList<TaskChange> changes;
    for (const TaskRecord &t : m_store.tasksOnNode(nodeId)) {
        changes.append({t.task.id, TaskState::Queued, 0, {}, TaskChange::Reason::Orphaned});
        m_lastHolder.insert(t.task.id, nodeId); // it may still run there and claim it back
    }
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
    flushChanges(); // what is read below includes the batched changes
    const QDateTime now = m_clock.now();
    QList<std::pair<qint64, NodeLink *>> lost;
    for (const LiveNode &n : std::as_const(m_live))
        if (n.lastSeen.msecsTo(now) > qint64(m_config.leaseS) * 1000)
            lost.append({n.id, n.link});
    for (const auto &[id, link] : lost) {
        disconnectNode(id, link, "missed its lease");
        link->close(kPolicyViolation, "lease expired");
    }
    if (m_config.sharedDatabase) {
        // A quarter lease apart: a task of a node that vanished with its controller is back in
        // the queue at most a lease and a quarter after the node was last seen.
        if (!m_lastStaleCheck.isValid() ||
            m_lastStaleCheck.msecsTo(now) >= qMax(1000, m_config.leaseS * 250))
            requeueStale();
        // Work another controller queued whose event did not come (its connection to the
        // database dropped): looked for at least once a second.
        dispatch();
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

QList<Scheduler::GpuLoad> Scheduler::gpuLoad() const
{
    QList<GpuLoad> out;
    for (const LiveNode &n : m_live)
        for (const GpuSample &g : n.gpus)
            out.append({n.caps.name, g});
    return out;
}

Result<void> Scheduler::onHeartbeat(LiveNode &n, const QJsonObject &d)
{
    QList<qint64> running;
    if (!readIds(d, "running", running))
        return makeError("invalid_field", "'running' must be a list of task ids");
    if (d.contains("gpus")) { // only nodes whose driver has NVML send them
        auto gpus = GpuSample::listFromJson(d.value("gpus"));
        if (!gpus)
            return gpus.error();
        n.gpus = *gpus;
    }
    if (d.contains("load")) { // nodes that read /proc/loadavg send it
        const QJsonValue load = d.value("load");
        if (!load.isDouble() || !(load.toDouble() >= 0) || load.toDouble() > kMaxNodeLoad)
            return makeError("invalid_field",
                             QString("'load' must be a number from 0 to %1").arg(kMaxNodeLoad));
        n.load = load.toDouble();
    }
    if (auto r = m_store.touchNode(n.id, n.lastSeen); !r)
        return r;
    if (std::exchange(n.checkHeld, false))
        requeueUnreported(n, running);
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
    if (!heldBy(*t, n.id))
        return makeError("not_assigned", QString("task %1 is not assigned to this node").arg(*id));
    return *t;
}

Result<void> Scheduler::onAccepted(LiveNode &n, const QJsonObject &d)
{
    if (const auto id = readTaskId(d); id && n.tasks.contains(*id) && m_running.contains(*id))
        return {}; // running already: nothing to read or write
    const auto t = ownTask(n, d);
    if (!t)
        return t.error();
    if (t->task.state == TaskState::Assigned)
        return applyReported({t->task.id, TaskState::Running, n.id});
    m_running.insert(t->task.id);
    return {};
}

Result<void> Scheduler::onProgress(LiveNode &n, const QJsonObject &d)
{
    const auto id = readTaskId(d);
    if (!id)
        return id.error();
    const QJsonValue p = d.value("progress");
    if (!p.isDouble() || p.toDouble() < 0.0 || p.toDouble() > 1.0)
        return makeError("invalid_field", "'progress' must be a number from 0 to 1");
    // A task the node does not hold is refused from memory: bogus ids cost no database work.
    if (!n.tasks.contains(*id))
        return makeError("not_assigned", QString("task %1 is not assigned to this node").arg(*id));
    touchTask(*id);
    if (m_progressTimer && m_running.contains(*id)) {
        keepProgress(*id, p.toDouble());
        return {};
    }
    flushChanges(); // a task.accepted waiting for its batch: the state read below includes it
    const auto t = ownTask(n, d);
    if (!t)
        return t.error();
    if (t->task.state == TaskState::Assigned) { // a state change: committed, then announced
        auto out = m_machine.apply({{t->task.id, TaskState::Running, n.id}});
        if (!out)
            return out.error();
        forget(*out);
    } else {
        m_running.insert(*id);
    }
    if (m_progressTimer) {
        keepProgress(*id, p.toDouble());
        return {};
    }
    if (t->task.state == TaskState::Running && t->task.progress == p.toDouble())
        return {}; // nothing new to store or announce
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
    if (!text.isString() || text.toString().size() > budget::kNodeMaxMessageBytes)
        return makeError("invalid_field", "'text' must be a string of at most 1 MiB");
    // Logs belong to a task the node runs now: a finished (done, failed, canceled) or foreign
    // task takes none, and the check costs no database work.
    if (!n.tasks.contains(*id))
        return makeError("not_assigned", QString("task %1 is not assigned to this node").arg(*id));
    const auto t = ownTask(n, d);
    if (!t)
        return t.error();
    touchTask(*id);
    // The store keeps JobStore::kMaxLogBytesPerAttempt of it and notes what it drops.
    return m_store.appendLog(*id, t->task.attempts + t->orphaned + 1, text.toString(),
                             m_clock.now());
}

Result<void> Scheduler::onDone(LiveNode &n, const QJsonObject &d)
{
    const auto id = readTaskId(d);
    if (!id)
        return id.error();
    const auto t = m_store.task(*id);
    if (!t)
        return makeError("not_found", QString("task %1 does not exist").arg(*id));
    if ((t->task.state == TaskState::Done && t->task.nodeId == n.id) ||
        (m_doneLater.contains(*id) && heldBy(*t, n.id)))
        return {}; // a repeated done: already recorded (or waiting for its batch)
    if (!heldBy(*t, n.id))
        return makeError("not_assigned", QString("task %1 is not assigned to this node").arg(*id));
    const QJsonValue outputs = d.value("outputs");
    if (!outputs.isUndefined() && !outputs.isArray())
        return makeError("invalid_field", "'outputs' must be a list of output names");
    for (const QJsonValue &v : outputs.toArray())
        if (!v.isString() || !isValidOutputName(v.toString()))
            return makeError("invalid_field", "'outputs' holds an invalid output name");
    const QList<OutputRecord> landed = m_store.taskOutputs(*id);
    QSet<QString> names;
    for (const OutputRecord &o : landed)
        names.insert(o.name);
    QStringList missing;
    for (const QJsonValue &v : outputs.toArray())
        if (!names.contains(v.toString()) && !m_store.output(t->task.jobId, v.toString()))
            missing.append(v.toString());
    if (!missing.isEmpty()) // the node may still be uploading them: it may say done again
        return makeError("missing_outputs", "outputs not uploaded yet: " + missing.join(", "));
    if (const QString why = framesWithoutImage(*t, landed); !why.isEmpty()) {
        // A frame is done only once its image landed: the task failed (an attempt).
        auto out = m_machine.apply(
            {{t->task.id, TaskState::Failed, n.id, why, TaskChange::Reason::Failure}});
        if (!out)
            return out.error();
        forget(*out);
        sendCancels(out->cancels);
        requestDispatch();
        return makeError("missing_outputs", why);
    }
    return applyReported({t->task.id, TaskState::Done, n.id});
}

QString Scheduler::framesWithoutImage(const TaskRecord &t, const QList<OutputRecord> &landed)
{
    const JobSpec *spec = specOf(t.task.jobId);
    if (!spec)
        return {};
    const JobType *type = jobTypes().find(spec->type);
    // Only job types whose frames each have a main image, and not a task with a role (an
    // encode task makes a video, not frames).
    if (!type || type->frameOutput.captureCount() < 1 || jobTypes().taskRole(*spec, t.task))
        return {};
    const auto range = FrameRange::parse(t.task.frames);
    if (!range)
        return {};
    QSet<int> have;
    for (const OutputRecord &o : landed)
        if (const auto f = jobTypes().completedFrame(spec->type, o.name))
            have.insert(*f);
    QList<int> without;
    for (int f : range->frames())
        if (!have.contains(f))
            without.append(f);
    if (without.isEmpty())
        return {};
    return QString("task.done came without the image of frame(s) %1: a frame is done only once "
                   "its image (such as frame_%2.png) was uploaded")
        .arg(FrameRange(without).toString())
        .arg(without.first(), 4, 10, QChar('0'));
}

const JobSpec *Scheduler::specOf(qint64 jobId)
{
    auto it = m_specs.find(jobId);
    if (it == m_specs.end()) {
        const auto job = m_store.job(jobId);
        if (!job)
            return nullptr;
        it = m_specs.insert(jobId, job->spec); // what a task needs of it never changes
    }
    return &*it;
}

Result<void> Scheduler::onFailed(LiveNode &n, const QJsonObject &d)
{
    flushChanges(); // what is read below includes the batched changes
    const auto t = ownTask(n, d);
    if (!t)
        return t.error();
    const QJsonValue error = d.value("error");
    if (!error.isString() || error.toString().isEmpty() || error.toString().size() > 4000)
        return makeError("invalid_field", "'error' must be a readable reason (1-4000 chars)");
    const QJsonValue code = d.value("code"); // optional (docs/API.md, "task.failed")
    if (!code.isUndefined() && (!code.isString() || code.toString().size() > 64))
        return makeError("invalid_field", "'code' must be a failure code (at most 64 chars)");
    ++m_failures[t->task.jobId][n.id];
    const bool final = errc::isNonRetryableFailure(code.toString());
    auto out = m_machine.apply({{t->task.id, TaskState::Failed, n.id, error.toString(),
                                 final ? TaskChange::Reason::Final : TaskChange::Reason::Failure,
                                 final ? code.toString() : QString()}});
    if (!out)
        return out.error();
    forget(*out);
    sendCancels(out->cancels);
    requestDispatch();
    return {};
}

void Scheduler::sendCancels(const QList<std::pair<qint64, qint64>> &cancels)
{
    for (const auto &[nodeId, taskId] : cancels) {
        auto it = m_live.find(nodeId);
        if (it == m_live.end())
            continue;
        it->link->send(msg::TaskCancel, {{"task", taskId}});
        if (it->tasks.remove(taskId)) {
            release(taskId);
            publishNode(nodeId);
        }
    }
    dispatch();
}

void Scheduler::forget(const Outcome &out)
{
    QSet<qint64> touched;
    for (const TaskRecord &r : out.tasks) {
        const qint64 id = r.task.id;
        const bool onNode =
            r.task.state == TaskState::Assigned || r.task.state == TaskState::Running;
        if (r.task.state != TaskState::Queued)
            m_lastHolder.remove(id); // given out again or over: no one claims it back
        const qint64 holder = m_holder.value(id);
        const qint64 target = onNode && m_live.contains(r.task.nodeId) ? r.task.nodeId : 0;
        if (holder && holder != target) {
            if (const auto it = m_live.find(holder); it != m_live.end() && it->tasks.remove(id))
                touched.insert(holder);
            release(id);
        }
        if (target && holder != target) {
            m_live[target].tasks.insert(id);
            m_holder.insert(id, target);
            watchTask(id, r.task.jobId, r.task.frames);
            touched.insert(target);
        }
        if (target && r.task.state == TaskState::Running)
            m_running.insert(id);
        else
            m_running.remove(id);
    }
    for (qint64 id : touched)
        publishNode(id);
}

} // namespace farm::server
