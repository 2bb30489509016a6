#pragma once

#include "nodeconfig.h"

#include <QHash>
#include <QNetworkAccessManager>
#include <QObject>
#include <QPointer>

#include <functional>

namespace farm::node {

class InputFetch;

/// The node's input files by SHA-256 (`<cache>/files/<sha>/<name>`). Tasks that need the same
/// file at the same time share one download instead of fetching it once per slot. Once the
/// cache holds more than `NodeConfig::cacheMaxMb`, the least recently used inputs that no task
/// holds are deleted.
class InputCache : public QObject
{
    Q_OBJECT
public:
    using Callback = std::function<void(const QString &path, const QString &error)>;

    InputCache(QNetworkAccessManager *network, const NodeConfig &config, QObject *parent = nullptr);

    /// Calls `done` once (on the event loop, never from inside this call) when the file is
    /// cached or failed; not at all after `context` is destroyed or the ticket is released.
    /// The file stays in the cache at least until the ticket is released.
    quint64 request(const QString &sha256, const QString &name, QObject *context, Callback done);
    /// Ends a request: stops its download when nobody else waits for it and lets the file be
    /// evicted once no other ticket holds it.
    void release(quint64 ticket);
    /// Deletes least recently used, unheld inputs until the cache fits its limit.
    void evict();

private:
    struct Waiter
    {
        quint64 ticket;
        QPointer<QObject> context;
        Callback done;
    };
    struct Pending
    {
        InputFetch *fetch = nullptr;
        QList<Waiter> waiters;
    };

    void onFetched(const QString &key, const QString &path, const QString &error);

    QNetworkAccessManager *m_network;
    NodeConfig m_config;
    QHash<QString, Pending> m_fetches; // key: "<sha>/<name>"
    QHash<quint64, QString> m_held;    // ticket -> sha of the input it holds
    quint64 m_nextTicket = 1;
};

} // namespace farm::node
