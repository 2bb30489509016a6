#pragma once

#include "model/job.h"
#include "model/node.h"
#include "model/task.h"
#include "util/result.h"

#include <QDateTime>
#include <QList>
#include <QMap>
#include <QSet>

#include <optional>

namespace farm::server {

/// A task as the server keeps it: the wire object plus scheduling bookkeeping.
struct TaskRecord
{
    Task task;
    int frameCount = 0;
    int orphaned = 0; // times its node was lost while running it (not counted as attempts)
    QDateTime queuedAt;
};

/// A queued task the scheduler may hand out, with what it needs to decide and to assign.
struct Candidate
{
    TaskRecord task;
    qint64 jobId = 0;
    JobSpec spec;
};

/// One task a job type's compiler makes: its frames and the tasks (by index in the plan list)
/// it waits for; it is not dispatched before they are done.
struct TaskPlan
{
    FrameRange frames;
    QList<int> after;
};

struct OutputRecord
{
    qint64 jobId = 0;
    qint64 taskId = 0;
    QString name;
    qint64 size = 0;
    std::optional<int> frame;
};

struct UploadRecord
{
    QString id;
    QString name;
    qint64 size = 0;
    QString sha256;
    qint64 chunkSize = 0;
    int chunks = 0;
    QList<int> received;
    QDateTime createdAt;
};

/// Node row: identity and capabilities survive restarts; liveness lives in the scheduler.
struct NodeRecord
{
    qint64 id = 0;
    NodeCapabilities caps;
    QString admin; // enabled | draining | disabled
    QDateTime connectedAt, lastSeen;
    QByteArray secretHash; // SHA-256 (hex) of the node's own secret; empty: none issued yet
};

struct JobQuery
{
    QList<JobState> states;
    QString text; // substring of the name
    int limit = 50;
    int offset = 0;
    QString sort = QStringLiteral("created_at"); // column name, validated by the API layer
    bool descending = true;
    /// Keyed paging: only rows after (sort value, id) in this order; a row deleted meanwhile
    /// shifts nothing (an offset would skip or repeat one). Unset: from the first row.
    std::optional<QVariant> afterKey;
    qint64 afterId = 0;
};

struct JobPage
{
    QList<Job> jobs;
    int total = 0;     // every row the filter matches, wherever the page starts
    QVariant lastKey;  // the last row's sort value (invalid when the page is empty)
    qint64 lastId = 0; // and its id: where the next page starts
};

/// Persistence behind an interface (SQLite today; QPSQL for larger farms). Not thread-safe:
/// one writer, the event loop's thread.
class JobStore
{
public:
    virtual ~JobStore() = default;

    virtual Result<void> begin() = 0;
    virtual Result<void> commit() = 0;
    virtual void rollback() = 0;

    /// Inserts the job, its tasks and their dependencies in one transaction.
    virtual Result<qint64> insertJob(const JobSpec &spec, const QList<TaskPlan> &tasks,
                                     const QDateTime &now) = 0;
    /// Tasks without dependencies, one per frame chunk.
    Result<qint64> insertJob(const JobSpec &spec, const QList<FrameRange> &chunks,
                             const QDateTime &now)
    {
        QList<TaskPlan> plans;
        for (const FrameRange &c : chunks)
            plans.append({c, {}});
        return insertJob(spec, plans, now);
    }
    virtual std::optional<Job> job(qint64 id) = 0;
    virtual JobPage listJobs(const JobQuery &query) = 0;
    virtual Result<void> updateJob(const Job &job) = 0; // state, times, error
    /// A job's input once the files it named by URL are fetched (docs/API.md, "Input by URL").
    virtual Result<void> setJobInput(qint64 jobId, const JobInput &input) = 0;
    /// A job's tasks made again before any of them ran (a compose job whose video, named by
    /// URL, was fetched after submit and is long enough to split); fails when one has run.
    virtual Result<void> replaceTasks(qint64 jobId, const QList<TaskPlan> &tasks,
                                      const QDateTime &now) = 0;
    virtual Result<void> deleteJob(qint64 id) = 0;
    virtual QMap<QString, int> jobStateCounts() = 0;
    virtual QMap<QString, int> taskStateCounts() = 0;

