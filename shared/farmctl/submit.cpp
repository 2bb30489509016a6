// farmctl submit: a file (its side files gathered), a folder or a .zip becomes one job whose type
// and settings come from the server's job types (GET /api/v1/job-types).
#include "farmctl/commands.h"

#include "bundle/sidefiles.h"
#include "client/bundleuploader.h"
#include "client/syncwait.h"
#include "client/ziplisting.h"
#include "farmctl/output.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QRegularExpression>

namespace farm::ctl {

using client::BundleSource;
using client::JobTypeInfo;
using client::waitFor;

namespace {

/// A setting to apply: its dotted key, its text and the flag that asked for it (for messages).
struct Assignment
{
    QString key;
    QString text;
    QString flag;
};

/// The shortcuts of earlier versions, each now a plain setting key; what a key means, its type
/// and its limits come from the job type's schema.
Result<QList<Assignment>> shortcutAssignments(Context &ctx)
{
    QList<Assignment> out;
    if (ctx.parser.isSet("size")) {
        static const QRegularExpression re("^\\s*(\\d+)\\s*[xX×]\\s*(\\d+)\\s*$");
        const auto m = re.match(ctx.parser.value("size"));
        if (!m.hasMatch())
            return makeError(
                "usage",
                QString("--size must look like 1280x720, not '%1'").arg(ctx.parser.value("size")));
        out.append({"width", m.captured(1), "--size"});
        out.append({"height", m.captured(2), "--size"});
    }
    for (const auto &[flag, key] : {std::pair{"spp", "spp"},
                                    {"seed", "seed"},
                                    {"views", "views"},
                                    {"passes", "passes"},
                                    {"bit-depth", "bit_depth"}})
        if (ctx.parser.isSet(flag))
            out.append({key, ctx.parser.value(flag), QString("--%1").arg(flag)});
    if (ctx.parser.isSet("turntable"))
        out.append({"camera.mode", "turntable", "--turntable"});
    if (ctx.parser.isSet("ortho"))
        out.append({"camera.projection", "orthographic", "--ortho"});
    if (ctx.parser.isSet("ortho-width")) {
        out.append({"camera.projection", "orthographic", "--ortho-width"});
        out.append({"camera.ortho_width", ctx.parser.value("ortho-width"), "--ortho-width"});
    }
    for (const QString &set : ctx.parser.values("set")) {
        const qsizetype eq = set.indexOf('=');
        if (eq <= 0)
            return makeError("usage", QString("--set needs KEY=VALUE, not '%1'").arg(set));
        out.append({set.left(eq).trimmed(), set.mid(eq + 1), "--set"});
    }
    return out;
}

/// The settings the flags ask for, typed and checked by the type's schema alone. Keys left
/// unset are left out: the server fills in the schema's defaults.
Result<QJsonObject> settingsFromOptions(Context &ctx, const JobTypeInfo &type)
{
    const auto assignments = shortcutAssignments(ctx);
    if (!assignments)
        return assignments.error();
    QJsonObject settings;
    for (const Assignment &a : *assignments) {
        const QString path = "settings." + a.key;
        const QJsonObject field = client::settings::fieldAt(type.schema, a.key);
        if (field.isEmpty()) {
            const QStringList known = client::settings::orderedKeys(type.schema);
            if (a.flag == "--set")
                return makeError("usage",
                                 QString("%1 is not a setting of job type '%2' (known: %3; see "
                                         "'farmctl types %2')")
                                     .arg(path, type.name, known.join(", ")));
            return makeError("usage", QString("%1 sets %2, which job type '%3' does not have "
                                              "(see 'farmctl types %3')")
                                          .arg(a.flag, a.key, type.name));
        }
        auto value = client::settings::parseValue(field, a.text, path);
        if (value) {
            const auto ok = client::settings::checkValue(field, *value, path);
            if (!ok)
                value = ok.error();
        }
        if (!value)
            return makeError("usage", a.flag == "--set"
                                          ? value.error().message
                                          : QString("%1: %2").arg(a.flag, value.error().message));
        client::settings::insertAt(settings, a.key, *value);
    }
    return settings;
}

/// The job without its input, validated (envelope by JobSpec, settings by the schema) before
/// anything is uploaded.
Result<JobSpec> specFromOptions(Context &ctx, const JobTypeInfo &type, const QString &defaultName)
{
    const auto settings = settingsFromOptions(ctx, type);
    if (!settings)
        return settings.error();
    QJsonObject spec{{"type", type.name},
                     {"name", ctx.parser.isSet("name") ? ctx.parser.value("name") : defaultName},
                     {"input", QJsonObject{{"archive", QString(64, '0')}}},
                     {"settings", *settings}};
    for (const char *key : {"frames", "chunk"})
        if (ctx.parser.isSet(key) && !type.frames)
            return makeError("usage", QString("job type '%1' renders no frames: --frames and "
                                              "--chunk do not apply")
                                          .arg(type.name));
    if (ctx.parser.isSet("frames"))
        spec.insert("frames", ctx.parser.value("frames"));
    for (const char *key : {"chunk", "priority"})
        if (ctx.parser.isSet(key)) {
            const auto v = intOption(ctx, key);
            if (!v)
                return v.error();
            spec.insert(key, *v);
        }
    auto parsed = JobSpec::fromJson(spec);
    if (!parsed)
        return makeError("usage", parsed.error().message);
    return parsed;
}

QString listed(const QStringList &items)
{
    constexpr int kShown = 20;
    QString s = items.first(qMin<qsizetype>(kShown, items.size())).join(", ");
    if (items.size() > kShown)
        s += QString(" and %1 more").arg(items.size() - kShown);
    return s;
}

/// The files to send and the main file, from a file, a folder or a .zip.
Result<BundleSource> sourceFor(Context &ctx, const QString &path, const QStringList &extensions)
{
    const QFileInfo info(path);
    const QString main = ctx.parser.value("main");
    if (info.isDir()) {
        auto bundle = bundle::gatherFromFolder(info.absoluteFilePath(), main, extensions);
        if (!bundle) {
            if (bundle.error().code == "ambiguous_main_file")
                return makeError("usage", bundle.error().message + " with --main FILE");
            return bundle.error();
        }
        if (!bundle->missing.isEmpty())
            return makeError(
                "missing_file",
                QString("%1 lacks side files its main file needs; nothing was "
                        "uploaded:\n  %2")
                    .arg(path, bundle->missing.join("\n  ").replace("which was not sent",
                                                                    "which is not in the folder")));
        return BundleSource::fromLocal(*bundle);
    }
    if (!info.isFile())
        return makeError("io", QString("%1 is not a readable file or folder").arg(path));
    if (info.suffix().toLower() == "zip") {
        const auto names = client::zipEntryNames(path);
        if (!names)
            return names.error();
        if (!main.isEmpty()) {
            if (!names->contains(main))
                return makeError("usage", QString("%1 holds no file %2").arg(path, main));
            return BundleSource::fromArchive(path, main);
        }
        const QStringList candidates = client::mainCandidates(*names, extensions);
        if (candidates.isEmpty())
            return makeError("usage", QString("%1 holds no file a job type takes (.%2)")
                                          .arg(path, extensions.join(", .")));
        if (candidates.size() > 1)
            return makeError("usage",
                             QString("%1 holds several files that could be the main file: %2; "
                                     "choose one with --main FILE")
                                 .arg(path, listed(candidates)));
        return BundleSource::fromArchive(path, candidates.first());
    }
    if (!main.isEmpty())
        return makeError("usage", "--main applies to a folder or a .zip");
    const bundle::LocalBundle bundle = bundle::gatherFromFile(info.absoluteFilePath());
    if (!bundle.missing.isEmpty())
        return makeError("missing_file",
                         QString("%1 needs side files that are not there; nothing was "
                                 "uploaded:\n  %2")
                             .arg(info.fileName(), bundle.missing.join("\n  ")));
    return BundleSource::fromLocal(bundle);
}

/// --type, else the first of the server's types that takes the main file's extension.
Result<const JobTypeInfo *> pickType(Context &ctx, const QList<JobTypeInfo> &types,
                                     const QString &mainName)
{
    QStringList names;
    for (const JobTypeInfo &t : types)
        names.append(t.name);
    if (ctx.parser.isSet("type")) {
        const JobTypeInfo *type = client::findJobType(types, ctx.parser.value("type"));
        if (!type)
            return makeError("usage", QString("the server has no job type '%1' (it has: %2)")
                                          .arg(ctx.parser.value("type"), names.join(", ")));
        if (!mainName.isEmpty() && !type->takes(mainName))
            return makeError("usage", QString("job type '%1' takes .%2 files, not %3")
                                          .arg(type->name, type->extensions.join(", ."), mainName));
        return type;
    }
    const auto matching = client::jobTypesFor(types, mainName);
    if (matching.isEmpty())
        return makeError("usage",
                         QString("no job type takes %1 (the server's types take .%2); pick one "
                                 "with --type")
                             .arg(mainName, client::allExtensions(types).join(", .")));
    return matching.first();
}

/// Takes the files `type` does not take beside its main file (its served side_extensions) out
/// of a folder's or a file's bundle, so they are not uploaded only to be refused, and names them
/// as the desktop and web clients do. An archive travels whole: the server judges its entries.
QString leaveOutSideFiles(BundleSource &source, const JobTypeInfo &type)
{
    if (source.isArchive())
        return {};
    QStringList leftOut;
    for (const QString &f : std::as_const(source.files))
        if (f != source.main && !type.takesBeside(f))
            leftOut.append(f);
    if (leftOut.isEmpty())
        return {};
    for (const QString &f : std::as_const(leftOut))
        source.files.removeOne(f);
    const QString takes = type.sideExtensions.isEmpty()
                              ? QString("they take their main file alone")
                              : QString("they take .%1").arg(type.sideExtensions.join(", ."));
    return QString("left out, not uploaded: %1 jobs do not take %2 beside %3 (%4)\n")
        .arg(type.name, listed(leftOut), source.main, takes);
}

} // namespace

QList<QCommandLineOption> submitOptions()
{
    return {
        {"name", "Job name (default: the main file's name).", "N"},
        {"type",
         "Job type (see 'farmctl types'; default: the first that takes the main "
         "file's extension).",
         "TYPE"},
        {"main", "The main file of a folder or .zip, relative to it.", "FILE"},
        {"set", "A setting of the job type, e.g. camera.mode=turntable (repeatable).", "KEY=VALUE"},
        {"frames", "Frame range, e.g. 1-24.", "RANGE"},
        {"chunk", "Frames per task.", "N"},
        {"priority", "Priority 0-100.", "P"},
        {"size", "Sets width and height: WxH.", "WxH"},
        {"spp", "Sets spp (samples per pixel).", "N"},
        {"seed", "Sets seed.", "N"},
        {"passes", "Sets passes: a comma list.", "LIST"},
        {"views", "Sets views.", "N"},
        {"bit-depth", "Sets bit_depth.", "BITS"},
        {"turntable", "Sets camera.mode=turntable."},
        {"ortho", "Sets camera.projection=orthographic."},
        {"ortho-width", "Sets camera.projection=orthographic and camera.ortho_width=W.", "W"},
        {"wait", "Wait for the job to end (exit codes as 'farmctl wait')."},
        {"timeout", "With --wait: give up after S seconds.", "S"}};
}

int runSubmit(Context &ctx)
{
    const QString path = ctx.args[0];
    if (!QFileInfo::exists(path))
        return ctx.fail(QString("%1 does not exist").arg(path));
    const auto timeoutS = timeoutOption(ctx);
    if (!timeoutS)
        return ctx.fail(timeoutS.error().message, Usage);
    const int timeout = *timeoutS;
    const auto types = waitFor<QList<JobTypeInfo>>([&](auto cb) { ctx.api.jobTypes(cb); });
    if (!types)
        return ctx.fail(
            QString("cannot read the server's job types: %1").arg(types.error().message));

    // Which files could be the main one: those of --type, else those of any type.
    const JobTypeInfo *chosen =
        ctx.parser.isSet("type") ? client::findJobType(*types, ctx.parser.value("type")) : nullptr;
    const QStringList extensions = chosen ? chosen->extensions : client::allExtensions(*types);
    auto source = sourceFor(ctx, path, extensions);
    if (!source)
        return ctx.fail(source.error().message, source.error().code == "usage" ? Usage : Failure);
    const auto type = pickType(ctx, *types, source->main);
    if (!type)
        return ctx.fail(type.error().message, Usage);
    if (const QString note = leaveOutSideFiles(*source, **type); !note.isEmpty())
        ctx.err << note << Qt::flush;
    auto spec = specFromOptions(ctx, **type, source->displayName());
    if (!spec)
        return ctx.fail(spec.error().message, Usage);

    client::BundleUploader uploader(&ctx.api);
    ProgressLine line(ctx.err);
    const qsizetype fileCount = source->isArchive() ? 1 : source->files.size();
    QObject::connect(&uploader, &client::BundleUploader::progress,
                     [&](qint64 done, qint64 total, const QString &file) {
                         const double f = total > 0 ? double(done) / double(total) : 1.0;
                         line.update(QString("uploading %1 file%2 %3 %4% %5 / %6 %7")
                                         .arg(fileCount)
                                         .arg(fileCount == 1 ? "" : "s")
                                         .arg(progressBar(f))
                                         .arg(int(f * 100))
                                         .arg(formatBytes(done), formatBytes(total), file),
                                     f);
                     });
    QString failedFile;
    const auto input = waitFor<JobInput>([&](auto cb) {
        QObject::connect(&uploader, &client::BundleUploader::finished,
                         [cb](const JobInput &in) { cb(in); });
        QObject::connect(&uploader, &client::BundleUploader::failed,
                         [cb, &failedFile](const QString &file, const Error &e) {
                             failedFile = file;
                             cb(e);
                         });
        uploader.start(*source);
    });
    line.finish();
    if (!input)
        return ctx.fail(
            failedFile.isEmpty()
                ? input.error().message
                : QString("upload of %1 failed: %2").arg(failedFile, input.error().message));
    // Scripts (and the resume test) read how much went over the wire: an interrupted upload
    // of the same file is resumed, a file the server holds is not sent again.
    ctx.err << QString("sent %1 of %2 bytes (%3 already on the server)\n")
                   .arg(uploader.bytesSent())
                   .arg(uploader.totalBytes())
                   .arg(uploader.totalBytes() - uploader.bytesSent())
            << Qt::flush;
    spec->input = *input;
    const auto job = waitFor<Job>([&](auto cb) { ctx.api.createJob(*spec, cb); });
    if (!job)
        return ctx.fail(job.error());
    ctx.out << job->id << '\n' << Qt::flush;
    if (!ctx.parser.isSet("wait"))
        return Ok;
    return waitForJob(ctx, job->id, timeout);
}

} // namespace farm::ctl
