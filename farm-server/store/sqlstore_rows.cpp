// SqlStore: tasks, logs, nodes, outputs and uploads (jobs and lifecycle in sqlstore.cpp).
#include "store/sqlhelpers.h"
#include "store/sqlstore.h"

#include <QJsonDocument>
#include <QRegularExpression>

#include <algorithm>

namespace farm::server {

using sql::exec;
using sql::fromTime;
using sql::toTime;

namespace {

const char kTaskColumns[] =
    "SELECT t.id, t.job_id, t.idx, t.frames, t.state, t.node_id, n.name, t.attempts, t.progress, "
    "t.error, t.started_at, t.finished_at, t.frame_count, t.orphaned, t.queued_at "
    "FROM tasks t LEFT JOIN nodes n ON n.id = t.node_id ";

TaskRecord readTask(const QSqlQuery &q, int base = 0)
{
    TaskRecord r;
    Task &t = r.task;
    t.id = q.value(base + 0).toLongLong();
    t.jobId = q.value(base + 1).toLongLong();
    t.index = q.value(base + 2).toInt();
    t.frames = q.value(base + 3).toString();
    t.state = taskStateFromString(q.value(base + 4).toString()).value_or(TaskState::Failed);
    t.nodeId = q.value(base + 5).isNull() ? 0 : q.value(base + 5).toLongLong();
    t.nodeName = q.value(base + 6).toString();
    t.attempts = q.value(base + 7).toInt();
    t.progress = q.value(base + 8).toDouble();
    t.error = q.value(base + 9).toString();
    t.startedAt = toTime(q.value(base + 10));
    t.finishedAt = toTime(q.value(base + 11));
    r.frameCount = q.value(base + 12).toInt();
    r.orphaned = q.value(base + 13).toInt();
    r.queuedAt = toTime(q.value(base + 14));
    return r;
}

QString joinInts(const QList<int> &v)
{
    QStringList s;
    for (int i : v)
        s.append(QString::number(i));
    return s.isEmpty() ? QStringLiteral("") : s.join(','); // never a null QString: NOT NULL column
}

} // namespace

QList<TaskRecord> SqlStore::loadTasks(const QString &where, const QVariantList &binds)
{
    QList<TaskRecord> out;
    auto q = run(QString(kTaskColumns) + where, binds);
    if (!q)
        return out;
    while ((*q)->next())
        out.append(readTask(**q));
    (*q)->finish();
    return out;
}

std::optional<TaskRecord> SqlStore::task(qint64 id)
{
    // SQLite: the row as last read or written here while no statement changed it since (the
    // update hook drops it first; hookRows()). A node's task is read at each of its messages.
    if (const TaskRecord *kept = keptTask(id))
        return *kept;
    const auto tasks = loadTasks("WHERE t.id = ?", {id});
    if (tasks.isEmpty())
        return std::nullopt;
    keepTask(tasks.first());
    return tasks.first();
}

QList<TaskRecord> SqlStore::tasksOfJob(qint64 jobId)
{
    return loadTasks("WHERE t.job_id = ? ORDER BY t.idx", {jobId});
}

QList<TaskRecord> SqlStore::tasksInStates(const QList<TaskState> &states)
{
    QStringList marks;
    QVariantList binds;
    for (TaskState s : states) {
        marks.append("?");
        binds.append(toString(s));
    }
    return loadTasks("WHERE t.state IN (" + marks.join(',') + ") ORDER BY t.id", binds);
}

QList<TaskRecord> SqlStore::tasksOfJob(qint64 jobId, const QList<TaskState> &states)
{
    QStringList marks;
    QVariantList binds{jobId};
    for (TaskState s : states) {
        marks.append("?");
        binds.append(toString(s));
    }
    return loadTasks("WHERE t.job_id = ? AND t.state IN (" + marks.join(',') + ") ORDER BY t.idx",
                     binds);
}

Result<int> SqlStore::cancelQueued(qint64 jobId, const QDateTime &now)
{
    Transaction tx(*this);
    auto q = exec(m_db,
                  "UPDATE tasks SET state = 'canceled', finished_at = ? "
                  "WHERE job_id = ? AND state = 'queued'",
                  {now.toMSecsSinceEpoch(), jobId});
    if (!q)
        return q.error();
    const int changed = q->numRowsAffected();
    if (changed > 0) {
        auto c = exec(m_db,
                      "UPDATE jobs SET n_queued = n_queued - ?, n_canceled = n_canceled + ? "
                      "WHERE id = ?",
                      {changed, changed, jobId});
        if (!c)
            return c.error();
    }
    if (auto r = tx.commit(); !r)
        return r.error();
    return changed;
}

QList<TaskRecord> SqlStore::tasksOnNode(qint64 nodeId)
{
    return loadTasks("WHERE t.node_id = ? AND t.state IN ('assigned', 'running') ORDER BY t.id",
                     {nodeId});
}

QList<std::pair<TaskRecord, QString>> SqlStore::recentTasksOfNode(qint64 nodeId, int limit)
{
    // tasks_node_started (migration 009) reads them in order, newest first.
    QList<std::pair<TaskRecord, QString>> out;
    const QString text = QString(kTaskColumns).replace(" FROM tasks t ", ", j.name FROM tasks t ") +
                         "JOIN jobs j ON j.id = t.job_id WHERE t.node_id = ? "
                         "ORDER BY t.started_at DESC NULLS LAST, t.id DESC LIMIT ?";
    auto q = run(text, {nodeId, limit});
    if (!q)
        return out;
    while ((*q)->next())
        out.append({readTask(**q), (*q)->value(15).toString()});
    (*q)->finish();
    return out;
}

QList<JobStore::HistoryBucket> SqlStore::taskHistory(const QDateTime &start, qint64 bucketMs,
                                                     int buckets, const QDateTime &now)
{
    QList<HistoryBucket> out(qMax(0, buckets));
    if (buckets <= 0 || bucketMs <= 0)
        return out;
    const qint64 s = start.toMSecsSinceEpoch();
    const qint64 e = s + bucketMs * buckets;
    const qint64 n = now.toMSecsSinceEpoch();
    // Frames: done tasks by the bucket their finish falls in (tasks_finished, migration 009).
    // Parameters whose type PostgreSQL cannot infer are cast (an integer + ? would be int4).
    const QString b = "CAST(? AS BIGINT)";
    auto q = run(QString("SELECT %1(%2, (finished_at - %2 - 1) / %2), SUM(frame_count) FROM tasks "
                         "WHERE finished_at > %2 AND finished_at <= %2 AND state = 'done' "
                         "GROUP BY 1")
                     .arg(m_dialect.least(), b),
                 {buckets - 1, s, bucketMs, s, e});
    if (q) {
        while ((*q)->next())
            out[qBound(0, (*q)->value(0).toInt(), buckets - 1)].frames +=
                (*q)->value(1).toLongLong();
        (*q)->finish();
    }
    // Busy time: each run [started_at, finished_at) (now for tasks on nodes) cut by the buckets.
    q = run(QString("WITH RECURSIVE b(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM b WHERE i + 1 "
                    "< %3), "
                    "r(s, f) AS (SELECT started_at, finished_at FROM tasks WHERE finished_at > %3 "
                    "AND started_at IS NOT NULL AND started_at < %3 AND state NOT IN "
                    "('assigned', 'running') "
                    "UNION ALL SELECT started_at, %3 FROM tasks WHERE state IN ('assigned', "
                    "'running') AND started_at IS NOT NULL) "
                    "SELECT b.i, SUM(%1(r.f, %3 + (b.i + 1) * %3) - %2(r.s, %3 + b.i * %3)) "
                    "FROM b JOIN r ON r.s < %3 + (b.i + 1) * %3 AND r.f > %3 + b.i * %3 "
                    "GROUP BY b.i")
                .arg(m_dialect.least(), m_dialect.greatest(), b),
            {buckets, s, e, n, s, bucketMs, s, bucketMs, s, bucketMs, s, bucketMs});
    if (q) {
        while ((*q)->next())
            out[qBound(0, (*q)->value(0).toInt(), buckets - 1)].busyMs +=
                (*q)->value(1).toLongLong();
        (*q)->finish();
    }
    return out;
}

Result<std::optional<SqlStore::TaskTally>> SqlStore::taskTally(qint64 taskId)
{
    if (const TaskRecord *kept = keptTask(taskId)) // SQLite: no lock to take
        return std::optional<TaskTally>(TaskTally{kept->task.jobId, toString(kept->task.state),
                                                  kept->task.progress, kept->frameCount});
    auto q = run("SELECT job_id, state, progress, frame_count FROM tasks WHERE id = ?" +
                     m_dialect.lockRows(),
                 {taskId});
    if (!q)
        return q.error();
    std::optional<TaskTally> out;
    if ((*q)->next())
        out = TaskTally{(*q)->value(0).toLongLong(), (*q)->value(1).toString(),
                        (*q)->value(2).toDouble(), (*q)->value(3).toInt()};
    (*q)->finish();
    return out;
}

namespace {

bool onNode(const QString &state)
{
    return state == QLatin1String("assigned") || state == QLatin1String("running");
}

} // namespace

Result<void> SqlStore::addToJob(const TaskTally &before, const TaskTally &now)
{
    // The job row counts its tasks by state (assigned and running together), the frames of
    // those done, and progress × frames of those on nodes: reading a job never scans its tasks.
    const auto count = [&](auto matches) {
        return int(matches(now.state)) - int(matches(before.state));
    };
    const auto is = [](const char *name) {
        return [name](const QString &state) { return state == QLatin1String(name); };
    };
    const int queued = count(is("queued")), running = count(onNode), done = count(is("done")),
              failed = count(is("failed")), canceled = count(is("canceled"));
    const qint64 frames = qint64(done) * now.frameCount;
    const double progress = (onNode(now.state) ? now.progress * now.frameCount : 0.0) -
                            (onNode(before.state) ? before.progress * before.frameCount : 0.0);
    if (!queued && !running && !done && !failed && !canceled && progress == 0.0)
        return {};
    auto q = run("UPDATE jobs SET n_queued = n_queued + ?, n_running = n_running + ?, "
                 "n_done = n_done + ?, n_failed = n_failed + ?, n_canceled = n_canceled + ?, "
                 "frames_done = frames_done + ?, running_progress = running_progress + ? "
                 "WHERE id = ?",
                 {queued, running, done, failed, canceled, frames, progress, now.jobId});
    if (!q)
        return q.error();
    (*q)->finish();
    return {};
}

Result<void> SqlStore::updateTask(const TaskRecord &r)
{
    const Task &t = r.task;
    Transaction tx(*this);
    // The kept row (SQLite) as it will be after the update: the columns written, the rest as
    // kept (the caller's record may carry a node name or frames that are not written).
    std::optional<TaskRecord> after;
    if (const TaskRecord *kept = keptTask(t.id)) {
        after = *kept;
        Task &a = after->task;
        a.state = t.state;
        a.nodeId = t.nodeId;
        a.nodeName = nodeName(t.nodeId);
        a.attempts = t.attempts;
        after->orphaned = r.orphaned;
        a.progress = t.progress;
        a.error = t.error;
        after->queuedAt = toTime(fromTime(r.queuedAt));
        a.startedAt = toTime(fromTime(t.startedAt));
        a.finishedAt = toTime(fromTime(t.finishedAt));
    }
    const auto before = taskTally(t.id);
    if (!before)
        return before.error();
    auto q = run("UPDATE tasks SET state = ?, node_id = ?, attempts = ?, orphaned = ?, "
                 "progress = ?, error = ?, queued_at = ?, started_at = ?, finished_at = ? "
                 "WHERE id = ?",
                 {toString(t.state),
                  t.nodeId ? QVariant(t.nodeId) : QVariant(QMetaType(QMetaType::LongLong)),
                  t.attempts, r.orphaned, t.progress, t.error, fromTime(r.queuedAt),
                  fromTime(t.startedAt), fromTime(t.finishedAt), t.id});
    if (!q)
        return q.error();
    (*q)->finish();
    if (*before) {
        TaskTally now = **before;
        now.state = toString(t.state);
        now.progress = t.progress;
        if (auto a = addToJob(**before, now); !a)
            return a;
    }
    if (after) // a rollback of the transaction drops it again
        keepTask(*after);
    return tx.commit();
}

Result<void> SqlStore::setProgress(const QList<std::pair<qint64, double>> &progress)
{
    if (progress.isEmpty())
        return {};
    Transaction tx(*this);
    for (const auto &[id, value] : progress) {
        const auto before = taskTally(id);
        if (!before)
            return before.error();
        // A task no longer on a node keeps what it has: a late value never overwrites done.
        if (!*before || !onNode((*before)->state) || (*before)->progress == value)
            continue;
        std::optional<TaskRecord> after;
        if (const TaskRecord *kept = keptTask(id)) {
            after = *kept;
            after->task.progress = value;
        }
        auto q = run("UPDATE tasks SET progress = ? WHERE id = ?", {value, id});
        if (!q)
            return q.error();
        (*q)->finish();
        if (after)
            keepTask(*after);
        TaskTally now = **before;
        now.progress = value;
        if (auto a = addToJob(**before, now); !a)
            return a;
    }
    return tx.commit();
}

QList<Candidate> SqlStore::candidates(int limit)
{
    // Jobs in scheduling order first (few rows, by index), then each job's queued tasks by
    // index: no sort over every queued task of the farm.
    QList<Candidate> out;
    // A job waiting for another job (depends_on) is not a candidate until that one completed.
    auto jobs = exec(m_db, "SELECT id, spec FROM jobs j WHERE state IN ('queued', 'active') "
                           "AND NOT EXISTS (SELECT 1 FROM job_deps d JOIN jobs p ON p.id = "
                           "d.after_job WHERE d.job_id = j.id AND p.state != 'completed') "
                           "ORDER BY priority DESC, created_at ASC, id ASC");
    QList<std::pair<qint64, QByteArray>> order;
    while (jobs && jobs->next())
        order.append({jobs->value(0).toLongLong(), jobs->value(1).toByteArray()});
    for (const auto &[jobId, json] : order) {
        const auto spec = this->spec(jobId, json);
        if (!spec)
            continue;
        for (const TaskRecord &t :
             loadTasks("WHERE t.job_id = ? AND t.state = 'queued' AND NOT EXISTS (SELECT 1 "
                       "FROM task_deps d JOIN tasks p ON p.id = d.after_id WHERE d.task_id = "
                       "t.id AND p.state != 'done') ORDER BY t.idx LIMIT ?",
                       {jobId, limit - int(out.size())})) {
            keepTask(t); // dispatch claims it next: that read is answered from memory
            out.append({t, jobId, *spec});
        }
        if (out.size() >= limit)
            break;
    }
    return out;
}

int SqlStore::waitingTasks(qint64 jobId)
{
    auto q = exec(m_db,
                  "SELECT COUNT(DISTINCT t.id) FROM tasks t JOIN task_deps d ON d.task_id = t.id "
                  "JOIN tasks p ON p.id = d.after_id WHERE t.job_id = ? AND t.state = 'queued' "
                  "AND p.state != 'done'",
                  {jobId});
    return q && q->next() ? q->value(0).toInt() : 0;
}

namespace {

/// Tallies kept at once; beyond it the cache starts over (tallies are re-read on demand).
constexpr qsizetype kMaxLogTallies = 4096;
const char kTruncatedPrefix[] = "[farm: log truncated at ";

QString truncationNote(qint64 kept, qint64 dropped)
{
    return QString("%1%2 bytes; %3 more bytes dropped]\n")
        .arg(kTruncatedPrefix)
        .arg(kept)
        .arg(dropped);
}

/// The first at most `max` bytes of UTF-8 text, not splitting a character.
QByteArray utf8Head(const QByteArray &s, qint64 max)
{
    if (s.size() <= max)
        return s;
    qsizetype n = qsizetype(qMax<qint64>(max, 0));
    while (n > 0 && (uchar(s[n]) & 0xC0) == 0x80)
        --n;
    return s.left(n);
}

/// The last at most `max` bytes of UTF-8 text, not splitting a character.
QByteArray utf8Tail(const QByteArray &s, qint64 max)
{
    if (s.size() <= max)
        return s;
    qsizetype from = s.size() - qsizetype(qMax<qint64>(max, 0));
    while (from < s.size() && (uchar(s[from]) & 0xC0) == 0x80)
        ++from;
    return s.mid(from);
}

} // namespace

SqlStore::LogTally &SqlStore::logTally(qint64 taskId, int attempt)
{
    auto it = m_logTallies.find(taskId);
    if (it != m_logTallies.end() && it->attempt == attempt)
        return *it;
    if (m_logTallies.size() >= kMaxLogTallies)
        m_logTallies.clear();
    LogTally t{attempt};
    auto q = exec(m_db,
                  "SELECT id, " + m_dialect.octetLength("text") +
                      ", text LIKE CAST(? AS TEXT) || '%' FROM task_logs "
                      "WHERE task_id = ? AND attempt = ? ORDER BY id",
                  {QString(kTruncatedPrefix), taskId, attempt});
    while (q && q->next()) {
        if (q->value(2).toBool())
            t.noteId = q->value(0).toLongLong();
        else
            t.bytes += q->value(1).toLongLong();
    }
    if (t.noteId) {
        static const QRegularExpression dropped(QStringLiteral("; (\\d+) more bytes dropped"));
        auto note = exec(m_db, "SELECT text FROM task_logs WHERE id = ?", {t.noteId});
        if (note && note->next())
            t.dropped = dropped.match(note->value(0).toString()).captured(1).toLongLong();
    }
    return *m_logTallies.insert(taskId, t);
}

Result<void> SqlStore::appendLog(qint64 taskId, int attempt, const QString &text,
                                 const QDateTime &now)
{
    LogTally &t = logTally(taskId, attempt);
    const QByteArray utf8 = text.toUtf8();
    auto insert = [&](const QByteArray &bytes) -> Result<qint64> {
        auto q =
            exec(m_db,
                 "INSERT INTO task_logs(task_id, attempt, text, created_at) VALUES (?, ?, ?, ?) "
                 "RETURNING id",
                 {taskId, attempt, QString::fromUtf8(bytes), now.toMSecsSinceEpoch()});
        if (!q)
            return q.error();
        if (!q->next())
            return makeError("internal", "database: the log row has no id");
        return q->value(0).toLongLong();
    };
    if (!t.noteId && t.bytes + utf8.size() <= kMaxLogBytesPerAttempt) {
        if (auto r = insert(utf8); !r) {
            m_logTallies.remove(taskId); // unsure what was written: re-read next time
            return r.error();
        }
        t.bytes += utf8.size();
        return {};
    }
    // Over the cap: keep what fits, then one note that counts everything dropped since.
    const QByteArray kept =
        t.noteId ? QByteArray() : utf8Head(utf8, kMaxLogBytesPerAttempt - t.bytes);
    const qint64 dropped = t.dropped + utf8.size() - kept.size();
    const QString note = truncationNote(t.bytes + kept.size(), dropped);
    Transaction tx(*this);
    Result<qint64> noteId = t.noteId;
    if (!kept.isEmpty())
        if (auto k = insert(kept); !k)
            noteId = k.error();
    if (noteId && t.noteId) {
        if (auto u = exec(m_db, "UPDATE task_logs SET text = ? WHERE id = ?", {note, t.noteId}); !u)
            noteId = u.error();
    } else if (noteId) {
        noteId = insert(note.toUtf8());
    }
    Result<void> done = noteId ? tx.commit() : Result<void>(noteId.error());
    if (!done) {
        m_logTallies.remove(taskId);
        return done;
    }
    t = {attempt, t.bytes + kept.size(), dropped, *noteId};
    return {};
}

QByteArray SqlStore::taskLog(qint64 taskId, qint64 maxBytes)
{
    maxBytes = std::clamp<qint64>(maxBytes, 0, kMaxLogReadBytes);
    // Newest rows first until maxBytes are collected: memory stays bounded by the limit.
    struct Row
    {
        int attempt;
        QByteArray text;
    };
    QList<Row> rows;
    qint64 have = 0, omitted = 0, firstId = 0;
    auto q =
        exec(m_db, "SELECT id, attempt, text FROM task_logs WHERE task_id = ? ORDER BY id DESC",
             {taskId});
    while (q && q->next()) {
        QByteArray text = q->value(2).toString().toUtf8();
        if (!text.endsWith('\n'))
            text += '\n';
        firstId = q->value(0).toLongLong();
        if (have + text.size() > maxBytes) {
            const QByteArray tail = utf8Tail(text, maxBytes - have);
            omitted = text.size() - tail.size();
            if (!tail.isEmpty())
                rows.append({q->value(1).toInt(), tail});
            break;
        }
        have += text.size();
        rows.append({q->value(1).toInt(), std::move(text)});
        firstId = 0;
    }
    if (firstId) {
        auto rest = exec(m_db,
                         "SELECT COALESCE(SUM(" + m_dialect.octetLength("text") +
                             "), 0) FROM task_logs WHERE task_id = ? AND id < ?",
                         {taskId, firstId});
        if (rest && rest->next())
            omitted += rest->value(0).toLongLong();
    }
    QByteArray out;
    if (omitted > 0)
        out += QString("[farm: %1 earlier bytes of this log not shown]\n").arg(omitted).toUtf8();
    int attempt = -1;
    for (auto it = rows.crbegin(); it != rows.crend(); ++it) {
        if (it->attempt != attempt) {
            attempt = it->attempt;
            out += QString("=== attempt %1 ===\n").arg(attempt).toUtf8();
        }
        out += it->text;
    }
    return out;
}

Result<qint64> SqlStore::upsertNode(const NodeCapabilities &caps, const QDateTime &now)
{
    const QString capsJson =
        QString::fromUtf8(QJsonDocument(caps.toJson()).toJson(QJsonDocument::Compact));
    auto q = exec(m_db,
                  "INSERT INTO nodes(name, caps, connected_at, last_seen) VALUES (?, ?, ?, ?) "
                  "ON CONFLICT(name) DO UPDATE SET caps = excluded.caps, "
                  "connected_at = excluded.connected_at, last_seen = excluded.last_seen "
                  "RETURNING id",
                  {caps.name, capsJson, now.toMSecsSinceEpoch(), now.toMSecsSinceEpoch()});
    if (!q)
        return q.error();
    if (!q->next())
        return makeError("internal", "database: the node row has no id");
    return q->value(0).toLongLong();
}

Result<void> SqlStore::touchNode(qint64 id, const QDateTime &lastSeen)
{
    auto q = run("UPDATE nodes SET last_seen = ? WHERE id = ?", {fromTime(lastSeen), id});
    if (!q)
        return q.error();
    (*q)->finish();
    return {};
}

Result<void> SqlStore::setNodeAdmin(qint64 id, const QString &admin)
{
    auto q = exec(m_db, "UPDATE nodes SET admin = ? WHERE id = ?", {admin, id});
    if (!q)
        return q.error();
    return {};
}

namespace {

const char kNodeColumns[] =
    "SELECT id, caps, admin, connected_at, last_seen, secret_hash FROM nodes ";

QList<NodeRecord> readNodes(Result<QSqlQuery> q)
{
    QList<NodeRecord> out;
    while (q && q->next()) {
        NodeRecord n;
        n.id = q->value(0).toLongLong();
        const auto caps =
            NodeCapabilities::fromJson(QJsonDocument::fromJson(q->value(1).toByteArray()).object());
        if (caps)
            n.caps = *caps;
        n.admin = q->value(2).toString();
        n.connectedAt = toTime(q->value(3));
        n.lastSeen = toTime(q->value(4));
        n.secretHash = q->value(5).toByteArray();
        out.append(n);
    }
    return out;
}

} // namespace

std::optional<NodeRecord> SqlStore::node(qint64 id)
{
    const auto nodes = readNodes(exec(m_db, QString(kNodeColumns) + "WHERE id = ?", {id}));
    if (nodes.isEmpty())
        return std::nullopt;
    return nodes.first();
}

QString SqlStore::nodeName(qint64 id)
{
    if (id <= 0)
        return {};
    if (const auto it = m_nodeNames.constFind(id); it != m_nodeNames.cend())
        return *it;
    auto q = run("SELECT name FROM nodes WHERE id = ?", {id});
    if (!q)
        return {};
    QString name;
    if ((*q)->next())
        name = (*q)->value(0).toString();
    (*q)->finish();
    if (!name.isEmpty()) // names are unique and a node keeps its name: safe to keep
        m_nodeNames.insert(id, name);
    return name;
}

std::optional<NodeRecord> SqlStore::nodeByName(const QString &name)
{
    const auto nodes = readNodes(exec(m_db, QString(kNodeColumns) + "WHERE name = ?", {name}));
    if (nodes.isEmpty())
        return std::nullopt;
    return nodes.first();
}

QList<NodeRecord> SqlStore::nodes()
{
    return readNodes(exec(m_db, QString(kNodeColumns) + "ORDER BY id"));
}

Result<void> SqlStore::setNodeSecret(qint64 id, const QByteArray &secretHash)
{
    // None is NULL, never '': the unique index skips NULLs only.
    const QVariant hash =
        secretHash.isEmpty() ? QVariant() : QVariant(QString::fromLatin1(secretHash));
    auto q = exec(m_db, "UPDATE nodes SET secret_hash = ? WHERE id = ?", {hash, id});
    if (!q)
        return q.error();
    return {};
}

qint64 SqlStore::nodeForSecret(const QByteArray &secretHash)
{
    if (secretHash.isEmpty())
        return 0;
    // Prepared once and kept: every output upload and download of a node asks.
    auto q = run("SELECT id FROM nodes WHERE secret_hash = ?", {QString::fromLatin1(secretHash)});
    if (!q)
        return 0;
    const qint64 id = (*q)->next() ? (*q)->value(0).toLongLong() : 0;
    (*q)->finish();
    return id;
}

Result<void> SqlStore::deleteNode(qint64 id)
{
    m_nodeNames.remove(id);
    auto q = exec(m_db, "DELETE FROM nodes WHERE id = ?", {id});
    if (!q)
        return q.error();
    if (q->numRowsAffected() == 0)
        return makeError("not_found", QString("node %1 does not exist").arg(id));
    return {};
}

Result<void> SqlStore::upsertOutput(const OutputRecord &o, const QDateTime &now)
{
    auto q =
        run("INSERT INTO outputs(job_id, task_id, name, size, frame, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(job_id, name) DO UPDATE SET "
            "task_id = excluded.task_id, size = excluded.size, frame = excluded.frame, "
            "created_at = excluded.created_at",
            {o.jobId, o.taskId ? QVariant(o.taskId) : QVariant(QMetaType(QMetaType::LongLong)),
             o.name, o.size, o.frame ? QVariant(*o.frame) : QVariant(QMetaType(QMetaType::Int)),
             now.toMSecsSinceEpoch()});
    if (!q)
        return q.error();
    (*q)->finish();
    return {};
}

static QList<OutputRecord> readOutputs(QSqlQuery &q)
{
    QList<OutputRecord> out;
    while (q.next()) {
        OutputRecord o;
        o.jobId = q.value(0).toLongLong();
        o.taskId = q.value(1).toLongLong();
        o.name = q.value(2).toString();
        o.size = q.value(3).toLongLong();
        if (!q.value(4).isNull())
            o.frame = q.value(4).toInt();
        out.append(o);
    }
    q.finish();
    return out;
}

QList<OutputRecord> SqlStore::outputs(qint64 jobId)
{
    auto q = run("SELECT job_id, task_id, name, size, frame FROM outputs WHERE job_id = ? "
                 "ORDER BY name",
                 {jobId});
    return q ? readOutputs(**q) : QList<OutputRecord>{};
}

std::optional<OutputRecord> SqlStore::output(qint64 jobId, const QString &name)
{
    auto q = run("SELECT job_id, task_id, name, size, frame FROM outputs "
                 "WHERE job_id = ? AND name = ?",
                 {jobId, name});
    const auto rows = q ? readOutputs(**q) : QList<OutputRecord>{};
    if (rows.isEmpty())
        return std::nullopt;
    return rows.first();
}

QList<OutputRecord> SqlStore::taskOutputs(qint64 taskId)
{
    auto q = run("SELECT job_id, task_id, name, size, frame FROM outputs WHERE task_id = ? "
                 "ORDER BY name",
                 {taskId});
    return q ? readOutputs(**q) : QList<OutputRecord>{};
}

Result<void> SqlStore::insertUpload(const UploadRecord &u)
{
    auto q = exec(m_db,
                  "INSERT INTO uploads(id, name, size, sha256, chunk_size, chunks, received, "
                  "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  {u.id, u.name, u.size, u.sha256, u.chunkSize, u.chunks, joinInts(u.received),
                   fromTime(u.createdAt)});
    if (!q)
        return q.error();
    return {};
}

