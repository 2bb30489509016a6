#include "scheduler/statemachine.h"

#include "protocol/message.h"

#include <QSet>

namespace farm::server {

namespace {
/// A task back in the queue as if never run: retry, re-run and re-queue start it this way.
void queueAfresh(TaskRecord &t, const QDateTime &now)
{
    t.task.state = TaskState::Queued;
    t.task.attempts = 0;
    t.orphaned = 0;
    t.task.error.clear();
    t.task.nodeId = 0;
    t.task.progress = 0.0;
    t.task.startedAt = t.task.finishedAt = {};
    t.queuedAt = now;
}
} // namespace

StateMachine::StateMachine(JobStore &store, const Clock &clock, EventSink &events)
    : m_store(store)
    , m_clock(clock)
    , m_events(events)
{}

Result<void> StateMachine::applyOne(const TaskChange &change, QList<TaskRecord> &changed,
                                    QList<qint64> *lost)
{
    // Another controller on the same database (docs/CONTROLLERS.md) may change this task at
    // the same time: its row is locked before it is read, so what is written is over what was
    // read. A claim does not wait for a row another controller holds: that one wins.
    const bool claim = change.expect.has_value() && lost;
    const auto locked = m_store.lockTask(change.taskId, claim);
    if (!locked)
        return locked.error();
    auto found = m_store.task(change.taskId);
    if (!found)
        return makeError("not_found", QString("task %1 does not exist").arg(change.taskId));
    if (claim && (!*locked || found->task.state != *change.expect ||
                  (change.expectNode && found->task.nodeId != change.expectNode))) {
        lost->append(change.taskId);
        return {};
    }
    TaskRecord r = *found;
    Task &t = r.task;
    TaskState to = change.to;
    const QDateTime now = m_clock.now();

    if (change.reason == TaskChange::Reason::Final && to == TaskState::Failed) {
        ++t.attempts;
        t.error = QString("attempt %1 failed, not retried (%2: another attempt would read the "
                          "same input): %3")
                      .arg(t.attempts)
                      .arg(change.code, change.error);
    } else if (change.reason == TaskChange::Reason::Failure && to == TaskState::Failed) {
        ++t.attempts;
        t.error = QString("attempt %1 failed: %2").arg(t.attempts).arg(change.error);
        if (t.attempts < kMaxAttempts)
            to = TaskState::Queued;
        else
            t.error = QString("failed after %1 attempts: %2").arg(t.attempts).arg(change.error);
    } else if (change.reason == TaskChange::Reason::Orphaned && to == TaskState::Queued) {
        ++r.orphaned;
        if (r.orphaned >= kMaxOrphans) {
            to = TaskState::Failed;
            t.error = QString("its node was lost %1 times").arg(r.orphaned);
        }
    } else if (!change.error.isEmpty()) {
        t.error = change.error;
    }

    if (!canTransition(t.state, to))
        return makeError("conflict", QString("task %1 cannot go from %2 to %3")
                                         .arg(t.id)
                                         .arg(toString(t.state), toString(to)));
    t.state = to;
    switch (to) {
    case TaskState::Queued:
        t.nodeId = 0;
        t.nodeName.clear();
        t.progress = 0.0;
        t.startedAt = {};
        r.queuedAt = now;
        break;
    case TaskState::Assigned:
        t.nodeId = change.nodeId;
        t.progress = 0.0;
        break;
    case TaskState::Running:
        if (!t.startedAt.isValid())
            t.startedAt = now;
        break;
    case TaskState::Done:
        t.progress = 1.0;
        t.error.clear();
        if (!t.startedAt.isValid())
            t.startedAt = now;
        t.finishedAt = now;
        break;
    case TaskState::Failed:
    case TaskState::Canceled:
        t.finishedAt = now;
        break;
    }
    if (auto w = m_store.updateTask(r); !w)
        return w;
    changed.append(r);
    return {};
}

Result<void> StateMachine::deriveJob(qint64 jobId, const QList<TaskRecord> &changed, Outcome &out)
{
    auto job = m_store.job(jobId);
    if (!job)
        return makeError("not_found", QString("job %1 does not exist").arg(jobId));
    Job j = *job;
    const QDateTime now = m_clock.now();
    const TaskRecord *failed = nullptr;
    for (const TaskRecord &r : changed)
        if (r.task.jobId == jobId && r.task.state == TaskState::Failed)
            failed = &r;

    if (!isFinal(j.state) && failed) {
        j.state = JobState::Failed;
        j.error = QString("task %1 (frames %2) %3")
                      .arg(failed->task.index)
                      .arg(failed->task.frames, failed->task.error);
        j.finishedAt = now;
        if (!j.startedAt.isValid())
            j.startedAt = now;
        // The job is over: stop its other tasks, telling the nodes that run them.
        if (auto r = cancelRest(jobId, out); !r)
            return r;
    } else if (!isFinal(j.state) && j.state != JobState::Paused && j.tasks.total > 0 &&
               j.tasks.done == j.tasks.total) {
        j.state = JobState::Completed;
        j.finishedAt = now;
        if (!j.startedAt.isValid())
            j.startedAt = now;
    } else if (j.state == JobState::Queued && (j.tasks.running > 0 || j.tasks.done > 0)) {
        j.state = JobState::Active;
        j.startedAt = now;
    }
    if (j.state != job->state) {
        if (!canTransition(job->state, j.state))
            return makeError("conflict", QString("job %1 cannot go from %2 to %3")
                                             .arg(jobId)
                                             .arg(toString(job->state), toString(j.state)));
        if (auto w = m_store.updateJob(j); !w)
            return w;
    }
    // Counts were read after the task changes; only tasks canceled just now need a re-read.
    out.jobs.append(j.state == JobState::Failed && failed ? *m_store.job(jobId) : j);
    if (j.state == JobState::Failed && job->state != JobState::Failed)
        return failDependents(jobId, "failed", out);
    return {};
}

Result<void> StateMachine::failDependents(qint64 jobId, const QString &why, Outcome &out)
{
    // A job that waits for one that can no longer complete would wait forever: it fails, and
    // so do the jobs waiting for it (docs/API.md, "Job dependencies").
    for (qint64 id : m_store.jobDependents(jobId)) {
        const auto dependent = m_store.job(id);
        if (!dependent || isFinal(dependent->state))
            continue;
        if (auto r = cancelRest(id, out); !r)
            return r;
        Job j = *m_store.job(id);
        j.state = JobState::Failed;
        j.error = QString("it depends on job %1, which %2").arg(jobId).arg(why);
        j.finishedAt = m_clock.now();
        if (auto w = m_store.updateJob(j); !w)
            return w;
        out.jobs.append(j);
        if (auto r = failDependents(id, "failed", out); !r)
            return r;
    }
    return {};
}

Result<void> StateMachine::restartTasks(const Job &job, QList<qint64> taskIds, Outcome &out)
{
    // Tasks that wait for a restarted task render again too (an encode after its frames).
    QSet<qint64> chosen(taskIds.cbegin(), taskIds.cend());
    for (qsizetype i = 0; i < taskIds.size(); ++i)
        for (qint64 d : m_store.taskDependents(taskIds[i]))
            if (!chosen.contains(d)) {
                chosen.insert(d);
                taskIds.append(d);
            }
    const QDateTime now = m_clock.now();
    QList<qint64> rendered;
    for (qint64 id : std::as_const(taskIds)) {
        const auto found = m_store.task(id);
        if (!found || found->task.jobId != job.id || found->task.state == TaskState::Queued)
            continue;
        TaskRecord t = *found;
        if (t.task.state == TaskState::Done)
            rendered.append(id);
        if ((t.task.state == TaskState::Assigned || t.task.state == TaskState::Running) &&
            t.task.nodeId)
            out.cancels.append({t.task.nodeId, id});
        queueAfresh(t, now);
        if (auto w = m_store.updateTask(t); !w)
            return w;
        out.tasks.append(t);
    }
    // Frames whose images landed are never rendered again: drop them so they are.
    const auto removed = m_store.deleteTaskOutputs(job.id, rendered);
    if (!removed)
        return removed.error();
    for (const QString &name : *removed)
        out.removedOutputs.append({job.id, name});
    if (!isFinal(job.state))
        return {};
    Job j = *m_store.job(job.id);
    j.state = j.tasks.done > 0 ? JobState::Active : JobState::Queued;
    j.error.clear();
    j.finishedAt = {};
    if (j.state == JobState::Queued)
        j.startedAt = {};
    return m_store.updateJob(j);
}

Result<void> StateMachine::checkDependencies(qint64 jobId)
{
    for (qint64 after : m_store.jobDependencies(jobId)) {
        const auto dep = m_store.job(after);
        if (dep && (dep->state == JobState::Failed || dep->state == JobState::Canceled))
            return makeError("conflict",
                             QString("job %1 depends on job %2, which is %3; retry or re-run "
                                     "job %2 first")
                                 .arg(jobId)
                                 .arg(after)
                                 .arg(toString(dep->state)));
    }
    return {};
}

Result<Outcome> StateMachine::rerunJob(qint64 jobId, const QList<int> &frames)
{
    flushBefore();
    Outcome out;
    Transaction tx(m_store);
    const auto job = m_store.job(jobId);
    if (!job)
        return makeError("not_found", QString("job %1 does not exist").arg(jobId));
    if (!isFinal(job->state))
        return makeError("conflict", QString("job %1 is %2; only a completed, failed or canceled "
                                             "job can be re-run (requeue one task instead)")
                                         .arg(jobId)
                                         .arg(toString(job->state)));
    if (auto r = checkDependencies(jobId); !r)
        return r.error();
    const QSet<int> wanted(frames.cbegin(), frames.cend());
    QList<qint64> chosen;
    bool holdsFrame = false;
    for (const TaskRecord &t : m_store.tasksOfJob(jobId)) {
        bool picked = wanted.isEmpty();
        if (!picked)
            if (const auto range = FrameRange::parse(t.task.frames))
                for (int f : range->frames())
                    if (wanted.contains(f)) {
                        picked = holdsFrame = true;
                        break;
                    }
        if (picked || t.task.state == TaskState::Failed || t.task.state == TaskState::Canceled)
            chosen.append(t.task.id);
    }
    if (!wanted.isEmpty() && !holdsFrame)
        return makeError("invalid_field",
                         QString("frames: job %1 renders none of these frames (its frames: %2)")
                             .arg(jobId)
                             .arg(job->spec.frames));
    if (auto r = restartTasks(*job, chosen, out); !r)
        return r.error();
    return finish(tx, {jobId}, std::move(out));
}

Result<Outcome> StateMachine::requeueTask(qint64 taskId)
{
    flushBefore();
    Outcome out;
    Transaction tx(m_store);
    const auto task = m_store.task(taskId);
    if (!task)
        return makeError("not_found", QString("task %1 does not exist").arg(taskId));
    const Job job = *m_store.job(task->task.jobId);
    if (job.state == JobState::Failed || job.state == JobState::Canceled)
        return makeError("conflict", QString("job %1 is %2: retry or re-run the job instead of "
                                             "one of its tasks")
                                         .arg(job.id)
                                         .arg(toString(job.state)));
    switch (task->task.state) {
    case TaskState::Queued:
        return makeError("conflict", QString("task %1 is already queued").arg(taskId));
    case TaskState::Assigned:
    case TaskState::Running: {
        if (task->task.nodeId)
            out.cancels.append({task->task.nodeId, taskId});
        if (auto r = applyOne({taskId, TaskState::Queued}, out.tasks); !r)
            return r.error();
        break;
    }
    case TaskState::Done:
    case TaskState::Failed:
    case TaskState::Canceled:
        if (auto r = restartTasks(job, {taskId}, out); !r)
            return r.error();
        break;
    }
    return finish(tx, {job.id}, std::move(out));
}

Result<Outcome> StateMachine::setPriority(qint64 jobId, int priority)
{
    flushBefore();
    Outcome out;
    Transaction tx(m_store);
    const auto job = m_store.job(jobId);
    if (!job)
        return makeError("not_found", QString("job %1 does not exist").arg(jobId));
    if (isFinal(job->state))
        return makeError("conflict", QString("job %1 is %2; a finished job's priority no longer "
                                             "matters")
                                         .arg(jobId)
                                         .arg(toString(job->state)));
    if (auto w = m_store.setJobPriority(jobId, priority); !w)
        return w.error();
    out.jobs.append(*m_store.job(jobId));
    if (auto r = tx.commit(); !r)
        return r.error();
    announce(out);
    return out;
}

Result<void> StateMachine::cancelRest(qint64 jobId, Outcome &out)
{
    QList<TaskState> states{TaskState::Assigned, TaskState::Running};
    const auto job = m_store.job(jobId);
    const bool bulk = job && job->tasks.queued > kBulkThreshold;
    if (!bulk)
        states.append(TaskState::Queued);
    for (const TaskRecord &t : m_store.tasksOfJob(jobId, states)) {
        if (t.task.nodeId)
            out.cancels.append({t.task.nodeId, t.task.id});
        QList<TaskRecord> changed;
        if (auto r = applyOne({t.task.id, TaskState::Canceled}, changed); !r)
            return r;
        out.tasks += changed;
    }
    if (bulk)
        if (auto r = m_store.cancelQueued(jobId, m_clock.now()); !r)
            return r.error();
    return {};
}

Result<Outcome> StateMachine::finish(Transaction &tx, const QList<qint64> &jobs, Outcome out)
{
    // Jobs follow their tasks inside the same transaction; events go out only once it is durable.
    const QList<TaskRecord> changed = out.tasks;
    for (qint64 jobId : jobs)
        if (auto r = deriveJob(jobId, changed, out); !r)
            return r.error();
    if (auto r = tx.commit(); !r)
        return r.error();
    announce(out);
    return out;
}

Result<Outcome> StateMachine::apply(const QList<TaskChange> &changes)
{
    flushBefore();
    return applyNow(changes);
}

void StateMachine::applyLater(const TaskChange &change)
{
    m_later.append(change);
}

void StateMachine::flushLater()
{
    if (m_later.isEmpty() || m_flushing)
        return;
    m_flushing = true;
    const QList<TaskChange> batch = std::exchange(m_later, {});
    // All or nothing: a change that fails rolls the batch back, and each change is then
    // applied on its own, so that one refused change costs the others nothing.
    const auto out = applyNow(batch);
    if (out || batch.size() == 1) {
        m_flushing = false;
        if (m_laterHandler)
            m_laterHandler(batch, out);
        return;
    }
    QList<std::pair<TaskChange, Result<Outcome>>> one;
    for (const TaskChange &c : batch)
        one.append({c, applyNow({c})});
    m_flushing = false;
    if (m_laterHandler)
        for (const auto &[c, r] : std::as_const(one))
            m_laterHandler({c}, r);
}

Result<Outcome> StateMachine::applyNow(const QList<TaskChange> &changes)
{
    Outcome out;
    Transaction tx(m_store);
    for (const TaskChange &c : changes) {
        if (out.lost.contains(c.taskId))
            continue; // its claim was lost: the rest of its changes do not apply either
        if (auto r = applyOne(c, out.tasks, &out.lost); !r)
            return r.error();
    }
    QList<qint64> jobs;
    for (const TaskRecord &r : out.tasks)
        if (!jobs.contains(r.task.jobId))
            jobs.append(r.task.jobId);
    return finish(tx, jobs, std::move(out));
}

Result<Outcome> StateMachine::setJobState(qint64 jobId, JobState to)
{
    flushBefore();
    Outcome out;
    Transaction tx(m_store);
    auto job = m_store.job(jobId);
    if (!job)
        return makeError("not_found", QString("job %1 does not exist").arg(jobId));
    Job j = *job;
    if (to == JobState::Queued && j.state == JobState::Paused && j.tasks.queued < j.tasks.total)
        to = JobState::Active; // resuming a job that already started
    if (!canTransition(j.state, to))
        return makeError("conflict", QString("job %1 is %2 and cannot become %3")
                                         .arg(jobId)
                                         .arg(toString(j.state), toString(to)));
    const QDateTime now = m_clock.now();
    j.state = to;
    if (to == JobState::Canceled) {
        j.finishedAt = now;
        if (auto r = cancelRest(jobId, out); !r)
            return r.error();
    }
    if (auto w = m_store.updateJob(j); !w)
        return w.error();
    if (to == JobState::Canceled)
        if (auto r = failDependents(jobId, "was canceled", out); !r)
            return r.error();
    // A resumed job whose last tasks finished while it was paused completes now.
    return finish(tx, {jobId}, std::move(out));
}

Result<Outcome> StateMachine::failJob(qint64 jobId, const QString &error)
{
    flushBefore();
    Outcome out;
    Transaction tx(m_store);
    auto job = m_store.job(jobId);
    if (!job)
        return makeError("not_found", QString("job %1 does not exist").arg(jobId));
    if (isFinal(job->state))
        return makeError("conflict",
                         QString("job %1 is %2 already").arg(jobId).arg(toString(job->state)));
    if (auto r = cancelRest(jobId, out); !r)
        return r.error();
    Job j = *m_store.job(jobId);
    const QDateTime now = m_clock.now();
    j.state = JobState::Failed;
    j.error = error;
    j.finishedAt = now;
    if (!j.startedAt.isValid())
        j.startedAt = now;
    if (auto w = m_store.updateJob(j); !w)
        return w.error();
    if (auto r = failDependents(jobId, "failed", out); !r)
        return r.error();
    return finish(tx, {jobId}, std::move(out));
}

Result<Outcome> StateMachine::retryJob(qint64 jobId)
{
    flushBefore();
    Outcome out;
    Transaction tx(m_store);
    auto job = m_store.job(jobId);
    if (!job)
        return makeError("not_found", QString("job %1 does not exist").arg(jobId));
    if (job->state != JobState::Failed && job->state != JobState::Canceled)
        return makeError("conflict", QString("job %1 is %2; only failed or canceled jobs can be "
                                             "retried")
                                         .arg(jobId)
                                         .arg(toString(job->state)));
    if (auto r = checkDependencies(jobId); !r)
        return r.error();
    const QDateTime now = m_clock.now();
    for (TaskRecord t : m_store.tasksOfJob(jobId)) {
        if (t.task.state != TaskState::Failed && t.task.state != TaskState::Canceled)
            continue;
        queueAfresh(t, now);
        if (auto w = m_store.updateTask(t); !w)
            return w.error();
        out.tasks.append(t);
    }
    Job j = *job;
    j.state = j.tasks.done > 0 ? JobState::Active : JobState::Queued;
    j.error.clear();
    j.finishedAt = {};
    if (auto w = m_store.updateJob(j); !w)
        return w.error();
    return finish(tx, {jobId}, std::move(out));
}

Result<Outcome> StateMachine::setProgress(qint64 taskId, double progress)
{
    return setProgress(QList<std::pair<qint64, double>>{{taskId, progress}});
}

Result<Outcome> StateMachine::setProgress(const QList<std::pair<qint64, double>> &progress,
                                          bool announceTasks)
{
    flushBefore();
    // Not a state change: one transaction for a batch, then the tasks and jobs as they are.
    Outcome out;
    QList<std::pair<qint64, double>> bounded;
    for (const auto &[id, value] : progress)
        bounded.append({id, qBound(0.0, value, 1.0)});
    if (auto w = m_store.setProgress(bounded); !w)
        return w.error();
    QList<qint64> jobs;
    for (const auto &[id, value] : std::as_const(bounded)) {
        const auto task = m_store.task(id);
        if (!task)
            continue;
        out.tasks.append(*task);
        if (!jobs.contains(task->task.jobId))
            jobs.append(task->task.jobId);
    }
    for (qint64 id : std::as_const(jobs))
        if (auto job = m_store.job(id))
            out.jobs.append(*job);
    if (announceTasks) {
        announce(out);
    } else {
        for (const Job &j : std::as_const(out.jobs))
            m_events.publish(msg::JobUpdated, j.toJson());
    }
    return out;
}

void StateMachine::announce(const Outcome &out)
{
    // The latest record of each task, with its node's name (a cached lookup, no re-read).
    QSet<qint64> seen;
    for (auto it = out.tasks.crbegin(); it != out.tasks.crend(); ++it) {
        if (seen.contains(it->task.id))
            continue;
        seen.insert(it->task.id);
        Task t = it->task;
        t.nodeName = t.nodeId ? m_store.nodeName(t.nodeId) : QString();
        m_events.publish(msg::TaskUpdated, t.toJson());
    }
    for (const Job &j : out.jobs)
        m_events.publish(msg::JobUpdated, j.toJson());
}

} // namespace farm::server
