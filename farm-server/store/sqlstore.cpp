#include "store/sqlstore.h"

#include "store/sqldialect.h"
#include "store/sqlhelpers.h"

#include <QDebug>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QSet>
#include <QSqlDriver>
#include <QSqlRecord>
#include <QUuid>

#include <sqlite3.h>

namespace farm::server {

using sql::exec;
using sql::fromTime;
using sql::toTime;

namespace {
/// The session-level PostgreSQL advisory lock held while creating the schema and migrating,
/// so that controllers starting together on one database do it one at a time.
constexpr qint64 kMigrationLock = 0x4661726d68616e64; // "Farmhand"
} // namespace

SqlStore::SqlStore()
    : m_connection("farm-store-" + QUuid::createUuid().toString(QUuid::WithoutBraces))
{}

SqlStore::~SqlStore()
{
    close();
}

void SqlStore::close()
{
    m_prepared.clear(); // statements go before their connection
    m_nodeNames.clear();
    unhookRows();
    if (!m_db.isValid())
        return;
    m_db.close();
    if (m_onClose)
        m_onClose();
    m_db = QSqlDatabase();
    QSqlDatabase::removeDatabase(m_connection);
}

Result<void> SqlStore::open(const QString &pathOrUrl)
{
    const auto url = DatabaseUrl::parse(pathOrUrl);
    if (!url)
        return url.error();
    return open(*url);
}

Result<void> SqlStore::open(const DatabaseUrl &url)
{
    close();
    m_dialect.backend = url.backend;
    auto opened = m_dialect.postgres() ? openPostgres(url) : openSqlite(url.path);
    if (!opened)
        return opened;
    return migrate();
}

Result<void> SqlStore::openSqlite(const QString &path)
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
    hookRows();
    return {};
}

void SqlStore::hookRows()
{
    unhookRows();
    const QVariant v = m_db.driver()->handle();
    if (qstrcmp(v.typeName(), "sqlite3*") != 0)
        return;
    m_sqlite = *static_cast<sqlite3 *const *>(v.constData());
    if (!m_sqlite)
        return;
    sqlite3_update_hook(m_sqlite, &SqlStore::onRowChanged, this);
    sqlite3_rollback_hook(m_sqlite, &SqlStore::onRolledBack, this);
    resetRows(); // a new connection: nothing read on another one is known to hold
}

void SqlStore::unhookRows()
{
    if (m_sqlite) {
        sqlite3_update_hook(m_sqlite, nullptr, nullptr);
        sqlite3_rollback_hook(m_sqlite, nullptr, nullptr);
        m_sqlite = nullptr;
    }
    resetRows();
}

void SqlStore::onRowChanged(void *self, int, const char *, const char *table, long long rowid)
{
    auto *store = static_cast<SqlStore *>(self);
    if (qstrcmp(table, "tasks") == 0)
        store->m_taskRows.remove(rowid);
    for (const auto &[id, watch] : store->m_rowWatches)
        if (watch.changed)
            watch.changed(table, rowid);
}

void SqlStore::onRolledBack(void *self)
{
    static_cast<SqlStore *>(self)->resetRows();
}

void SqlStore::resetRows()
{
    m_taskRows.clear();
    for (const auto &[id, watch] : m_rowWatches)
        if (watch.reset)
            watch.reset();
}

int SqlStore::watchRows(RowWatch watch)
{
    const int id = ++m_nextWatch;
    m_rowWatches.emplace(id, std::move(watch));
    return id;
}

void SqlStore::unwatchRows(int id)
{
    m_rowWatches.erase(id);
}

void SqlStore::keepTask(const TaskRecord &r)
{
    if (!m_sqlite)
        return;
    if (m_taskRows.size() >= kMaxKeptTasks)
        m_taskRows.clear();
    m_taskRows.insert(r.task.id, r);
}