std::optional<UploadRecord> SqlStore::upload(const QString &id)
{
    auto q = exec(m_db,
                  "SELECT id, name, size, sha256, chunk_size, chunks, received, created_at "
                  "FROM uploads WHERE id = ?",
                  {id});
    if (!q || !q->next())
        return std::nullopt;
    UploadRecord u;
    u.id = q->value(0).toString();
    u.name = q->value(1).toString();
    u.size = q->value(2).toLongLong();
    u.sha256 = q->value(3).toString();
    u.chunkSize = q->value(4).toLongLong();
    u.chunks = q->value(5).toInt();
    for (const QString &s : q->value(6).toString().split(',', Qt::SkipEmptyParts))
        u.received.append(s.toInt());
    u.createdAt = toTime(q->value(7));
    return u;
}

Result<void> SqlStore::setUploadReceived(const QString &id, const QList<int> &received)
{
    auto q = exec(m_db, "UPDATE uploads SET received = ? WHERE id = ?", {joinInts(received), id});
    if (!q)
        return q.error();
    return {};
}

Result<void> SqlStore::deleteUpload(const QString &id)
{
    auto q = exec(m_db, "DELETE FROM uploads WHERE id = ?", {id});
    if (!q)
        return q.error();
    return {};
}

QStringList SqlStore::uploadsBefore(const QDateTime &before)
{
    QStringList out;
    auto q =
        exec(m_db, "SELECT id FROM uploads WHERE created_at < ?", {before.toMSecsSinceEpoch()});
    while (q && q->next())
        out.append(q->value(0).toString());
    return out;
}

} // namespace farm::server
