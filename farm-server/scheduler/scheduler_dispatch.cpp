// Scheduler: dispatch, node views and admin actions (protocol handling in scheduler.cpp).
#include "scheduler/scheduler.h"

#include <QJsonArray>
#include <QLoggingCategory>
#include <QRegularExpression>

#include <algorithm>

Q_DECLARE_LOGGING_CATEGORY(lcScheduler)

namespace farm::server {

bool Scheduler::meets(const LiveNode &n, const JobSpec &spec, const Task *task) const
{
    return meets(n, spec, engineNeeded(spec, task));
}

bool Scheduler::meets(const LiveNode &n, const JobSpec &spec,
                      const std::optional<QString> &engine) const
{
    if (!hasEngine(n, engine))
        return false;
    if (spec.requirements.gpu && n.caps.gpus.isEmpty())
        return false;
    for (const QString &tag : spec.requirements.tags)
        if (!n.caps.tags.contains(tag))
            return false;
    return true;
}

bool Scheduler::hasEngine(const LiveNode &n, const JobSpec &spec, const Task *task) const
{
    return hasEngine(n, engineNeeded(spec, task));
}

std::optional<QString> Scheduler::engineNeeded(const JobSpec &spec, const Task *task) const
{
    const JobType *type = jobTypes().find(spec.type);
    if (!type)
        return std::nullopt;
    return task ? jobTypes().engineFor(spec, *task) : type->engine;
}

bool Scheduler::hasEngine(const LiveNode &n, const std::optional<QString> &engine) const
{
    return engine && std::any_of(n.caps.engines.cbegin(), n.caps.engines.cend(),
                                 [&](const EngineInfo &e) { return e.name == *engine; });
}

bool Scheduler::blocked(qint64 jobId, qint64 nodeId) const
{
    return m_failures.value(jobId).value(nodeId) >= kBlocklistAfter;
}

bool Scheduler::hasUnblockedNode(qint64 jobId, const JobSpec &spec) const
{
    return std::any_of(m_live.cbegin(), m_live.cend(), [&](const LiveNode &n) {
        return n.admin == "enabled" && meets(n, spec) && !blocked(jobId, n.id);
    });
}

QJsonObject Scheduler::assignment(const TaskRecord &task, const JobSpec &spec,
                                  const QString &frames) const
{
    QJsonArray files;
    for (const BundleFile &f : spec.input.files)
        files.append(
            QJsonObject{{"path", f.path}, {"file", f.file}, {"url", "/api/v1/files/" + f.file}});
    return {{"task", task.task.id},
            {"job", task.task.jobId},
            {"type", spec.type},
            {"frames", frames},
            {"job_frames", spec.frames},
            {"attempt", task.task.attempts + task.orphaned + 1},
            {"engine", jobTypes().find(spec.type) ? jobTypes().find(spec.type)->engine : QString()},
            {"input", QJsonObject{{"main", spec.input.main}, {"files", files}}},
            {"settings", jobTypes().taskSettings(spec, task.task)}};
}

Result<QJsonObject> Scheduler::roleAssignment(const TaskRecord &task, const JobSpec &spec,
                                              const TaskRole &role) const
{
    // An encode task: its input is the frames its job rendered (docs/JOBTYPES.md, "Video").
    // Else the job's bundle, with the outputs the role names (a compose join's segments).
    JobInput input = spec.input;
    if (role.framesOf > 0) {
        if (!m_config.frameInputs)
            return makeError("internal", "this server cannot hand a task another job's frames");
        auto frames = m_config.frameInputs(role.framesOf);
        if (!frames)
            return frames.error();
        input = *frames;
    }
    if (!role.outputs.pattern().isEmpty()) {
        if (!m_config.jobOutputs)
            return makeError("internal", "this server cannot hand a task its job's outputs");
        auto outputs = m_config.jobOutputs(task.task.jobId, role.outputs, role.outputFolder);
        if (!outputs)
            return outputs.error();
        input.files.append(outputs->files);
    }
    QJsonObject a = assignment(task, spec, spec.frames);
    QJsonArray files;
    for (const BundleFile &f : input.files)
        files.append(
            QJsonObject{{"path", f.path}, {"file", f.file}, {"url", "/api/v1/files/" + f.file}});
    a.insert("type", role.type);
    a.insert("engine", role.engine);
    a.insert("settings", role.settings);
    a.insert("input", QJsonObject{{"main", input.main}, {"files", files}});
    return a;
}

void Scheduler::dispatch()
{
    flushChanges(); // what is read below includes the batched changes
    // Handlers below may trigger dispatch again (events, cancels): run it as a loop instead.
    if (m_dispatching) {
        m_dispatchAgain = true;
        return;
    }
    m_dispatching = true;
    int limit = 0; // candidates read per pass: grows while none of them fits a free slot
    // Claims another controller won or holds (docs/CONTROLLERS.md): not tried again in this
    // dispatch, so that a row it keeps locked cannot keep this loop busy.
    QSet<qint64> lostClaims;
    do {
        m_dispatchAgain = false;
        QHash<qint64, int> free;
        int totalFree = 0;
        for (const LiveNode &n : std::as_const(m_live)) {
            const int f = n.caps.slotCount - int(n.tasks.size());
            if (n.admin == "enabled" && f > 0) {
                free.insert(n.id, f);
                totalFree += f;
            }
        }
        if (totalFree == 0)
            break;

        struct Pending
        {
            qint64 nodeId;
            qint64 taskId;
            JobSpec spec;
            QString frames;
            QDateTime queuedAt;
        };
        QList<TaskChange> changes;
        QList<Pending> pending;
        QHash<qint64, bool> alternative; // per job: hasUnblockedNode, computed once a pass
        limit = qMax(limit, qMax(16, totalFree * 2));
        const QList<Candidate> candidates = m_store.candidates(limit);
        for (const Candidate &c : candidates) {
            if (c.spec.input.fetching()) // its input URLs are not in the store yet (UrlInputs)
                continue;
            if (lostClaims.contains(c.task.task.id))
                continue;
            qint64 best = 0;
            // Worked out once, not for each free node (it reads the job's settings).
            const std::optional<QString> engine = engineNeeded(c.spec, &c.task.task);
            for (auto it = free.cbegin(); it != free.cend(); ++it) {
                if (it.value() <= 0 || !meets(m_live[it.key()], c.spec, engine))
                    continue;
                if (blocked(c.jobId, it.key())) {
                    // A blocklisted node still serves when it is the only one that could.
                    if (!alternative.contains(c.jobId))
                        alternative.insert(c.jobId, hasUnblockedNode(c.jobId, c.spec));
                    if (alternative.value(c.jobId))
                        continue;
                }
                if (!best || it.value() > free.value(best))
                    best = it.key();
            }
            if (!best)
                continue;
            // Frames whose main image already landed (a task preempted after some frames) are
            // not rendered again. Only a frame's main image (the job type's frameOutput) marks
            // it landed: the renderer announces it after the frame's pass files, and the node
            // uploads in that order. Read by the task's index: a fresh task has none.
            QSet<int> done;
            for (const OutputRecord &o : m_store.taskOutputs(c.task.task.id))
                if (const auto f = jobTypes().completedFrame(c.spec.type, o.name))
                    done.insert(*f);
            const auto range = FrameRange::parse(c.task.task.frames);
            QList<int> remaining;
            for (int f : range ? range->frames() : QList<int>{})
                if (!done.contains(f))
                    remaining.append(f);
            // A claim: another controller on the same database may take the task first.
            TaskChange claim{c.task.task.id, TaskState::Assigned, best};
            claim.expect = TaskState::Queued;
            changes.append(claim);
            if (remaining.isEmpty() && range) { // preempted after its last frame landed
                changes.append({c.task.task.id, TaskState::Done, best});
                continue;
            }
            pending.append(
                {best, c.task.task.id, c.spec, FrameRange(remaining).toString(), c.task.queuedAt});
            free[best] -= 1;
            if (--totalFree == 0)
                break;
        }
        if (changes.isEmpty()) {
            // None of these fits a free slot; more may be queued behind them.
            if (candidates.size() >= limit && limit < 65536) {
                limit *= 4;
                m_dispatchAgain = true;
            }
            continue;
        }
        auto out = m_machine.apply(changes);
        if (!out) {
            qCWarning(lcScheduler) << "dispatch failed:" << out.error().message;
            break;
        }
        forget(*out);
        if (!out->lost.isEmpty()) { // taken by another controller: its slots look again
            lostClaims.unite(QSet<qint64>(out->lost.cbegin(), out->lost.cend()));
            m_dispatchAgain = true;
        }
        QHash<qint64, const TaskRecord *> now;
        for (const TaskRecord &r : out->tasks)
            now.insert(r.task.id, &r);
        const QDateTime at = m_clock.now();
        for (const Pending &p : pending) {
            const TaskRecord *t = now.value(p.taskId);
            auto it = m_live.find(p.nodeId);
            if (!t || it == m_live.end() || t->task.state != TaskState::Assigned)
                continue;
            QJsonObject message = assignment(*t, p.spec, p.frames);
            if (const auto role = jobTypes().taskRole(p.spec, t->task)) {
                auto a = roleAssignment(*t, p.spec, *role);
                if (!a) { // counts as an attempt: the job fails with this once they run out
                    if (auto out =
                            m_machine.apply({{p.taskId, TaskState::Failed, p.nodeId,
                                              a.error().message, TaskChange::Reason::Failure}}))
                        forget(*out);
                    continue;
                }
                message = *a;
            }
            it->link->send(msg::TaskAssign, message);
            const double latency = p.queuedAt.isValid() ? p.queuedAt.msecsTo(at) / 1000.0 : 0.0;
            ++m_metrics.dispatched;
            m_metrics.latencySum += latency;
            for (size_t i = 0; i < kLatencyBuckets.size(); ++i)
                if (latency <= kLatencyBuckets[i])
                    ++m_metrics.buckets[i];
        }
        // Slots still free and the candidates used up: read the next ones.
        if (totalFree > 0 && candidates.size() >= limit)
            m_dispatchAgain = true;
    } while (m_dispatchAgain);
    m_dispatching = false;
}

QStringList Scheduler::explain(const Job &job) const
{
    QStringList why;
    if (isFinal(job.state))
        return {QString("the job is %1").arg(toString(job.state))};
    if (job.state == JobState::Paused)
        why.append("the job is paused; resume it to continue");
    if (job.spec.input.fetching()) {
        QStringList urls;
        for (const BundleFile &f : job.spec.input.files)
            if (f.pending())
                urls.append(f.url);
        why.append(QString("the server is fetching its input from %1; its tasks start once the "
                           "file is stored")
                       .arg(urls.join(", ")));
        return why;
    }
    for (qint64 after : m_store.jobDependencies(job.id))
        if (const auto dep = m_store.job(after); dep && dep->state != JobState::Completed)
            why.append(QString("it waits for job %1 (%2) to complete (depends_on)")
                           .arg(after)
                           .arg(toString(dep->state)));
    if (job.tasks.queued == 0)
        return why.isEmpty() ? QStringList{"no task is waiting: every task is running or done"}
                             : why;
    if (const int waiting = m_store.waitingTasks(job.id); waiting > 0) {
        why.append(QString("%1 of its %2 queued task(s) wait for other tasks of the job to "
                           "finish")
                       .arg(waiting)
                       .arg(job.tasks.queued));
        if (waiting == job.tasks.queued)
            return why;
    }
    if (m_live.isEmpty()) {
        why.append("no render node is connected");
        return why;
    }
    int suitable = 0, usable = 0, freeSlots = 0;
    QStringList misses;
    for (const LiveNode &n : m_live) {
        if (!meets(n, job.spec)) {
            QStringList lacks;
            if (!hasEngine(n, job.spec)) {
                const JobType *type = jobTypes().find(job.spec.type);
                lacks.append(type ? QString("the '%1' engine").arg(type->engine)
                                  : QString("an engine for job type '%1', which this server "
                                            "does not know")
                                        .arg(job.spec.type));
            }
            if (job.spec.requirements.gpu && n.caps.gpus.isEmpty())
                lacks.append("a GPU");
            for (const QString &tag : job.spec.requirements.tags)
                if (!n.caps.tags.contains(tag))
                    lacks.append(QString("tag '%1'").arg(tag));
            misses.append(QString("%1 lacks %2").arg(n.caps.name, lacks.join(", ")));
            continue;
        }
        ++suitable;
        if (blocked(job.id, n.id) && hasUnblockedNode(job.id, job.spec)) {
            misses.append(QString("%1 is blocklisted for this job after %2 failures")
                              .arg(n.caps.name)
                              .arg(m_failures.value(job.id).value(n.id)));
            continue;
        }
        if (n.admin != "enabled") {
            misses.append(QString("%1 is %2").arg(n.caps.name, n.admin));
            continue;
        }
        ++usable;
        freeSlots += qMax(0, n.caps.slotCount - int(n.tasks.size()));
    }
    if (suitable == 0)
        why.append("no connected node meets the job's requirements: " + misses.join("; "));
    else if (usable == 0)
        why.append("every node that could run it is drained, disabled or blocklisted: " +
                   misses.join("; "));
    else if (freeSlots == 0)
        why.append(QString("all %1 usable node(s) are busy; tasks of higher priority or older "
                           "jobs go first")
                       .arg(usable));
    else
        why.append("a usable node has a free slot: the job should start momentarily");
    if (usable > 0 && !misses.isEmpty())
        why.append("not used: " + misses.join("; "));
    return why;
}

Node Scheduler::toNode(const LiveNode &n) const
{
    Node node;
    node.id = n.id;
    node.caps = n.caps;
    if (n.admin == "disabled")
        node.state = NodeState::Disabled;
    else if (n.admin == "draining")
        node.state = NodeState::Draining;
    else
        node.state = n.tasks.isEmpty() ? NodeState::Idle : NodeState::Busy;
    node.running = n.tasks.values();
    std::sort(node.running.begin(), node.running.end());
    node.connectedAt = n.connectedAt;
    node.lastSeen = n.lastSeen;
    node.load = n.load;
    node.gpuLoad = n.gpus;
    for (qint64 id : std::as_const(node.running)) {
        const Watch w = m_watch.value(id);
        node.tasks.append({id, w.jobId, w.frames});
    }
    return node;
}

Node Scheduler::toNode(const NodeRecord &r) const
{
    if (m_live.contains(r.id))
        return toNode(m_live[r.id]);
    Node node;
    node.id = r.id;
    node.caps = r.caps;
    node.state = NodeState::Offline; // derived from the live socket, never from the row
    // ... of this controller or, in a farm of several, of another one that keeps the row's
    // last_seen within the lease (docs/CONTROLLERS.md).
    if (m_config.sharedDatabase && r.lastSeen.isValid() &&
        r.lastSeen.msecsTo(m_clock.now()) <= qint64(m_config.leaseS) * 1000) {
        for (const TaskRecord &t : m_store.tasksOnNode(r.id)) {
            node.running.append(t.task.id);
            node.tasks.append({t.task.id, t.task.jobId, t.task.frames});
        }
        node.state = r.admin == "disabled"    ? NodeState::Disabled
                     : r.admin == "draining"  ? NodeState::Draining
                     : node.running.isEmpty() ? NodeState::Idle
                                              : NodeState::Busy;
    }
    node.connectedAt = r.connectedAt;
    node.lastSeen = r.lastSeen;
    return node;
}

QList<Node> Scheduler::nodes() const
{
    QList<Node> out;
    for (const NodeRecord &r : m_store.nodes())
        out.append(toNode(r));
    return out;
}

std::optional<Node> Scheduler::node(qint64 id) const
{
    if (const auto it = m_live.constFind(id); it != m_live.cend())
        return toNode(*it); // online: all of it is in memory
    const auto r = m_store.node(id);
    if (!r)
        return std::nullopt;
    return toNode(*r);
}

void Scheduler::publishNode(qint64 id)
{
    if (const auto n = node(id))
        m_events.publish(msg::NodeUpdated, n->toJson());
}

Result<Node> Scheduler::setNodeAdmin(qint64 id, const QString &action)
{
    flushChanges(); // what is read below includes the batched changes
    static const QHash<QString, QString> kAdmin{
        {"drain", "draining"}, {"enable", "enabled"}, {"disable", "disabled"}};
    if (!kAdmin.contains(action))
        return makeError("not_found", QString("unknown node action '%1'").arg(action));
    if (!m_store.node(id))
        return makeError("not_found", QString("node %1 does not exist").arg(id));
    if (auto r = m_store.setNodeAdmin(id, kAdmin[action]); !r)
        return r.error();
    if (m_live.contains(id))
        m_live[id].admin = kAdmin[action];
    publishNode(id);
    dispatch();
    return *node(id);
}

Result<void> Scheduler::forgetNode(qint64 id)
{
    flushChanges(); // what is read below includes the batched changes
    const auto r = m_store.node(id);
    if (!r)
        return makeError("not_found", QString("node %1 does not exist").arg(id));
    if (m_live.contains(id))
        return makeError("conflict",
                         QString("node %1 ('%2') is online; stop its render-node first, then "
                                 "forget it")
                             .arg(id)
                             .arg(r->caps.name));
    if (auto d = m_store.deleteNode(id); !d)
        return d;
    for (auto &byNode : m_failures)
        byNode.remove(id);
    qCInfo(lcScheduler).noquote() << QString(
                                         "node %1 ('%2') forgotten: its name is free to join again")
                                         .arg(id)
                                         .arg(r->caps.name);
    return {};
}

} // namespace farm::server
