#pragma once

#include "api/httpserver.h"
#include "events/eventsink.h"
#include "events/metricsrecorder.h"
#include "events/previewstore.h"
#include "files/filestore.h"
#include "files/urlinputs.h"
#include "scheduler/scheduler.h"
#include "scheduler/statemachine.h"
#include "serverconfig.h"
#include "store/accessstore.h"
#include "store/jobstore.h"

#include <QDateTime>
#include <QPointer>
#include <QThreadPool>

#include <optional>
#include <type_traits>

namespace farm::server {

class JobListCache;
class HealthState;

/// What the REST handlers work with; owned by FarmServer.
struct ApiContext
{
    JobStore &store;
    FileStore &files;
    StateMachine &machine;
    Scheduler &scheduler;
    EventSink &events;
    const Clock &clock;
    QObject *owner; // receives results of work done on other threads
    QDateTime startedAt;
    PreviewStore &previews; // latest partial image per running task (memory only)
    const JobTypeRegistry &jobTypes;
    AccessStore &access;             // users, job owners, webhook deliveries
    const ServerConfig &config;      // webhook rules, public URL, disk threshold
    ServerMetrics &metrics;          // counters /metrics serves
    UrlInputs *urlInputs = nullptr;  // fetches input files named by URL (docs/API.md)
    JobListCache *jobList = nullptr; // pages of GET /api/v1/jobs kept in memory (SQLite)
    HealthState *health = nullptr;   // what GET /health says, also off the event loop
};

using ApiHandler = void (*)(ApiContext &, const HttpRequest &, HttpReply);

/// Adapts a handler of the route tables to HttpServer::addRoute.
inline std::function<void(const HttpRequest &, HttpReply)> bindHandler(ApiContext &ctx,
                                                                       ApiHandler f)
{
    return [&ctx, f](const HttpRequest &req, HttpReply reply) { f(ctx, req, reply); };
}

/// Runs `work()` on the thread pool (hashing, unpacking: files reach 8 GiB), then
/// `then(result)` back on the event loop. When the server went away meanwhile, `then` is not
/// called and `gone(result)` may clean up instead.
template<typename Work, typename Then, typename Gone = void (*)(const std::invoke_result_t<Work> &)>
void runOffLoop(
    ApiContext &ctx, Work work, Then then, Gone gone = [](const std::invoke_result_t<Work> &) {})
{
    QPointer<QObject> owner = ctx.owner;
    QThreadPool::globalInstance()->start([owner, work, then, gone]() mutable {
        auto result = work();
        if (!owner)
            return gone(result);
        QMetaObject::invokeMethod(
            owner.data(), [then, result]() mutable { then(std::move(result)); },
            Qt::QueuedConnection);
    });
}

void addJobRoutes(HttpServer &http, ApiContext &ctx);
void addFileRoutes(HttpServer &http, ApiContext &ctx);
void addSystemRoutes(HttpServer &http, ApiContext &ctx);
void addPreviewRoutes(HttpServer &http, ApiContext &ctx);
void addUserRoutes(HttpServer &http, ApiContext &ctx);
/// Lifecycle actions beyond the basic ones: batch submit, rerun, requeue, priority, the
/// outputs archive, retention (api/lifecycleapi.cpp).
void addLifecycleRoutes(HttpServer &http, ApiContext &ctx);
/// POST /api/v1/jobs/{id}/encode: a finished job's frames as a new `encode` job
/// (api/encodeapi.cpp).
void addEncodeRoutes(HttpServer &http, ApiContext &ctx);

/// A job checked (schema, bundle, depends_on) and compiled into tasks, not yet stored.
struct PreparedJob
{
    JobSpec spec;
    QList<TaskPlan> tasks;
};
Result<PreparedJob> prepareJob(ApiContext &ctx, JobSpec spec);
/// Stores a prepared job with its owner in one transaction (an outer one may hold it); neither
/// publishes nor dispatches.
Result<qint64> storeJob(ApiContext &ctx, const PreparedJob &job, const QString &owner);
/// `?wait=true&timeout=S` of a job submission: nothing when not asked to wait, else S seconds
/// (a default when left out; docs/API.md); a bad value is `invalid_field`.
Result<std::optional<int>> waitOption(const HttpRequest &request);
/// Answers 200 with the job once it is completed, failed or canceled, or 202 with the job as it
/// is when `timeoutS` passed first; holds no thread meanwhile.
void answerWhenFinished(ApiContext &ctx, qint64 jobId, int timeoutS, HttpReply reply);

/// The one ownership check of job and task routes that change a job (docs/API.md, "Users and
/// roles"): true when the caller owns `job` or is an admin; otherwise answers 403 `forbidden`
/// and returns false. Reading jobs stays open to every user.
bool requireJobAccess(ApiContext &ctx, const HttpRequest &request, const Job &job,
                      HttpReply &reply);
/// The name a new job is stored under as its owner.
QString ownerOf(const HttpRequest &request);
/// 400 when `callback_url` names a scheme and host the server's --webhook-allow does not list.
Result<void> checkCallbackUrl(const ApiContext &ctx, const JobSpec &spec);

/// Answers an Error with the HTTP status its code maps to (docs/API.md, "Errors").
void replyError(HttpReply &reply, const Error &error);
/// Content type by file extension, for outputs and the web UI; data files (.npy, .exr, unknown
/// extensions) are application/octet-stream.
QByteArray contentTypeFor(const QString &name);
/// The frame an output belongs to: N of `frame_NNNN.ext` and `frame_NNNN_<pass>.ext`, the view
/// index of a template file `<pass>_N.ext`, or nothing (`cameras.json`, `poses.npy`, ...).
std::optional<int> outputFrame(const QString &name);

} // namespace farm::server
