// Scheduler: several controllers on one database (docs/CONTROLLERS.md). Each controller serves
// the nodes connected to it; what another one did reaches it as a relayed event, and the tasks
// of nodes that vanished with their controller are re-queued by whichever controller notices.
#include "scheduler/scheduler.h"

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcScheduler)

namespace farm::server {

void Scheduler::onPeerEvent(const QString &type, const QJsonObject &data)
{
    flushChanges(); // what is read below includes the batched changes
    const qint64 id = data.value("id").toInteger();
    if (type == QLatin1String(msg::TaskUpdated)) {
        const qint64 holder = m_holder.value(id);
        if (!holder) {
            if (data.value("state").toString() == toString(TaskState::Queued))
                requestDispatch(); // re-queued over there: maybe a slot here takes it
            return;
        }
        // One of this controller's nodes runs it: the database says whether it still may (the
        // event may be older than a change made here since).
        const auto t = m_store.task(id);
        const bool kept =
            t && t->task.nodeId == holder &&
            (t->task.state == TaskState::Assigned || t->task.state == TaskState::Running);
        if (kept)
            return;
        auto it = m_live.find(holder);
        if (it != m_live.end()) {
            qCInfo(lcScheduler).noquote()
                << QString("task %1 was taken off node %2 by another controller (%3): stopping "
                           "it there")
                       .arg(id)
                       .arg(it->caps.name, t ? toString(t->task.state) : QString("deleted"));
            it->tasks.remove(id);
            it->link->send(msg::TaskCancel, {{"task", id}});
        }
        release(id);
        publishNode(holder);
        requestDispatch();
    } else if (type == QLatin1String(msg::JobCreated) || type == QLatin1String(msg::JobUpdated)) {
        const QString state = data.value("state").toString();
        if (state == toString(JobState::Queued) || state == toString(JobState::Active))
            requestDispatch();
    } else if (type == QLatin1String(msg::NodeUpdated)) {
        // Drained, disabled or enabled through another controller's API: the row says.
        auto it = m_live.find(id);
        if (it == m_live.end())
            return;
        const auto r = m_store.node(id);
        if (r && r->admin != it->admin) {
            it->admin = r->admin;
            publishNode(id);
            requestDispatch();
        }
    }
}

void Scheduler::requeueStale()
{
    flushChanges(); // what is read below includes the batched changes
    const QDateTime now = m_clock.now();
    m_lastStaleCheck = now;
    const qint64 leaseMs = qint64(m_config.leaseS) * 1000;
    QHash<qint64, QDateTime> seen;
    QList<TaskChange> changes;
    for (const TaskRecord &t : m_store.tasksInStates({TaskState::Assigned, TaskState::Running})) {
        const qint64 node = t.task.nodeId;
        if (node && m_live.contains(node))
            continue; // this controller's own node: checkLeases() watches it
        if (node && seen.isEmpty())
            for (const NodeRecord &r : m_store.nodes())
                seen.insert(r.id, r.lastSeen);
        const QDateTime last = seen.value(node);
        if (node && last.isValid() && last.msecsTo(now) <= leaseMs)
            continue; // another controller's node, alive
        // Only while it is still where it was read: a controller that got there first, or the
        // node coming back, wins.
        TaskChange c{t.task.id, TaskState::Queued, 0, {}, TaskChange::Reason::Orphaned};
        c.expect = t.task.state;
        c.expectNode = node;
        changes.append(c);
    }
    if (changes.isEmpty())
        return;
    auto out = m_machine.apply(changes);
    if (!out) {
        qCWarning(lcScheduler) << "could not re-queue the tasks of lost nodes:"
                               << out.error().message;
        return;
    }
    int requeued = 0;
    for (const TaskChange &c : std::as_const(changes)) {
        if (out->lost.contains(c.taskId))
            continue;
        ++requeued;
        if (c.expectNode) // it may still run there: that node may claim it back here
            m_lastHolder.insert(c.taskId, c.expectNode);
    }
    forget(*out);
    if (requeued > 0)
        qCInfo(lcScheduler) << "re-queued" << requeued
                            << "task(s) of nodes no controller has seen for" << m_config.leaseS
                            << "s";
    sendCancels(out->cancels);
}

void Scheduler::requeueUnreported(LiveNode &n, const QList<qint64> &running)
{
    flushChanges(); // what is read below includes the batched changes
    const QSet<qint64> reported(running.cbegin(), running.cend());
    QList<TaskChange> changes;
    for (const TaskRecord &t : m_store.tasksOnNode(n.id)) {
        if (n.tasks.contains(t.task.id) || reported.contains(t.task.id))
            continue;
        TaskChange c{t.task.id, TaskState::Queued, 0, {}, TaskChange::Reason::Orphaned};
        c.expect = t.task.state;
        c.expectNode = n.id;
        changes.append(c);
    }
    if (changes.isEmpty())
        return;
    auto out = m_machine.apply(changes);
    if (!out) {
        qCWarning(lcScheduler) << "could not re-queue tasks node" << n.id
                               << "does not run:" << out.error().message;
        return;
    }
    forget(*out);
    qCInfo(lcScheduler).noquote()
        << QString("node %1 does not run %2 task(s) the database gave it (assigned, or reported, "
                   "through a controller that is gone): back to the queue")
               .arg(n.caps.name)
               .arg(changes.size() - out->lost.size());
    requestDispatch();
}

} // namespace farm::server
