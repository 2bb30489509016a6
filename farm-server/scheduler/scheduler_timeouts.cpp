// Scheduler: tasks that hang on a live node (no progress for noProgressS) or run past their
// job's max_run_s fail an attempt and go back to the queue, away from that node.
#include "scheduler/scheduler.h"

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcScheduler)

namespace farm::server {

void Scheduler::touchTask(qint64 taskId)
{
    const auto it = m_watch.find(taskId);
    if (it != m_watch.end())
        it->lastSign = m_clock.now();
}

qint64 Scheduler::jobOfTaskOn(qint64 taskId, qint64 nodeId) const
{
    if (nodeId == 0 || m_holder.value(taskId) != nodeId)
        return 0;
    const auto it = m_watch.constFind(taskId);
    return it == m_watch.cend() ? 0 : it->jobId;
}

void Scheduler::watchTask(qint64 taskId, qint64 jobId, const QString &frames)
{
    const QDateTime now = m_clock.now();
    Watch w{now, now, 0, jobId, frames};
    if (const JobSpec *spec = specOf(jobId))
        w.maxRunS = spec->maxRunS;
    m_watch.insert(taskId, w);
}

void Scheduler::checkTasks()
{
    flushChanges(); // what is read below includes the batched changes
    const QDateTime now = m_clock.now();
    QSet<qint64> onNodes;
    QList<std::tuple<qint64, qint64, QString>> expired; // task, node, why
    for (const LiveNode &n : std::as_const(m_live)) {
        for (qint64 id : n.tasks) {
            onNodes.insert(id);
            auto it = m_watch.find(id);
            if (it == m_watch.end()) { // adopted on a reconnect: its clocks start now
                if (const auto t = m_store.task(id))
                    watchTask(id, t->task.jobId, t->task.frames);
                continue;
            }
            const qint64 silent = it->lastSign.secsTo(now);
            const qint64 running = it->since.secsTo(now);
            if (m_config.noProgressS > 0 && silent >= m_config.noProgressS)
                expired.append({id, n.id,
                                QString("no progress for %1 s on node %2 (limit %3 s): stopped "
                                        "there, to run elsewhere")
                                    .arg(silent)
                                    .arg(n.caps.name)
                                    .arg(m_config.noProgressS)});
            else if (it->maxRunS > 0 && running >= it->maxRunS)
                expired.append({id, n.id,
                                QString("ran %1 s on node %2, past the job's max_run_s (%3 s)")
                                    .arg(running)
                                    .arg(n.caps.name)
                                    .arg(it->maxRunS)});
        }
    }
    for (auto it = m_watch.begin(); it != m_watch.end();)
        it = onNodes.contains(it.key()) ? std::next(it) : m_watch.erase(it);
    for (const auto &[task, node, why] : expired)
        timeOut(task, node, why);
}

void Scheduler::timeOut(qint64 taskId, qint64 nodeId, const QString &why)
{
    const auto t = m_store.task(taskId);
    if (!t || t->task.nodeId != nodeId)
        return;
    qCWarning(lcScheduler) << "task" << taskId << why;
    m_watch.remove(taskId);
    // The node hangs on this job: the next attempt goes to another node while one can take it.
    int &failures = m_failures[t->task.jobId][nodeId];
    failures = qMax(failures + 1, kBlocklistAfter);
    auto out =
        m_machine.apply({{taskId, TaskState::Failed, nodeId, why, TaskChange::Reason::Failure}});
    if (!out) {
        qCWarning(lcScheduler) << "could not time out task" << taskId << out.error().message;
        return;
    }
    forget(*out);
    // The node still runs it: stop it there (forget already took it off the node's list).
    if (const auto it = m_live.find(nodeId); it != m_live.end())
        it->link->send(msg::TaskCancel, {{"task", taskId}});
    sendCancels(out->cancels);
    dispatch();
}

} // namespace farm::server
