#pragma once

#include "api/httpserver.h"
#include "util/result.h"

#include <QElapsedTimer>
#include <QMutex>
#include <QObject>
#include <QString>

#include <optional>

namespace farm::server {

class AccessStore;

/// What GET /health says (docs/API.md, "Health"), answerable from the HTTP front end's own
/// thread (HttpServer::addFrontRoute) while the event loop is busy with other requests.
///
/// The database connection lives on the event loop, so the database is read there, at most
/// once every kReadEveryMs while the read succeeds, and each result is published here with the
/// time it was made. The front thread answers from the last read while it succeeded and is
/// younger than kFreshMs, and asks the event loop for a new read once it is kReadEveryMs old.
/// Everything else is answered on the event loop, which reads again first, as for every probe
/// before: a failed read (until a read succeeds), a closed connection (the store says so as it
/// closes: databaseClosed), and a read older than kFreshMs, i.e. an event loop that has not
/// turned for that long. So an answer from the front thread also says that the event loop
/// turned within kFreshMs.
class HealthState
{
public:
    static constexpr qint64 kReadEveryMs = 1000;
    static constexpr qint64 kFreshMs = 2 * kReadEveryMs;

    /// Lives on the event loop's thread.
    HealthState(AccessStore &access, QString dataDir, qint64 minFreeDiskMb);

    /// On the event loop: the answer, after reading the database when the connection is
    /// closed, the last read failed or is kReadEveryMs old.
    FrontResponse answer();
    /// On the event loop: the database connection was closed; shown at once.
    void databaseClosed();
    /// On the front thread: the answer from the last read, or nothing when the event loop
    /// must answer (see above).
    std::optional<FrontResponse> answerOffLoop();

private:
    /// On the event loop: reads the database and publishes the result.
    Result<void> read();
    FrontResponse respond(const Result<void> &db) const;

    AccessStore &m_access;
    const QString m_dataDir;
    const qint64 m_minFreeBytes;
    QObject m_loop; // on the event loop's thread: where the front thread's asks for a read go
    QElapsedTimer m_clock;
    QMutex m_lock; // guards what follows
    Result<void> m_db;
    qint64 m_readAtMs = -1; // m_clock's time of the last read; -1: none yet
    bool m_readAsked = false;
};

} // namespace farm::server
