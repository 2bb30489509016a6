#include "api/joblistcache.h"

#include "store/sqlstore.h"

#include <QJsonDocument>
#include <QSqlDriver>

#include <sqlite3.h>

namespace farm::server {

JobListCache::JobListCache(SqlStore &store)
    : m_store(store)
{
    attach();
}

JobListCache::~JobListCache()
{
    // Only from a connection that is still the one the hooks were put on.
    const QSqlDatabase db = m_store.database();
    if (!m_handle || !db.isOpen())
        return;
    const QVariant v = db.driver()->handle();
    if (qstrcmp(v.typeName(), "sqlite3*") == 0 &&
        *static_cast<sqlite3 *const *>(v.constData()) == m_handle) {
        sqlite3_update_hook(m_handle, nullptr, nullptr);
        sqlite3_rollback_hook(m_handle, nullptr, nullptr);
    }
}

sqlite3 *JobListCache::attach()
{
    const QSqlDatabase db = m_store.database();
    if (m_store.dialect().postgres() || !db.isOpen()) {
        if (m_handle)
            dropAll();
        m_handle = nullptr;
        return nullptr;
    }
    const QVariant v = db.driver()->handle();
    if (qstrcmp(v.typeName(), "sqlite3*") != 0)
        return nullptr;
    sqlite3 *h = *static_cast<sqlite3 *const *>(v.constData());
    if (!h)
        return nullptr;
    // Putting the hook on again tells whether this connection carried it: one opened since
    // (the store closed and opened again) did not, and what was kept may be stale.
    void *previous = sqlite3_update_hook(h, &JobListCache::onUpdate, this);
    if (previous != this || h != m_handle) {
        sqlite3_rollback_hook(h, &JobListCache::onRollback, this);
        dropAll();
        m_handle = h;
    }
    return h;
}

bool JobListCache::enabled()
{
    return attach() != nullptr;
}

void JobListCache::onUpdate(void *self, int, const char *, const char *table, long long rowid)
{
    if (qstrcmp(table, "jobs") != 0)
        return;
    auto *c = static_cast<JobListCache *>(self);
    ++c->m_generation;
    if (!c->m_pages.isEmpty()) { // a job's change may move it into, out of or within any page
        c->m_pages.clear();
        c->m_pageBytes = 0;
    }
    if (const auto it = c->m_jobs.find(rowid); it != c->m_jobs.end()) {
        c->m_jobBytes -= it->size();
        c->m_jobs.erase(it);
    }
}

void JobListCache::onRollback(void *self)
{
    static_cast<JobListCache *>(self)->dropAll();
}

void JobListCache::dropAll()
{
    ++m_generation;
    m_pages.clear();
    m_pageBytes = 0;
    m_jobs.clear();
    m_jobBytes = 0;
}

JobListCache::Ticket JobListCache::ticket()
{
    sqlite3 *h = attach();
    return {m_generation, h && sqlite3_get_autocommit(h) != 0};
}

std::optional<QByteArray> JobListCache::page(const QString &key)
{
    if (!attach())
        return std::nullopt;
    const auto it = m_pages.find(key);
    if (it == m_pages.end()) {
        ++m_misses;
        return std::nullopt;
    }
    ++m_hits;
    it->used = ++m_clock;
    return it->body;
}

void JobListCache::keepPage(const QString &key, const QByteArray &body, const Ticket &ticket)
{
    if (!ticket.keep || ticket.generation != m_generation || body.size() > m_limits.pageBytes / 4)
        return;
    if (const auto it = m_pages.find(key); it != m_pages.end()) {
        m_pageBytes -= it->body.size();
        m_pages.erase(it);
    }
    while (!m_pages.isEmpty() &&
           (m_pages.size() >= m_limits.pages || m_pageBytes + body.size() > m_limits.pageBytes)) {
        auto oldest = m_pages.begin();
        for (auto it = m_pages.begin(); it != m_pages.end(); ++it)
            if (it->used < oldest->used)
                oldest = it;
        m_pageBytes -= oldest->body.size();
        m_pages.erase(oldest);
    }
    m_pages.insert(key, {body, ++m_clock});
    m_pageBytes += body.size();
}

QByteArray JobListCache::jobJson(const Job &job, const Ticket &ticket)
{
    if (ticket.keep && ticket.generation == m_generation)
        if (const auto it = m_jobs.constFind(job.id); it != m_jobs.cend())
            return *it;
    QByteArray json = QJsonDocument(job.toJson()).toJson(QJsonDocument::Compact);
    if (!ticket.keep || ticket.generation != m_generation)
        return json;
    if (m_jobs.size() >= m_limits.jobs || m_jobBytes + json.size() > m_limits.jobBytes) {
        m_jobs.clear();
        m_jobBytes = 0;
    }
    m_jobs.insert(job.id, json);
    m_jobBytes += json.size();
    return json;
}

JobListCache::Stats JobListCache::stats() const
{
    return {int(m_pages.size()), m_pageBytes, int(m_jobs.size()), m_jobBytes, m_hits, m_misses};
}

} // namespace farm::server
