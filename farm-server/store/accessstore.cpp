#include "store/accessstore.h"

#include "scheduler/nodecredentials.h"
#include "store/sqlhelpers.h"

namespace farm::server {

using sql::exec;
using sql::toTime;

AccessStore::AccessStore(QSqlDatabase db)
    : m_db(std::move(db))
{}

Result<UserRecord> AccessStore::insertUser(const QString &name, const QString &role,
                                           const QByteArray &tokenHash, const QDateTime &now)
{
    if (user(name))
        return makeError("conflict", QString("a user named '%1' exists already").arg(name));
    auto q = exec(m_db,
                  "INSERT INTO users(name, role, token_hash, created_at) VALUES (?, ?, ?, ?) "
                  "RETURNING id",
                  {name, role, QString::fromLatin1(tokenHash), now.toMSecsSinceEpoch()});
    if (!q)
        return q.error();
    if (!q->next())
        return makeError("internal", "database: the user row has no id");
    return UserRecord{q->value(0).toLongLong(), name, role, now};
}

namespace {

UserRecord readUser(const QSqlQuery &q)
{
    return {q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(),
            toTime(q.value(3))};
}

} // namespace

QList<UserRecord> AccessStore::users()
{
    QList<UserRecord> out;
    auto q = exec(m_db, "SELECT id, name, role, created_at FROM users ORDER BY name");
    while (q && q->next())
        out.append(readUser(*q));
    return out;
}

std::optional<UserRecord> AccessStore::user(const QString &name)
{
    auto q = exec(m_db, "SELECT id, name, role, created_at FROM users WHERE name = ?", {name});
    if (!q || !q->next())
        return std::nullopt;
    return readUser(*q);
}

std::optional<UserRecord> AccessStore::userForTokenHash(const QByteArray &tokenHash)
{
    auto q =
        exec(m_db, "SELECT id, name, role, created_at, token_hash FROM users WHERE token_hash = ?",
             {QString::fromLatin1(tokenHash)});
    // The index finds the row; the comparison of what it holds is the constant-time one.
    if (!q || !q->next() ||
        !credentials::constantTimeEquals(q->value(4).toString().toLatin1(), tokenHash))
        return std::nullopt;
    return readUser(*q);
}

Result<void> AccessStore::deleteUser(const QString &name)
{
    auto q = exec(m_db, "DELETE FROM users WHERE name = ?", {name});
    if (!q)
        return q.error();
    if (q->numRowsAffected() == 0)
        return makeError("not_found", QString("there is no user named '%1'").arg(name));
    return {};
}

Result<void> AccessStore::setJobOwner(qint64 jobId, const QString &owner)
{
    auto q = exec(m_db, "UPDATE jobs SET owner = ? WHERE id = ?", {owner, jobId});
    if (!q)
        return q.error();
    return {};
}

AccessStore::QueuedWork AccessStore::queuedWork()
{
    auto q = exec(m_db, "SELECT COALESCE(SUM(t.frame_count * (1 - t.progress)), 0), COUNT(*) "
                        "FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE t.state IN ('queued', "
                        "'assigned', 'running') AND j.state IN ('queued', 'active')");
    if (!q || !q->next())
        return {};
    return {q->value(0).toDouble(), q->value(1).toInt()};
}

Result<void> AccessStore::check()
{
    if (!m_db.isOpen())
        return makeError("internal", "the database is not open");
    auto q = exec(m_db, "SELECT MAX(version) FROM schema_version");
    if (!q)
        return q.error();
    if (!q->next() || q->value(0).toInt() <= 0)
        return makeError("internal", "the database has no schema");
    return {};
}

Result<qint64> AccessStore::insertDelivery(const WebhookDelivery &d, const QDateTime &now)
{
    auto q = exec(m_db,
                  "INSERT INTO webhook_deliveries(job_id, url, event, body, attempts, next_at, "
                  "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                  {d.jobId, d.url, d.event, QString::fromUtf8(d.body), d.attempts,
                   d.nextAt.toMSecsSinceEpoch(), now.toMSecsSinceEpoch()});
    if (!q)
        return q.error();
    if (!q->next())
        return makeError("internal", "database: the delivery row has no id");
    return q->value(0).toLongLong();
}

QList<WebhookDelivery> AccessStore::dueDeliveries(const QDateTime &now, int limit)
{
    QList<WebhookDelivery> out;
    auto q = exec(m_db,
                  "SELECT id, job_id, url, event, body, attempts, next_at, last_error FROM "
                  "webhook_deliveries WHERE next_at <= ? ORDER BY next_at, id LIMIT ?",
                  {now.toMSecsSinceEpoch(), limit});
    while (q && q->next())
        out.append({q->value(0).toLongLong(), q->value(1).toLongLong(), q->value(2).toString(),
                    q->value(3).toString(), q->value(4).toString().toUtf8(), q->value(5).toInt(),
                    toTime(q->value(6)), q->value(7).toString()});
    return out;
}

QDateTime AccessStore::nextDeliveryAt()
{
    auto q = exec(m_db, "SELECT MIN(next_at) FROM webhook_deliveries");
    if (!q || !q->next())
        return {};
    return toTime(q->value(0));
}

Result<bool> AccessStore::leaseDelivery(qint64 id, const QDateTime &due, const QDateTime &until)
{
    auto q = exec(m_db, "UPDATE webhook_deliveries SET next_at = ? WHERE id = ? AND next_at = ?",
                  {until.toMSecsSinceEpoch(), id, due.toMSecsSinceEpoch()});
    if (!q)
        return q.error();
    return q->numRowsAffected() == 1;
}

Result<void> AccessStore::rescheduleDelivery(qint64 id, int attempts, const QDateTime &nextAt,
                                             const QString &error)
{
    auto q = exec(m_db,
                  "UPDATE webhook_deliveries SET attempts = ?, next_at = ?, last_error = ? "
                  "WHERE id = ?",
                  {attempts, nextAt.toMSecsSinceEpoch(), error, id});
    if (!q)
        return q.error();
    return {};
}

Result<void> AccessStore::deleteDelivery(qint64 id)
{
    auto q = exec(m_db, "DELETE FROM webhook_deliveries WHERE id = ?", {id});
    if (!q)
        return q.error();
    return {};
}

int AccessStore::pendingDeliveries()
{
    auto q = exec(m_db, "SELECT COUNT(*) FROM webhook_deliveries");
    return q && q->next() ? q->value(0).toInt() : 0;
}

} // namespace farm::server
