// JSON as it enters the server (json::parseObject, every REST body), read as a job
// (JobSpec::fromJson, fromJsonLenient), validated against the built-in job types' schemas and
// compiled into tasks; read as a declared job type (JobTypeRegistry::fromDeclaration) and as a
// settings object for each built-in schema; and read as a compose scenario.
#include "fuzzcheck.h"

#include "jobtypes/jobtyperegistry.h"
#include "model/job.h"
#include "model/scenario.h"
#include "util/framerange.h"
#include "util/json.h"

#include <QJsonDocument>
#include <QSet>

using namespace farm;

namespace {

QString show(const QJsonObject &o)
{
    return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact).left(2000));
}

// What JobSpec::fromJson promises about a spec it accepts (docs/API.md, "Job (as submitted)").
void checkSpec(const JobSpec &spec)
{
    FUZZ_CHECK(isValidTypeName(spec.type), spec.type);
    FUZZ_CHECK(spec.name.size() >= 1 && spec.name.size() <= 200, spec.name);
    FUZZ_CHECK(spec.priority >= 0 && spec.priority <= 100, QString::number(spec.priority));
    FUZZ_CHECK(spec.chunk >= 1 && spec.chunk <= 10000, QString::number(spec.chunk));
    // Normalized, unless the normal text would break the 1000 characters the stored spec is
    // read back with.
    const auto range = FrameRange::parse(spec.frames);
    FUZZ_CHECK(range.ok() && spec.frames.size() <= 1000, spec.frames);
    FUZZ_CHECK(range->toString() == spec.frames || range->toString().size() > 1000, spec.frames);
    const JobInput &in = spec.input;
    if (!in.archive.isEmpty()) {
        FUZZ_CHECK(isSha256Hex(in.archive) && in.files.isEmpty(), in.archive);
        FUZZ_CHECK(in.main.isEmpty() || isSafeBundlePath(in.main), in.main);
        return;
    }
    FUZZ_CHECK(!in.files.isEmpty() && in.files.size() <= kMaxBundleFiles,
               QString::number(in.files.size()));
    FUZZ_CHECK(in.mainFile() != nullptr, in.main);
    QSet<QString> seen;
    for (const BundleFile &f : in.files) {
        // The single-file form's name is a plain file name, so a safe bundle path too.
        FUZZ_CHECK(isSafeBundlePath(f.path), f.path);
        FUZZ_CHECK(!f.path.split(u'/').contains(QStringLiteral("..")), f.path);
        FUZZ_CHECK(isSha256Hex(f.file), f.file);
        FUZZ_CHECK(!seen.contains(f.path), f.path);
        seen.insert(f.path);
    }
}

void checkValidated(const server::JobTypeRegistry &types, const JobSpec &valid)
{
    const server::JobType *type = types.find(valid.type);
    FUZZ_CHECK(type != nullptr, valid.type);
    // What the server stores passes again unchanged (a retry or a restart re-reads it).
    const auto again = types.validate(valid);
    FUZZ_CHECK(again.ok(), again.error().message + " for " + show(valid.toJson()));
    FUZZ_CHECK(*again == valid, show(again->settings) + " != " + show(valid.settings));
    // A job the server takes is one its engine's node reads: the farmhand renderer reads the
    // same settings keys on its own (RenderSettings).
    Task frameTask; // one of the type's own tasks
    frameTask.frames = QStringLiteral("1");
    if (type->engine == QLatin1String("farmhand")) {
        // Frame tasks carry the settings without what only the server reads (settings.video).
        const auto render = RenderSettings::fromJson(types.taskSettings(valid, frameTask));
        FUZZ_CHECK(render.ok(), render.error().message + " for " + show(valid.settings));
    }
    const auto plans = types.compile(valid);
    FUZZ_CHECK(plans.ok(), plans.error().message);
    FUZZ_CHECK(!plans->isEmpty(), show(valid.toJson()));
    for (qsizetype i = 0; i < plans->size(); ++i) {
        const server::TaskPlan &p = plans->at(i);
        // Only a task with a role (the encode task of settings.video) has no frames, and it
        // waits for every frame task.
        Task task;
        task.frames = p.frames.toString();
        const bool role = types.taskRole(valid, task).has_value();
        FUZZ_CHECK(!p.frames.isEmpty() || role, QString::number(i));
        FUZZ_CHECK(!role || p.after.size() == i, QString::number(p.after.size()));
        FUZZ_CHECK(p.frames.size() <= std::max(valid.chunk, 1), QString::number(p.frames.size()));
        for (int after : p.after)
            FUZZ_CHECK(after >= 0 && after < i, QString::number(after)); // no cycles
    }
}

