#include "client/apitypes.h"

#include "util/json.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace farm::client {

namespace {

Result<QJsonArray> arrayField(const QJsonObject &o, const char *key)
{
    const QJsonValue v = o.value(QLatin1String(key));
    if (!v.isArray())
        return makeError("bad_response",
                         QString("server answer lacks the '%1' list").arg(QLatin1String(key)));
    return v.toArray();
}

} // namespace

QUrlQuery JobQuery::toUrlQuery() const
{
    QUrlQuery q;
    if (!states.isEmpty())
        q.addQueryItem("state", states.join(','));
    if (!search.isEmpty())
        q.addQueryItem("q", search);
    q.addQueryItem("limit", QString::number(limit));
    if (!after.isEmpty()) // keyed paging: the server refuses an offset with it
        q.addQueryItem("after", after);
    else
        q.addQueryItem("offset", QString::number(offset));
    if (!sort.isEmpty())
        q.addQueryItem("sort", sort);
    if (!order.isEmpty())
        q.addQueryItem("order", order);
    return q;
}

Result<Job> decodeJob(const QJsonObject &o)
{
    if (!o.value("id").isDouble())
        return makeError("bad_response", "job in server answer has no id");
    // Lenient about the spec: a type, settings or input form this client does not know still
    // shows (Job::fromJson keeps what it cannot read as raw JSON or defaults).
    auto job = Job::fromJson(o);
    if (!job)
        return makeError("bad_response", "server sent an invalid job: " + job.error().message);
    return job;
}

Result<JobPage> decodeJobPage(const QJsonObject &o)
{
    const auto list = arrayField(o, "jobs");
    if (!list)
        return list.error();
    JobPage page;
    for (const QJsonValue &v : *list) {
        // One unreadable entry (a state a newer server added) must not hide the others.
        auto job = decodeJob(v.toObject());
        if (job)
            page.jobs.append(*job);
        else
            ++page.skipped;
    }
    page.total = o.value("total").toInteger(page.jobs.size());
    page.next = o.value("next").toString();
    return page;
}

Result<QList<Task>> decodeTasks(const QJsonObject &o)
{
    const auto list = arrayField(o, "tasks");
    if (!list)
        return list.error();
    QList<Task> tasks;
    for (const QJsonValue &v : *list) {
        auto task = Task::fromJson(v.toObject());
        if (!task)
            return makeError("bad_response",
                             "server sent an invalid task: " + task.error().message);
        tasks.append(*task);
    }
    return tasks;
}

Result<QList<Node>> decodeNodes(const QJsonObject &o)
{
    const auto list = arrayField(o, "nodes");
    if (!list)
        return list.error();
    QList<Node> nodes;
    for (const QJsonValue &v : *list) {
        auto node = Node::fromJson(v.toObject());
        if (!node)
            return makeError("bad_response",
                             "server sent an invalid node: " + node.error().message);
        nodes.append(*node);
    }
    return nodes;
}

Result<QList<OutputInfo>> decodeOutputs(const QJsonObject &o)
{
    const auto list = arrayField(o, "outputs");
    if (!list)
        return list.error();
    QList<OutputInfo> outputs;
    for (const QJsonValue &v : *list) {
        const QJsonObject e = v.toObject();
        OutputInfo info;
        info.name = e.value("name").toString();
        // The name becomes a local file name: refuse anything that could escape the target dir.
        if (!isValidOutputName(info.name))
            return makeError("bad_response",
                             QString("server sent an invalid output name '%1'").arg(info.name));
        info.size = e.value("size").toInteger();
        info.taskId = e.value("task_id").toInteger();
        info.frame = e.value("frame").isDouble() ? e.value("frame").toInt() : -1;
        outputs.append(info);
    }
    return outputs;
}

Result<ServerStatus> decodeStatus(const QJsonObject &o)
{
    if (!o.value("protocol").isDouble())
        return makeError("bad_response", "status answer has no protocol version");
    ServerStatus s;
    s.version = o.value("version").toString();
    s.protocol = o.value("protocol").toInt();
    s.uptimeS = o.value("uptime_s").toInteger();
    s.jobs = o.value("jobs").toObject();
    s.nodesOnline = o.value("nodes").toObject().value("online").toInteger();
    s.nodesTotal = o.value("nodes").toObject().value("total").toInteger();
    return s;
}

Error decodeErrorBody(int httpStatus, const QByteArray &body)
{
    const QJsonObject root = QJsonDocument::fromJson(body).object();
    const QJsonObject err = root.value("error").toObject();
    const QString code = err.value("code").toString();
    const QString message = err.value("message").toString();
    if (!code.isEmpty() || !message.isEmpty())
        return makeError(code.isEmpty() ? QString("http_%1").arg(httpStatus) : code,
                         message.isEmpty() ? code : message);
    QString text = QString::fromUtf8(body.left(200)).simplified();
    return makeError(QString("http_%1").arg(httpStatus),
                     text.isEmpty()
                         ? QString("server answered HTTP %1").arg(httpStatus)
                         : QString("server answered HTTP %1: %2").arg(httpStatus).arg(text));
}

} // namespace farm::client
