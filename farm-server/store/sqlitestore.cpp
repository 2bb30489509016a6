#include "store/sqlitestore.h"

#include "store/sqlhelpers.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSet>
#include <QSqlRecord>
#include <QUuid>

namespace farm::server {

using sql::exec;
using sql::fromTime;
using sql::toTime;

namespace {

/// Splits a migration into statements at ';' line ends, keeping trigger bodies (BEGIN … END;)
/// whole.
QStringList splitStatements(const QString &text)
{
    QStringList out;
    QString current;
    bool inTrigger = false;
    for (const QString &line : text.split('\n')) {
        const QString t = line.trimmed();
        if (t.isEmpty())
            continue;
        if (t.startsWith("CREATE TRIGGER", Qt::CaseInsensitive))
            inTrigger = true;
        current += line + '\n';
        const bool ends = inTrigger ? t.compare("END;", Qt::CaseInsensitive) == 0 : t.endsWith(';');
        if (ends) {
            out.append(current);
            current.clear();
            inTrigger = false;
        }
    }
    if (!current.trimmed().isEmpty())
        out.append(current);
    return out;
}

} // namespace

SqliteStore::SqliteStore()
    : m_connection("farm-store-" + QUuid::createUuid().toString(QUuid::WithoutBraces))
{}

SqliteStore::~SqliteStore()
{
    close();
}

void SqliteStore::close()
{
    m_prepared.clear(); // statements go before their connection
    m_nodeNames.clear();
    if (!m_db.isValid())
        return;
    m_db.close();
    m_db = QSqlDatabase();
    QSqlDatabase::removeDatabase(m_connection);
}

Result<void> SqliteStore::open(const QString &path)
{
    m_db = QSqlDatabase::addDatabase("QSQLITE", m_connection);
    m_db.setDatabaseName(path);
    if (!m_db.open())
        return makeError("internal",
                         QString("cannot open database %1: %2").arg(path, m_db.lastError().text()));
    auto integrity = exec(m_db, "PRAGMA integrity_check");
    if (!integrity)
        return makeError("internal", QString("database %1 is damaged or not a database (%2)")
                                         .arg(path, integrity.error().message));
    if (!integrity->next() || integrity->value(0).toString() != "ok")
        return makeError("internal", QString("database %1 failed its integrity check: %2")
                                         .arg(path, integrity->value(0).toString()));
    integrity->finish(); // an open read statement would block the journal mode change
    for (const char *pragma : {"PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON",
                               "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=5000"}) {
        if (auto r = exec(m_db, pragma); !r)
            return r.error();
    }
    auto fk = exec(m_db, "PRAGMA foreign_keys");
    if (!fk || !fk->next() || fk->value(0).toInt() != 1)
        return makeError("internal", "database: foreign keys could not be enabled");
    fk->finish();
    return migrate();
}

Result<QSqlQuery *> SqliteStore::run(const QString &text, const QVariantList &binds)
{
    auto it = m_prepared.find(text);
    if (it == m_prepared.end()) {
        // Statements whose text varies (a page's LIMIT) must not grow the cache without end.
        if (m_prepared.size() >= 256)
            m_prepared.clear();
        QSqlQuery q(m_db);
        q.setForwardOnly(true);
        if (!q.prepare(text))
            return makeError("internal", "database: " + q.lastError().text());
        it = m_prepared.insert(text, q);
    }
    QSqlQuery &q = *it;
    for (int i = 0; i < binds.size(); ++i) {
        const QVariant &b = binds[i];
        // A null QString binds as SQL NULL; text columns here are NOT NULL, so send ''.
        if (b.typeId() == QMetaType::QString && b.toString().isNull())
            q.bindValue(i, QStringLiteral(""));
        else
            q.bindValue(i, b);
    }
    if (!q.exec()) {
        const QString why = q.lastError().text();
        q.finish();
        return makeError("internal", "database: " + why);
    }
    return &q;
}

int SqliteStore::schemaVersion()
{
    auto q = exec(m_db, "SELECT MAX(version) FROM schema_version");
    return q && q->next() ? q->value(0).toInt() : 0;
}

Result<void> SqliteStore::migrate()
{
    if (auto r =
            exec(m_db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                       "applied_at INTEGER NOT NULL)");
        !r)
        return r.error();
    // Each numbered migration once, whatever the order they were added in: two branches of
    // work may add 006 after a database already has 007.
    QSet<int> applied;
    if (auto q = exec(m_db, "SELECT version FROM schema_version"))
        while (q->next())
            applied.insert(q->value(0).toInt());
    static const QRegularExpression numbered(QStringLiteral("^(\\d{3})_.*\\.sql$"));
    const QStringList files = QDir(":/migrations").entryList({"*.sql"}, QDir::Files, QDir::Name);
    if (files.isEmpty())
        return makeError("internal", "no database migrations are compiled in");
    for (const QString &name : files) {
        const auto m = numbered.match(name);
        if (!m.hasMatch())
            continue;
        const int version = m.captured(1).toInt();
        if (applied.contains(version))
            continue;
        QFile f(":/migrations/" + name);
        if (!f.open(QIODevice::ReadOnly))
            return makeError("internal", "cannot read migration " + name);
        QString text;
        for (const QString &line : QString::fromUtf8(f.readAll()).split('\n'))
            if (!line.trimmed().startsWith("--"))
                text += line + '\n';
        Transaction tx(*this);
        for (const QString &statement : splitStatements(text)) {
            if (auto r = exec(m_db, statement); !r)
                return makeError("internal",
                                 QString("migration %1 failed: %2").arg(name, r.error().message));
        }
        if (auto r = exec(m_db, "INSERT INTO schema_version(version, applied_at) VALUES (?, ?)",
                          {version, QDateTime::currentMSecsSinceEpoch()});
            !r)
            return r.error();
        if (auto r = tx.commit(); !r)
            return r;
    }
    return {};
}

Result<void> SqliteStore::begin()
{
    if (m_depth++ > 0)
        return {};
    m_failed = false;
    if (!m_db.transaction()) {
        m_depth = 0;
        return makeError("internal", "database: cannot begin: " + m_db.lastError().text());
    }
    return {};
}

Result<void> SqliteStore::commit()
{
    if (m_depth == 0)
        return makeError("internal", "database: commit without begin");
    if (--m_depth > 0)
        return {};
    if (m_failed) {
        m_db.rollback();
        return makeError("internal", "database: an inner step failed; changes rolled back");
    }
    if (!m_db.commit()) {
        const QString why = m_db.lastError().text();
        m_db.rollback();
        return makeError("internal", "database: commit failed: " + why);
    }
    return {};
}

void SqliteStore::rollback()
{
    if (m_depth == 0)
        return;
    if (--m_depth > 0) {
        m_failed = true;
        return;
    }
    m_db.rollback();
}

Result<void> SqliteStore::insertTasks(qint64 jobId, const QList<TaskPlan> &tasks,
                                      const QDateTime &now)
{
    QSqlQuery ins(m_db);
    ins.prepare("INSERT INTO tasks(job_id, idx, frames, frame_count, state, queued_at) "
                "VALUES (?, ?, ?, ?, 'queued', ?)");
    QList<qint64> ids;
    for (int i = 0; i < tasks.size(); ++i) {
        ins.addBindValue(jobId);
        ins.addBindValue(i);
        ins.addBindValue(tasks[i].frames.toString());
        ins.addBindValue(tasks[i].frames.size());
        ins.addBindValue(now.toMSecsSinceEpoch());
        if (!ins.exec())
            return makeError("internal", "database: " + ins.lastError().text());
        ids.append(ins.lastInsertId().toLongLong());
    }
    QSqlQuery dep(m_db);
    dep.prepare("INSERT INTO task_deps(task_id, after_id) VALUES (?, ?)");
    for (int i = 0; i < tasks.size(); ++i) {
        for (int after : tasks[i].after) {
            if (after < 0 || after >= tasks.size() || after == i)
                return makeError("internal", QString("task %1 waits for task %2, which the job "
                                                     "does not have")
                                                 .arg(i)
                                                 .arg(after));
            dep.addBindValue(ids[i]);
            dep.addBindValue(ids[after]);
            if (!dep.exec())
                return makeError("internal", "database: " + dep.lastError().text());
        }
    }
    return {};
}

Result<void> SqliteStore::replaceTasks(qint64 jobId, const QList<TaskPlan> &tasks,
                                       const QDateTime &now)
{
    Transaction tx(*this);
    auto started = exec(m_db,
                        "SELECT COUNT(*) FROM tasks WHERE job_id = ? AND (state != 'queued' OR "
                        "attempts > 0)",
                        {jobId});
    if (!started)
        return started.error();
    if (!started->next() || started->value(0).toInt() > 0)
        return makeError("conflict",
                         QString("job %1 has tasks that ran: they are not made again").arg(jobId));
    if (auto r = exec(m_db, "DELETE FROM tasks WHERE job_id = ?", {jobId}); !r)
        return r.error();
    if (auto r = insertTasks(jobId, tasks, now); !r)
        return r.error();
    qint64 total = 0;
    for (const TaskPlan &t : tasks)
        total += t.frames.size();
    if (auto r = exec(m_db, "UPDATE jobs SET frames_total = ?, n_queued = ? WHERE id = ?",
                      {total, int(tasks.size()), jobId});
        !r)
        return r.error();
    return tx.commit();
}

Result<qint64> SqliteStore::insertJob(const JobSpec &spec, const QList<TaskPlan> &tasks,
                                      const QDateTime &now)
{
    qint64 total = 0;
    for (const TaskPlan &t : tasks)
        total += t.frames.size();
    Transaction tx(*this);
    const QByteArray specJson = QJsonDocument(spec.toJson()).toJson(QJsonDocument::Compact);
    auto q = exec(m_db,
                  "INSERT INTO jobs(name, type, priority, spec, state, frames_total, created_at, "
                  "n_queued) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)",
                  {spec.name, spec.type, spec.priority, QString::fromUtf8(specJson), total,
                   now.toMSecsSinceEpoch(), int(tasks.size())});
    if (!q)
        return q.error();
    const qint64 jobId = q->lastInsertId().toLongLong();
    if (auto r = insertTasks(jobId, tasks, now); !r)
        return r.error();
    for (qint64 after : spec.dependsOn) // the API checked that they exist
        if (auto r =
                exec(m_db, "INSERT INTO job_deps(job_id, after_job) VALUES (?, ?)", {jobId, after});
            !r)
            return r.error();
    if (auto r = tx.commit(); !r)
        return r.error();
    return jobId;
}

QList<Job> SqliteStore::loadJobs(const QString &where, const QVariantList &binds,
                                 const QString &tail)
{
    QList<Job> jobs;
    auto q = run("SELECT id, spec, state, created_at, started_at, finished_at, error, "
                 "frames_total, n_queued, n_running, n_done, n_failed, n_canceled, frames_done, "
                 "owner, running_progress FROM jobs " +
                     where + " " + tail,
                 binds);
    if (!q)
        return jobs;
    QList<qint64> frameTotals;
    QList<double> framesDone;
    while ((*q)->next()) {
        const QSqlQuery &row = **q;
        Job j;
        j.id = row.value(0).toLongLong();
        if (const auto spec = this->spec(j.id, row.value(1).toByteArray()))
            j.spec = *spec;
        j.state = jobStateFromString(row.value(2).toString()).value_or(JobState::Failed);
        j.createdAt = toTime(row.value(3));
        j.startedAt = toTime(row.value(4));
        j.finishedAt = toTime(row.value(5));
        j.error = row.value(6).toString();
        frameTotals.append(row.value(7).toLongLong());
        // Counts live on the job row (trigger-maintained): reading a job never scans its tasks.
        TaskCounts &c = j.tasks;
        c.queued = row.value(8).toInt();
        c.running = row.value(9).toInt();
        c.done = row.value(10).toInt();
        c.failed = row.value(11).toInt();
        c.canceled = row.value(12).toInt();
        c.total = c.queued + c.running + c.done + c.failed + c.canceled;
        // Done frames plus the share of those on nodes (migration 008 keeps the sum).
        framesDone.append(row.value(13).toDouble() + row.value(15).toDouble());
        j.owner = row.value(14).toString();
        jobs.append(j);
    }
    (*q)->finish();
    for (int i = 0; i < jobs.size(); ++i)
        jobs[i].progress =
            frameTotals[i] > 0 ? qBound(0.0, framesDone[i] / frameTotals[i], 1.0) : 0.0;
    return jobs;
}

std::optional<Job> SqliteStore::job(qint64 id)
{
    const QList<Job> jobs = loadJobs("WHERE id = ?", {id}, {});
    if (jobs.isEmpty())
        return std::nullopt;
    return jobs.first();
}

JobPage SqliteStore::listJobs(const JobQuery &query)
{
    QStringList conditions;
    QVariantList binds;
    if (!query.states.isEmpty()) {
        QStringList marks;
        for (JobState s : query.states) {
            marks.append("?");
            binds.append(toString(s));
        }
        conditions.append("state IN (" + marks.join(',') + ")");
    }
    if (!query.text.isEmpty()) {
        conditions.append("name LIKE ? ESCAPE '\\'");
        QString t = query.text;
        t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_");
        binds.append("%" + t + "%");
    }
    const QString where = conditions.isEmpty() ? QString() : "WHERE " + conditions.join(" AND ");
    JobPage page;
    if (auto c = exec(m_db, "SELECT COUNT(*) FROM jobs " + where, binds); c && c->next())
        page.total = c->value(0).toInt();
    static const QStringList sortable{"created_at", "priority", "name", "state", "id"};
    const QString column =
        sortable.contains(query.sort) ? query.sort : QStringLiteral("created_at");
    const QString dir = query.descending ? "DESC" : "ASC";
    QString pageWhere = where;
    QVariantList pageBinds = binds;
    if (query.afterKey) {
        // Rows after (key, id) in the list's order, ties broken by id as the ORDER BY does.
        const QString cmp = query.descending ? "<" : ">";
        conditions.append(column == "id"
                              ? QString("id %1 ?").arg(cmp)
                              : QString("(%1 %2 ? OR (%1 = ? AND id %2 ?))").arg(column, cmp));
        if (column != "id")
            pageBinds << *query.afterKey << *query.afterKey;
        pageBinds << query.afterId;
        pageWhere = "WHERE " + conditions.join(" AND ");
    }
    page.jobs = loadJobs(pageWhere, pageBinds,
                         QString("ORDER BY %1 %2, id %2 LIMIT %3 OFFSET %4")
                             .arg(column, dir)
                             .arg(query.limit)
                             .arg(query.offset));
    if (!page.jobs.isEmpty()) {
        page.lastId = page.jobs.last().id;
        if (auto k =
                exec(m_db, QString("SELECT %1 FROM jobs WHERE id = ?").arg(column), {page.lastId});
            k && k->next())
            page.lastKey = k->value(0);
    }
    return page;
}

Result<void> SqliteStore::updateJob(const Job &job)
{
    auto q = run("UPDATE jobs SET state = ?, started_at = ?, finished_at = ?, error = ?, "
                 "priority = ? WHERE id = ?",
                 {toString(job.state), fromTime(job.startedAt), fromTime(job.finishedAt), job.error,
                  job.spec.priority, job.id});
    if (!q)
        return q.error();
    (*q)->finish();
    return {};
}

Result<void> SqliteStore::setJobInput(qint64 jobId, const JobInput &input)
{
    const auto found = job(jobId);
    if (!found)
        return makeError("not_found", QString("job %1 does not exist").arg(jobId));
    JobSpec spec = found->spec;
    spec.input = input;
    const QByteArray json = QJsonDocument(spec.toJson()).toJson(QJsonDocument::Compact);
    auto q = run("UPDATE jobs SET spec = ? WHERE id = ?", {QString::fromUtf8(json), jobId});
    if (!q)
        return q.error();
    (*q)->finish();
    m_specs.insert(jobId, spec);
    return {};
}

std::optional<JobSpec> SqliteStore::spec(qint64 jobId, const QByteArray &json)
{
    if (const auto it = m_specs.constFind(jobId); it != m_specs.cend())
        return *it;
    const auto parsed = JobSpec::fromJson(QJsonDocument::fromJson(json).object());
    if (!parsed)
        return std::nullopt;
    m_specs.insert(jobId, *parsed);
    return *parsed;
}

Result<void> SqliteStore::deleteJob(qint64 id)
{
    m_specs.remove(id);
    auto q = exec(m_db, "DELETE FROM jobs WHERE id = ?", {id});
    if (!q)
        return q.error();
    return {};
}

QMap<QString, int> SqliteStore::jobStateCounts()
{
    QMap<QString, int> out;
    for (const char *s : {"queued", "active", "completed", "failed", "canceled", "paused"})
        out.insert(s, 0);
    auto q = exec(m_db, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
    while (q && q->next())
        out[q->value(0).toString()] = q->value(1).toInt();
    return out;
}

QMap<QString, int> SqliteStore::taskStateCounts()
{
    QMap<QString, int> out;
    for (const char *s : {"queued", "assigned", "running", "done", "failed", "canceled"})
        out.insert(s, 0);
    auto q = exec(m_db, "SELECT state, COUNT(*) FROM tasks GROUP BY state");
    while (q && q->next())
        out[q->value(0).toString()] = q->value(1).toInt();
    return out;
}

} // namespace farm::server
