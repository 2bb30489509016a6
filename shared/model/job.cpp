#include "model/job.h"

#include "util/json.h"

#include <QJsonArray>
#include <QRegularExpression>

#include <cmath>

namespace farm {

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
    return o;
}

Result<RenderSettings> RenderSettings::fromJson(const QJsonObject &o)
{
    json::Reader r(o, "settings");
    r.rejectUnknown(
        {"width", "height", "spp", "seed", "camera", "passes", "format", "bit_depth", "views"});
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
    if (c.ok() && c.has("ortho_width")) {
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

namespace {

// Fields whose meaning depends on the job type: a template set is one render of
// `settings.views` views, so frames, chunks and the camera mode do not apply to it.
void checkTypeRules(json::Reader &r, const QJsonObject &o, JobSpec &j)
{
    const QJsonObject settings = o.value("settings").toObject();
    if (j.type == "model") {
        if (settings.contains("views"))
            r.fail("invalid_field", "settings.views applies only to templates jobs");
        return;
    }
    if (j.frames != "1")
        r.fail("invalid_field",
               "frames does not apply to templates jobs (one template set per job); leave it out");
    else if (j.chunk != 1)
        r.fail("invalid_field", "chunk does not apply to templates jobs; leave it out");
    else if (j.settings.cameraMode != "still")
        r.fail("invalid_field",
               "settings.camera.mode 'turntable' does not apply to templates jobs: their views "
               "are placed over a sphere around the object");
    else if (j.settings.projection != "perspective")
        r.fail("invalid_field",
               "settings.camera.projection 'orthographic' does not apply to templates jobs: "
               "their cameras are pinholes with OpenCV intrinsics");
    if (j.settings.views == 0)
        j.settings.views = kDefaultTemplateViews;
    if (!settings.contains("passes"))
        j.settings.passes = QStringList{"rgb", "mask", "xyz"};
}

} // namespace

QJsonObject JobSpec::toJson() const
{
    return {{"name", name},
            {"type", type},
            {"priority", priority},
            {"input", QJsonObject{{"file", input.file}, {"name", input.name}}},
            {"frames", frames},
            {"chunk", chunk},
            {"settings", settings.toJson()},
            {"requirements", QJsonObject{{"gpu", requirements.gpu},
                                         {"tags", QJsonArray::fromStringList(requirements.tags)}}}};
}

Result<JobSpec> JobSpec::fromJson(const QJsonObject &o)
{
    json::Reader r(o);
    r.rejectUnknown({"name", "type", "priority", "input", "frames", "chunk", "settings",
                     "requirements", "callback_url"});
    JobSpec j;
    j.type = r.string("type", QString(), 1, 32);
    if (r.ok() && j.type.isEmpty())
        r.fail("invalid_field", "type is required");
    if (r.ok() && j.type != "model" && j.type != "templates")
        r.fail("invalid_field",
               QString("type '%1' is not a known job type (known: model, templates)").arg(j.type));

    const QJsonObject input = r.object("input");
    json::Reader in(input, "input");
    in.rejectUnknown({"file", "name"});
    j.input.file = in.string("file", QString(), 0, 64);
    j.input.name = in.string("name", QString(), 1, 255);
    if (in.ok() && !isSha256Hex(j.input.file))
        in.fail("invalid_field",
                "input.file must be the 64-character lowercase hex SHA-256 of an uploaded file");
    if (in.ok() && !isSafeFileName(j.input.name))
        in.fail("invalid_field",
                "input.name must be a plain file name (no path separators or '..')");
    r.adopt(in);

    j.name = r.string("name", j.input.name, 1, 200);
    j.priority = int(r.integer("priority", 50, 0, 100));
    j.frames = r.string("frames", j.frames, 1, 1000);
    if (r.ok()) {
        const auto range = FrameRange::parse(j.frames);
        if (!range)
            r.fail(range.error().code, range.error().message);
        else
            j.frames = range->toString();
    }
    j.chunk = int(r.integer("chunk", 1, 1, 10000));

    if (r.ok()) {
        const auto settings = RenderSettings::fromJson(r.object("settings"));
        if (!settings)
            r.fail(settings.error().code, settings.error().message);
        else
            j.settings = *settings;
    }
    if (r.ok())
        checkTypeRules(r, o, j);

    const QJsonObject req = r.object("requirements");
    json::Reader rq(req, "requirements");
    rq.rejectUnknown({"gpu", "tags"});
    j.requirements.gpu = rq.boolean("gpu", false);
    j.requirements.tags = rq.stringList("tags");
    r.adopt(rq);

    if (r.has("callback_url") && !o.value("callback_url").isNull())
        r.fail("invalid_field", "callback_url is not supported yet; send null or leave it out");
    if (!r.ok())
        return r.error();
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
    return o;
}

Result<Job> Job::fromJson(const QJsonObject &o)
{
    QJsonObject specPart = o;
    for (const char *k :
         {"id", "state", "created_at", "started_at", "finished_at", "progress", "tasks", "error"})
        specPart.remove(QLatin1String(k));
    auto spec = JobSpec::fromJson(specPart);
    if (!spec)
        return spec.error();
    Job j;
    j.spec = *spec;
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
