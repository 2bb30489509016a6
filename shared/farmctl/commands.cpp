#include "farmctl/commands.h"

#include "client/syncwait.h"
#include "farmctl/output.h"

#include <QJsonDocument>

#include <algorithm>

namespace farm::ctl {

using client::waitFor;

int Context::fail(const QString &message, int code)
{
    err << "error: " << message << '\n' << Qt::flush;
    return code;
}

Result<qint64> parseId(const QString &text, const QString &what)
{
    bool ok = false;
    const qint64 id = text.toLongLong(&ok);
    if (!ok || id <= 0)
        return makeError("usage",
                         QString("%1 must be a positive number, not '%2'").arg(what, text));
    return id;
}

Result<int> intOption(Context &ctx, const char *name)
{
    bool ok = false;
    const int v = ctx.parser.value(name).toInt(&ok);
    if (!ok)
        return makeError("usage", QString("--%1 must be a whole number, not '%2'")
                                      .arg(QLatin1String(name), ctx.parser.value(name)));
    return v;
}

Result<int> timeoutOption(Context &ctx)
{
    if (!ctx.parser.isSet("timeout"))
        return 0;
    const auto v = intOption(ctx, "timeout");
    if (!v || *v < 1)
        return makeError("usage", "--timeout must be a positive number of seconds");
    return *v;
}

namespace {

QList<QCommandLineOption> noOptions()
{
    return {};
}

QList<QCommandLineOption> statusOptions()
{
    return {{"json", "Print the job as the server's JSON."}};
}

QList<QCommandLineOption> jobsOptions()
{
    return {{"state", "Only jobs in these states (comma separated).", "S"},
            {"limit", "At most N jobs (1-1000, default 50).", "N", "50"},
            {"search", "Only jobs whose name contains TEXT.", "TEXT"}};
}

int runStatus(Context &ctx)
{
    const auto id = parseId(ctx.args[0], "JOB");
    if (!id)
        return ctx.fail(id.error().message, Usage);
    if (ctx.parser.isSet("json")) {
        const auto raw = waitFor<QJsonObject>([&](auto cb) {
            ctx.api.sendJson("GET", QString("/api/v1/jobs/%1").arg(*id), nullptr, cb);
        });
        if (!raw)
            return ctx.fail(raw.error());
        ctx.out << QJsonDocument(*raw).toJson(QJsonDocument::Indented) << Qt::flush;
        return Ok;
    }
    const auto job = waitFor<Job>([&](auto cb) { ctx.api.getJob(*id, cb); });
    if (!job)
        return ctx.fail(job.error());
    // The schema only orders the rows: a server without it, or a type it lacks, still shows.
    const auto types = waitFor<QList<client::JobTypeInfo>>([&](auto cb) { ctx.api.jobTypes(cb); });
    const client::JobTypeInfo *type = types ? client::findJobType(*types, job->spec.type) : nullptr;
    ctx.out << formatJob(*job, type ? type->schema : QJsonObject()) << Qt::flush;
    return Ok;
}

int runJobs(Context &ctx)
{
    client::JobQuery query;
    if (ctx.parser.isSet("state")) {
        query.states = ctx.parser.value("state").split(',', Qt::SkipEmptyParts);
        for (QString &s : query.states) {
            s = s.trimmed();
            if (!jobStateFromString(s))
                return ctx.fail(QString("'%1' is not a job state (queued, active, completed, "
                                        "failed, canceled, paused)")
                                    .arg(s),
                                Usage);
        }
    }
    bool ok = false;
    query.limit = ctx.parser.value("limit").toInt(&ok);
    if (!ok || query.limit < 1 || query.limit > 1000)
        return ctx.fail("--limit must be between 1 and 1000", Usage);
    query.search = ctx.parser.value("search");
    const auto page = waitFor<client::JobPage>([&](auto cb) { ctx.api.listJobs(query, cb); });
    if (!page)
        return ctx.fail(page.error());
    QList<QStringList> rows;
    for (const Job &j : page->jobs)
        rows.append({QString::number(j.id), j.spec.type.isEmpty() ? QString("-") : j.spec.type,
                     toString(j.state), QString("%1%").arg(int(j.progress * 100 + 0.5)),
                     j.spec.frames, formatTime(j.createdAt), j.spec.name});
    ctx.out << formatTable({"ID", "TYPE", "STATE", "PROGRESS", "FRAMES", "CREATED", "NAME"}, rows,
                           {0, 3});
    ctx.err << QString("%1 of %2 jobs\n").arg(page->jobs.size()).arg(page->total);
    if (page->skipped > 0)
        ctx.err << QString("%1 jobs this farmctl cannot read were left out\n").arg(page->skipped);
    ctx.out.flush();
    return Ok;
}

int runCancel(Context &ctx)
{
    const auto id = parseId(ctx.args[0], "JOB");
    if (!id)
        return ctx.fail(id.error().message, Usage);
    const auto job = waitFor<Job>([&](auto cb) { ctx.api.cancelJob(*id, cb); });
    if (!job)
        return ctx.fail(job.error());
    ctx.out << QString("job %1 %2\n").arg(job->id).arg(toString(job->state)) << Qt::flush;
    return Ok;
}

// `nodes forget NAME`: releases the name of an offline node whose machine was reinstalled (its
// secret is gone), so that a node may join under the name again.
int forgetNode(Context &ctx, const QList<Node> &nodes)
{
    if (ctx.args.size() != 2)
        return ctx.fail("usage: farmctl nodes forget NAME", Usage);
    const QString &name = ctx.args[1];
    const auto node = std::find_if(nodes.cbegin(), nodes.cend(),
                                   [&](const Node &n) { return n.caps.name == name; });
    if (node == nodes.cend())
        return ctx.fail(QString("no node is named '%1' (see farmctl nodes)").arg(name));
    const auto r = waitFor<QByteArray>([&](auto cb) {
        ctx.api.send("DELETE", QString("/api/v1/nodes/%1").arg(node->id), {}, {}, cb);
    });
    if (!r)
        return ctx.fail(r.error());
    ctx.out << QString("node %1 (%2) forgotten: a node may join as '%2' again\n")
                   .arg(node->id)
                   .arg(name)
            << Qt::flush;
    return Ok;
}

int runNodes(Context &ctx)
{
    if (!ctx.args.isEmpty() && ctx.args[0] != "forget")
        return ctx.fail(
            QString("unknown nodes subcommand '%1' (only 'forget NAME')").arg(ctx.args[0]), Usage);
    const auto nodes = waitFor<QList<Node>>([&](auto cb) { ctx.api.nodes(cb); });
    if (!nodes)
        return ctx.fail(nodes.error());
    if (!ctx.args.isEmpty())
        return forgetNode(ctx, *nodes);
    QList<QStringList> rows;
    for (const Node &n : *nodes) {
        QStringList gpus;
        for (const GpuInfo &g : n.caps.gpus)
            gpus.append(g.name);
        QStringList running;
        for (qint64 t : n.running)
            running.append(QString::number(t));
        rows.append({QString::number(n.id), n.caps.name, toString(n.state),
                     QString("%1/%2").arg(n.running.size()).arg(n.caps.slotCount),
                     QString::number(n.caps.cores), formatBytes(n.caps.ramMb * 1024 * 1024),
                     gpus.isEmpty() ? QString("-") : gpus.join(", "),
                     running.isEmpty() ? QString("-") : running.join(',')});
    }
    ctx.out << formatTable({"ID", "NAME", "STATE", "BUSY", "CORES", "RAM", "GPUS", "TASKS"}, rows,
                           {0, 3, 4, 5})
            << Qt::flush;
    return Ok;
}

int runLog(Context &ctx)
{
    const auto id = parseId(ctx.args[0], "TASK");
    if (!id)
        return ctx.fail(id.error().message, Usage);
    const auto log = waitFor<QString>([&](auto cb) { ctx.api.taskLog(*id, cb); });
    if (!log)
        return ctx.fail(log.error());
    ctx.out << *log;
    if (!log->isEmpty() && !log->endsWith('\n'))
        ctx.out << '\n';
    ctx.out.flush();
    return Ok;
}

QString usageText()
{
    QString s = "Usage: farmctl [--server URL] [--token T] COMMAND [options]\n\nCommands:\n";
    for (const Command &c : commands())
        s += QString("  %1  %2\n")
                 .arg(QString::fromLatin1(c.synopsis).leftJustified(22),
                      QString::fromLatin1(c.summary));
    return s + "\nRun 'farmctl COMMAND --help' for the options of one command.\n";
}

} // namespace

const QList<Command> &commands()
{
    static const QList<Command> table{
        {"submit", "submit PATH",
         "Upload a file (with its side files), a folder or a .zip as one job; prints its id.", 1, 1,
         &submitOptions, &runSubmit},
        {"types", "types [NAME]", "List the server's job types; with NAME, its settings.", 0, 1,
         &typesOptions, &runTypes},
        {"wait", "wait JOB", "Follow a job until it ends (exit 0 completed, 1 failed, 2 timeout).",
         1, 1, &waitOptions, &runWait},
        {"download", "download JOB DIR", "Fetch every output of a job into DIR.", 2, 2, &noOptions,
         &runDownload},
        {"status", "status JOB", "Show one job.", 1, 1, &statusOptions, &runStatus},
        {"jobs", "jobs", "List jobs, newest first.", 0, 0, &jobsOptions, &runJobs},
        {"cancel", "cancel JOB", "Cancel a job.", 1, 1, &noOptions, &runCancel},
        {"nodes", "nodes [forget NAME]",
         "List render nodes; 'forget NAME' releases an offline node's name.", 0, 2, &noOptions,
         &runNodes},
        {"log", "log TASK", "Print the log of a task.", 1, 1, &noOptions, &runLog},
        {"users", "users [list | add NAME | remove NAME]",
         "Manage API users (admin); 'add' prints the new token once.", 0, 2, &usersOptions,
         &runUsers},
        {"pause", "pause JOB", "Pause a job (running tasks finish, queued ones wait).", 1, 1,
         &noOptions, &runPause},
        {"resume", "resume JOB", "Resume a paused job.", 1, 1, &noOptions, &runResume},
        {"retry", "retry JOB", "Start the failed and canceled tasks of a finished job again.", 1, 1,
         &noOptions, &runRetry},
        {"rerun", "rerun JOB", "Render a finished job again (all frames or --frames).", 1, 1,
         &rerunOptions, &runRerun},
        {"priority", "priority JOB N", "Set a job's priority (0-100).", 2, 2, &noOptions,
         &runPriority},
        {"requeue", "requeue TASK", "Put one task back in the queue (renders it again).", 1, 1,
         &noOptions, &runRequeue},
        {"delete", "delete JOB", "Delete a finished job, its outputs and unused inputs.", 1, 1,
         &noOptions, &runDelete},
        {"explain", "explain JOB", "Say why a job is not running.", 1, 1, &noOptions, &runExplain},
        {"drain", "drain NODE", "Let a node finish its tasks and take no new ones.", 1, 1,
         &noOptions, &runDrain},
        {"enable", "enable NODE", "Let a drained or disabled node take tasks again.", 1, 1,
         &noOptions, &runEnable},
        {"disable", "disable NODE", "Give a node no new tasks.", 1, 1, &noOptions, &runDisable},
        {"archive", "archive JOB FILE", "Download every output of a job as one zip.", 2, 2,
         &noOptions, &runArchive},
        {"retention", "retention", "List what the retention rules expire; --apply removes it.", 0,
         0, &retentionOptions, &runRetention},
    };
    return table;
}

int run(const QStringList &arguments)
{
    QTextStream out(stdout);
    QTextStream err(stderr);
    QCommandLineParser parser;
    parser.setApplicationDescription("Farmhand render farm command-line client.");
    const QCommandLineOption server("server", "Farm server URL (default http://127.0.0.1:8420).",
                                    "URL", "http://127.0.0.1:8420");
    const QCommandLineOption token("token", "API token sent as a bearer token.", "T");
    const QCommandLineOption help({"h", "help"}, "Show help.");
    parser.addOptions({server, token, help});

    // First pass: find the command, ignoring options that belong to it.
    QCommandLineParser probe;
    probe.addOptions({server, token, help});
    QStringList known{"server", "token", "help"};
    for (const Command &c : commands())
        for (const QCommandLineOption &o : c.options())
            if (!known.contains(o.names().first())) { // commands may share an option name
                known.append(o.names().first());
                probe.addOption(o);
            }
    probe.parse(arguments);
    const QStringList positional = probe.positionalArguments();
    auto usageError = [&](const QString &message) {
        err << "error: " << message << '\n' << Qt::flush;
        return int(Usage);
    };
    if (positional.isEmpty()) {
        if (probe.isSet("help")) {
            out << usageText() << Qt::flush;
            return Ok;
        }
        err << usageText();
        return usageError("no command given");
    }
    const auto command = std::find_if(commands().begin(), commands().end(), [&](const Command &c) {
        return positional.first() == QLatin1String(c.name);
    });
    if (command == commands().end())
        return usageError(
            QString("unknown command '%1' (see farmctl --help)").arg(positional.first()));

    parser.addOptions(command->options());
    parser.addPositionalArgument(command->name, command->summary, command->synopsis);
    if (!parser.parse(arguments))
        return usageError(parser.errorText());
    if (parser.isSet(help)) {
        out << parser.helpText() << Qt::flush;
        return Ok;
    }
    const QStringList args = parser.positionalArguments().mid(1);
    if (args.size() < command->minArgs || args.size() > command->maxArgs)
        return usageError(QString("usage: farmctl %1").arg(command->synopsis));
    const auto url = client::ApiClient::parseServerUrl(parser.value(server));
    if (!url)
        return usageError(url.error().message);

    client::ApiClient api(*url);
    api.setToken(parser.value(token));
    Context ctx{api, parser, args, out, err};
    return command->run(ctx);
}

} // namespace farm::ctl
