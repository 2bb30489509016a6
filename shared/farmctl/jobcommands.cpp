// The long-running commands: wait and download (submit is in submit.cpp).
#include "farmctl/commands.h"

#include "client/syncwait.h"
#include "farmctl/output.h"
#include "farmctl/waiter.h"

#include <QDir>
#include <QEventLoop>
#include <QFileInfo>

#include <utility>

namespace farm::ctl {

using client::waitFor;

namespace {

constexpr int kParallelDownloads = 4;

} // namespace

QList<QCommandLineOption> waitOptions()
{
    return {{"timeout", "Give up after S seconds (exit 2).", "S"}};
}

int runWait(Context &ctx)
{
    const auto id = parseId(ctx.args[0], "JOB");
    if (!id)
        return ctx.fail(id.error().message, Usage);
    const auto timeout = timeoutOption(ctx);
    if (!timeout)
        return ctx.fail(timeout.error().message, Usage);
    return waitForJob(ctx, *id, *timeout);
}

int waitForJob(Context &ctx, qint64 id, int timeoutS)
{
    Waiter waiter(ctx.api, id, timeoutS);
    ProgressLine line(ctx.err);
    QObject::connect(&waiter, &Waiter::jobChanged, [&](const Job &job) {
        line.update(QString("job %1 %2 %3% %4/%5 tasks %6")
                        .arg(job.id)
                        .arg(progressBar(job.progress))
                        .arg(int(job.progress * 100 + 0.5))
                        .arg(job.tasks.done)
                        .arg(job.tasks.total)
                        .arg(toString(job.state)),
                    job.progress);
    });
    QEventLoop loop;
    QObject::connect(&waiter, &Waiter::finished, &loop, &QEventLoop::quit);
    waiter.start();
    if (waiter.outcome() == Waiter::Outcome::Running)
        loop.exec();
    line.finish();
    const Job &job = waiter.job();
    switch (waiter.outcome()) {
    case Waiter::Outcome::Completed:
        ctx.err << QString("job %1 completed\n").arg(id) << Qt::flush;
        return Ok;
    case Waiter::Outcome::Failed:
        return ctx.fail(job.error.isEmpty()
                            ? QString("job %1 %2").arg(id).arg(toString(job.state))
                            : QString("job %1 %2: %3").arg(id).arg(toString(job.state), job.error));
    case Waiter::Outcome::TimedOut:
        return ctx.fail(QString("timed out after %1 s waiting for job %2 (still %3)")
                            .arg(timeoutS)
                            .arg(id)
                            .arg(waiter.job().id ? toString(job.state) : QString("unknown")),
                        TimedOut);
    case Waiter::Outcome::Error:
    case Waiter::Outcome::Running:
        break;
    }
    return ctx.fail(waiter.error());
}

int runDownload(Context &ctx)
{
    const auto id = parseId(ctx.args[0], "JOB");
    if (!id)
        return ctx.fail(id.error().message, Usage);
    const QString dirPath = ctx.args[1];
    const auto outputs =
        waitFor<QList<client::OutputInfo>>([&](auto cb) { ctx.api.jobOutputs(*id, cb); });
    if (!outputs)
        return ctx.fail(outputs.error());
    QDir dir(dirPath);
    if (!dir.mkpath("."))
        return ctx.fail(QString("cannot create directory %1").arg(dirPath));

    qint64 totalBytes = 0;
    for (const auto &o : *outputs)
        totalBytes += o.size;
    qint64 doneBytes = 0;
    int next = 0, inFlight = 0, done = 0;
    std::optional<Error> firstError;
    ProgressLine line(ctx.err);
    QEventLoop loop;
    // A few downloads at once hide the per-request latency without flooding the server.
    std::function<void()> pump = [&] {
        while (!firstError && inFlight < kParallelDownloads && next < outputs->size()) {
            const client::OutputInfo o = outputs->at(next++);
            ++inFlight;
            ctx.api.downloadOutput(*id, o.name, dir.filePath(o.name), [&, o](Result<qint64> r) {
                --inFlight;
                if (!r && !firstError)
                    firstError = makeError(r.error().code, o.name + ": " + r.error().message);
                if (r) {
                    ++done;
                    doneBytes += *r;
                    const double f = totalBytes > 0 ? double(doneBytes) / double(totalBytes)
                                                    : double(done) / double(outputs->size());
                    line.update(QString("downloading %1 %2/%3 %4")
                                    .arg(progressBar(f))
                                    .arg(done)
                                    .arg(outputs->size())
                                    .arg(formatBytes(doneBytes)),
                                f);
                }
                pump();
                if (inFlight == 0)
                    loop.quit();
            });
        }
    };
    pump();
    if (inFlight > 0)
        loop.exec();
    line.finish();
    if (firstError)
        return ctx.fail(*firstError);
    ctx.out << done << '\n' << Qt::flush;
    ctx.err << QString("downloaded %1 files (%2) to %3\n")
                   .arg(done)
                   .arg(formatBytes(doneBytes), QDir::toNativeSeparators(dir.absolutePath()))
            << Qt::flush;
    return Ok;
}

} // namespace farm::ctl