    virtual std::optional<TaskRecord> task(qint64 id) = 0;
    virtual QList<TaskRecord> tasksOfJob(qint64 jobId) = 0;
    virtual QList<TaskRecord> tasksInStates(const QList<TaskState> &states) = 0;
    /// Tasks assigned to or running on a node.
    virtual QList<TaskRecord> tasksOnNode(qint64 nodeId) = 0;
    /// Tasks of a job in the given states.
    virtual QList<TaskRecord> tasksOfJob(qint64 jobId, const QList<TaskState> &states) = 0;
    /// Several controllers on one database (docs/CONTROLLERS.md). Inside a transaction: locks
    /// task `id`'s row until the transaction ends, so that no other controller changes it
    /// between what this transaction reads of it and what it writes. With `skipLocked` a row
    /// another controller holds is not waited for: false comes back (a claim lost to it).
    /// Where this process is the only writer (SQLite) there is nothing to lock: true.
    virtual Result<bool> lockTask(qint64 id, bool skipLocked)
    {
        Q_UNUSED(id);
        Q_UNUSED(skipLocked);
        return true;
    }
    /// The tasks a node ran last (their latest attempt), the latest start first, at most
    /// `limit`, each with its job's name.
    virtual QList<std::pair<TaskRecord, QString>> recentTasksOfNode(qint64 nodeId, int limit) = 0;
    /// Frames finished and busy slot time in one bucket of taskHistory().
    struct HistoryBucket
    {
        qint64 frames = 0; // frames of tasks done in the bucket
        qint64 busyMs = 0; // time the tasks' latest runs overlap the bucket (a task: one slot)
    };
    /// `buckets` buckets of `bucketMs` from `start`, each (b0, b1], from the tasks' start and
    /// finish times; a task still on a node is busy up to `now`. Computed by the database.
    virtual QList<HistoryBucket> taskHistory(const QDateTime &start, qint64 bucketMs, int buckets,
                                             const QDateTime &now) = 0;
    /// Bulk queued → canceled for one job (legal for every row by farm::canTransition);
    /// returns how many rows changed.
    virtual Result<int> cancelQueued(qint64 jobId, const QDateTime &now) = 0;
    virtual Result<void> updateTask(const TaskRecord &task) = 0;
    /// Progress of tasks still on nodes, in one transaction (a task no longer assigned or
    /// running keeps what it has: a late value never overwrites done).
    virtual Result<void> setProgress(const QList<std::pair<qint64, double>> &progress) = 0;
    /// Queued tasks of queued/active jobs whose prerequisites are done, best first (priority
    /// desc, created asc, index asc).
    virtual QList<Candidate> candidates(int limit) = 0;
    /// Queued tasks of a job that still wait for other tasks.
    virtual int waitingTasks(qint64 jobId) = 0;
    /// Bytes of log kept per task attempt; the rest is dropped behind one note line
    /// "[farm: log truncated at N bytes; M more bytes dropped]".
    static constexpr qint64 kMaxLogBytesPerAttempt = 4 * 1024 * 1024;
    /// The most of a task's log one read returns (its end: the latest attempts).
    static constexpr qint64 kMaxLogReadBytes = 8 * 1024 * 1024;
    /// Appends to an attempt's log up to kMaxLogBytesPerAttempt.
    virtual Result<void> appendLog(qint64 taskId, int attempt, const QString &text,
                                   const QDateTime &now) = 0;
    /// The last `maxBytes` (at most kMaxLogReadBytes) of a task's log, UTF-8, with a header
    /// line per attempt; a first line says how many earlier bytes were left out.
    virtual QByteArray taskLog(qint64 taskId, qint64 maxBytes = kMaxLogReadBytes) = 0;

