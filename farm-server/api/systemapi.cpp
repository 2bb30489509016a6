// REST: health, status, metrics, nodes, the bundled web UI, and shared helpers.
#include "api/apicontext.h"
#include "api/healthstate.h"

#include "protocol/states.h"
#include "util/json.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>

#include <cmath>
#include <functional>

namespace farm::server {
namespace {

void status(ApiContext &ctx, const HttpRequest &, HttpReply reply)
{
    QJsonObject jobs;
    const auto counts = ctx.store.jobStateCounts();
    for (auto it = counts.cbegin(); it != counts.cend(); ++it)
        jobs.insert(it.key(), it.value());
    reply.json(200, {{"version", kFarmVersion},
                     {"protocol", kProtocolVersion},
                     {"uptime_s", ctx.startedAt.secsTo(ctx.clock.now())},
                     {"jobs", jobs},
                     {"nodes", QJsonObject{{"online", ctx.scheduler.onlineCount()},
                                           {"total", int(ctx.store.nodes().size())}}}});
}

/// A label value as the text format wants it: backslash, quote and line feed escaped.
QByteArray labelValue(const QString &v)
{
    QByteArray out = v.toUtf8();
    out.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    return out;
}

/// Per-GPU load the nodes report in heartbeats (NVML), labelled by node name and GPU UUID.
void appendGpuMetrics(ApiContext &ctx, QByteArray &out)
{
    const QList<Scheduler::GpuLoad> gpus = ctx.scheduler.gpuLoad();
    const struct
    {
        const char *name, *help;
        std::function<QByteArray(const GpuSample &)> value;
    } series[] = {
        {"farm_node_gpu_utilization_ratio", "Share of the last sample period a GPU was busy.",
         [](const GpuSample &g) { return QByteArray::number(g.utilization, 'f', 3); }},
        {"farm_node_gpu_memory_used_bytes", "GPU memory in use.",
         [](const GpuSample &g) { return QByteArray::number(g.memoryUsedMb * 1024 * 1024); }},
        {"farm_node_gpu_memory_total_bytes", "GPU memory in all.",
         [](const GpuSample &g) { return QByteArray::number(g.memoryTotalMb * 1024 * 1024); }},
    };
    for (const auto &s : series) {
        out += QByteArray("# HELP ") + s.name + ' ' + s.help + "\n# TYPE " + s.name + " gauge\n";
        for (const Scheduler::GpuLoad &l : gpus)
            out += QByteArray(s.name) + "{node=\"" + labelValue(l.node) + "\",gpu=\"" +
                   labelValue(l.gpu.uuid) + "\"} " + s.value(l.gpu) + '\n';
    }
}

/// Task durations, upload bytes, the queued work and the node count an autoscaler should aim
/// for (docs/API.md, "Metrics").
void appendFarmMetrics(ApiContext &ctx, QByteArray &out)
{
    const ServerMetrics &m = ctx.metrics;
    out += "# HELP farm_task_duration_seconds Run time of finished task attempts, by outcome.\n"
           "# TYPE farm_task_duration_seconds histogram\n";
    for (const QString outcome : {"done", "failed"}) {
        const ServerMetrics::Histogram h = m.taskDurations.value(outcome);
        const QByteArray label = "outcome=\"" + outcome.toLatin1() + "\"";
        for (size_t i = 0; i < ServerMetrics::kDurationBuckets.size(); ++i)
            out += "farm_task_duration_seconds_bucket{" + label + ",le=\"" +
                   QByteArray::number(ServerMetrics::kDurationBuckets[i]) + "\"} " +
                   QByteArray::number(h.buckets[i]) + '\n';
        out += "farm_task_duration_seconds_bucket{" + label + ",le=\"+Inf\"} " +
               QByteArray::number(h.count) + "\nfarm_task_duration_seconds_sum{" + label + "} " +
               QByteArray::number(h.sum, 'f', 3) + "\nfarm_task_duration_seconds_count{" + label +
               "} " + QByteArray::number(h.count) + '\n';
    }
    out += "# HELP farm_upload_bytes_total Bytes received: input upload chunks from clients, "
           "outputs from render nodes.\n# TYPE farm_upload_bytes_total counter\n"
           "farm_upload_bytes_total{kind=\"input\"} " +
           QByteArray::number(m.inputBytes) + "\nfarm_upload_bytes_total{kind=\"output\"} " +
           QByteArray::number(m.outputBytes) + '\n';

    // Queued work / per-node rate = node-seconds of work; spread over the window: nodes.
    const AccessStore::QueuedWork work = ctx.access.queuedWork();
    int online = 0, slotTotal = 0;
    for (const Node &n : ctx.scheduler.nodes())
        if (n.state != NodeState::Offline) {
            ++online;
            slotTotal += n.caps.slotCount;
        }
    const double slotsPerNode = online > 0 && slotTotal > 0 ? double(slotTotal) / online : 1.0;
    const bool rateKnown = m.framesDone > 0 && m.slotSecondsDone > 0;
    const double secondsPerFrame = rateKnown ? m.slotSecondsDone / m.framesDone : 0.0;
    qint64 desired = 0;
    if (work.tasks > 0) {
        const qint64 usable = qint64(std::ceil(work.tasks / slotsPerNode));
        desired = usable; // no rate yet: one slot per task
        if (rateKnown) {
            const double perNodeRate = slotsPerNode / secondsPerFrame; // frames per second
            desired = qint64(std::ceil(work.frames / (perNodeRate * ctx.config.autoscaleWindowS)));
            desired = qBound<qint64>(1, desired, usable);
        }
    }
    out += "# HELP farm_queued_frames Frames still to render in queued and active jobs.\n"
           "# TYPE farm_queued_frames gauge\nfarm_queued_frames " +
           QByteArray::number(work.frames, 'f', 3) + '\n';
    out += "# HELP farm_frame_slot_seconds Mean slot-seconds one frame took in tasks done since "
           "the server started (0: none yet).\n# TYPE farm_frame_slot_seconds gauge\n"
           "farm_frame_slot_seconds " +
           QByteArray::number(secondsPerFrame, 'f', 3) + '\n';
    out += "# HELP farm_desired_nodes Nodes (of the online nodes' mean slot count) that would "
           "finish the queued work within --autoscale-window seconds at the measured rate, at "
           "most one slot per queued task.\n# TYPE farm_desired_nodes gauge\nfarm_desired_nodes " +
           QByteArray::number(desired) + '\n';
}

void metrics(ApiContext &ctx, const HttpRequest &, HttpReply reply)
{
    QByteArray out;
    auto gauge = [&out](const char *name, const char *help, const QMap<QString, int> &byState) {
        out += QByteArray("# HELP ") + name + ' ' + help + "\n# TYPE " + name + " gauge\n";
        for (auto it = byState.cbegin(); it != byState.cend(); ++it)
            out += QByteArray(name) + "{state=\"" + it.key().toLatin1() + "\"} " +
                   QByteArray::number(it.value()) + '\n';
    };
    gauge("farm_jobs", "Jobs by state.", ctx.store.jobStateCounts());
    gauge("farm_tasks", "Tasks by state.", ctx.store.taskStateCounts());
    const Scheduler::Metrics &m = ctx.scheduler.metrics();
    out +=
        "# HELP farm_nodes_online Nodes with a live connection.\n# TYPE farm_nodes_online gauge\n"
        "farm_nodes_online " +
        QByteArray::number(ctx.scheduler.onlineCount()) + '\n';
    out += "# HELP farm_tasks_dispatched_total Tasks sent to nodes.\n"
           "# TYPE farm_tasks_dispatched_total counter\nfarm_tasks_dispatched_total " +
           QByteArray::number(m.dispatched) + '\n';
    out += "# HELP farm_dispatch_latency_seconds Time from a task being queued to its dispatch.\n"
           "# TYPE farm_dispatch_latency_seconds histogram\n";
    for (size_t i = 0; i < Scheduler::kLatencyBuckets.size(); ++i)
        out += "farm_dispatch_latency_seconds_bucket{le=\"" +
               QByteArray::number(Scheduler::kLatencyBuckets[i]) + "\"} " +
               QByteArray::number(m.buckets[i]) + '\n';
    out += "farm_dispatch_latency_seconds_bucket{le=\"+Inf\"} " + QByteArray::number(m.dispatched) +
           "\nfarm_dispatch_latency_seconds_sum " + QByteArray::number(m.latencySum, 'f', 6) +
           "\nfarm_dispatch_latency_seconds_count " + QByteArray::number(m.dispatched) + '\n';
    appendFarmMetrics(ctx, out);
    appendGpuMetrics(ctx, out);
    reply.send(200, out, "text/plain; version=0.0.4; charset=utf-8");
}

void nodes(ApiContext &ctx, const HttpRequest &, HttpReply reply)
{
    QJsonArray list;
    for (const Node &n : ctx.scheduler.nodes())
        list.append(n.toJson());
    reply.json(200, {{"nodes", list}});
}

void nodeAction(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const auto node = ctx.scheduler.setNodeAdmin(req.args[0].toLongLong(), req.args[1]);
    if (!node)
        return replyError(reply, node.error());
    reply.json(200, node->toJson());
}

void forgetNode(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    if (auto r = ctx.scheduler.forgetNode(req.args[0].toLongLong()); !r)
        return replyError(reply, r.error());
    reply.noContent();
}

/// GET /api/v1/nodes/{id}/tasks?limit=N: the tasks a node ran last (their latest attempt),
/// newest first, each with its job's name.
void nodeTasks(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const qint64 id = req.args[0].toLongLong();
    int limit = 50;
    if (req.query.hasQueryItem("limit")) {
        bool ok = false;
        limit = req.query.queryItemValue("limit").toInt(&ok);
        if (!ok || limit < 1 || limit > 500)
            return reply.error(400, "invalid_field", "limit must be between 1 and 500");
    }
    if (!ctx.store.node(id))
        return reply.error(404, "not_found", QString("no node %1").arg(id));
    QJsonArray tasks;
    for (const auto &[t, jobName] : ctx.store.recentTasksOfNode(id, limit)) {
        QJsonObject o = t.task.toJson();
        o.insert("job_name", jobName);
        tasks.append(o);
    }
    reply.json(200, {{"tasks", tasks}});
}

/// GET /api/v1/farm/history?window=hour|day: frames finished and busy slot-seconds per bucket
/// (60 of one minute, or 96 of 15 minutes) up to now, and the slots online now.
void farmHistory(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    struct Window
    {
        const char *name;
        qint64 bucketS;
        int buckets;
    };
    static constexpr Window kWindows[] = {{"hour", 60, 60}, {"day", 900, 96}};
    const QString asked = req.query.hasQueryItem("window") ? req.query.queryItemValue("window")
                                                           : QStringLiteral("hour");
    const Window *w = nullptr;
    for (const Window &k : kWindows)
        if (asked == QLatin1String(k.name))
            w = &k;
    if (!w)
        return reply.error(400, "invalid_field", "window must be hour or day");
    const QDateTime end = ctx.clock.now();
    const QDateTime start = end.addMSecs(-w->bucketS * 1000 * w->buckets);
    int slotsOnline = 0;
    for (const Node &n : ctx.scheduler.nodes())
        if (n.state != NodeState::Offline)
            slotsOnline += n.caps.slotCount;
    QJsonArray buckets;
    qint64 frames = 0;
    const auto history = ctx.store.taskHistory(start, w->bucketS * 1000, w->buckets, end);
    for (int i = 0; i < history.size(); ++i) {
        frames += history[i].frames;
        buckets.append(QJsonObject{{"start", json::fromTime(start.addSecs(w->bucketS * i))},
                                   {"frames", history[i].frames},
                                   {"busy_s", history[i].busyMs / 1000.0}});
    }
    reply.json(200, {{"window", w->name},
                     {"start", json::fromTime(start)},
                     {"end", json::fromTime(end)},
                     {"bucket_s", w->bucketS},
                     {"slots_online", slotsOnline},
                     {"frames", frames},
                     {"buckets", buckets}});
}

void staticFile(const HttpRequest &req, HttpReply reply)
{
    QString path = req.path;
    if (path == "/")
        path = "/index.html";
    const QString name = path.section('/', -1);
    const QString resource = ":/web" + path;
    if (!isSafeFileName(name) || !QFileInfo(resource).isFile())
        return reply.error(404, "not_found", QString("no such resource: %1").arg(req.path));
    QFile f(resource);
    if (!f.open(QIODevice::ReadOnly))
        return reply.error(404, "not_found", QString("no such resource: %1").arg(req.path));
    reply.send(200, f.readAll(), contentTypeFor(name), {{"Cache-Control", "no-cache"}});
}

// The contract, written once in resources/api/openapi.json and compiled in.
void openApi(const HttpRequest &, HttpReply reply)
{
    QFile f(":/api/openapi.json");
    if (!f.open(QIODevice::ReadOnly))
        return reply.error(500, "internal", "the OpenAPI document is not compiled in");
    reply.send(200, f.readAll(), "application/json", {{"Cache-Control", "no-cache"}});
}

} // namespace

void replyError(HttpReply &reply, const Error &error)
{
    static const QHash<QString, int> kStatus{{"not_found", 404}, {"conflict", 409},
                                             {"too_large", 413}, {"unauthorized", 401},
                                             {"internal", 500},  {"method_not_allowed", 405}};
    reply.error(kStatus.value(error.code, 400), error.code, error.message);
}

QByteArray contentTypeFor(const QString &name)
{
    static const QHash<QString, QByteArray> kTypes{{"html", "text/html; charset=utf-8"},
                                                   {"css", "text/css; charset=utf-8"},
                                                   {"js", "text/javascript; charset=utf-8"},
                                                   {"mjs", "text/javascript; charset=utf-8"},
                                                   {"json", "application/json"},
                                                   {"png", "image/png"},
                                                   {"jpg", "image/jpeg"},
                                                   {"jpeg", "image/jpeg"},
                                                   {"svg", "image/svg+xml"},
                                                   {"ico", "image/x-icon"},
                                                   {"webp", "image/webp"},
                                                   {"gif", "image/gif"},
                                                   {"mp4", "video/mp4"},
                                                   {"txt", "text/plain; charset=utf-8"},
                                                   {"log", "text/plain; charset=utf-8"},
                                                   {"woff2", "font/woff2"}};
    return kTypes.value(name.section('.', -1).toLower(), "application/octet-stream");
}

void addSystemRoutes(HttpServer &http, ApiContext &ctx)
{
    auto bind = [&ctx](ApiHandler f) { return bindHandler(ctx, f); };
    // Answered on the front end's thread while the last database read is fresh, else here.
    HealthState *health = ctx.health;
    http.addRoute("GET", "/health", Access::Public, [health](const HttpRequest &, HttpReply reply) {
        const FrontResponse r = health->answer();
        reply.send(r.status, r.body, r.contentType);
    });
    http.addFrontRoute("/health", {[health] { return health->answerOffLoop(); },
                                   [health] { return health->answer(); }});
    http.addRoute("GET", "/api/v1/status", Access::Client, bind(status));
    http.addRoute("GET", "/api/v1/openapi\\.json", Access::Public, openApi);
    http.addRoute("GET", "/metrics", Access::Client, bind(metrics));
    http.addRoute("GET", "/api/v1/nodes", Access::Client, bind(nodes));
    http.addRoute("POST", "/api/v1/nodes/(\\d{1,18})/(drain|enable|disable)", Access::Admin,
                  bind(nodeAction));
    http.addRoute("DELETE", "/api/v1/nodes/(\\d{1,18})", Access::Admin, bind(forgetNode));
    http.addRoute("GET", "/api/v1/nodes/(\\d{1,18})/tasks", Access::Client, bind(nodeTasks));
    http.addRoute("GET", "/api/v1/farm/history", Access::Client, bind(farmHistory));
    // The web UI must load before it knows a token, so its files are public.
    for (const char *pattern :
         {"/", "/index\\.html", "/docs\\.html", "/css/[^/]+", "/js/[^/]+", "/img/[^/]+"})
        http.addRoute("GET", pattern, Access::Public, staticFile);
}

} // namespace farm::server
