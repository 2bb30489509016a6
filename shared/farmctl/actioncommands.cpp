// The job, task and node actions of the dashboards, for scripts: pause, resume, retry, rerun,
// priority, requeue, delete, explain, drain, enable, disable (docs/API.md).
#include "farmctl/commands.h"

#include "client/syncwait.h"
#include "farmctl/output.h"

#include <QJsonArray>

namespace farm::ctl {

using client::waitFor;

namespace {

Result<QJsonObject> call(Context &ctx, const QByteArray &verb, const QString &path,
                         const QJsonObject &body = {})
{
    return waitFor<QJsonObject>(
        [&](auto cb) { ctx.api.sendJson(verb, path, verb == "GET" ? nullptr : &body, cb); });
}

/// Prints "job N STATE" for a job object the server answered.
int printJob(Context &ctx, const Result<QJsonObject> &job)
{
    if (!job)
        return ctx.fail(job.error());
    ctx.out << QString("job %1 %2\n")
                   .arg(job->value("id").toInteger())
                   .arg(job->value("state").toString())
            << Qt::flush;
    return Ok;
}

/// POST /api/v1/jobs/JOB/<action> for the command's own name.
int jobAction(Context &ctx, const QString &action, const QJsonObject &body = {})
{
    const auto id = parseId(ctx.args[0], "JOB");
    if (!id)
        return ctx.fail(id.error().message, Usage);
    return printJob(ctx,
                    call(ctx, "POST", QString("/api/v1/jobs/%1/%2").arg(*id).arg(action), body));
}

/// A node by id or by name.
Result<qint64> resolveNode(Context &ctx, const QString &text)
{
    bool isNumber = false;
    const qint64 id = text.toLongLong(&isNumber);
    if (isNumber && id > 0)
        return id;
    const auto nodes = waitFor<QList<Node>>([&](auto cb) { ctx.api.nodes(cb); });
    if (!nodes)
        return nodes.error();
    for (const Node &n : *nodes)
        if (n.caps.name == text)
            return n.id;
    return makeError("not_found", QString("no node is named '%1' (see farmctl nodes)").arg(text));
}

int nodeAction(Context &ctx, const QString &action)
{
    const auto id = resolveNode(ctx, ctx.args[0]);
    if (!id)
        return ctx.fail(id.error().message, id.error().code == "not_found" ? Failure : Usage);
    const auto node = call(ctx, "POST", QString("/api/v1/nodes/%1/%2").arg(*id).arg(action));
    if (!node)
        return ctx.fail(node.error());
    ctx.out << QString("node %1 (%2) %3\n")
                   .arg(node->value("id").toInteger())
                   .arg(node->value("name").toString(), node->value("state").toString())
            << Qt::flush;
    return Ok;
}

} // namespace

QList<QCommandLineOption> rerunOptions()
{
    return {{"frames", "Only the tasks holding these frames (e.g. 3,7-9); default: all.", "F"}};
}

int runPause(Context &ctx)
{
    return jobAction(ctx, "pause");
}

int runResume(Context &ctx)
{
    return jobAction(ctx, "resume");
}

int runRetry(Context &ctx)
{
    return jobAction(ctx, "retry");
}

int runRerun(Context &ctx)
{
    QJsonObject body;
    if (ctx.parser.isSet("frames"))
        body.insert("frames", ctx.parser.value("frames"));
    return jobAction(ctx, "rerun", body);
}

int runPriority(Context &ctx)
{
    bool ok = false;
    const int priority = ctx.args[1].toInt(&ok);
    if (!ok || priority < 0 || priority > 100)
        return ctx.fail(
            QString("PRIORITY must be a whole number from 0 to 100, not '%1'").arg(ctx.args[1]),
            Usage);
    return jobAction(ctx, "priority", {{"priority", priority}});
}

int runRequeue(Context &ctx)
{
    const auto id = parseId(ctx.args[0], "TASK");
    if (!id)
        return ctx.fail(id.error().message, Usage);
    const auto task = call(ctx, "POST", QString("/api/v1/tasks/%1/requeue").arg(*id));
    if (!task)
        return ctx.fail(task.error());
    ctx.out << QString("task %1 %2\n")
                   .arg(task->value("id").toInteger())
                   .arg(task->value("state").toString())
            << Qt::flush;
    return Ok;
}

int runDelete(Context &ctx)
{
    const auto id = parseId(ctx.args[0], "JOB");
    if (!id)
        return ctx.fail(id.error().message, Usage);
    const auto r = waitFor<QByteArray>(
        [&](auto cb) { ctx.api.send("DELETE", QString("/api/v1/jobs/%1").arg(*id), {}, {}, cb); });
    if (!r)
        return ctx.fail(r.error());
    ctx.out << QString("job %1 deleted\n").arg(*id) << Qt::flush;
    return Ok;
}

int runExplain(Context &ctx)
{
    const auto id = parseId(ctx.args[0], "JOB");
    if (!id)
        return ctx.fail(id.error().message, Usage);
    const auto r = call(ctx, "GET", QString("/api/v1/jobs/%1/explain").arg(*id));
    if (!r)
        return ctx.fail(r.error());
    ctx.out << QString("job %1 %2\n").arg(*id).arg(r->value("state").toString());
    for (const QJsonValue &reason : r->value("reasons").toArray())
        ctx.out << "  - " << reason.toString() << '\n';
    ctx.out.flush();
    return Ok;
}

int runArchive(Context &ctx)
{
    const auto id = parseId(ctx.args[0], "JOB");
    if (!id)
        return ctx.fail(id.error().message, Usage);
    const QString file = ctx.args[1];
    ProgressLine line(ctx.err);
    const auto bytes = waitFor<qint64>([&](auto cb) {
        ctx.api.downloadArchive(*id, file, cb, [&](qint64 done, qint64 total) {
            const double f = total > 0 ? double(done) / double(total) : 0.0;
            line.update(QString("downloading %1 %2").arg(progressBar(f), formatBytes(done)), f);
        });
    });
    line.finish();
    if (!bytes)
        return ctx.fail(bytes.error());
    ctx.err << QString("wrote %1 (%2)\n").arg(file, formatBytes(*bytes)) << Qt::flush;
    return Ok;
}

QList<QCommandLineOption> retentionOptions()
{
    return {{"apply", "Remove what the rules expire (without it: only list it)."}};
}

int runRetention(Context &ctx)
{
    const bool apply = ctx.parser.isSet("apply");
    const auto r =
        apply ? call(ctx, "POST", "/api/v1/retention/run") : call(ctx, "GET", "/api/v1/retention");
    if (!r)
        return ctx.fail(r.error());
    const QJsonObject plan = r->value(apply ? "removed" : "expire").toObject();
    const QString verb = apply ? "removed" : "would remove";
    for (const QJsonValue &v : plan.value("outputs").toArray()) {
        const QJsonObject o = v.toObject();
        ctx.out << QString("%1 outputs of job %2 (%3 files, %4): %5\n")
                       .arg(verb)
                       .arg(o.value("job").toInteger())
                       .arg(o.value("files").toInt())
                       .arg(formatBytes(o.value("bytes").toInteger()),
                            o.value("reason").toString());
    }
    for (const QJsonValue &v : plan.value("inputs").toArray()) {
        const QJsonObject i = v.toObject();
        ctx.out << QString("%1 file %2 (%3): %4\n")
                       .arg(verb, i.value("file").toString(),
                            formatBytes(i.value("bytes").toInteger()),
                            i.value("reason").toString());
    }
    ctx.out.flush();
    ctx.err << QString("%1 %2 in all%3\n")
                   .arg(verb, formatBytes(plan.value("bytes").toInteger()),
                        !apply && !r->value("enabled").toBool()
                            ? QString(" (no retention rule is set on the server)")
                            : QString())
            << Qt::flush;
    return Ok;
}

int runDrain(Context &ctx)
{
    return nodeAction(ctx, "drain");
}

int runEnable(Context &ctx)
{
    return nodeAction(ctx, "enable");
}

int runDisable(Context &ctx)
{
    return nodeAction(ctx, "disable");
}

} // namespace farm::ctl