Result<void> SqlStore::openPostgres(const DatabaseUrl &url)
{
    if (!QSqlDatabase::isDriverAvailable("QPSQL"))
        return makeError("internal", "Qt's PostgreSQL driver (QPSQL) is not installed: on "
                                     "Debian, apt-get install libqt6sql6-psql");
    m_db = QSqlDatabase::addDatabase("QPSQL", m_connection);
    m_db.setHostName(url.host);
    m_db.setPort(url.port);
    m_db.setDatabaseName(url.name);
    m_db.setUserName(url.user);
    m_db.setPassword(url.password);
    if (!url.options.isEmpty())
        m_db.setConnectOptions(url.options.join(';'));
    if (!m_db.open())
        return makeError("internal", QString("cannot open database %1: %2")
                                         .arg(url.display(), m_db.lastError().text().simplified()));
    m_url = url;
    return setUpSession();
}

Result<void> SqlStore::setUpSession()
{
    const DatabaseUrl &url = m_url;
    // Statements here are DDL or settings: not prepared (PostgreSQL prepares only DML).
    QSqlQuery q(m_db);
    const auto run = [&](const QString &text) -> Result<void> {
        if (!q.exec(text))
            return makeError("internal",
                             QString("database %1: %2").arg(url.display(), q.lastError().text()));
        return {};
    };
    // Times are bound as integers and texts as UTF-8; a session of its own settings so that
    // a server's defaults change nothing.
    // (NOTICEs such as "schema exists, skipping" would reach the log as Qt warnings.)
    for (const char *setting :
         {"SET client_encoding TO 'UTF8'", "SET client_min_messages TO warning"})
        if (auto r = run(setting); !r)
            return r;
    if (!url.schema.isEmpty()) {
        // CREATE SCHEMA IF NOT EXISTS is not safe against a concurrent create either (the loser
        // fails on pg_namespace's unique index), so two controllers starting together on a new
        // schema take the migration lock around it.
        if (auto r = run(QString("SELECT pg_advisory_lock(%1)").arg(kMigrationLock)); !r)
            return r;
        auto created = run(QString("CREATE SCHEMA IF NOT EXISTS %1").arg(url.schema));
        auto unlocked = run(QString("SELECT pg_advisory_unlock(%1)").arg(kMigrationLock));
        if (!created)
            return created;
        if (!unlocked)
            return unlocked;
        if (auto r = run(QString("SET search_path TO %1").arg(url.schema)); !r)
            return r;
    }
    return {};
}

bool SqlStore::reconnect()
{
    if (!m_dialect.postgres() || m_depth > 0 || !m_db.isValid())
        return false;
    if (QSqlQuery probe(m_db); probe.exec("SELECT 1"))
        return false; // the connection is fine: the statement itself failed
    // The server dropped the connection (it restarted, or the backend was terminated): open it
    // again. Statements prepared on the old one are gone with it; a transaction in flight was
    // rolled back by the server and failed its caller.
    m_prepared.clear();
    m_db.close();
    if (!m_db.open() || !setUpSession()) {
        qWarning().noquote() << "database" << m_url.display()
                             << "connection lost; reconnecting failed:" << m_db.lastError().text();
        return false;
    }
    qWarning().noquote() << "database" << m_url.display() << "connection lost; reconnected";
    return true;
}

Result<QSqlQuery *> SqlStore::run(const QString &text, const QVariantList &binds)
{
    auto r = runOnce(text, binds);
    if (!r && reconnect())
        return runOnce(text, binds);
    return r;
}

Result<QSqlQuery *> SqlStore::runOnce(const QString &text, const QVariantList &binds)
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

int SqlStore::schemaVersion()
{
    auto q = exec(m_db, "SELECT MAX(version) FROM schema_version");
    return q && q->next() ? q->value(0).toInt() : 0;
}

