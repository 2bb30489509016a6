// SqlStore: what several controllers on one PostgreSQL database need (docs/CONTROLLERS.md).
#include "store/sqlstore.h"

namespace farm::server {

Result<bool> SqlStore::lockTask(qint64 id, bool skipLocked)
{
    if (!m_dialect.postgres())
        return true; // SQLite: this process is the only writer
    // FOR UPDATE holds the row until the transaction ends; SKIP LOCKED does not wait for a row
    // another controller's transaction holds (it is claiming the same task).
    auto q = run(skipLocked ? QStringLiteral("SELECT id FROM tasks WHERE id = ? FOR UPDATE SKIP "
                                             "LOCKED")
                            : QStringLiteral("SELECT id FROM tasks WHERE id = ? FOR UPDATE"),
                 {id});
    if (!q)
        return q.error();
    const bool locked = (*q)->next();
    (*q)->finish();
    return locked;
}

} // namespace farm::server
