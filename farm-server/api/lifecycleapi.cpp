// REST: the lifecycle actions beyond cancel/pause/resume/retry (docs/API.md "Job lifecycle"):
// waiting for a job, batch submission, re-running a job, re-queueing a task, priority; the
// archive download of a job's outputs and the retention dry run ("Retention").
#include "api/apicontext.h"

#include "files/retention.h"
#include "files/ziparchive.h"
#include "protocol/message.h"
#include "util/json.h"

#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QRandomGenerator>
#include <QTimer>

namespace farm::server {
namespace {

const QString kId = QStringLiteral("(\\d{1,18})");

/// `?wait=true` without `timeout`, and the longest `timeout` taken, in seconds.
constexpr int kDefaultWaitS = 60;
constexpr int kMaxWaitS = 600;
/// Submissions waiting at once; more are refused with 503 (each holds a connection).
constexpr int kMaxWaiters = 1000;
/// Jobs one `POST /api/v1/jobs:batch` takes.
constexpr int kMaxBatchJobs = 100;
/// Body limit of the batch route: up to kMaxBatchJobs job objects.
constexpr qint64 kMaxBatchBody = 16 * 1024 * 1024;
/// How often held submissions look at their jobs.
constexpr int kWaitPollMs = 100;

/// Submissions held until their jobs finish (or their time runs out): replies kept, no thread
/// blocked; one timer looks at the held jobs while there are any.
class JobWaiters : public QObject
{
public:
    JobWaiters(ApiContext &ctx, QObject *parent)
        : QObject(parent)
        , m_ctx(ctx)
    {
        m_timer.setInterval(kWaitPollMs);
        connect(&m_timer, &QTimer::timeout, this, &JobWaiters::poll);
    }

    void add(qint64 jobId, int timeoutS, HttpReply reply)
    {
        if (m_waiting.size() >= kMaxWaiters)
            return reply.error(503, "busy",
                               QString("%1 submissions wait already; the job was created, follow "
                                       "it with GET /api/v1/jobs/%2")
                                   .arg(kMaxWaiters)
                                   .arg(jobId));
        m_waiting.append({jobId, QDeadlineTimer(qint64(timeoutS) * 1000), reply});
        poll(); // it may be over already (every frame landed before)
        if (!m_waiting.isEmpty() && !m_timer.isActive())
            m_timer.start();
    }

private:
    struct Waiter
    {
        qint64 jobId;
        QDeadlineTimer deadline;
        HttpReply reply;
    };

    void poll()
    {
        for (qsizetype i = 0; i < m_waiting.size();) {
            Waiter &w = m_waiting[i];
            const auto job = m_ctx.store.job(w.jobId);
            if (!job)
                w.reply.error(
                    404, "not_found",
                    QString("job %1 was deleted while the submission waited").arg(w.jobId));
            else if (isFinal(job->state))
                w.reply.json(200, job->toJson());
            else if (w.deadline.hasExpired())
                w.reply.json(202, job->toJson());
            else {
                ++i;
                continue;
            }
            m_waiting.removeAt(i);
        }
        if (m_waiting.isEmpty())
            m_timer.stop();
    }