Result<void> SqlStore::migrate()
{
    // DDL runs unprepared: PostgreSQL prepares only DML.
    QSqlQuery ddl(m_db);
    // Controllers starting at once on one PostgreSQL database would race to create the same
    // tables (CREATE ... IF NOT EXISTS is not safe against a concurrent create: the loser fails
    // on a unique index of the catalogue), so one migrates at a time, holding a session-level
    // advisory lock; the others wait for it and then find their migrations applied.
    if (m_dialect.postgres() &&
        !ddl.exec(QString("SELECT pg_advisory_lock(%1)").arg(kMigrationLock)))
        return makeError("internal",
                         "database: cannot lock for migrations: " + ddl.lastError().text());
    const auto unlock = qScopeGuard([&] {
        if (m_dialect.postgres())
            QSqlQuery(m_db).exec(QString("SELECT pg_advisory_unlock(%1)").arg(kMigrationLock));
    });
    if (!ddl.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                  "applied_at BIGINT NOT NULL)"))
        return makeError("internal", "database: " + ddl.lastError().text());
    // Each numbered migration once, whatever the order they were added in: two branches of
    // work may add 006 after a database already has 007.
    QSet<int> applied;
    if (auto q = exec(m_db, "SELECT version FROM schema_version"))
        while (q->next())
            applied.insert(q->value(0).toInt());
    static const QRegularExpression numbered(QStringLiteral("^(\\d{3})_.*\\.sql$"));
    const QString dir = m_dialect.migrationsDir();
    const QStringList files = QDir(dir).entryList({"*.sql"}, QDir::Files, QDir::Name);
    if (files.isEmpty())
        return makeError("internal", "no database migrations are compiled in");
    for (const QString &name : files) {
        const auto m = numbered.match(name);
        if (!m.hasMatch())
            continue;
        const int version = m.captured(1).toInt();
        if (applied.contains(version))
            continue;
        QFile f(dir + '/' + name);
        if (!f.open(QIODevice::ReadOnly))
            return makeError("internal", "cannot read migration " + name);
        Transaction tx(*this);
        for (const QString &statement : sql::splitStatements(QString::fromUtf8(f.readAll()))) {
            if (!ddl.exec(statement))
                return makeError(
                    "internal",
                    QString("migration %1 failed: %2").arg(name, ddl.lastError().text()));
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

Result<void> SqlStore::begin()
{
    if (m_depth++ > 0)
        return {};
    m_failed = false;
    if (!m_db.transaction() && !(reconnectOutside() && m_db.transaction())) {
        m_depth = 0;
        return makeError("internal", "database: cannot begin: " + m_db.lastError().text());
    }
    return {};
}

Result<void> SqlStore::commit()
{
    if (m_depth == 0)
        return makeError("internal", "database: commit without begin");
    if (--m_depth > 0)
        return {};
    if (m_failed) {
        m_db.rollback();
        resetRows(); // also where SQLite rolled back already and its hook was not called
        return makeError("internal", "database: an inner step failed; changes rolled back");
    }
    if (!m_db.commit()) {
        const QString why = m_db.lastError().text();
        m_db.rollback();
        resetRows();
        return makeError("internal", "database: commit failed: " + why);
    }
    return {};
}

void SqlStore::rollback()
{
    if (m_depth == 0)
        return;
    if (--m_depth > 0) {
        m_failed = true;
        return;
    }
    m_db.rollback();
    resetRows();
}

namespace {

/// Rows one multi-row INSERT carries: a round trip per hundred tasks, not per task, on
/// PostgreSQL (and far below SQLite's 32,766 parameters).
constexpr int kRowsPerInsert = 100;

QString valuesList(int rows, const QString &row)
{
    QStringList out;
    for (int i = 0; i < rows; ++i)
        out.append(row);
    return out.join(", ");
}

} // namespace

Result<void> SqlStore::insertTasks(qint64 jobId, const QList<TaskPlan> &tasks, const QDateTime &now)
{
    for (int i = 0; i < tasks.size(); ++i)
        for (int after : tasks[i].after)
            if (after < 0 || after >= tasks.size() || after == i)
                return makeError("internal", QString("task %1 waits for task %2, which the job "
                                                     "does not have")
                                                 .arg(i)
                                                 .arg(after));
    QList<qint64> ids(tasks.size());
    for (int from = 0; from < tasks.size(); from += kRowsPerInsert) {
        const int rows = qMin<int>(kRowsPerInsert, tasks.size() - from);
        QVariantList binds;
        for (int i = from; i < from + rows; ++i)
            binds << jobId << i << tasks[i].frames.toString() << tasks[i].frames.size()
                  << now.toMSecsSinceEpoch();
        // The ids come back with their index: RETURNING promises no order.
        auto q = exec(m_db,
                      "INSERT INTO tasks(job_id, idx, frames, frame_count, state, queued_at) "
                      "VALUES " +
                          valuesList(rows, "(?, ?, ?, ?, 'queued', ?)") + " RETURNING id, idx",
                      binds);
        if (!q)
            return q.error();
        int got = 0;
        while (q->next()) {
            const int idx = q->value(1).toInt();
            if (idx < from || idx >= from + rows)
                return makeError("internal", "database: a task came back with another index");
            ids[idx] = q->value(0).toLongLong();
            ++got;
        }
        if (got != rows)
            return makeError("internal", "database: not every task was inserted");
    }
    QVariantList deps;
    for (int i = 0; i < tasks.size(); ++i)
        for (int after : tasks[i].after)
            deps << ids[i] << ids[after];
    for (int from = 0; from < deps.size(); from += 2 * kRowsPerInsert) {
        const QVariantList binds = deps.mid(from, 2 * kRowsPerInsert);
        auto q = exec(m_db,
                      "INSERT INTO task_deps(task_id, after_id) VALUES " +
                          valuesList(int(binds.size() / 2), "(?, ?)"),
                      binds);
        if (!q)
            return q.error();
    }
    return {};
}

Result<void> SqlStore::replaceTasks(qint64 jobId, const QList<TaskPlan> &tasks,
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
    // Every task is queued again: the counts start over.
    if (auto r = exec(m_db,
                      "UPDATE jobs SET frames_total = ?, n_queued = ?, n_running = 0, n_done = 0, "
                      "n_failed = 0, n_canceled = 0, frames_done = 0, running_progress = 0 "
                      "WHERE id = ?",
                      {total, int(tasks.size()), jobId});
        !r)
        return r.error();
    return tx.commit();
}

Result<qint64> SqlStore::insertJob(const JobSpec &spec, const QList<TaskPlan> &tasks,
                                   const QDateTime &now)
{
    qint64 total = 0;
    for (const TaskPlan &t : tasks)
        total += t.frames.size();
    Transaction tx(*this);
    const QByteArray specJson = QJsonDocument(spec.toJson()).toJson(QJsonDocument::Compact);
    auto q = exec(m_db,
                  "INSERT INTO jobs(name, type, priority, spec, state, frames_total, created_at, "
                  "n_queued) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?) RETURNING id",
                  {spec.name, spec.type, spec.priority, QString::fromUtf8(specJson), total,
                   now.toMSecsSinceEpoch(), int(tasks.size())});
    if (!q)
        return q.error();
    if (!q->next())
        return makeError("internal", "database: the new job has no id");
    const qint64 jobId = q->value(0).toLongLong();
    q->finish();
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

QList<Job> SqlStore::loadJobs(const QString &where, const QVariantList &binds, const QString &tail)
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

std::optional<Job> SqlStore::job(qint64 id)
{
    const QList<Job> jobs = loadJobs("WHERE id = ?", {id}, {});
    if (jobs.isEmpty())
        return std::nullopt;
    return jobs.first();
}

JobPage SqlStore::listJobs(const JobQuery &query)
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
        conditions.append("name " + m_dialect.likeNoCase() + " ? ESCAPE '\\'");
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

Result<void> SqlStore::updateJob(const Job &job)
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

Result<void> SqlStore::setJobInput(qint64 jobId, const JobInput &input)
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

std::optional<JobSpec> SqlStore::spec(qint64 jobId, const QByteArray &json)
{
    if (const auto it = m_specs.constFind(jobId); it != m_specs.cend())
        return *it;
    const auto parsed = JobSpec::fromJson(QJsonDocument::fromJson(json).object());
    if (!parsed)
        return std::nullopt;
    m_specs.insert(jobId, *parsed);
    return *parsed;
}

Result<void> SqlStore::deleteJob(qint64 id)
{
    m_specs.remove(id);
    auto q = exec(m_db, "DELETE FROM jobs WHERE id = ?", {id});
    if (!q)
        return q.error();
    return {};
}

QMap<QString, int> SqlStore::jobStateCounts()
{
    QMap<QString, int> out;
    for (const char *s : {"queued", "active", "completed", "failed", "canceled", "paused"})
        out.insert(s, 0);
    auto q = exec(m_db, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
    while (q && q->next())
        out[q->value(0).toString()] = q->value(1).toInt();
    return out;
}

QMap<QString, int> SqlStore::taskStateCounts()
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
