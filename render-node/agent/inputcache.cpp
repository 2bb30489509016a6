#include "inputcache.h"

#include "inputfetch.h"

#include <QDateTime>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QLoggingCategory>
#include <QSet>

#include <algorithm>

Q_LOGGING_CATEGORY(lcCache, "farm.node.cache")

namespace farm::node {

InputCache::InputCache(QNetworkAccessManager *network, const NodeConfig &config, QObject *parent)
    : QObject(parent)
    , m_network(network)
    , m_config(config)
{}

quint64 InputCache::request(const QString &sha256, const QString &name, QObject *context,
                            Callback done)
{
    const QString key = sha256 + '/' + name;
    const quint64 ticket = m_nextTicket++;
    m_held.insert(ticket, sha256);
    Pending &pending = m_fetches[key];
    pending.waiters.append({ticket, context, std::move(done)});
    if (!pending.fetch) {
        pending.fetch = new InputFetch(m_network, m_config.apiUrl("/api/v1/files/" + sha256),
                                       m_config.bearer(), m_config.cacheDir, sha256, name, this);
        pending.fetch->followServer(
            [config = m_config, sha256] { return config.apiUrl("/api/v1/files/" + sha256); });
        connect(pending.fetch, &InputFetch::finished, this,
                [this, key](const QString &path, const QString &error) {
                    onFetched(key, path, error);
                });
        // Start from the event loop so callers never see their callback inside request().
        QMetaObject::invokeMethod(pending.fetch, &InputFetch::start, Qt::QueuedConnection);
    }
    return ticket;
}

void InputCache::release(quint64 ticket)
{
    m_held.remove(ticket);
    for (auto it = m_fetches.begin(); it != m_fetches.end(); ++it) {
        QList<Waiter> &waiters = it->waiters;
        for (qsizetype i = 0; i < waiters.size(); ++i) {
            if (waiters[i].ticket != ticket)
                continue;
            waiters.removeAt(i);
            if (waiters.isEmpty()) {
                it->fetch->abort();
                it->fetch->deleteLater();
                m_fetches.erase(it);
            }
            return;
        }
    }
}

void InputCache::onFetched(const QString &key, const QString &path, const QString &error)
{
    const Pending pending = m_fetches.take(key);
    pending.fetch->deleteLater();
    if (error.isEmpty()) {
        // The modification time orders eviction: a reused input counts as fresh.
        QFile(path).setFileTime(QDateTime::currentDateTimeUtc(), QFileDevice::FileModificationTime);
        evict();
    }
    for (const Waiter &w : pending.waiters)
        if (w.context)
            w.done(path, error);
}

void InputCache::evict()
{
    struct Entry
    {
        QString dir;
        qint64 bytes = 0;
        QDateTime used;
    };
    QList<Entry> entries;
    qint64 total = 0;
    const QDir files(QDir(m_config.cacheDir).filePath("files"));
    // A bundle task holds one ticket per file: look them up in a set, not one by one.
    QSet<QString> held;
    for (const QString &sha : std::as_const(m_held))
        held.insert(sha);
    for (const QString &sha : files.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        Entry e{files.filePath(sha)};
        QDirIterator it(e.dir, QDir::Files | QDir::Hidden);
        while (it.hasNext()) {
            it.next();
            e.bytes += it.fileInfo().size();
            e.used = std::max(e.used, it.fileInfo().lastModified());
        }
        total += e.bytes;
        // Inputs a task holds or a download writes into are never candidates.
        if (!held.contains(sha))
            entries.append(e);
    }
    const qint64 limit = qint64(m_config.cacheMaxMb) * 1024 * 1024;
    std::sort(entries.begin(), entries.end(),
              [](const Entry &a, const Entry &b) { return a.used < b.used; });
    for (const Entry &e : std::as_const(entries)) {
        if (total <= limit)
            break;
        if (QDir(e.dir).removeRecursively()) {
            total -= e.bytes;
            qCInfo(lcCache).noquote() << "evicted" << e.dir << "(" << e.bytes << "bytes)";
        }
    }
}

} // namespace farm::node
