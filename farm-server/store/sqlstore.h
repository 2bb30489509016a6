#pragma once

#include "store/jobstore.h"
#include "store/sqldialect.h"

#include <QHash>
#include <QSqlDatabase>
#include <QSqlQuery>

#include <functional>
#include <map>
#include <utility>

struct sqlite3;

namespace farm::server {

/// JobStore on SQL, one implementation for two databases (docs/DATABASE.md): SQLite (QSQLITE:
/// WAL, foreign keys on, synchronous=NORMAL, integrity check) or PostgreSQL (QPSQL). Every
/// query is written once; SqlDialect names where the two differ. Numbered migrations of the
/// backend's dialect (":/migrations/<dialect>/NNN_*.sql") are applied when opened. The job
/// row's task counts and running progress are kept here, in the transaction of each task
/// change (no triggers).
class SqlStore final : public JobStore
{
public:
    SqlStore();
    ~SqlStore() override;

    /// A SQLite file path, or a postgresql:// URL (DatabaseUrl::parse).
    Result<void> open(const QString &pathOrUrl);
    Result<void> open(const DatabaseUrl &url);
    void close();
    /// Called as the connection closes (GET /health shows it at once: api/healthstate.h).
    void setOnClose(std::function<void()> onClose) { m_onClose = std::move(onClose); }
    int schemaVersion();
    /// The open connection, for stores of other tables in the same database (AccessStore).
    QSqlDatabase database() const { return m_db; }
    const SqlDialect &dialect() const { return m_dialect; }
    /// The SQLite connection's handle; null on PostgreSQL or when closed.
    sqlite3 *sqliteHandle() const { return m_sqlite; }

    /// SQLite, where this process is the database's one writer: `changed(table, rowid)` for
    /// every row this connection inserts, updates or deletes (SQLite's update hook: the store's
    /// statements, the access store's, a foreign key's action, in or out of a transaction),
    /// before the statement that made it returns; `reset()` when a transaction rolls back and
    /// when the connection opens or closes (what was read before may no longer hold). For
    /// caches of rows (api/joblistcache.h); the store keeps its task rows this way (task()).
    /// Never called on PostgreSQL, where other controllers write unseen. Returns an id for
    /// unwatchRows().
    struct RowWatch
    {
        std::function<void(const char *table, qint64 rowid)> changed;
        std::function<void()> reset;
    };
    int watchRows(RowWatch watch);
    void unwatchRows(int id);
    /// Task rows kept in memory (SQLite; task()): at most this many, all dropped when full.
    static constexpr int kMaxKeptTasks = 20000;
    int keptTasks() const { return int(m_taskRows.size()); }

    Result<void> begin() override;
    Result<void> commit() override;
    void rollback() override;

    using JobStore::insertJob;
    Result<qint64> insertJob(const JobSpec &spec, const QList<TaskPlan> &tasks,
                             const QDateTime &now) override;
    std::optional<Job> job(qint64 id) override;
    JobPage listJobs(const JobQuery &query) override;
    Result<void> updateJob(const Job &job) override;
    Result<void> setJobInput(qint64 jobId, const JobInput &input) override;
    Result<void> replaceTasks(qint64 jobId, const QList<TaskPlan> &tasks,
                              const QDateTime &now) override;
    Result<void> deleteJob(qint64 id) override;
    QMap<QString, int> jobStateCounts() override;
    QMap<QString, int> taskStateCounts() override;

    std::optional<TaskRecord> task(qint64 id) override;
    QList<TaskRecord> tasksOfJob(qint64 jobId) override;
    QList<TaskRecord> tasksInStates(const QList<TaskState> &states) override;
    QList<TaskRecord> tasksOnNode(qint64 nodeId) override;
    QList<std::pair<TaskRecord, QString>> recentTasksOfNode(qint64 nodeId, int limit) override;
    QList<HistoryBucket> taskHistory(const QDateTime &start, qint64 bucketMs, int buckets,
                                     const QDateTime &now) override;
    QList<TaskRecord> tasksOfJob(qint64 jobId, const QList<TaskState> &states) override;
    /// Several controllers (sqlstore_controllers.cpp, docs/CONTROLLERS.md).
    Result<bool> lockTask(qint64 id, bool skipLocked) override;
    Result<int> cancelQueued(qint64 jobId, const QDateTime &now) override;
    Result<void> updateTask(const TaskRecord &task) override;
    Result<void> setProgress(const QList<std::pair<qint64, double>> &progress) override;
    QList<Candidate> candidates(int limit) override;
    int waitingTasks(qint64 jobId) override;
    Result<void> appendLog(qint64 taskId, int attempt, const QString &text,
                           const QDateTime &now) override;
    QByteArray taskLog(qint64 taskId, qint64 maxBytes = kMaxLogReadBytes) override;

    Result<qint64> upsertNode(const NodeCapabilities &caps, const QDateTime &now) override;
    Result<void> touchNode(qint64 id, const QDateTime &lastSeen) override;
    Result<void> setNodeAdmin(qint64 id, const QString &admin) override;
    std::optional<NodeRecord> node(qint64 id) override;
    std::optional<NodeRecord> nodeByName(const QString &name) override;
    QString nodeName(qint64 id) override;
    QList<NodeRecord> nodes() override;
    Result<void> setNodeSecret(qint64 id, const QByteArray &secretHash) override;
    qint64 nodeForSecret(const QByteArray &secretHash) override;
    Result<void> deleteNode(qint64 id) override;

