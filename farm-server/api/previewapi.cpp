// REST: the latest partial image of a running task (docs/API.md "Live previews").
#include "api/apicontext.h"

namespace farm::server {
namespace {

void taskPreview(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const qint64 id = req.args[0].toLongLong();
    const auto preview = ctx.previews.get(id);
    if (!preview)
        return reply.error(404, "not_found",
                           ctx.store.task(id)
                               ? QString("task %1 has no live preview (not running, or no "
                                         "partial image arrived yet)")
                                     .arg(id)
                               : QString("task %1 does not exist").arg(id));
    reply.send(200, preview->jpeg, "image/jpeg",
               {{"Cache-Control", "no-store"},
                {"X-Farm-Frame", QByteArray::number(preview->frame)},
                {"X-Farm-Samples", QByteArray::number(preview->samples)},
                {"X-Farm-Spp", QByteArray::number(preview->spp)}});
}

} // namespace

void addPreviewRoutes(HttpServer &http, ApiContext &ctx)
{
    http.addRoute("GET", "/api/v1/tasks/(\\d{1,18})/preview", Access::Client,
                  bindHandler(ctx, taskPreview));
}

} // namespace farm::server