    virtual Result<qint64> upsertNode(const NodeCapabilities &caps, const QDateTime &now) = 0;
    virtual Result<void> touchNode(qint64 id, const QDateTime &lastSeen) = 0;
    virtual Result<void> setNodeAdmin(qint64 id, const QString &admin) = 0;
    virtual std::optional<NodeRecord> node(qint64 id) = 0;
    virtual std::optional<NodeRecord> nodeByName(const QString &name) = 0;
    /// A node's name (empty when it has none), without reading its capabilities.
    virtual QString nodeName(qint64 id) = 0;
    virtual QList<NodeRecord> nodes() = 0;
    virtual Result<void> setNodeSecret(qint64 id, const QByteArray &secretHash) = 0;
    /// The node whose secret has this hash, 0 when none.
    virtual qint64 nodeForSecret(const QByteArray &secretHash) = 0;
    /// Removes the node row; its finished tasks keep no node.
    virtual Result<void> deleteNode(qint64 id) = 0;

    /// Changes a job's priority: its row (scheduling order) and its stored spec.
    virtual Result<void> setJobPriority(qint64 jobId, int priority) = 0;
    /// The jobs `jobId` waits for (its `depends_on`), and the jobs that wait for `jobId`.
    virtual QList<qint64> jobDependencies(qint64 jobId) = 0;
    virtual QList<qint64> jobDependents(qint64 jobId) = 0;
    /// Tasks of the same job that wait for task `taskId` (the job type's plan).
    virtual QList<qint64> taskDependents(qint64 taskId) = 0;
    /// Whether any job's input names this file (its SHA-256).
    virtual bool fileInUse(const QString &sha256) = 0;
    /// Removes the output rows of these tasks of a job; yields the names removed.
    virtual Result<QStringList> deleteTaskOutputs(qint64 jobId, const QList<qint64> &taskIds) = 0;
    /// Finished jobs that still have outputs, the longest finished first.
    struct StoredOutputs
    {
        qint64 jobId = 0;
        QDateTime finishedAt;
        qint64 bytes = 0;
        int count = 0;
    };
    virtual QList<StoredOutputs> finishedJobOutputs() = 0;
    /// Removes every output row of a job; yields the names removed.
    virtual Result<QStringList> deleteJobOutputs(qint64 jobId) = 0;
    /// The SHA-256 of every file some job's input names.
    virtual QSet<QString> filesInUse() = 0;

    virtual Result<void> upsertOutput(const OutputRecord &output, const QDateTime &now) = 0;
    virtual QList<OutputRecord> outputs(qint64 jobId) = 0;
    virtual std::optional<OutputRecord> output(qint64 jobId, const QString &name) = 0;
    /// The outputs a task uploaded (by index: no scan of its job's outputs).
    virtual QList<OutputRecord> taskOutputs(qint64 taskId) = 0;

    virtual Result<void> insertUpload(const UploadRecord &upload) = 0;
    virtual std::optional<UploadRecord> upload(const QString &id) = 0;
    virtual Result<void> setUploadReceived(const QString &id, const QList<int> &received) = 0;
    virtual Result<void> deleteUpload(const QString &id) = 0;
    /// Ids of uploads started before `before` (abandoned ones, for cleanup).
    virtual QStringList uploadsBefore(const QDateTime &before) = 0;
};

/// Commits on success, rolls back when it goes out of scope uncommitted.
class Transaction
{
public:
    explicit Transaction(JobStore &store)
        : m_store(store)
        , m_open(store.begin().ok())
    {}
    ~Transaction()
    {
        if (m_open)
            m_store.rollback();
    }
    Transaction(const Transaction &) = delete;
    Transaction &operator=(const Transaction &) = delete;

    bool ok() const { return m_open; }
    Result<void> commit()
    {
        if (!m_open)
            return makeError("internal", "database transaction could not start");
        m_open = false;
        return m_store.commit();
    }

private:
    JobStore &m_store;
    bool m_open;
};

} // namespace farm::server
