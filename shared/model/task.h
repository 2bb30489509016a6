#pragma once

#include "protocol/states.h"
#include "util/result.h"

#include <QDateTime>
#include <QJsonObject>

namespace farm {

/// A chunk of a job that one node renders (docs/API.md, "Task").
struct Task
{
    qint64 id = 0;
    qint64 jobId = 0;
    int index = 0;
    QString frames;
    TaskState state = TaskState::Queued;
    qint64 nodeId = 0; // 0: none
    QString nodeName;
    int attempts = 0;
    double progress = 0.0;
    QString error;
    QDateTime startedAt, finishedAt;

    QJsonObject toJson() const;
    static Result<Task> fromJson(const QJsonObject &o);
    bool operator==(const Task &) const = default;
};

} // namespace farm
