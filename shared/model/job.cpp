#include "model/job.h"

#include "bundle/sidefiles.h"
#include "util/json.h"

#include <QJsonArray>
#include <QRegularExpression>
#include <QSet>
#include <QUrl>

#include <algorithm>

#include <cmath>
#include <tuple>

namespace farm {

namespace {
// Longest `frames` text a job takes (docs/API.md, "Job (as submitted)").
constexpr int kMaxFramesChars = 1000;

QJsonArray idsJson(const QList<qint64> &ids)
{
    QJsonArray a;
    for (qint64 id : ids)
        a.append(id);
    return a;
}
} // namespace

QJsonObject RenderSettings::toJson() const
{
    QJsonObject camera{{"mode", cameraMode}};
    if (projection != QLatin1String("perspective")) // older readers know only "mode"
        camera.insert("projection", projection);
    if (orthoWidth > 0.0)
        camera.insert("ortho_width", orthoWidth);
    QJsonObject o{{"width", width},   {"height", height},
                  {"spp", spp},       {"seed", seed},
                  {"camera", camera}, {"passes", QJsonArray::fromStringList(passes)},
                  {"format", format}, {"bit_depth", bitDepth}};
    if (views > 0)
        o.insert("views", views);
    if (preset != QLatin1String("none"))
        o.insert("preset", preset);
    if (noiseTarget > 0.0)
        o.insert("noise_target", noiseTarget);
    if (timeLimitS > 0.0)
        o.insert("time_limit_s", timeLimitS);
    return o;
}

Result<RenderSettings> RenderSettings::fromJson(const QJsonObject &o)
{
    json::Reader r(o, "settings");
    r.rejectUnknown({"width", "height", "spp", "seed", "camera", "passes", "format", "bit_depth",
                     "views", "preset", "noise_target", "time_limit_s"});
    RenderSettings s;
    s.width = int(r.integer("width", s.width, 16, 8192));
    s.height = int(r.integer("height", s.height, 16, 8192));
    s.spp = int(r.integer("spp", s.spp, 1, 4096));
    s.seed = r.integer("seed", s.seed, 0, 2147483647);
    if (r.has("passes")) {
        s.passes = r.stringList("passes", kRenderPasses);
        if (r.ok() && s.passes.isEmpty())
            r.fail("invalid_field", "settings.passes must name at least one pass");
        if (r.ok() && s.passes.removeDuplicates() > 0)
            r.fail("invalid_field", "settings.passes must name each pass once");
    }
    s.bitDepth = int(r.integer("bit_depth", s.bitDepth, 8, 16));
    if (r.ok() && s.bitDepth != 8 && s.bitDepth != 16)
        r.fail("invalid_field", "settings.bit_depth must be 8 or 16");
    if (r.has("views"))
        s.views = int(r.integer("views", kDefaultTemplateViews, 1, kMaxTemplateViews));
    // 0 (the schema's default) means off.
    for (const auto &[key, value, max] :
         {std::tuple{"noise_target", &s.noiseTarget, kMaxNoiseTarget},
          std::tuple{"time_limit_s", &s.timeLimitS, kMaxFrameTimeLimitS}}) {
        if (!r.ok() || !o.contains(QLatin1String(key)))
            continue;
        const QJsonValue v = o.value(QLatin1String(key));
        if (!v.isDouble() || !std::isfinite(v.toDouble()) || v.toDouble() < 0.0 ||
            v.toDouble() > max)
            r.fail("invalid_field",
                   QStringLiteral("settings.%1 must be a number from 0 (off) to %2")
                       .arg(QLatin1String(key))
                       .arg(max));
        else
            *value = v.toDouble();
    }
    s.preset = r.string("preset", s.preset, 1, 20);
    if (r.ok() && !kTemplatePresets.contains(s.preset))
        r.fail(
            "invalid_field",
            QStringLiteral("settings.preset must be one of %1").arg(kTemplatePresets.join(", ")));
    s.format = r.string("format", s.format, 1, 10);
    if (r.ok() && s.format != "png")
        r.fail("invalid_field", "settings.format must be 'png'");
    const QJsonObject camera = r.object("camera");
    json::Reader c(camera, "settings.camera");
    c.rejectUnknown({"mode", "projection", "ortho_width"});
    s.cameraMode = c.string("mode", s.cameraMode, 1, 20);
    if (c.ok() && s.cameraMode != "still" && s.cameraMode != "turntable")
        c.fail("invalid_field", "settings.camera.mode must be 'still' or 'turntable'");
    s.projection = c.string("projection", s.projection, 1, 20);
    if (c.ok() && s.projection != "perspective" && s.projection != "orthographic")
        c.fail("invalid_field",
               "settings.camera.projection must be 'perspective' or 'orthographic'");
    // 0 (the schema's default, filled in by the server) means "fitted to the model".
    if (c.ok() && c.has("ortho_width") && camera.value("ortho_width").toDouble(-1.0) != 0.0) {
        const QJsonValue w = camera.value("ortho_width");
        if (!w.isDouble() || !std::isfinite(w.toDouble()) || !(w.toDouble() > 0.0) ||
            w.toDouble() > 1e9)
            c.fail("invalid_field",
                   "settings.camera.ortho_width must be a number above 0 and at most 1e9 "
                   "(model units)");
        else if (s.projection != "orthographic")
            c.fail("invalid_field",
                   "settings.camera.ortho_width applies only to the 'orthographic' projection");
        else
            s.orthoWidth = w.toDouble();
    }
    r.adopt(c);
    if (!r.ok())
        return r.error();
    return s;
}

const BundleFile *JobInput::mainFile() const
{
    for (const BundleFile &f : files)
        if (f.path == main)
            return &f;
    return nullptr;
}

bool JobInput::fetching() const
{
    return std::any_of(files.cbegin(), files.cend(),
                       [](const BundleFile &f) { return f.pending(); });
}

QString inputUrlProblem(const QString &url)
{
    if (url.size() > kMaxInputUrlChars)
        return QString("is longer than %1 characters").arg(kMaxInputUrlChars);
    const QUrl u(url, QUrl::StrictMode);
    if (!u.isValid() || u.isRelative())
        return "is not an absolute URL";
    if (u.scheme() != "http" && u.scheme() != "https")
        return QString("is a %1: URL; only http and https are fetched").arg(u.scheme());
    if (u.host().isEmpty())
        return "names no host";
    if (!u.userName().isEmpty() || !u.password().isEmpty())
        return "holds a user name or password; credentials are not accepted in input URLs";
    return {};
}

QString JobInput::mainName() const
{
    return main.section('/', -1);
}

QJsonObject JobInput::toJson() const
{
    if (!archive.isEmpty() && files.isEmpty()) {
        QJsonObject o{{"archive", archive}};
        if (!main.isEmpty())
            o.insert("main", main);
        return o;
    }
    QJsonArray list;
    for (const BundleFile &f : files) {
        QJsonObject o{{"path", f.path}};
        if (!f.file.isEmpty())
            o.insert("file", f.file);
        if (!f.url.isEmpty())
            o.insert("url", f.url);
        list.append(o);
    }
    return {{"main", main}, {"files", list}};
}

Result<JobInput> JobInput::fromJson(const QJsonObject &o)
{
    json::Reader r(o, "input");
    JobInput in;
    if (o.contains("file") || o.contains("name")) { // the single-file form of earlier versions
        r.rejectUnknown({"file", "name"});
        const QString sha = r.string("file", QString(), 0, 64);
        const QString name = r.string("name", QString(), 1, 255);
        if (r.ok() && !isSha256Hex(sha))
            r.fail("invalid_field",
                   "input.file must be the 64-character lowercase hex SHA-256 of an uploaded file");
        // The name becomes the one path of a bundle: the bundle rules apply too (no ':').
        if (r.ok() && (!isSafeFileName(name) || !isSafeBundlePath(name)))
            r.fail("invalid_field", "input.name must be a plain file name (no path separators, "
                                    "'..', ':' or control characters)");
        if (!r.ok())
            return r.error();
        in.main = name;
        in.files = {{name, sha}};
        return in;
    }
    if (o.contains("archive")) {
        r.rejectUnknown({"archive", "main"});
        in.archive = r.string("archive", QString(), 0, 64);
        in.main = r.string("main", QString(), 0, 1024);
        if (r.ok() && !isSha256Hex(in.archive))
            r.fail("invalid_field", "input.archive must be the SHA-256 of an uploaded .zip file");
        if (r.ok() && !in.main.isEmpty() && !isSafeBundlePath(in.main))
            r.fail("invalid_field", "input.main must be a relative path inside the bundle");
        if (!r.ok())
            return r.error();
        return in;
    }
    r.rejectUnknown({"main", "files"});
    in.main = r.string("main", QString(), 1, 1024);
    if (r.ok() && !o.value("files").isArray())
        r.fail("invalid_field", "input.files must be an array of {path, file}");
    if (!r.ok())
        return r.error();
    const QJsonArray list = o.value("files").toArray();
    if (list.isEmpty() || list.size() > kMaxBundleFiles)
        return makeError("invalid_field",
                         QString("input.files must hold 1 to %1 files").arg(kMaxBundleFiles));
    QSet<QString> seen;
    int urls = 0;
    for (qsizetype i = 0; i < list.size(); ++i) {
        const QString at = QString("input.files[%1]").arg(i);
        json::Reader fr(list.at(i).toObject(), at);
        if (!list.at(i).isObject())
            return makeError("invalid_field", at + " must be an object {path, file}");
        fr.rejectUnknown({"path", "file", "url"});
        BundleFile f;
        f.path = fr.string("path", QString(), 1, 1024);
        f.file = fr.string("file", QString(), 0, 64);
        f.url = fr.string("url", QString(), 0, kMaxInputUrlChars);
        if (const QString problem = bundle::bundlePathProblem(f.path);
            fr.ok() && !problem.isEmpty())
            fr.fail("invalid_field",
                    QString("%1.path '%2' %3: paths are relative and stay inside the bundle")
                        .arg(at, f.path.left(200), problem));
        if (fr.ok() && !f.url.isEmpty()) {
            if (const QString problem = inputUrlProblem(f.url); !problem.isEmpty())
                fr.fail("invalid_field", QString("%1.url %2").arg(at, problem));
            else if (++urls > kMaxInputUrls)
                fr.fail("invalid_field",
                        QString("input.files names more than %1 files by URL").arg(kMaxInputUrls));
        }
        if (fr.ok() && !(f.file.isEmpty() && !f.url.isEmpty()) && !isSha256Hex(f.file))
            fr.fail("invalid_field",
                    at + ".file must be the SHA-256 of an uploaded file (or give a url)");
        if (fr.ok() && seen.contains(f.path))
            fr.fail("invalid_field", QString("input.files names '%1' twice").arg(f.path));
        if (!fr.ok())
            return fr.error();
        seen.insert(f.path);
        in.files.append(f);
    }
    if (!seen.contains(in.main))
        return makeError("invalid_field",
                         QString("input.main '%1' is not one of input.files").arg(in.main));
    if (in.mainFile()->pending())
        return makeError("invalid_field",
                         QString("input.main '%1' is named by URL: upload the main file (the "
                                 "server reads it when the job is submitted); side files may be "
                                 "URLs")
                             .arg(in.main));
    return in;
}

QJsonObject JobSpec::toJson() const
{
    QJsonObject o{
        {"name", name},
        {"type", type},
        {"priority", priority},
        {"input", input.toJson()},
        {"frames", frames},
        {"chunk", chunk},
        {"settings", settings},
        {"requirements", QJsonObject{{"gpu", requirements.gpu},
                                     {"tags", QJsonArray::fromStringList(requirements.tags)}}},
        {"depends_on", idsJson(dependsOn)},
        {"max_run_s", maxRunS}};
    if (!callbackUrl.isEmpty())
        o.insert("callback_url", callbackUrl);
    return o;
}

Result<JobSpec> JobSpec::fromJson(const QJsonObject &o)
{
    json::Reader r(o);
    r.rejectUnknown({"name", "type", "priority", "input", "frames", "chunk", "settings",
                     "requirements", "callback_url", "depends_on", "max_run_s"});
    JobSpec j;
    j.type = r.string("type", QString(), 1, 32);
    if (r.ok() && j.type.isEmpty())
        r.fail("invalid_field", "type is required");
    if (r.ok() && !isValidTypeName(j.type))
        r.fail("invalid_field",
               QString("type '%1' is not a job type name ([a-z][a-z0-9_-]*)").arg(j.type));
    if (!r.ok())
        return r.error();

    if (!o.value("input").isObject())
        return makeError("invalid_field", "input is required: {main, files} or {archive}");
    auto input = JobInput::fromJson(o.value("input").toObject());
    if (!input)
        return input.error();
    j.input = *input;

    const QString fallbackName = j.input.main.isEmpty() ? QString("archive") : j.input.mainName();
    j.name = r.string("name", fallbackName, 1, 200);
    j.priority = int(r.integer("priority", 50, 0, 100));
    j.frames = r.string("frames", j.frames, 1, kMaxFramesChars);
    if (r.ok()) {
        const auto range = FrameRange::parse(j.frames);
        if (!range)
            r.fail(range.error().code, range.error().message);
        else if (const QString normal = range->toString(); normal.size() <= kMaxFramesChars)
            j.frames = normal; // else the text as sent: the stored spec must read back
    }
    j.chunk = int(r.integer("chunk", 1, 1, 10000));
    j.settings = r.object("settings");

    const QJsonObject req = r.object("requirements");
    json::Reader rq(req, "requirements");
    rq.rejectUnknown({"gpu", "tags"});
    j.requirements.gpu = rq.boolean("gpu", false);
    j.requirements.tags = rq.stringList("tags");
    r.adopt(rq);

    for (const QJsonValue &v : r.array("depends_on", kMaxJobDependencies)) {
        if (!v.isDouble() || v.toDouble() != double(v.toInteger()) || v.toInteger() <= 0) {
            r.fail("invalid_field", "depends_on must be a list of job ids (positive integers)");
            break;
        }
        if (!j.dependsOn.contains(v.toInteger()))
            j.dependsOn.append(v.toInteger());
    }
    j.maxRunS = int(r.integer("max_run_s", 0, 0, kMaxRunSeconds));

    if (r.ok() && r.has("callback_url") && !o.value("callback_url").isNull()) {
        j.callbackUrl = r.string("callback_url", QString(), 1, kMaxCallbackUrlChars);
        const QUrl url(j.callbackUrl, QUrl::StrictMode);
        if (r.ok() && (!url.isValid() || (url.scheme() != "http" && url.scheme() != "https") ||
                       url.host().isEmpty() || !url.userInfo().isEmpty()))
            r.fail("invalid_field", "callback_url must be an http:// or https:// URL with a host "
                                    "and no user name or password");
    }
    if (!r.ok())
        return r.error();
    return j;
}

JobSpec JobSpec::fromJsonLenient(const QJsonObject &o)
{
    JobSpec j;
    j.name = o.value("name").toString();
    j.type = o.value("type").toString(j.type);
    j.priority = o.value("priority").toInt(j.priority);
    if (auto input = JobInput::fromJson(o.value("input").toObject())) {
        j.input = *input;
    } else { // show what there is: the main file's name at least
        const QJsonObject in = o.value("input").toObject();
        j.input.main = in.value("main").toString(in.value("name").toString());
    }
    j.frames = o.value("frames").toString(j.frames);
    j.chunk = o.value("chunk").toInt(j.chunk);
    j.settings = o.value("settings").toObject();
    const QJsonObject req = o.value("requirements").toObject();
    j.requirements.gpu = req.value("gpu").toBool();
    for (const QJsonValue &t : req.value("tags").toArray())
        j.requirements.tags.append(t.toString());
    for (const QJsonValue &v : o.value("depends_on").toArray())
        if (v.toInteger() > 0)
            j.dependsOn.append(v.toInteger());
    j.maxRunS = o.value("max_run_s").toInt(0);
    j.callbackUrl = o.value("callback_url").toString();
    return j;
}

QJsonObject TaskCounts::toJson() const
{
    return {{"total", total}, {"queued", queued}, {"running", running},
            {"done", done},   {"failed", failed}, {"canceled", canceled}};
}

TaskCounts TaskCounts::fromJson(const QJsonObject &o)
{
    TaskCounts c;
    c.total = o.value("total").toInt();
    c.queued = o.value("queued").toInt();
    c.running = o.value("running").toInt();
    c.done = o.value("done").toInt();
    c.failed = o.value("failed").toInt();
    c.canceled = o.value("canceled").toInt();
    return c;
}

QJsonObject Job::toJson() const
{
    QJsonObject o = spec.toJson();
    o.insert("id", id);
    o.insert("state", farm::toString(state));
    o.insert("created_at", json::fromTime(createdAt));
    o.insert("started_at", json::fromTime(startedAt));
    o.insert("finished_at", json::fromTime(finishedAt));
    o.insert("progress", progress);
    o.insert("tasks", tasks.toJson());
    o.insert("error", error);
    o.insert("owner", owner);
    return o;
}

Result<Job> Job::fromJson(const QJsonObject &o)
{
    QJsonObject specPart = o;
    for (const char *k : {"id", "state", "created_at", "started_at", "finished_at", "progress",
                          "tasks", "error", "owner"})
        specPart.remove(QLatin1String(k));
    Job j;
    j.spec = JobSpec::fromJsonLenient(specPart);
    if (!o.value("id").isDouble())
        return makeError("invalid_field", "id is not a job id");
    j.id = o.value("id").toInteger();
    const auto state = jobStateFromString(o.value("state").toString());
    if (!state)
        return makeError("invalid_field", "state is not a job state");
    j.state = *state;
    j.createdAt = json::toTime(o.value("created_at"));
    j.startedAt = json::toTime(o.value("started_at"));
    j.finishedAt = json::toTime(o.value("finished_at"));
    j.progress = o.value("progress").toDouble();
    j.tasks = TaskCounts::fromJson(o.value("tasks").toObject());
    j.error = o.value("error").toString();
    j.owner = o.value("owner").toString();
    return j;
}

bool isSafeFileName(const QString &name, int maxLen)
{
    if (name.isEmpty() || name.size() > maxLen || name == "." || name == "..")
        return false;
    if (name.contains('/') || name.contains('\\') || name.contains(QLatin1String("..")))
        return false;
    for (const QChar c : name)
        if (c.unicode() < 0x20 || c.unicode() == 0x7f)
            return false;
    return true;
}

bool isSafeBundlePath(const QString &path)
{
    return bundle::bundlePathProblem(path).isEmpty();
}

bool isValidTypeName(const QString &name)
{
    static const QRegularExpression re(QStringLiteral("^[a-z][a-z0-9_-]{0,31}$"));
    return re.match(name).hasMatch();
}

bool isValidOutputName(const QString &name)
{
    static const QRegularExpression re(QStringLiteral("^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$"));
    return re.match(name).hasMatch() && !name.contains(QLatin1String(".."));
}

QString frameFileName(int frame, const QString &extension)
{
    return QString("frame_%1.%2").arg(frame, 4, 10, QChar('0')).arg(extension);
}

bool isSha256Hex(const QString &s)
{
    static const QRegularExpression re(QStringLiteral("^[0-9a-f]{64}$"));
    return re.match(s).hasMatch();
}

} // namespace farm
