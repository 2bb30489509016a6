#pragma once

#include "util/result.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>

namespace farm {

/// Message type names of the WebSocket protocol (docs/API.md), in one place.
namespace msg {
inline constexpr char Hello[] = "hello";
inline constexpr char Welcome[] = "welcome";
inline constexpr char Heartbeat[] = "heartbeat";
inline constexpr char Error[] = "error";
inline constexpr char TaskAssign[] = "task.assign";
inline constexpr char TaskCancel[] = "task.cancel";
inline constexpr char TaskAccepted[] = "task.accepted";
inline constexpr char TaskProgress[] = "task.progress";
inline constexpr char TaskLog[] = "task.log";
inline constexpr char TaskDone[] = "task.done";
inline constexpr char TaskFailed[] = "task.failed";
inline constexpr char TaskPreview[] = "task.preview";
/// node → server: a partial image of a running frame; server → dashboards: one was kept.
inline constexpr char TaskPartial[] = "task.partial";
inline constexpr char TaskUpdated[] = "task.updated";
inline constexpr char JobCreated[] = "job.created";
inline constexpr char JobUpdated[] = "job.updated";
inline constexpr char JobDeleted[] = "job.deleted";
inline constexpr char NodeUpdated[] = "node.updated";
} // namespace msg

/// Error codes a render node acts on (docs/API.md), in one place.
namespace errc {
inline constexpr char NameTaken[] = "name_taken";            // hello: the name is another node's
inline constexpr char NotYourTask[] = "not_your_task";       // output PUT: not the task's node
inline constexpr char TaskNotRunning[] = "task_not_running"; // output PUT: task not on a node
inline constexpr char TaskOrphaned[] = "task_orphaned";      // output PUT: reconnect, then retry
/// task.failed `code`: the task's input is unusable (a file that is not a video, a scenario the
/// node refuses). Another attempt would read the same bytes and fail the same way.
inline constexpr char InvalidInput[] = "invalid_input";
/// A job whose input named by URL could not be fetched (docs/API.md, "Input by URL").
inline constexpr char InputFetchFailed[] = "input_fetch_failed";
/// task.failed codes that fail the task's job at once, without the attempts left: the failure
/// does not depend on the node or the moment (docs/API.md, "task.failed").
inline constexpr const char *kNonRetryableFailures[] = {InvalidInput};
inline bool isNonRetryableFailure(const QString &code)
{
    for (const char *c : kNonRetryableFailures)
        if (code == QLatin1String(c))
            return true;
    return false;
}
} // namespace errc

/// One WebSocket text frame: {"type": "...", "seq": n, "data": {...}}.
struct Envelope
{
    QString type;
    qint64 seq = 0;
    QJsonObject data;

    QByteArray toJson() const;
    /// Validates shape only (object, string type, integer seq, object data); not the type's
    /// payload.
    static Result<Envelope> parse(const QByteArray &text);
};

/// Numbers outgoing envelopes for one connection.
class EnvelopeWriter
{
public:
    QByteArray write(const QString &type, const QJsonObject &data = {});

private:
    qint64 m_seq = 0;
};

} // namespace farm