// Applying a schema's result again changes nothing: defaults are in, hidden fields are out.
void checkSchema(const SettingsSchema &schema, const QJsonObject &settings)
{
    const auto applied = schema.apply(settings);
    if (!applied) {
        FUZZ_CHECK(!applied.error().code.isEmpty() && !applied.error().message.isEmpty(),
                   show(settings));
        return;
    }
    const auto again = schema.apply(*applied);
    FUZZ_CHECK(again.ok(), again.error().message + " for " + show(*applied));
    FUZZ_CHECK(*again == *applied, show(*again) + " != " + show(*applied));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const server::JobTypeRegistry types = server::JobTypeRegistry::builtin();
    const QByteArray text = fuzz::bytes(data, size);

    const auto parsed = json::parseObject(text);
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(text, &error);
    const bool isObject = error.error == QJsonParseError::NoError && doc.isObject();
    if (!parsed) {
        FUZZ_CHECK(parsed.error().code == QLatin1String("invalid_json"), parsed.error().code);
        // Refused although Qt read an object: only for a string UTF-8 cannot hold.
        FUZZ_CHECK(!isObject || !json::findUnpairedSurrogate(doc.object()).isEmpty(),
                   parsed.error().message);
        return 0;
    }
    FUZZ_CHECK(isObject, "parseObject accepted what Qt does not read as an object");
    const QJsonObject o = *parsed;
    // The byte scan that skips the walk never misses a surrogate the parser let through.
    FUZZ_CHECK(json::findUnpairedSurrogate(o).isEmpty(), json::findUnpairedSurrogate(o));

    if (const auto spec = JobSpec::fromJson(o)) {
        checkSpec(*spec);
        const auto back = JobSpec::fromJson(spec->toJson());
        FUZZ_CHECK(back.ok(), back.error().message + " for " + show(spec->toJson()));
        FUZZ_CHECK(*back == *spec, show(back->toJson()) + " != " + show(spec->toJson()));
        if (const auto valid = types.validate(*spec))
            checkValidated(types, *valid);
    } else {
        FUZZ_CHECK(!spec.error().message.isEmpty(), spec.error().code);
    }
    const JobSpec lenient = JobSpec::fromJsonLenient(o);
    (void)lenient.toJson();

    // The whole object as a settings object of each built-in type.
    for (const server::JobType &t : types.types())
        checkSchema(t.schema, o);
    // A job type declared in a JSON file, then its schema over the object's "settings".
    if (const auto declared = server::JobTypeRegistry::fromDeclaration(o)) {
        FUZZ_CHECK(isValidTypeName(declared->name), declared->name);
        checkSchema(declared->schema, o.value(QLatin1String("settings")).toObject());
        (void)declared->toJson();
    }
    // The same bytes as a compose scenario (read by the server at submit and by the node).
    if (const auto scenario = Scenario::fromJson(text)) {
        for (const Cue &cue : scenario->cues)
            FUZZ_CHECK(cue.end > cue.start && cue.start >= 0,
                       QString("cue %1..%2").arg(cue.start).arg(cue.end));
    } else {
        FUZZ_CHECK(!scenario.error().message.isEmpty(), scenario.error().code);
    }
    return 0;
}