    ApiContext &m_ctx;
    QList<Waiter> m_waiting;
    QTimer m_timer;
};

JobWaiters &waiters(ApiContext &ctx)
{
    auto *w = ctx.owner->findChild<JobWaiters *>(QString(), Qt::FindDirectChildrenOnly);
    return w ? *w : *new JobWaiters(ctx, ctx.owner);
}

std::optional<Job> findJob(ApiContext &ctx, const QString &id, HttpReply &reply)
{
    auto job = ctx.store.job(id.toLongLong());
    if (!job)
        reply.error(404, "not_found", QString("job %1 does not exist").arg(id));
    return job;
}

/// A JSON object body, or an empty object for an empty body.
Result<QJsonObject> optionalBody(const HttpRequest &req)
{
    if (req.body.trimmed().isEmpty())
        return QJsonObject{};
    return json::parseObject(req.body);
}

/// Deletes the files of outputs a re-run dropped (their rows went in the same change).
void removeOutputFiles(ApiContext &ctx, const Outcome &out)
{
    for (const auto &[jobId, name] : out.removedOutputs)
        QFile::remove(ctx.files.outputPath(jobId, name));
}

/// What every action does once its change is stored: files, node cancels, dispatch.
void afterChange(ApiContext &ctx, const Outcome &out)
{
    removeOutputFiles(ctx, out);
    ctx.scheduler.sendCancels(out.cancels);
    ctx.scheduler.dispatch();
}

void batchJobs(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const auto body = json::parseObject(req.body);
    if (!body)
        return replyError(reply, body.error());
    json::Reader r(*body);
    r.rejectUnknown({"jobs"});
    const QJsonArray jobs = r.array("jobs", kMaxBatchJobs);
    if (r.ok() && jobs.isEmpty())
        r.fail("invalid_field", QString("jobs must list 1 to %1 jobs").arg(kMaxBatchJobs));
    if (!r.ok())
        return replyError(reply, r.error());
    // Every job is checked before any is stored: one bad job stores none.
    QList<PreparedJob> prepared;
    for (qsizetype i = 0; i < jobs.size(); ++i) {
        auto fail = [&](const Error &e) {
            replyError(reply, makeError(e.code, QString("jobs[%1]: %2").arg(i).arg(e.message)));
        };
        if (!jobs[i].isObject())
            return fail(makeError("invalid_field", "must be a job object"));
        auto spec = JobSpec::fromJson(jobs[i].toObject());
        if (!spec)
            return fail(spec.error());
        if (!spec->input.archive.isEmpty())
            return fail(makeError("invalid_field", "input.archive is not taken in a batch; submit "
                                                   "archives one by one with POST /api/v1/jobs"));
        if (auto c = checkCallbackUrl(ctx, *spec); !c)
            return fail(c.error());
        auto p = prepareJob(ctx, *spec);
        if (!p)
            return fail(p.error());
        prepared.append(*p);
    }
    const QString owner = ownerOf(req);
    QList<qint64> ids;
    {
        Transaction tx(ctx.store); // all jobs or none
        for (qsizetype i = 0; i < prepared.size(); ++i) {
            const auto id = storeJob(ctx, prepared[i], owner);
            if (!id)
                return replyError(
                    reply, makeError(id.error().code,
                                     QString("jobs[%1]: %2").arg(i).arg(id.error().message)));
            ids.append(*id);
        }
        if (auto c = tx.commit(); !c)
            return replyError(reply, c.error());
    }
    QJsonArray created;
    for (qint64 id : std::as_const(ids))
        if (const auto job = ctx.store.job(id)) {
            ctx.events.publish(msg::JobCreated, job->toJson());
            created.append(job->toJson());
        }
    ctx.scheduler.dispatch();
    reply.json(201, {{"jobs", created}});
}

void rerunJob(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const auto job = findJob(ctx, req.args[0], reply);
    if (!job || !requireJobAccess(ctx, req, *job, reply))
        return;
    const auto body = optionalBody(req);
    if (!body)
        return replyError(reply, body.error());
    json::Reader r(*body);
    r.rejectUnknown({"frames"});
    const QString text = r.string("frames", QString(), 1, 1000);
    if (!r.ok())
        return replyError(reply, r.error());
    QList<int> frames;
    if (!text.isEmpty()) {
        const auto range = FrameRange::parse(text);
        if (!range)
            return replyError(reply,
                              makeError("invalid_field", "frames: " + range.error().message));
        frames = range->frames();
    }
    const auto out = ctx.machine.rerunJob(job->id, frames);
    if (!out)
        return replyError(reply, out.error());
    afterChange(ctx, *out);
    reply.json(200, ctx.store.job(job->id).value_or(*job).toJson());
}

void requeueTask(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const auto task = ctx.store.task(req.args[0].toLongLong());
    if (!task)
        return reply.error(404, "not_found", QString("task %1 does not exist").arg(req.args[0]));
    const auto job = ctx.store.job(task->task.jobId);
    if (!job || !requireJobAccess(ctx, req, *job, reply))
        return;
    const auto out = ctx.machine.requeueTask(task->task.id);
    if (!out)
        return replyError(reply, out.error());
    afterChange(ctx, *out);
    reply.json(200, ctx.store.task(task->task.id).value_or(*task).task.toJson());
}

void setPriority(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const auto job = findJob(ctx, req.args[0], reply);
    if (!job || !requireJobAccess(ctx, req, *job, reply))
        return;
    const auto body = json::parseObject(req.body);
    if (!body)
        return replyError(reply, body.error());
    json::Reader r(*body);
    r.rejectUnknown({"priority"});
    const qint64 priority = r.integer("priority", -1, 0, 100);
    if (r.ok() && priority < 0)
        r.fail("invalid_field", "priority is required: a whole number from 0 to 100");
    if (!r.ok())
        return replyError(reply, r.error());
    const auto out = ctx.machine.setPriority(job->id, int(priority));
    if (!out)
        return replyError(reply, out.error());
    ctx.scheduler.dispatch();
    reply.json(200, ctx.store.job(job->id).value_or(*job).toJson());
}

/// Every output of a job as one zip, written to a temporary file on a worker thread (libzip
/// streams each output from disk: memory stays bounded), then streamed out and unlinked.
void jobArchive(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const auto job = findJob(ctx, req.args[0], reply);
    if (!job)
        return;
    QList<ZipSource> files;
    for (const OutputRecord &o : ctx.store.outputs(job->id))
        files.append({o.name, ctx.files.outputPath(job->id, o.name)});
    if (files.isEmpty())
        return reply.error(404, "not_found", QString("job %1 has no outputs yet").arg(job->id));
    const QString zipPath =
        QDir(ctx.files.tempDir())
            .filePath(QString("archive-%1-%2.zip")
                          .arg(job->id)
                          .arg(QRandomGenerator::system()->generate64(), 16, 16, QChar('0')));
    const QByteArray disposition =
        QString("attachment; filename=\"job-%1-outputs.zip\"").arg(job->id).toUtf8();
    runOffLoop(
        ctx, [zipPath, files] { return writeZip(zipPath, files); },
        [zipPath, disposition, reply](const Result<qint64> &written) mutable {
            if (!written)
                return replyError(reply, written.error());
            reply.file(zipPath, "application/zip", {{"Content-Disposition", disposition}});
            QFile::remove(zipPath); // the reply holds it open until the last byte is out
        },
        [zipPath](const Result<qint64> &) { QFile::remove(zipPath); });
}

/// The dry run: what the retention rules would remove now.
void retentionPlan(ApiContext &ctx, const HttpRequest &, HttpReply reply)
{
    const RetentionRules rules = RetentionRules::fromConfig(ctx.config);
    reply.json(200,
               {{"rules", rules.toJson()},
                {"enabled", rules.any()},
                {"expire", planRetention(ctx.store, ctx.files, rules, ctx.clock.now()).toJson()}});
}

void retentionRun(ApiContext &ctx, const HttpRequest &, HttpReply reply)
{
    const RetentionRules rules = RetentionRules::fromConfig(ctx.config);
    const auto removed = applyRetention(
        ctx.store, ctx.files, planRetention(ctx.store, ctx.files, rules, ctx.clock.now()));
    if (!removed)
        return replyError(reply, removed.error());
    reply.json(200, {{"rules", rules.toJson()}, {"removed", removed->toJson()}});
}

} // namespace

Result<std::optional<int>> waitOption(const HttpRequest &request)
{
    const QUrlQuery &q = request.query;
    const QString wait = q.queryItemValue("wait");
    if (!q.hasQueryItem("wait") || wait == "false" || wait == "0") {
        if (q.hasQueryItem("timeout"))
            return makeError("invalid_field", "timeout is taken only with wait=true");
        return std::optional<int>{};
    }
    if (wait != "true" && wait != "1")
        return makeError("invalid_field", "wait must be true or false");
    if (!q.hasQueryItem("timeout"))
        return std::optional<int>(kDefaultWaitS);
    bool ok = false;
    const int timeout = q.queryItemValue("timeout").toInt(&ok);
    if (!ok || timeout < 1 || timeout > kMaxWaitS)
        return makeError(
            "invalid_field",
            QString("timeout must be a whole number of seconds from 1 to %1").arg(kMaxWaitS));
    return std::optional<int>(timeout);
}

void answerWhenFinished(ApiContext &ctx, qint64 jobId, int timeoutS, HttpReply reply)
{
    waiters(ctx).add(jobId, timeoutS, reply);
}

void addLifecycleRoutes(HttpServer &http, ApiContext &ctx)
{
    auto bind = [&ctx](ApiHandler f) { return bindHandler(ctx, f); };
    const QString jobs = "/api/v1/jobs";
    http.addRoute("POST", jobs + ":batch", Access::Client, bind(batchJobs), kMaxBatchBody);
    http.addRoute("POST", jobs + '/' + kId + "/rerun", Access::Client, bind(rerunJob));
    http.addRoute("POST", jobs + '/' + kId + "/priority", Access::Client, bind(setPriority));
    http.addRoute("POST", "/api/v1/tasks/" + kId + "/requeue", Access::Client, bind(requeueTask));
    http.addRoute("GET", jobs + '/' + kId + "/archive", Access::Client, bind(jobArchive));
    http.addRoute("GET", "/api/v1/retention", Access::Admin, bind(retentionPlan));
    http.addRoute("POST", "/api/v1/retention/run", Access::Admin, bind(retentionRun));
}

} // namespace farm::server
