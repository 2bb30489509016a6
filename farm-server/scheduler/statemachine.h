#pragma once

#include "events/eventsink.h"
#include "scheduler/clock.h"
#include "store/jobstore.h"

#include <QList>

#include <functional>
#include <optional>

#include <utility>

namespace farm::server {

/// One requested task state change.
struct TaskChange
{
    enum class Reason {
        Normal,
        Failure,  // a real failure: counts an attempt; back to queued while attempts remain
        Orphaned, // its node was lost: counted separately, never as an attempt
        /// A failure no other attempt can mend (errc::isNonRetryableFailure): counts an
        /// attempt and fails the task, and so its job, at once.
        Final,
    };
    qint64 taskId = 0;
    TaskState to = TaskState::Queued;
    qint64 nodeId = 0; // the node for Assigned
    QString error;
    Reason reason = Reason::Normal;
    QString code; // for Final: the node's failure code, named in the task's error
    /// A claim (several controllers on one database, docs/CONTROLLERS.md): made only while the
    /// task is still in this state and, when `expectNode` is set, on that node. Otherwise
    /// another controller changed it first: the change, and every later one of the same task
    /// in the batch, is dropped and the task listed in Outcome::lost.
    std::optional<TaskState> expect;
    qint64 expectNode = 0;
};

/// What a change did, for the caller to act on after it was persisted and announced.
struct Outcome
{
    QList<TaskRecord> tasks;                  // tasks as they are now
    QList<Job> jobs;                          // jobs whose state or progress changed
    QList<std::pair<qint64, qint64>> cancels; // (node id, task id): tell these nodes to stop
    QList<std::pair<qint64, QString>> removedOutputs; // (job id, name): delete these files
    QList<qint64> lost; // tasks whose claim (TaskChange::expect) another controller won
};

/// The only place task and job states change. Every change is validated against
/// farm::canTransition, persisted in one transaction, and only then published.
class StateMachine
{
public:
    static constexpr int kMaxAttempts = 3;
    /// A task whose node vanishes this often is failed: it probably kills its nodes.
    static constexpr int kMaxOrphans = 10;
    /// Canceling more queued tasks than this at once is one bulk update without a
    /// task.updated event per task (dashboards get job.updated and refetch the tasks).
    static constexpr int kBulkThreshold = 1000;

    StateMachine(JobStore &store, const Clock &clock, EventSink &events);

    Result<Outcome> apply(const QList<TaskChange> &changes);
    Result<Outcome> setJobState(qint64 jobId, JobState to);
    /// Fails a job that is not finished for a reason outside its tasks (an input URL that could
    /// not be fetched): its tasks are canceled, `error` becomes the job's, its dependents fail.
    Result<Outcome> failJob(qint64 jobId, const QString &error);
    /// The one deliberate exit from a final state: a user retries a failed or canceled job.
    /// Its failed and canceled tasks start over (attempts reset); done tasks stay done.
    Result<Outcome> retryJob(qint64 jobId);
    /// Renders a finished (completed, failed or canceled) job again: the tasks holding any of
    /// `frames` (all tasks when empty), the tasks that wait for them, and every failed or
    /// canceled task start over with attempts reset; their outputs are dropped.
    Result<Outcome> rerunJob(qint64 jobId, const QList<int> &frames);
    /// Puts one task back in the queue: a running one is stopped on its node (no attempt
    /// counted, frames that landed are kept); a done, failed or canceled one renders again
    /// (outputs dropped, attempts reset, tasks waiting for it too) and reopens a finished job.
    Result<Outcome> requeueTask(qint64 taskId);
    /// A job's priority (0-100), while the job is not finished.
    Result<Outcome> setPriority(qint64 jobId, int priority);
    /// Progress is not a state change but is persisted and announced the same way.
    Result<Outcome> setProgress(qint64 taskId, double progress);
    /// Many tasks' progress in one transaction (coalesced by the scheduler); tasks no longer on
    /// a node keep theirs. Without `announceTasks` only their jobs are announced (the caller
    /// announced the tasks' values as they came).
    Result<Outcome> setProgress(const QList<std::pair<qint64, double>> &progress,
                                bool announceTasks = true);

    /// Changes that may wait for the end of the event loop's turn (a node's task.accepted and
    /// task.done; nothing waits on their answer): queued here and committed together by
    /// flushLater() in one transaction, with one read and one `job.updated` per job instead of
    /// one per task. Each is still committed before it is announced. Every other change of this
    /// class commits the queued ones first, so changes commit in the order they were made.
    void applyLater(const TaskChange &change);
    /// Commits what applyLater() queued and tells the handler: once with every change and the
    /// batch's outcome, or, when the batch fails as a whole (a change another controller or a
    /// user made impossible meanwhile), once per change applied on its own.
    void flushLater();
    bool hasLater() const { return !m_later.isEmpty(); }
    using LaterHandler =
        std::function<void(const QList<TaskChange> &changes, const Result<Outcome> &outcome)>;
    void setLaterHandler(LaterHandler handler) { m_laterHandler = std::move(handler); }

private:
    /// `lost`: where a lost claim (TaskChange::expect) is noted; null: none is expected.
    Result<void> applyOne(const TaskChange &change, QList<TaskRecord> &changed,
                          QList<qint64> *lost = nullptr);
    Result<void> deriveJob(qint64 jobId, const QList<TaskRecord> &changed, Outcome &out);
    Result<void> cancelRest(qint64 jobId, Outcome &out);
    /// Fails the unfinished jobs that wait for `jobId` (it failed or was canceled), and theirs.
    Result<void> failDependents(qint64 jobId, const QString &why, Outcome &out);
    /// Resets tasks of one job to queued as new (see rerunJob); reopens a finished job.
    Result<void> restartTasks(const Job &job, QList<qint64> taskIds, Outcome &out);
    /// Conflict when a job this one depends on failed or was canceled (it could never start).
    Result<void> checkDependencies(qint64 jobId);
    void announce(const Outcome &out);
    /// Derives the state of `jobs` from their changed tasks, commits `tx`, then announces.
    Result<Outcome> finish(Transaction &tx, const QList<qint64> &jobs, Outcome out);

    /// The changes applyLater() queued; applies them at once (before any other change).
    void flushBefore()
    {
        if (!m_later.isEmpty() && !m_flushing)
            flushLater();
    }
    Result<Outcome> applyNow(const QList<TaskChange> &changes);

    JobStore &m_store;
    const Clock &m_clock;
    EventSink &m_events;
    QList<TaskChange> m_later;
    LaterHandler m_laterHandler;
    bool m_flushing = false;
};

} // namespace farm::server