    Result<void> setJobPriority(qint64 jobId, int priority) override;
    QList<qint64> jobDependencies(qint64 jobId) override;
    QList<qint64> jobDependents(qint64 jobId) override;
    QList<qint64> taskDependents(qint64 taskId) override;
    bool fileInUse(const QString &sha256) override;
    Result<QStringList> deleteTaskOutputs(qint64 jobId, const QList<qint64> &taskIds) override;
    QList<StoredOutputs> finishedJobOutputs() override;
    Result<QStringList> deleteJobOutputs(qint64 jobId) override;
    QSet<QString> filesInUse() override;

    Result<void> upsertOutput(const OutputRecord &output, const QDateTime &now) override;
    QList<OutputRecord> outputs(qint64 jobId) override;
    std::optional<OutputRecord> output(qint64 jobId, const QString &name) override;
    QList<OutputRecord> taskOutputs(qint64 taskId) override;

    Result<void> insertUpload(const UploadRecord &upload) override;
    std::optional<UploadRecord> upload(const QString &id) override;
    Result<void> setUploadReceived(const QString &id, const QList<int> &received) override;
    Result<void> deleteUpload(const QString &id) override;
    QStringList uploadsBefore(const QDateTime &before) override;

private:
    Result<void> openSqlite(const QString &path);
    Result<void> openPostgres(const DatabaseUrl &url);
    /// PostgreSQL session settings (encoding, notices, schema) on a connection just opened.
    Result<void> setUpSession();
    /// PostgreSQL, outside a transaction: when the server dropped the connection, opens it
    /// again (true); false when it is fine or cannot be opened.
    bool reconnect();
    /// reconnect() for begin(), which counts itself in before it starts the transaction.
    bool reconnectOutside()
    {
        const int depth = std::exchange(m_depth, 0);
        const bool done = reconnect();
        m_depth = depth;
        return done;
    }
    Result<void> migrate();
    /// SQLite: puts the row hooks on the open connection (watchRows(), task rows).
    void hookRows();
    void unhookRows();
    static void onRowChanged(void *self, int op, const char *database, const char *table,
                             long long rowid);
    static void onRolledBack(void *self);
    /// Everything read before may be stale: the kept task rows and every watcher's caches go.
    void resetRows();
    /// The kept row of a task (SQLite), null when none is kept.
    const TaskRecord *keptTask(qint64 id) const
    {
        const auto it = m_taskRows.constFind(id);
        return it == m_taskRows.cend() ? nullptr : &*it;
    }
    void keepTask(const TaskRecord &r);
    /// What a task row adds to its job row's counts and running progress.
    struct TaskTally
    {
        qint64 jobId = 0;
        QString state;
        double progress = 0;
        int frameCount = 0;
    };
    /// The task's row as its job's bookkeeping sees it, locked for this transaction
    /// (PostgreSQL); nullopt when there is no such task.
    Result<std::optional<TaskTally>> taskTally(qint64 taskId);
    /// Adds `now - before` of one task to its job row (same transaction as the task change).
    Result<void> addToJob(const TaskTally &before, const TaskTally &now);
    /// The job's tasks and their dependencies (inside the caller's transaction).
    Result<void> insertTasks(qint64 jobId, const QList<TaskPlan> &tasks, const QDateTime &now);
    /// Runs a statement prepared once on this connection and kept (the hot paths: a task, a
    /// job, their updates, outputs). The caller reads it to the end and finish()es it before
    /// the next store call, which may reuse it.
    Result<QSqlQuery *> run(const QString &text, const QVariantList &binds = {});
    Result<QSqlQuery *> runOnce(const QString &text, const QVariantList &binds);
    QList<Job> loadJobs(const QString &where, const QVariantList &binds, const QString &tail);
    QList<TaskRecord> loadTasks(const QString &where, const QVariantList &binds);

    std::optional<JobSpec> spec(qint64 jobId, const QByteArray &json);

    /// How much of one attempt's log is stored, and its truncation note if it has one.
    struct LogTally
    {
        int attempt = 0;
        qint64 bytes = 0;   // log text kept, without the note
        qint64 dropped = 0; // bytes refused over the cap
        qint64 noteId = 0;  // task_logs row of the note; 0: not truncated
    };
    LogTally &logTally(qint64 taskId, int attempt);

    QString m_connection;
    QHash<qint64, JobSpec> m_specs;       // parsed once: a submitted spec never changes
    QHash<qint64, LogTally> m_logTallies; // task → its latest attempt (a cache of task_logs)
    QHash<QString, QSqlQuery> m_prepared; // statement text → prepared statement (run())
    QHash<qint64, QString> m_nodeNames;   // node id → name (nodeName())
    // SQLite: task id → its row as last read or written here; a row change on the connection
    // drops it, a rollback drops all (hookRows()). Empty on PostgreSQL.
    QHash<qint64, TaskRecord> m_taskRows;
    std::map<int, RowWatch> m_rowWatches;
    int m_nextWatch = 0;
    sqlite3 *m_sqlite = nullptr; // with the row hooks on
    QSqlDatabase m_db;
    SqlDialect m_dialect;
    DatabaseUrl m_url; // PostgreSQL: what reconnect() opens again
    std::function<void()> m_onClose;
    int m_depth = 0;
    bool m_failed = false; // an inner scope rolled back: the outer commit must not persist
};

} // namespace farm::server
