#pragma once

#include "client/apiclient.h"

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QStringList>
#include <QTextStream>

namespace farm::ctl {

/// Exit codes shared by every command.
enum Exit { Ok = 0, Failure = 1, TimedOut = 2, Usage = 64 };

/// Everything a command handler needs; handlers return the process exit code.
struct Context
{
    client::ApiClient &api;
    QCommandLineParser &parser;
    QStringList args; // positional arguments after the command name
    QTextStream &out;
    QTextStream &err;

    /// Prints "error: <message>" on stderr and returns `code`.
    int fail(const QString &message, int code = Failure);
    int fail(const Error &error) { return fail(error.message); }
};

/// The integer value of option `name` ("usage" error naming the option when it is not one).
Result<int> intOption(Context &ctx, const char *name);
/// --timeout in seconds: 0 when not set, else a positive number ("usage" error otherwise).
Result<int> timeoutOption(Context &ctx);

struct Command
{
    const char *name;
    const char *synopsis; // "submit PATH"
    const char *summary;
    int minArgs;
    int maxArgs;
    QList<QCommandLineOption> (*options)();
    int (*run)(Context &ctx);
};

/// The command table (commands.cpp and jobcommands.cpp).
const QList<Command> &commands();

int runSubmit(Context &ctx);
int runTypes(Context &ctx);
int runWait(Context &ctx);
int runDownload(Context &ctx);
QList<QCommandLineOption> submitOptions();
QList<QCommandLineOption> waitOptions();
QList<QCommandLineOption> typesOptions();

// Actions (actioncommands.cpp).
int runPause(Context &ctx);
int runResume(Context &ctx);
int runRetry(Context &ctx);
int runRerun(Context &ctx);
int runPriority(Context &ctx);
int runRequeue(Context &ctx);
int runDelete(Context &ctx);
int runExplain(Context &ctx);
int runDrain(Context &ctx);
int runEnable(Context &ctx);
int runDisable(Context &ctx);
int runArchive(Context &ctx);
int runRetention(Context &ctx);
QList<QCommandLineOption> retentionOptions();
QList<QCommandLineOption> rerunOptions();

// Users (userscommand.cpp).
int runUsers(Context &ctx);
QList<QCommandLineOption> usersOptions();

/// Follows job `id` until it ends, drawing progress on stderr; returns Ok/Failure/TimedOut.
int waitForJob(Context &ctx, qint64 id, int timeoutS);
/// Positive integer id from a command argument, or an error naming `what`.
Result<qint64> parseId(const QString &text, const QString &what);

/// Parses `arguments` (argv, program name first) and runs one command.
int run(const QStringList &arguments);

} // namespace farm::ctl
