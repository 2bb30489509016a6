#include "api/joblistcache.h"

#include "store/sqlstore.h"

#include <QJsonDocument>

#include <sqlite3.h>

namespace farm::server {

JobListCache::JobListCache(SqlStore &store)
    : m_store(store)
{
    // The store tells every row change of its connection and every rollback, reopening or
    // closing (SqlStore::watchRows; SQLite only).
    m_watch =
        m_store.watchRows({[this](const char *table, qint64 rowid) { onUpdate(table, rowid); },
                           [this] { dropAll(); }});
}

JobListCache::~JobListCache()
{
    m_store.unwatchRows(m_watch);
}

sqlite3 *JobListCache::attach()
{
    return m_store.sqliteHandle();
}

bool JobListCache::enabled()
{
    return attach() != nullptr;
}

void JobListCache::onUpdate(const char *table, qint64 rowid)
{
    if (qstrcmp(table, "jobs") != 0)
        return;
    ++m_generation;
    if (!m_pages.isEmpty()) { // a job's change may move it into, out of or within any page
        m_pages.clear();
        m_pageBytes = 0;
    }
    if (const auto it = m_jobs.find(rowid); it != m_jobs.end()) {
        m_jobBytes -= it->size();
        m_jobs.erase(it);
    }
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
