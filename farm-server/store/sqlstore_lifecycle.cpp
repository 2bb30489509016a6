// SqlStore: what the lifecycle actions need beyond rows (priority, job dependencies, the
// files and outputs a re-run or a delete touches).
#include "store/sqlhelpers.h"
#include "store/sqlstore.h"

#include <QJsonDocument>
#include <QRegularExpression>

namespace farm::server {

using sql::exec;

namespace {

QList<qint64> ids(Result<QSqlQuery> q)
{
    QList<qint64> out;
    while (q && q->next())
        out.append(q->value(0).toLongLong());
    return out;
}

QString idList(const QList<qint64> &values)
{
    QStringList s;
    for (qint64 v : values)
        s.append(QString::number(v));
    return s.join(',');
}

} // namespace

Result<void> SqlStore::setJobPriority(qint64 jobId, int priority)
{
    auto row = exec(m_db, "SELECT spec FROM jobs WHERE id = ?", {jobId});
    if (!row)
        return row.error();
    if (!row->next())
        return makeError("not_found", QString("job %1 does not exist").arg(jobId));
    auto current = spec(jobId, row->value(0).toByteArray());
    if (!current)
        return makeError("internal", QString("job %1 has an unreadable spec").arg(jobId));
    JobSpec changed = *current;
    changed.priority = priority;
    const QByteArray json = QJsonDocument(changed.toJson()).toJson(QJsonDocument::Compact);
    auto q = exec(m_db, "UPDATE jobs SET priority = ?, spec = ? WHERE id = ?",
                  {priority, QString::fromUtf8(json), jobId});
    if (!q)
        return q.error();
    m_specs.insert(jobId, changed);
    return {};
}

QList<qint64> SqlStore::jobDependencies(qint64 jobId)
{
    return ids(
        exec(m_db, "SELECT after_job FROM job_deps WHERE job_id = ? ORDER BY after_job", {jobId}));
}

QList<qint64> SqlStore::jobDependents(qint64 jobId)
{
    return ids(
        exec(m_db, "SELECT job_id FROM job_deps WHERE after_job = ? ORDER BY job_id", {jobId}));
}

QList<qint64> SqlStore::taskDependents(qint64 taskId)
{
    return ids(
        exec(m_db, "SELECT task_id FROM task_deps WHERE after_id = ? ORDER BY task_id", {taskId}));
}

bool SqlStore::fileInUse(const QString &sha256)
{
    // A SHA-256 is 64 hex digits: found in a spec's text, it is one of the job's inputs.
    // (LIKE's wildcards '%' and '_' cannot occur in a hash; a stray one only keeps a file.)
    auto q = exec(m_db, "SELECT 1 FROM jobs WHERE spec LIKE ? LIMIT 1", {"%" + sha256 + "%"});
    return !q || q->next(); // unsure (a database error): keep the file
}

Result<QStringList> SqlStore::deleteTaskOutputs(qint64 jobId, const QList<qint64> &taskIds)
{
    if (taskIds.isEmpty())
        return QStringList{};
    const QString in = idList(taskIds);
    auto q = exec(m_db, "SELECT name FROM outputs WHERE job_id = ? AND task_id IN (" + in + ")",
                  {jobId});
    if (!q)
        return q.error();
    QStringList names;
    while (q->next())
        names.append(q->value(0).toString());
    if (auto d =
            exec(m_db, "DELETE FROM outputs WHERE job_id = ? AND task_id IN (" + in + ")", {jobId});
        !d)
        return d.error();
    return names;
}

QList<JobStore::StoredOutputs> SqlStore::finishedJobOutputs()
{
    QList<StoredOutputs> out;
    auto q =
        exec(m_db, "SELECT j.id, j.finished_at, SUM(o.size), COUNT(*) FROM jobs j JOIN "
                   "outputs o ON o.job_id = j.id WHERE j.state IN ('completed', 'failed', "
                   "'canceled') GROUP BY j.id ORDER BY j.finished_at ASC NULLS FIRST, j.id ASC");
    while (q && q->next())
        out.append({q->value(0).toLongLong(), sql::toTime(q->value(1)), q->value(2).toLongLong(),
                    q->value(3).toInt()});
    return out;
}

Result<QStringList> SqlStore::deleteJobOutputs(qint64 jobId)
{
    auto q = exec(m_db, "SELECT name FROM outputs WHERE job_id = ?", {jobId});
    if (!q)
        return q.error();
    QStringList names;
    while (q->next())
        names.append(q->value(0).toString());
    if (auto d = exec(m_db, "DELETE FROM outputs WHERE job_id = ?", {jobId}); !d)
        return d.error();
    return names;
}

QSet<QString> SqlStore::filesInUse()
{
    // Every 64-hex-digit string of a spec is a file of its input (the specs hold no other).
    static const QRegularExpression sha(QStringLiteral("\"([0-9a-f]{64})\""));
    QSet<QString> used;
    auto q = exec(m_db, "SELECT spec FROM jobs");
    while (q && q->next()) {
        const QString spec = q->value(0).toString();
        for (auto it = sha.globalMatch(spec); it.hasNext();)
            used.insert(it.next().captured(1));
    }
    return used;
}

} // namespace farm::server
