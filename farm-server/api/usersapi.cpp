// REST: users and roles, the ownership check of job routes (docs/API.md "Users and roles").
#include "api/apicontext.h"

#include "events/webhooks.h"
#include "scheduler/nodecredentials.h"
#include "util/json.h"

#include <QJsonArray>
#include <QRegularExpression>

namespace farm::server {
namespace {

QString roleName(Role role)
{
    return role == Role::Admin ? QStringLiteral("admin")
                               : (role == Role::User ? QStringLiteral("user") : QString());
}

QJsonObject userJson(const UserRecord &u)
{
    return {{"id", u.id},
            {"name", u.name},
            {"role", u.role},
            {"created_at", json::fromTime(u.createdAt)}};
}

void listUsers(ApiContext &ctx, const HttpRequest &, HttpReply reply)
{
    QJsonArray users;
    for (const UserRecord &u : ctx.access.users())
        users.append(userJson(u));
    reply.json(200, {{"users", users}});
}

void createUser(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    const auto body = json::parseObject(req.body);
    if (!body)
        return replyError(reply, body.error());
    json::Reader r(*body);
    r.rejectUnknown({"name", "role"});
    const QString name = r.string("name", QString(), 1, 64);
    const QString role = r.string("role", QStringLiteral("user"), 1, 16);
    if (!r.ok())
        return replyError(reply, r.error());
    static const QRegularExpression form(QStringLiteral("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"));
    if (!form.match(name).hasMatch())
        return reply.error(400, "invalid_field",
                           "name must be 1-64 letters, digits, '.', '_' or '-', starting with a "
                           "letter or digit");
    // The built-in principals' names: a user under one of them would share their jobs.
    if (name == "admin" || name == "local")
        return reply.error(
            400, "invalid_field",
            QString("'%1' is the name of a built-in principal; pick another").arg(name));
    if (role != "admin" && role != "user")
        return reply.error(400, "invalid_field", "role must be admin or user");
    const QString token = credentials::newSecret();
    const auto user =
        ctx.access.insertUser(name, role, credentials::hashSecret(token.toUtf8()), ctx.clock.now());
    if (!user)
        return replyError(reply, user.error());
    QJsonObject out = userJson(*user);
    out.insert("token", token); // shown this once: only its hash is kept
    reply.json(201, out);
}

void deleteUser(ApiContext &ctx, const HttpRequest &req, HttpReply reply)
{
    if (auto r = ctx.access.deleteUser(req.args[0]); !r)
        return replyError(reply, r.error());
    reply.noContent();
}

void me(ApiContext &, const HttpRequest &req, HttpReply reply)
{
    // The address and scheme as the server sees them: what a proxy setup is checked with.
    reply.json(200, {{"name", req.user.name},
                     {"role", roleName(req.user.role)},
                     {"address", req.client.toString()},
                     {"scheme", QString::fromLatin1(req.scheme)}});
}

} // namespace

bool requireJobAccess(ApiContext &, const HttpRequest &request, const Job &job, HttpReply &reply)
{
    if (request.user.role == Role::Admin ||
        (request.user.role == Role::User && !job.owner.isEmpty() && job.owner == request.user.name))
        return true;
    reply.error(403, "forbidden",
                QString("job %1 belongs to %2; only its owner or an admin may change it")
                    .arg(job.id)
                    .arg(job.owner.isEmpty() ? QStringLiteral("no user") : "'" + job.owner + "'"));
    return false;
}

QString ownerOf(const HttpRequest &request)
{
    return request.user.name;
}

Result<void> checkCallbackUrl(const ApiContext &ctx, const JobSpec &spec)
{
    if (spec.callbackUrl.isEmpty())
        return {};
    if (ctx.config.webhookAllow.isEmpty())
        return makeError("invalid_field", "callback_url: this server sends no webhooks (its "
                                          "--webhook-allow lists no scheme and host)");
    if (!webhookUrlAllowed(ctx.config.webhookAllow, QUrl(spec.callbackUrl)))
        return makeError("invalid_field",
                         QString("callback_url: %1 is not a scheme and host this server sends "
                                 "webhooks to (allowed: %2)")
                             .arg(QUrl(spec.callbackUrl)
                                      .adjusted(QUrl::RemovePath | QUrl::RemoveQuery)
                                      .toString(),
                                  ctx.config.webhookAllow.join(", ")));
    return {};
}

void addUserRoutes(HttpServer &http, ApiContext &ctx)
{
    auto bind = [&ctx](ApiHandler f) { return bindHandler(ctx, f); };
    http.addRoute("GET", "/api/v1/users", Access::Admin, bind(listUsers));
    http.addRoute("POST", "/api/v1/users", Access::Admin, bind(createUser));
    http.addRoute("DELETE", "/api/v1/users/([A-Za-z0-9._-]{1,64})", Access::Admin,
                  bind(deleteUser));
    http.addRoute("GET", "/api/v1/me", Access::Client, bind(me));
}

} // namespace farm::server
