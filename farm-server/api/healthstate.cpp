#include "api/healthstate.h"

#include "files/filestore.h"
#include "store/accessstore.h"

#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStringList>

namespace farm::server {

HealthState::HealthState(AccessStore &access, QString dataDir, qint64 minFreeDiskMb)
    : m_access(access)
    , m_dataDir(QDir(dataDir).absolutePath())
    , m_minFreeBytes(minFreeDiskMb * 1024 * 1024)
{
    m_clock.start();
}

Result<void> HealthState::read()
{
    Result<void> db = m_access.check();
    QMutexLocker lock(&m_lock);
    m_db = db;
    m_readAtMs = m_clock.elapsed();
    m_readAsked = false;
    return db;
}

FrontResponse HealthState::answer()
{
    std::optional<Result<void>> db;
    {
        QMutexLocker lock(&m_lock);
        if (m_readAtMs >= 0 && m_db && m_clock.elapsed() - m_readAtMs < kReadEveryMs)
            db = m_db;
    }
    // A closed connection shows at once; a failed read is tried again at the next request.
    if (!db || !m_access.isOpen())
        db = read();
    return respond(*db);
}

void HealthState::databaseClosed()
{
    QMutexLocker lock(&m_lock);
    m_db = makeError("internal", "the database is not open");
    m_readAtMs = m_clock.elapsed();
}

std::optional<FrontResponse> HealthState::answerOffLoop()
{
    {
        QMutexLocker lock(&m_lock);
        const qint64 age = m_clock.elapsed() - m_readAtMs;
        if (m_readAtMs < 0 || !m_db || age >= kFreshMs)
            return std::nullopt;
        if (age >= kReadEveryMs && !m_readAsked) {
            m_readAsked = true;
            QMetaObject::invokeMethod(
                &m_loop, [this] { (void)read(); }, Qt::QueuedConnection);
        }
    }
    return respond(Result<void>());
}

// Load balancers and orchestrators ask this without a token: it names what is wrong, never
// anything about jobs.
FrontResponse HealthState::respond(const Result<void> &db) const
{
    QStringList reasons;
    QJsonObject checks;
    if (!db) {
        reasons.append("database: " + db.error().message);
        checks.insert("database", db.error().message);
    } else {
        checks.insert("database", "ok");
    }
    const qint64 free = FileStore::freeDiskBytes(m_dataDir);
    checks.insert("disk", QJsonObject{{"free_bytes", free}, {"min_free_bytes", m_minFreeBytes}});
    if (free < 0)
        reasons.append("disk: the free space of the data dir cannot be read");
    else if (free < m_minFreeBytes)
        reasons.append(QString("disk: %1 MiB free in the data dir, less than the %2 MiB needed "
                               "(--min-free-disk)")
                           .arg(free / (1024 * 1024))
                           .arg(m_minFreeBytes / (1024 * 1024)));
    const QJsonObject body = reasons.isEmpty() ? QJsonObject{{"status", "ok"}, {"checks", checks}}
                                               : QJsonObject{{"status", "unavailable"},
                                                             {"reason", reasons.join("; ")},
                                                             {"checks", checks}};
    return {reasons.isEmpty() ? 200 : 503, QJsonDocument(body).toJson(QJsonDocument::Compact),
            "application/json"};
}

} // namespace farm::server
