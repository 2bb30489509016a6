#pragma once

#include "files/filestore.h"
#include "store/jobstore.h"

#include <QDateTime>
#include <QJsonObject>

namespace farm::server {

struct ServerConfig;

/// When finished jobs' outputs and unused input files expire (docs/API.md "Retention"); a
/// rule at 0 is off.
struct RetentionRules
{
    int outputDays = 0;
    qint64 outputBytes = 0;
    int inputDays = 0;
    qint64 inputBytes = 0;

    static RetentionRules fromConfig(const ServerConfig &config);
    bool any() const
    {
        return outputDays > 0 || outputBytes > 0 || inputDays > 0 || inputBytes > 0;
    }
    QJsonObject toJson() const;
};

/// What the rules expire now: whole jobs' outputs (the job itself stays, with its history) and
/// content-store files no job's input names.
struct RetentionPlan
{
    struct Outputs
    {
        qint64 jobId = 0;
        QDateTime finishedAt;
        qint64 bytes = 0;
        int count = 0;
        QString reason;
    };
    struct Input
    {
        QString sha256;
        qint64 bytes = 0;
        QDateTime modifiedAt;
        QString reason;
    };
    QList<Outputs> outputs;
    QList<Input> inputs;

    qint64 bytes() const;
    QJsonObject toJson() const;
};

/// Lists what the rules expire at `now`; changes nothing (the dry run).
RetentionPlan planRetention(JobStore &store, const FileStore &files, const RetentionRules &rules,
                            const QDateTime &now);
/// Removes what `plan` lists: output rows and files, then unused input files (each checked
/// again: a job may have named one since the plan was made). Yields what was removed.
Result<RetentionPlan> applyRetention(JobStore &store, FileStore &files, const RetentionPlan &plan);

} // namespace farm::server
