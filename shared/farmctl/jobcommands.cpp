// The long-running commands: submit (upload + create), wait and download.
#include "farmctl/commands.h"

#include "client/syncwait.h"
#include "client/uploader.h"
#include "farmctl/output.h"
#include "farmctl/waiter.h"

#include <QDir>
#include <QEventLoop>
#include <QFileInfo>
#include <QJsonArray>
#include <QRegularExpression>

#include <utility>

namespace farm::ctl {

using client::waitFor;

namespace {

constexpr int kParallelDownloads = 4;

Result<int> intOption(Context &ctx, const char *name)
{
    bool ok = false;
    const int v = ctx.parser.value(name).toInt(&ok);
    if (!ok)
        return makeError("usage", QString("--%1 must be a whole number, not '%2'")
                                      .arg(QLatin1String(name), ctx.parser.value(name)));
    return v;
}

/// The job spec of `submit`'s flags, validated before anything is uploaded.
Result<JobSpec> specFromOptions(Context &ctx, const QString &fileName)
{
    QJsonObject camera{{"mode", ctx.parser.isSet("turntable") ? "turntable" : "still"}};
    if (ctx.parser.isSet("ortho") || ctx.parser.isSet("ortho-width"))
        camera.insert("projection", "orthographic");
    if (ctx.parser.isSet("ortho-width")) {
        bool ok = false;
        const double width = ctx.parser.value("ortho-width").toDouble(&ok);
        if (!ok)
            return makeError("usage", QString("--ortho-width must be a number, not '%1'")
                                          .arg(ctx.parser.value("ortho-width")));
        camera.insert("ortho_width", width); // the range is checked with the rest of the spec
    }
    QJsonObject settings{{"camera", camera}};
    if (ctx.parser.isSet("size")) {
        static const QRegularExpression re("^(\\d{1,5})x(\\d{1,5})$");
        const auto m = re.match(ctx.parser.value("size"));
        if (!m.hasMatch())
            return makeError(
                "usage",
                QString("--size must look like 1280x720, not '%1'").arg(ctx.parser.value("size")));
        settings.insert("width", m.captured(1).toInt());
        settings.insert("height", m.captured(2).toInt());
    }
    if (ctx.parser.isSet("passes")) {
        QJsonArray passes;
        for (const QString &p : ctx.parser.value("passes").split(',', Qt::SkipEmptyParts))
            passes.append(p.trimmed());
        settings.insert("passes", passes);
    }
    for (const auto &[flag, key] : {std::pair{"views", "views"}, {"bit-depth", "bit_depth"}})
        if (ctx.parser.isSet(flag)) {
            const auto v = intOption(ctx, flag);
            if (!v)
                return v.error();
            settings.insert(key, *v);
        }
    const QString type = ctx.parser.isSet("type") ? ctx.parser.value("type") : "model";
    QJsonObject spec{{"type", type},
                     {"name", ctx.parser.isSet("name") ? ctx.parser.value("name") : fileName},
                     {"input", QJsonObject{{"file", QString(64, '0')}, {"name", fileName}}}};
    for (const char *key : {"spp", "seed"})
        if (ctx.parser.isSet(key)) {
            const auto v = intOption(ctx, key);
            if (!v)
                return v.error();
            settings.insert(key, *v);
        }
    for (const char *key : {"chunk", "priority"})
        if (ctx.parser.isSet(key)) {
            const auto v = intOption(ctx, key);
            if (!v)
                return v.error();
            spec.insert(key, *v);
        }
    if (ctx.parser.isSet("frames"))
        spec.insert("frames", ctx.parser.value("frames"));
    spec.insert("settings", settings);
    auto parsed = JobSpec::fromJson(spec);
    if (!parsed)
        return makeError("usage", parsed.error().message);
    return parsed;
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

} // namespace

QList<QCommandLineOption> submitOptions()
{
    return {{"name", "Job name (default: the file name).", "N"},
            {"type", "Job type: model (default) or templates (a pose template set).", "TYPE"},
            {"views", "templates: number of views around the object (default 42).", "N"},
            {"passes",
             "Comma-separated passes: rgb,depth,normal,albedo,mask,xyz,instance (default rgb; "
             "templates: rgb,mask,xyz).",
             "LIST"},
            {"bit-depth", "Bits per PNG channel: 8 (default) or 16.", "BITS"},
            {"frames", "Frame range, e.g. 1-24 (default 1).", "RANGE"},
            {"chunk", "Frames per task (default 1).", "N"},
            {"turntable", "Orbit the camera around the model over the frames."},
            {"ortho", "Orthographic camera, its view width fitted to the model."},
            {"ortho-width", "Orthographic camera with this view width in model units.", "W"},
            {"size", "Image size WxH (default 640x480).", "WxH"},
            {"spp", "Samples per pixel (default 16).", "N"},
            {"seed", "Random seed (default 1).", "N"},
            {"priority", "Priority 0-100 (default 50).", "P"},
            {"wait", "Wait for the job to end (exit codes as 'farmctl wait')."},
            {"timeout", "With --wait: give up after S seconds.", "S"}};
}

QList<QCommandLineOption> waitOptions()
{
    return {{"timeout", "Give up after S seconds (exit 2).", "S"}};
}

int runSubmit(Context &ctx)
{
    const QString path = ctx.args[0];
    const QFileInfo info(path);
    if (!info.isFile())
        return ctx.fail(QString("%1 is not a readable file").arg(path));
    auto spec = specFromOptions(ctx, info.fileName());
    if (!spec)
        return ctx.fail(spec.error().message, Usage);
    const auto timeout = timeoutOption(ctx);
    if (!timeout)
        return ctx.fail(timeout.error().message, Usage);

    client::Uploader uploader(&ctx.api);
    ProgressLine line(ctx.err);
    QObject::connect(&uploader, &client::Uploader::hashProgress, [&](qint64 done, qint64 total) {
        const double f = total > 0 ? double(done) / double(total) : 1.0;
        line.update(QString("hashing %1 %2%").arg(info.fileName()).arg(int(f * 100)), f);
    });
    QObject::connect(&uploader, &client::Uploader::progress, [&](qint64 sent, qint64 total) {
        const double f = total > 0 ? double(sent) / double(total) : 1.0;
        line.update(QString("uploading %1 %2 %3% %4 / %5")
                        .arg(info.fileName(), progressBar(f))
                        .arg(int(f * 100))
                        .arg(formatBytes(sent), formatBytes(total)),
                    f);
    });
    const auto sha = waitFor<QString>([&](auto cb) {
        QObject::connect(&uploader, &client::Uploader::finished, [cb](const QString &s) { cb(s); });
        QObject::connect(&uploader, &client::Uploader::failed, [cb](const Error &e) { cb(e); });
        uploader.start(path);
    });
    line.finish();
    if (!sha)
        return ctx.fail(QString("upload of %1 failed: %2").arg(path, sha.error().message));

    spec->input.file = *sha;
    const auto job = waitFor<Job>([&](auto cb) { ctx.api.createJob(*spec, cb); });
    if (!job)
        return ctx.fail(job.error());
    ctx.out << job->id << '\n' << Qt::flush;
    if (!ctx.parser.isSet("wait"))
        return Ok;
    return waitForJob(ctx, job->id, *timeout);
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
