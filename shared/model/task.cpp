#include "model/task.h"

#include "util/json.h"

namespace farm {

QJsonObject Task::toJson() const
{
    return {{"id", id},
            {"job_id", jobId},
            {"index", index},
            {"frames", frames},
            {"state", farm::toString(state)},
            {"node_id", nodeId ? QJsonValue(nodeId) : QJsonValue(QJsonValue::Null)},
            {"node", nodeName},
            {"attempts", attempts},
            {"progress", progress},
            {"error", error},
            {"started_at", json::fromTime(startedAt)},
            {"finished_at", json::fromTime(finishedAt)}};
}

Result<Task> Task::fromJson(const QJsonObject &o)
{
    Task t;
    t.id = o.value("id").toInteger();
    t.jobId = o.value("job_id").toInteger();
    t.index = o.value("index").toInt();
    t.frames = o.value("frames").toString();
    const auto state = taskStateFromString(o.value("state").toString());
    if (!state)
        return makeError("invalid_field", "state is not a task state");
    t.state = *state;
    t.nodeId = o.value("node_id").toInteger();
    t.nodeName = o.value("node").toString();
    t.attempts = o.value("attempts").toInt();
    t.progress = o.value("progress").toDouble();
    t.error = o.value("error").toString();
    t.startedAt = json::toTime(o.value("started_at"));
    t.finishedAt = json::toTime(o.value("finished_at"));
    return t;
}

} // namespace farm
