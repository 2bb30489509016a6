#pragma once

// What the `render-node encode` and `render-node compose` children share: reading the task file
// the engine wrote, the child protocol's stdout lines, errors on stderr, and progress lines
// throttled to a few a second.
#include "util/result.h"

#include <QElapsedTimer>
#include <QJsonObject>
#include <QStringList>

namespace farm::video::childcli {

/// One line on stdout, flushed (the engine reads it at once).
void out(const QString &line);
/// "error: <message>" on stderr; returns the exit status: childprotocol::kExitInvalidInput
/// when `code` is invalid_input (the input cannot change: no other attempt), else 1.
int fail(const QString &message, const QString &code = {});
/// The task file named by the only argument (`render-node <verb> TASK.json`), at most maxBytes.
Result<QJsonObject> readTask(const QStringList &args, const QString &verb, qint64 maxBytes);

/// PROGRESS lines at most about 4 a second, whatever the frame rate; the last always.
class ProgressLines
{
public:
    ProgressLines() { m_timer.start(); }
    void report(qint64 done, qint64 total);
    double seconds() const { return m_timer.elapsed() / 1000.0; }

private:
    QElapsedTimer m_timer;
    qint64 m_last = -1;
};

} // namespace farm::video::childcli
