#pragma once

#include "model/job.h"

#include <QByteArray>
#include <QHash>
#include <QString>

#include <optional>

struct sqlite3;

namespace farm::server {

class SqlStore;

/// GET /api/v1/jobs from memory (docs/PERFORMANCE.md, "Reads"): the compact JSON of each job
/// and the whole body of each page asked for lately, so that a page costs no SQL and no JSON
/// building while nothing changed.
///
/// Only where this process is the database's one writer: SQLite. Every row change of the
/// `jobs` table on the store's connection (SQLite's update hook: the store's own writes, the
/// access store's, a trigger's, in or out of a transaction) drops that job's JSON and every
/// page at once, before the statement that made it returns, so before any event announces it;
/// a rollback drops everything. Nothing built inside an open transaction is kept. On
/// PostgreSQL other controllers write the same tables unseen (docs/CONTROLLERS.md): the cache
/// is off there and every page is read from the database.
///
/// Bounded (Limits): at most 256 pages of 16 MiB in all (the least recently used goes first;
/// a page over a quarter of that is not kept) and 20,000 jobs' JSON of 32 MiB in all (all of
/// it dropped when full).
class JobListCache
{
public:
    struct Limits
    {
        int pages = 256;
        qint64 pageBytes = 16 * 1024 * 1024;
        int jobs = 20000;
        qint64 jobBytes = 32 * 1024 * 1024;
    };

    explicit JobListCache(SqlStore &store);
    ~JobListCache();
    JobListCache(const JobListCache &) = delete;
    JobListCache &operator=(const JobListCache &) = delete;

    /// Taken before reading the store for a page: what is built from that read is kept only
    /// when no job changed meanwhile and no transaction is open.
    struct Ticket
    {
        quint64 generation = 0;
        bool keep = false;
    };
    Ticket ticket();
    /// The body of the page of this query key, when kept and still true.
    std::optional<QByteArray> page(const QString &key);
    void keepPage(const QString &key, const QByteArray &body, const Ticket &ticket);
    /// The compact JSON of a job just read from the store (kept for the next page).
    QByteArray jobJson(const Job &job, const Ticket &ticket);

    bool enabled();
    /// Smaller bounds for tests; what is kept now is dropped.
    void setLimits(const Limits &limits)
    {
        m_limits = limits;
        dropAll();
    }
    struct Stats
    {
        int pages = 0;
        qint64 pageBytes = 0;
        int jobs = 0;
        qint64 jobBytes = 0;
        quint64 hits = 0;   // pages answered from memory
        quint64 misses = 0; // pages read from the store
    };
    Stats stats() const;

private:
    void onUpdate(const char *table, qint64 rowid);
    void dropAll();
    /// The store's SQLite connection (its row changes reach onUpdate); null: off
    /// (PostgreSQL, closed).
    sqlite3 *attach();

    struct Page
    {
        QByteArray body;
        quint64 used = 0;
    };
    SqlStore &m_store;
    Limits m_limits;
    int m_watch = 0;          // SqlStore::watchRows
    quint64 m_generation = 1; // every job change and rollback counts one
    quint64 m_clock = 0;      // LRU order of pages
    QHash<QString, Page> m_pages;
    qint64 m_pageBytes = 0;
    QHash<qint64, QByteArray> m_jobs;
    qint64 m_jobBytes = 0;
    quint64 m_hits = 0, m_misses = 0;
};

} // namespace farm::server
