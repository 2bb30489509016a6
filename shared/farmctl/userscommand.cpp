// farmctl users: list, add and remove API users (docs/API.md, "Users and roles").
#include "client/syncwait.h"
#include "farmctl/commands.h"
#include "farmctl/output.h"

#include <QJsonArray>

namespace farm::ctl {

using client::waitFor;

QList<QCommandLineOption> usersOptions()
{
    return {{"role", "Role of a new user: user (default) or admin.", "ROLE", "user"}};
}

int runUsers(Context &ctx)
{
    const QString sub = ctx.args.value(0, "list");
    if (sub == "list" && ctx.args.size() <= 1) {
        const auto r = waitFor<QJsonObject>(
            [&](auto cb) { ctx.api.sendJson("GET", "/api/v1/users", nullptr, cb); });
        if (!r)
            return ctx.fail(r.error());
        QList<QStringList> rows;
        for (const QJsonValue &v : r->value("users").toArray()) {
            const QJsonObject u = v.toObject();
            rows.append({QString::number(u.value("id").toInteger()), u.value("name").toString(),
                         u.value("role").toString(), u.value("created_at").toString()});
        }
        ctx.out << formatTable({"ID", "NAME", "ROLE", "CREATED"}, rows, {0}) << Qt::flush;
        return Ok;
    }
    if (sub == "add" && ctx.args.size() == 2) {
        const QString role = ctx.parser.value("role");
        if (role != "user" && role != "admin")
            return ctx.fail("--role must be user or admin", Usage);
        const QJsonObject body{{"name", ctx.args[1]}, {"role", role}};
        const auto r = waitFor<QJsonObject>(
            [&](auto cb) { ctx.api.sendJson("POST", "/api/v1/users", &body, cb); });
        if (!r)
            return ctx.fail(r.error());
        // The token alone on stdout, for scripts; the server keeps only its hash.
        ctx.out << r->value("token").toString() << '\n' << Qt::flush;
        ctx.err << QString("user '%1' (%2) added; the token above is shown this once\n")
                       .arg(r->value("name").toString(), r->value("role").toString())
                << Qt::flush;
        return Ok;
    }
    if (sub == "remove" && ctx.args.size() == 2) {
        const auto r = waitFor<QByteArray>([&](auto cb) {
            ctx.api.send("DELETE", "/api/v1/users/" + QUrl::toPercentEncoding(ctx.args[1]), {}, {},
                         cb);
        });
        if (!r)
            return ctx.fail(r.error());
        ctx.err << QString("user '%1' removed\n").arg(ctx.args[1]) << Qt::flush;
        return Ok;
    }
    return ctx.fail("usage: farmctl users [list] | users add NAME [--role admin|user] | users "
                    "remove NAME",
                    Usage);
}

} // namespace farm::ctl
