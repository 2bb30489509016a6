// REST: POST /api/v1/jobs/{id}/encode, a finished job's frames encoded again with other video
// settings, without rendering again (docs/JOBTYPES.md, "Video"; docs/API.md).
#include "api/apicontext.h"

#include "jobtypes/framebundles.h"
#include "protocol/message.h"
#include "util/json.h"

namespace farm::server {

namespace {

void encodeJob(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const qint64 sourceId = req.args[0].toLongLong();
    const auto source = ctx.store.job(sourceId);
    if (!source)
        return reply.error(404, "not_found", QString("job %1 does not exist").arg(sourceId));
    const auto waitS = waitOption(req);
    if (!waitS)
        return replyError(reply, waitS.error());
    QJsonObject body;
    if (!req.body.trimmed().isEmpty()) {
        auto parsed = json::parseObject(req.body);
        if (!parsed)
            return replyError(reply, parsed.error());
        body = *parsed;
    }
    json::Reader r(body);
    r.rejectUnknown({"name", "priority", "settings"});
    const QString name =
        r.string("name", QString("%1 (video)").arg(source->spec.name).left(200), 1, 200);
    const int priority = int(r.integer("priority", source->spec.priority, 0, 100));
    const QJsonObject settings = r.object("settings");
    if (!r.ok())
        return replyError(reply, r.error());
    if (source->state != JobState::Completed)
        return reply.error(409, "conflict",
                           QString("job %1 is %2: only a completed job's frames can be encoded "
                                   "again")
                               .arg(sourceId)
                               .arg(toString(source->state)));
    FrameBundles bundles(ctx.store, ctx.files, ctx.jobTypes);
    const auto frames = bundles.frames(sourceId);
    if (!frames)
        return replyError(reply, frames.error());
    // Settings are checked before any frame is hashed.
    const JobType *encode = ctx.jobTypes.find("encode");
    if (!encode)
        return reply.error(500, "internal", "this server has no encode job type");
    if (auto s = encode->schema.apply(settings); !s)
        return replyError(reply, s.error());

    JobSpec spec;
    spec.name = name;
    spec.type = encode->name;
    spec.priority = priority;
    spec.settings = settings;
    const QString owner = ownerOf(req);
    ApiContext *c = &ctx;
    FileStore *files = &ctx.files;
    // Hashing the frames reads every byte of them: off the event loop.
    runOffLoop(
        ctx, [list = *frames, files] { return FrameBundles::bundle(list, *files); },
        [c, spec, owner, reply, waitS = *waitS](const Result<JobInput> &input) mutable {
            if (!input)
                return replyError(reply, input.error());
            spec.input = *input;
            const auto prepared = prepareJob(*c, spec);
            if (!prepared)
                return replyError(reply, prepared.error());
            const auto id = storeJob(*c, *prepared, owner);
            if (!id)
                return replyError(reply, id.error());
            const Job job = *c->store.job(*id);
            c->events.publish(msg::JobCreated, job.toJson());
            c->scheduler.dispatch();
            if (waitS)
                return answerWhenFinished(*c, *id, *waitS, reply);
            reply.json(201, c->store.job(*id).value_or(job).toJson());
        });
}

} // namespace

void addEncodeRoutes(HttpServer &http, ApiContext &ctx)
{
    http.addRoute("POST", "/api/v1/jobs/(\\d{1,18})/encode", Access::Client,
                  bindHandler(ctx, encodeJob));
}

} // namespace farm::server
