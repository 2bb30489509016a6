#pragma once

#include "util/result.h"

#include <QDateTime>
#include <QList>
#include <QSqlDatabase>
#include <QString>

#include <optional>

namespace farm::server {

/// An API user (docs/API.md, "Users and roles"). The token itself is never stored.
struct UserRecord
{
    qint64 id = 0;
    QString name;
    QString role; // admin | user
    QDateTime createdAt;
};

/// A webhook call waiting to be sent, or sent again after a failure.
struct WebhookDelivery
{
    qint64 id = 0;
    qint64 jobId = 0;
    QString url;
    QString event;
    QByteArray body; // the JSON exactly as signed and sent
    int attempts = 0;
    QDateTime nextAt;
    QString lastError;
};

/// Users, job owners and webhook deliveries, on the database connection of SqlStore (same
/// database and transactions: a job and its owner are written in one). Event loop thread only.
class AccessStore
{
public:
    explicit AccessStore(QSqlDatabase db);

    Result<UserRecord> insertUser(const QString &name, const QString &role,
                                  const QByteArray &tokenHash, const QDateTime &now);
    QList<UserRecord> users();
    std::optional<UserRecord> user(const QString &name);
    /// The user whose token has this SHA-256 (hex), compared in constant time.
    std::optional<UserRecord> userForTokenHash(const QByteArray &tokenHash);
    /// Removes the user; their jobs keep naming them. not_found when there is none.
    Result<void> deleteUser(const QString &name);

    Result<void> setJobOwner(qint64 jobId, const QString &owner);
    /// Frames still to render in tasks of queued and active jobs (a running task's progress
    /// counts as done), and how many such tasks there are: the queued work of /metrics.
    struct QueuedWork
    {
        double frames = 0;
        int tasks = 0;
    };
    QueuedWork queuedWork();
    /// Reads from the database (for /health): an error when it cannot answer.
    Result<void> check();
    /// Whether the connection is open, without a statement (GET /health between its reads).
    bool isOpen() const { return m_db.isOpen(); }

    Result<qint64> insertDelivery(const WebhookDelivery &delivery, const QDateTime &now);
    /// Deliveries due at `now`, oldest first.
    QList<WebhookDelivery> dueDeliveries(const QDateTime &now, int limit);
    /// When the next delivery falls due; invalid when none waits.
    QDateTime nextDeliveryAt();
    /// Takes a due delivery for sending until `until`, only while it is still due at `due`:
    /// false when another controller of the same database took it first (docs/CONTROLLERS.md).
    Result<bool> leaseDelivery(qint64 id, const QDateTime &due, const QDateTime &until);
    Result<void> rescheduleDelivery(qint64 id, int attempts, const QDateTime &nextAt,
                                    const QString &error);
    Result<void> deleteDelivery(qint64 id);
    int pendingDeliveries();

private:
    QSqlDatabase m_db;
};

} // namespace farm::server
