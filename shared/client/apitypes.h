#pragma once

#include "client/jobtypes.h"
#include "model/job.h"
#include "model/node.h"
#include "model/task.h"
#include "util/result.h"

#include <QJsonObject>
#include <QList>
#include <QMetaType>
#include <QStringList>
#include <QUrlQuery>

namespace farm::client {

/// Filters and paging of GET /api/v1/jobs.
struct JobQuery
{
    QStringList states; // empty: all
    QString search;
    int limit = 50;
    int offset = 0;
    QString sort = QStringLiteral("created_at");
    QString order = QStringLiteral("desc");
    /// The previous page's `next` (keyed paging; then `offset` is not sent).
    QString after;

    QUrlQuery toUrlQuery() const;
};

struct JobPage
{
    QList<Job> jobs;
    qint64 total = 0;
    int skipped = 0; // entries this client could not read at all (no id, an unknown state)
    QString next;    // the cursor of the page after this one (empty: last page, or an old server)
};

/// One entry of GET /api/v1/jobs/{id}/outputs.
struct OutputInfo
{
    QString name;
    qint64 size = 0;
    qint64 taskId = 0;
    int frame = -1; // -1: not a frame (e.g. a video)
};

/// GET /api/v1/status.
struct ServerStatus
{
    QString version;
    int protocol = 0;
    qint64 uptimeS = 0;
    QJsonObject jobs; // state name -> count
    qint64 nodesOnline = 0;
    qint64 nodesTotal = 0;
};

/// Decoders for server answers. They ignore keys this client does not know (a newer server may
/// add some) but reject a shape that breaks the contract.
Result<Job> decodeJob(const QJsonObject &o);
Result<JobPage> decodeJobPage(const QJsonObject &o);
Result<QList<Task>> decodeTasks(const QJsonObject &o);
Result<QList<Node>> decodeNodes(const QJsonObject &o);
Result<QList<OutputInfo>> decodeOutputs(const QJsonObject &o);
Result<ServerStatus> decodeStatus(const QJsonObject &o);

/// The `{"error": {"code", "message"}}` shape of docs/API.md, or a generic error naming the
/// HTTP status when the body is something else.
Error decodeErrorBody(int httpStatus, const QByteArray &body);

} // namespace farm::client

Q_DECLARE_METATYPE(farm::Error)
Q_DECLARE_METATYPE(farm::Job)
Q_DECLARE_METATYPE(farm::Task)
Q_DECLARE_METATYPE(farm::Node)
