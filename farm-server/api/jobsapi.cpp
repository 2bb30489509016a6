// REST: jobs and tasks (docs/API.md "REST endpoints").
#include "api/apicontext.h"
#include "api/joblistcache.h"

#include "bundle/sidefiles.h"
#include "events/webhooks.h"
#include "files/zipextract.h"
#include "protocol/message.h"
#include "util/json.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>

#include <memory>
#include <optional>

namespace farm::server {
namespace {

const QString kId = QStringLiteral("(\\d{1,18})");

std::optional<Job> findJob(ApiContext &ctx, const QString &id, HttpReply &reply)
{
    auto job = ctx.store.job(id.toLongLong());
    if (!job)
        reply.error(404, "not_found", QString("job %1 does not exist").arg(id));
    return job;
}

// A job's bundle must be whole before a task runs: every file uploaded, every side file the
// main file names present (docs/JOBTYPES.md, "Input bundles").
Result<void> checkBundle(ApiContext &ctx, const JobInput &input)
{
    QHash<QString, QString> shaOf;
    for (qsizetype i = 0; i < input.files.size(); ++i) {
        const BundleFile &f = input.files[i];
        if (f.pending() && ctx.config.fetchAllow.isEmpty())
            return makeError("invalid_field",
                             QString("input.files[%1].url: this server fetches no input URLs "
                                     "(its --fetch-allow lists no scheme and host); upload "
                                     "the file")
                                 .arg(i));
        if (f.pending() && !webhookUrlAllowed(ctx.config.fetchAllow, QUrl(f.url)))
            return makeError(
                "invalid_field",
                QString("input.files[%1].url: %2 is not a scheme and host this "
                        "server fetches from (allowed: %3)")
                    .arg(i)
                    .arg(QUrl(f.url).adjusted(QUrl::RemovePath | QUrl::RemoveQuery).toString(),
                         ctx.config.fetchAllow.join(", ")));
        if (f.pending()) // named by URL: fetched once the job is stored (docs/API.md)
            continue;
        if (!ctx.files.hasFile(f.file))
            return makeError("invalid_field",
                             QString("input.files[%1] '%2': no uploaded file has this SHA-256; "
                                     "upload it first")
                                 .arg(i)
                                 .arg(f.path));
        shaOf.insert(f.path, f.file);
    }
    const QStringList missing = bundle::missingFiles(
        input.main,
        [&](const QString &path) -> std::optional<QByteArray> {
            const auto it = shaOf.constFind(path);
            if (it == shaOf.cend())
                return std::nullopt;
            return bundle::readForReferences(path, ctx.files.filePath(*it));
        },
        [&](const QString &path) { return shaOf.contains(path); });
    if (!missing.isEmpty())
        return makeError("missing_file", missing.join("; "));
    return {};
}

/// Each job of `depends_on` must exist and still be able to complete.
Result<void> checkDependsOn(ApiContext &ctx, const JobSpec &spec)
{
    for (qint64 id : spec.dependsOn) {
        const auto dep = ctx.store.job(id);
        if (!dep)
            return makeError("invalid_field", QString("depends_on: job %1 does not exist").arg(id));
        if (dep->state == JobState::Failed || dep->state == JobState::Canceled)
            return makeError("invalid_field",
                             QString("depends_on: job %1 is %2 and will never complete; retry it "
                                     "first")
                                 .arg(id)
                                 .arg(toString(dep->state)));
    }
    return {};
}

} // namespace

Result<PreparedJob> prepareJob(ApiContext &ctx, JobSpec spec)
{
    auto valid = ctx.jobTypes.validate(std::move(spec));
    if (!valid)
        return valid.error();
    if (auto r = checkBundle(ctx, valid->input); !r)
        return r.error();
    const auto read = [&](const QString &path, qint64 maxBytes) -> std::optional<QByteArray> {
        const BundleFile *f = nullptr;
        for (const BundleFile &b : valid->input.files)
            if (b.path == path)
                f = &b;
        QFile file(f && !f->pending() ? ctx.files.filePath(f->file) : QString());
        if (!f || f->pending() || !file.open(QIODevice::ReadOnly) || file.size() > maxBytes)
            return std::nullopt;
        return file.readAll();
    };
    if (auto r = ctx.jobTypes.checkInput(*valid, read); !r)
        return r.error();
    if (auto r = checkDependsOn(ctx, *valid); !r)
        return r.error();
    auto tasks = ctx.jobTypes.compile(*valid, [&](const QString &path) {
        for (const BundleFile &b : valid->input.files)
            if (b.path == path && !b.file.isEmpty()) // not while a URL is fetched
                return ctx.files.filePath(b.file);
        return QString();
    });
    if (!tasks)
        return tasks.error();
    return PreparedJob{*valid, *tasks};
}

Result<qint64> storeJob(ApiContext &ctx, const PreparedJob &job, const QString &owner)
{
    Transaction tx(ctx.store); // the job and its owner, or neither
    const auto id = ctx.store.insertJob(job.spec, job.tasks, ctx.clock.now());
    if (!id)
        return id.error();
    if (auto r = ctx.access.setJobOwner(*id, owner); !r)
        return r.error();
    if (auto r = tx.commit(); !r)
        return r.error();
    return *id;
}

namespace {

void insertJob(ApiContext &ctx, JobSpec spec, const QString &owner, HttpReply reply,
               std::optional<int> waitS)
{
    const auto prepared = prepareJob(ctx, std::move(spec));
    if (!prepared)
        return replyError(reply, prepared.error());
    const auto id = storeJob(ctx, *prepared, owner);
    if (!id)
        return replyError(reply, id.error());
    const Job job = *ctx.store.job(*id);
    ctx.events.publish(msg::JobCreated, job.toJson());
    if (job.spec.input.fetching() && ctx.urlInputs) // its tasks wait for the files
        ctx.urlInputs->fetchJob(*id);
    ctx.scheduler.dispatch();
    if (waitS)
        return answerWhenFinished(ctx, *id, *waitS, reply);
    reply.json(201, ctx.store.job(*id).value_or(job).toJson());
}

// The main file of an unpacked archive: the one asked for, else the one file the job type
// takes.
Result<QString> pickMain(const JobType *type, const JobInput &input)
{
    if (!input.main.isEmpty()) {
        if (!input.mainFile())
            return makeError("invalid_field",
                             QString("input.main '%1' is not in the archive").arg(input.main));
        return input.main;
    }
    QStringList matches;
    for (const BundleFile &f : input.files)
        if (type && type->extensions.contains(f.path.section('.', -1).toLower()))
            matches.append(f.path);
    if (matches.size() == 1)
        return matches.first();
    if (matches.isEmpty())
        return makeError("invalid_field",
                         QString("the archive holds no file a %1 job takes (.%2)")
                             .arg(type ? type->name : QString("?"),
                                  type ? type->extensions.join(", .") : QString()));
    matches.sort();
    return makeError("invalid_field", QString("the archive holds several files a %1 job takes; "
                                              "name one as input.main: %2")
                                          .arg(type->name, matches.mid(0, 20).join(", ")));
}

void createJob(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const auto waitS = waitOption(req);
    if (!waitS)
        return replyError(reply, waitS.error());
    const auto body = json::parseObject(req.body);
    if (!body)
        return replyError(reply, body.error());
    auto spec = JobSpec::fromJson(*body);
    if (!spec)
        return replyError(reply, spec.error());
    if (auto r = checkCallbackUrl(ctx, *spec); !r)
        return replyError(reply, r.error());
    const QString owner = ownerOf(req);
    if (spec->input.archive.isEmpty())
        return insertJob(ctx, *spec, owner, reply, *waitS);
    if (!ctx.jobTypes.find(spec->type)) // before unpacking anything
        return replyError(reply, ctx.jobTypes.validate(*spec).error());
    if (!ctx.files.hasFile(spec->input.archive))
        return reply.error(400, "invalid_field",
                           "input.archive: no uploaded file has this SHA-256; upload it first");
    // Unpack off the event loop (archives reach 8 GiB), then go on on it.
    const QString zipPath = ctx.files.filePath(spec->input.archive);
    const QString temp = ctx.files.tempDir();
    ApiContext *c = &ctx;
    using Entries = decltype(extractZip(zipPath, temp));
    runOffLoop(
        ctx, [zipPath, temp] { return extractZip(zipPath, temp); },
        [c, spec = *spec, owner, reply, waitS = *waitS](const Entries &entries) mutable {
            if (!entries)
                return replyError(reply, entries.error());
            Result<void> adopted;
            for (const ZipEntryFile &e : *entries) {
                if (adopted)
                    adopted = c->files.adoptFile(e.tempPath, e.sha256);
                if (!adopted) { // leave no unpacked file behind
                    QFile::remove(e.tempPath);
                    continue;
                }
                spec.input.files.append({e.path, e.sha256});
            }
            if (!adopted)
                return replyError(reply, adopted.error());
            if (spec.input.files.isEmpty())
                return reply.error(400, "invalid_archive", "the archive holds no files");
            auto main = pickMain(c->jobTypes.find(spec.type), spec.input);
            if (!main)
                return replyError(reply, main.error());
            spec.input.main = *main;
            spec.input.archive.clear();
            if (spec.name == "archive")
                spec.name = spec.input.mainName();
            insertJob(*c, spec, owner, reply, waitS);
        },
        [](const Entries &entries) { // the server went away: leave no unpacked file behind
            if (entries)
                for (const ZipEntryFile &e : *entries)
                    QFile::remove(e.tempPath);
        });
}

void listJobTypes(ApiContext &ctx, const HttpRequest &, HttpReply reply)
{
    QJsonArray types;
    for (const JobType &t : ctx.jobTypes.types())
        types.append(t.toJson());
    reply.json(200, {{"job_types", types}});
}

/// The keyed cursor of GET /api/v1/jobs (`next`, sent back as `after`): the last row's sort
/// value and id with the sort and order they belong to, as base64url JSON. Opaque to clients.
QString encodeJobCursor(const QString &sort, const QString &order, const QVariant &key, qint64 id)
{
    const QJsonObject o{
        {"sort", sort}, {"order", order}, {"key", QJsonValue::fromVariant(key)}, {"id", id}};
    return QString::fromLatin1(
        QJsonDocument(o)
            .toJson(QJsonDocument::Compact)
            .toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
}

Result<std::pair<QVariant, qint64>> decodeJobCursor(const QString &text, const QString &sort,
                                                    const QString &order)
{
    const auto bad = [](const QString &why) {
        return makeError("invalid_field",
                         QString("after: %1 (send back the 'next' of the previous page)").arg(why));
    };
    const auto decoded = QByteArray::fromBase64Encoding(
        text.toLatin1(), QByteArray::Base64UrlEncoding | QByteArray::AbortOnBase64DecodingErrors);
    if (text.size() > 1024 || !decoded)
        return bad("not a cursor");
    const QJsonObject o = QJsonDocument::fromJson(*decoded).object();
    if (o.value("sort").toString() != sort || o.value("order").toString() != order)
        return bad(QString("the cursor is of a list sorted by %1 %2, not %3 %4")
                       .arg(o.value("sort").toString(), o.value("order").toString(), sort, order));
    const QJsonValue key = o.value("key"), id = o.value("id");
    const bool numeric = sort == "created_at" || sort == "priority" || sort == "id";
    if (!id.isDouble() || id.toDouble() < 0 || (numeric ? !key.isDouble() : !key.isString()))
        return bad("not a cursor");
    return std::pair<QVariant, qint64>{
        numeric ? QVariant(key.toInteger()) : QVariant(key.toString()), id.toInteger()};
}

void listJobs(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    JobQuery q;
    const QUrlQuery &p = req.query;
    for (const QString &s : p.queryItemValue("state").split(',', Qt::SkipEmptyParts)) {
        const auto state = jobStateFromString(s.trimmed());
        if (!state)
            return reply.error(400, "invalid_field",
                               QString("state: '%1' is not a job state").arg(s));
        q.states.append(*state);
    }
    // Form encoding sends spaces as '+' (URLSearchParams); a literal '+' arrives as %2B.
    q.text = QUrl::fromPercentEncoding(
                 p.queryItemValue("q", QUrl::FullyEncoded).replace('+', ' ').toUtf8())
                 .left(200);
    bool ok = true;
    if (p.hasQueryItem("limit")) {
        q.limit = p.queryItemValue("limit").toInt(&ok);
        if (!ok || q.limit < 1 || q.limit > 500)
            return reply.error(400, "invalid_field", "limit must be between 1 and 500");
    }
    if (p.hasQueryItem("offset")) {
        q.offset = p.queryItemValue("offset").toInt(&ok);
        if (!ok || q.offset < 0)
            return reply.error(400, "invalid_field", "offset must be 0 or more");
    }
    if (p.hasQueryItem("sort")) {
        q.sort = p.queryItemValue("sort");
        if (!QStringList{"created_at", "priority", "name", "state", "id"}.contains(q.sort))
            return reply.error(400, "invalid_field",
                               "sort must be one of created_at, priority, name, state, id");
    }
    const QString order = p.queryItemValue("order");
    if (!order.isEmpty() && order != "asc" && order != "desc")
        return reply.error(400, "invalid_field", "order must be asc or desc");
    q.descending = order != "asc";
    const QString order_ = q.descending ? "desc" : "asc";
    if (p.hasQueryItem("after")) {
        if (p.hasQueryItem("offset"))
            return reply.error(400, "invalid_field", "after and offset cannot be used together");
        const auto cursor = decodeJobCursor(p.queryItemValue("after"), q.sort, order_);
        if (!cursor)
            return replyError(reply, cursor.error());
        q.afterKey = cursor->first;
        q.afterId = cursor->second;
    }
    // The page from memory while no job changed (api/joblistcache.h): the query, parsed and
    // checked, is its key.
    JobListCache *cache = ctx.jobList;
    QString key;
    if (cache && cache->enabled()) {
        QJsonArray states;
        for (JobState s : q.states)
            states.append(toString(s));
        key = QString::fromUtf8(
            QJsonDocument(QJsonArray{states, q.text, q.limit, q.offset, q.sort, order_,
                                     q.afterKey ? QJsonValue::fromVariant(*q.afterKey)
                                                : QJsonValue(QJsonValue::Undefined),
                                     q.afterKey ? q.afterKey->typeId() : 0, q.afterId})
                .toJson(QJsonDocument::Compact));
        if (const auto body = cache->page(key))
            return reply.send(200, *body, "application/json");
    }
    const auto ticket = cache ? cache->ticket() : JobListCache::Ticket{};
    const JobPage page = ctx.store.listJobs(q);
    // What QJsonDocument would write for {"jobs", "next", "total"} (keys in that order), each
    // job's JSON written once and kept.
    QByteArray body = "{\"jobs\":[";
    for (qsizetype i = 0; i < page.jobs.size(); ++i) {
        if (i > 0)
            body += ',';
        body += cache ? cache->jobJson(page.jobs[i], ticket)
                      : QJsonDocument(page.jobs[i].toJson()).toJson(QJsonDocument::Compact);
    }
    body += ']';
    if (page.jobs.size() == q.limit) // a full page: there may be more after its last row
        body += ",\"next\":\"" +     // base64url: nothing to escape
                encodeJobCursor(q.sort, order_, page.lastKey, page.lastId).toLatin1() + '"';
    body += ",\"total\":" + QByteArray::number(page.total) + '}';
    if (cache && !key.isEmpty())
        cache->keepPage(key, body, ticket);
    reply.send(200, body, "application/json");
}

void jobAction(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    static const QHash<QString, JobState> kTargets{
        {"cancel", JobState::Canceled}, {"pause", JobState::Paused}, {"resume", JobState::Queued}};
    const auto job = findJob(ctx, req.args[0], reply);
    if (!job || !requireJobAccess(ctx, req, *job, reply))
        return;
    const qint64 id = req.args[0].toLongLong();
    auto out = req.args[1] == "retry" ? ctx.machine.retryJob(id)
                                      : ctx.machine.setJobState(id, kTargets.value(req.args[1]));
    if (!out)
        return replyError(reply, out.error());
    ctx.scheduler.sendCancels(out->cancels);
    if (req.args[1] == "retry" && ctx.urlInputs) // a job whose URL failed fetches it again
        ctx.urlInputs->fetchJob(id);
    if (req.args[1] == "cancel" && ctx.urlInputs) // its fetches stop
        ctx.urlInputs->dropJob(id);
    ctx.scheduler.dispatch();
    reply.json(200, ctx.store.job(req.args[0].toLongLong())->toJson());
}

void explainJob(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const auto job = findJob(ctx, req.args[0], reply);
    if (!job)
        return;
    QJsonArray reasons;
    for (const QString &r : ctx.scheduler.explain(*job))
        reasons.append(r);
    reply.json(200, {{"job", job->id}, {"state", toString(job->state)}, {"reasons", reasons}});
}

void deleteJob(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const auto job = findJob(ctx, req.args[0], reply);
    if (!job || !requireJobAccess(ctx, req, *job, reply))
        return;
    if (!isFinal(job->state))
        return reply.error(409, "conflict",
                           QString("job %1 is %2; cancel it before deleting it")
                               .arg(job->id)
                               .arg(toString(job->state)));
    if (auto r = ctx.store.deleteJob(job->id); !r)
        return replyError(reply, r.error());
    ctx.files.removeOutputs(job->id);
    // Its input files go too, unless another job's input names them (same bytes, same hash).
    for (const BundleFile &f : job->spec.input.files)
        if (ctx.files.hasFile(f.file) && !ctx.store.fileInUse(f.file))
            QFile::remove(ctx.files.filePath(f.file));
    ctx.events.publish(msg::JobDeleted, {{"id", job->id}});
    reply.noContent();
}

void jobTasks(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    if (!findJob(ctx, req.args[0], reply))
        return;
    QJsonArray tasks;
    for (const TaskRecord &t : ctx.store.tasksOfJob(req.args[0].toLongLong()))
        tasks.append(t.task.toJson());
    reply.json(200, {{"tasks", tasks}});
}

QJsonObject outputJson(const OutputRecord &o)
{
    return {{"name", o.name},
            {"size", o.size},
            {"task_id", o.taskId ? QJsonValue(o.taskId) : QJsonValue()},
            {"frame", o.frame ? QJsonValue(*o.frame) : QJsonValue()}};
}

void jobOutputs(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    if (!findJob(ctx, req.args[0], reply))
        return;
    QJsonArray outputs;
    for (const OutputRecord &o : ctx.store.outputs(req.args[0].toLongLong()))
        outputs.append(outputJson(o));
    reply.json(200, {{"outputs", outputs}});
}

void downloadOutput(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const qint64 jobId = req.args[0].toLongLong();
    if (!isValidOutputName(req.args[1]) || !ctx.store.output(jobId, req.args[1]))
        return reply.error(404, "not_found",
                           QString("job %1 has no output '%2'").arg(req.args[0], req.args[1]));
    reply.file(ctx.files.outputPath(jobId, req.args[1]), contentTypeFor(req.args[1]));
}

/// Answers why node `nodeId` may not write task `task`'s outputs now, and yields true; false:
/// it may.
bool refuseUpload(ApiContext &ctx, const Task &t, qint64 nodeId, HttpReply &reply)
{
    const auto refuse = [&reply](int status, const QString &code, const QString &message) {
        reply.error(status, code, message);
        return true;
    };
    // Only the node running the task writes its outputs, and only while it runs it: a node
    // that lost the task (lease, re-queue) and any other caller get a refusal, never a write.
    if (!nodeId)
        return refuse(403, errc::NotYourTask,
                      QString("only the render node running task %1 may upload its outputs, "
                              "with its own secret as bearer token (not a client or join "
                              "token)")
                          .arg(t.id));
    if (t.state == TaskState::Queued && ctx.scheduler.lastHolder(t.id) == nodeId)
        // Its node was lost (or the server restarted) and may claim it back on reconnect: an
        // upload racing that reconnect must not make it stop a render it will keep.
        return refuse(503, errc::TaskOrphaned,
                      QString("task %1 went back to the queue when this node was lost; "
                              "reconnect (hello with the task in 'running') and retry")
                          .arg(t.id));
    if (t.state != TaskState::Assigned && t.state != TaskState::Running)
        return refuse(409, errc::TaskNotRunning,
                      t.state == TaskState::Queued
                          ? QString("task %1 is not running on any node: it went back to the queue "
                                    "(its node was lost or missed its lease); stop rendering it")
                                .arg(t.id)
                          : QString("task %1 is %2: its outputs can no longer change")
                                .arg(t.id)
                                .arg(toString(t.state)));
    if (t.nodeId != nodeId)
        return refuse(403, errc::NotYourTask,
                      QString("task %1 is assigned to node %2, not to node %3 (a node whose "
                              "lease expired no longer holds its tasks); stop rendering it")
                          .arg(t.id)
                          .arg(t.nodeName.isEmpty() ? QString::number(t.nodeId) : t.nodeName)
                          .arg(nodeId));
    return false;
}

/// The rows of output uploads whose files became durable in the same turn of the event loop,
/// written in one transaction once the turn's other work is done (docs/PERFORMANCE.md): one
/// commit for the lot instead of one each. Each is checked in that transaction as before (the
/// task still this node's and running), and each upload is answered only after the commit.
class OutputRows : public std::enable_shared_from_this<OutputRows>
{
public:
    struct Landed
    {
        qint64 jobId = 0, taskId = 0, nodeId = 0, size = 0;
        QString name;
        HttpReply reply;
    };

    explicit OutputRows(ApiContext &ctx)
        : m_ctx(ctx)
    {}

    void add(Landed landed)
    {
        m_pending.append(std::move(landed));
        if (m_pending.size() == 1)
            QMetaObject::invokeMethod(
                m_ctx.owner,
                [rows = weak_from_this()] {
                    if (const auto r = rows.lock())
                        r->write();
                },
                Qt::QueuedConnection);
    }

private:
    void write()
    {
        ApiContext &ctx = m_ctx;
        QList<Landed> batch = std::exchange(m_pending, {});
        QList<std::pair<Landed *, OutputRecord>> written;
        // One upload alone commits its row as before (a transaction would only add BEGIN and
        // COMMIT: round trips on PostgreSQL).
        std::optional<Transaction> tx;
        if (batch.size() > 1)
            tx.emplace(ctx.store);
        for (Landed &l : batch) {
            const auto task = ctx.store.task(l.taskId);
            if (!task) {
                l.reply.error(404, "not_found", QString("task %1 does not exist").arg(l.taskId));
                continue;
            }
            if (refuseUpload(ctx, task->task, l.nodeId, l.reply))
                continue;
            ctx.metrics.outputBytes += quint64(l.size);
            const OutputRecord o{l.jobId, l.taskId, l.name, l.size, outputFrame(l.name)};
            if (auto r = ctx.store.upsertOutput(o, ctx.clock.now()); !r) {
                replyError(l.reply, r.error());
                continue;
            }
            written.append({&l, o});
        }
        const auto committed = written.isEmpty() || !tx ? Result<void>() : tx->commit();
        for (auto &[l, o] : written) {
            if (!committed) {
                replyError(l->reply, committed.error());
                continue;
            }
            ctx.scheduler.touchTask(l->taskId); // uploading outputs is progress too
            QJsonObject preview{{"task", l->taskId}, {"job", l->jobId}, {"output", l->name}};
            preview.insert("frame", o.frame ? QJsonValue(*o.frame) : QJsonValue());
            ctx.events.publish(msg::TaskPreview, preview);
            l->reply.json(200, {{"name", l->name}, {"size", l->size}});
        }
    }

    ApiContext &m_ctx;
    QList<Landed> m_pending;
};

void uploadOutput(ApiContext &ctx, const std::weak_ptr<OutputRows> &rows, const HttpRequest &req,
                  HttpReply reply)
{
    const QString &name = req.args[1];
    if (!isValidOutputName(name))
        return reply.error(400, "invalid_field",
                           "output names match ^[A-Za-z0-9._-]{1,128}$ and do not start with '.'");
    const qint64 taskId = req.args[0].toLongLong(), nodeId = req.nodeId;
    // The task this node runs, as the scheduler holds it (the common case): no read before
    // the file is written; the read before the row is written decides. Otherwise the task is
    // read now, so that a refusal comes before the body is written anywhere.
    qint64 jobId = ctx.scheduler.jobOfTaskOn(taskId, nodeId);
    if (!jobId) {
        const auto task = ctx.store.task(taskId);
        if (!task)
            return reply.error(404, "not_found",
                               QString("task %1 does not exist").arg(req.args[0]));
        if (refuseUpload(ctx, task->task, nodeId, reply))
            return;
        jobId = task->task.jobId;
    }
    // The file is written and synced to disk off the event loop (an fsync per frame would stall
    // every other socket meanwhile), on the output writers' pool (many syncs side by side); its
    // row is written (with the others of the same turn: OutputRows), and the upload answered,
    // back on the loop once the file is durable, and only while the task is still this node's.
    ctx.files.writeOutputOffLoop(
        jobId, name, req.body, ctx.owner,
        [rows, jobId, taskId, nodeId, name, reply](Result<qint64> size) mutable {
            if (!size)
                return replyError(reply, size.error());
            if (const auto r = rows.lock())
                r->add({jobId, taskId, nodeId, *size, name, reply});
        });
}

void taskLog(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    if (!ctx.store.task(req.args[0].toLongLong()))
        return reply.error(404, "not_found", QString("task %1 does not exist").arg(req.args[0]));
    // The answer is the log's end, at most JobStore::kMaxLogReadBytes: it never holds more.
    qint64 tail = JobStore::kMaxLogReadBytes;
    if (req.query.hasQueryItem("tail")) {
        bool ok = false;
        tail = req.query.queryItemValue("tail").toLongLong(&ok);
        if (!ok || tail < 1 || tail > JobStore::kMaxLogReadBytes)
            return reply.error(400, "invalid_field",
                               QString("tail must be a number of bytes from 1 to %1")
                                   .arg(JobStore::kMaxLogReadBytes));
    }
    reply.send(200, ctx.store.taskLog(req.args[0].toLongLong(), tail), "text/plain; charset=utf-8");
}

} // namespace

std::optional<int> outputFrame(const QString &name)
{
    static const QRegularExpression frame(QStringLiteral("^frame_(\\d{1,9})[._]"));
    static const QRegularExpression view(QStringLiteral(
        "^(?:rgb|depth|normal|albedo|mask|xyz|instance)_(\\d{1,9})\\.[A-Za-z0-9]+$"));
    if (const auto m = frame.match(name); m.hasMatch())
        return m.captured(1).toInt();
    if (const auto m = view.match(name); m.hasMatch())
        return m.captured(1).toInt();
    return std::nullopt;
}

void addJobRoutes(HttpServer &http, ApiContext &ctx)
{
    auto bind = [&ctx](ApiHandler f) { return bindHandler(ctx, f); };
    const QString jobs = "/api/v1/jobs";
    http.addRoute("GET", "/api/v1/job-types", Access::Client, bind(listJobTypes));
    http.addRoute("POST", jobs, Access::Client, bind(createJob));
    http.addRoute("GET", jobs, Access::Client, bind(listJobs));
    http.addRoute("GET", jobs + '/' + kId, Access::Client,
                  [&ctx](const HttpRequest &req, HttpReply reply) {
                      if (const auto job = findJob(ctx, req.args[0], reply))
                          reply.json(200, job->toJson());
                  });
    http.addRoute("POST", jobs + '/' + kId + "/(cancel|pause|resume|retry)", Access::Client,
                  bind(jobAction));
    http.addRoute("GET", jobs + '/' + kId + "/explain", Access::Client, bind(explainJob));
    http.addRoute("DELETE", jobs + '/' + kId, Access::Client, bind(deleteJob));
    http.addRoute("GET", jobs + '/' + kId + "/tasks", Access::Client, bind(jobTasks));
    http.addRoute("GET", jobs + '/' + kId + "/outputs", Access::Client, bind(jobOutputs));
    http.addRoute("GET", jobs + '/' + kId + "/outputs/([^/]+)", Access::Client,
                  bind(downloadOutput));
    http.addRoute("GET", "/api/v1/tasks/" + kId + "/log", Access::Client, bind(taskLog));
    http.addRoute(
        "PUT", "/api/v1/tasks/" + kId + "/outputs/([^/]+)", Access::Node,
        [&ctx, rows = std::make_shared<OutputRows>(ctx)](const HttpRequest &req, HttpReply reply) {
            uploadOutput(ctx, rows, req, std::move(reply));
        },
        FileStore::kMaxOutputSize);
}

} // namespace farm::server
