#include "jobtypes/jobtyperegistry.h"

#include "util/json.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>

namespace farm::server {

QString bundleExtension(const QString &path)
{
    const QString name = path.section('/', -1);
    return name.contains('.') ? name.section('.', -1).toLower() : QString();
}

bool JobType::takesSideFile(const QString &path) const
{
    if (sideExtensions.contains(kAnySideFile))
        return true;
    const QString ext = bundleExtension(path);
    return !ext.isEmpty() && sideExtensions.contains(ext);
}

QJsonObject JobType::toJson() const
{
    return {{"name", name},
            {"label", label},
            {"description", description},
            {"engine", engine},
            {"extensions", QJsonArray::fromStringList(extensions)},
            {"side_extensions", QJsonArray::fromStringList(sideExtensions)},
            {"frames", frames},
            {"schema", schema.json()}};
}

Result<QList<TaskPlan>> compileFrameChunks(const JobSpec &spec)
{
    const auto range = FrameRange::parse(spec.frames);
    if (!range)
        return range.error();
    if (spec.chunk < 1)
        return makeError("invalid_field", "chunk must be at least 1");
    QList<TaskPlan> plans;
    for (const FrameRange &chunk : range->chunks(spec.chunk))
        plans.append({chunk, {}});
    return plans;
}

JobTypeRegistry JobTypeRegistry::builtin()
{
    JobTypeRegistry r;
    for (JobType t : {withVideo(modelJobType()), templatesJobType(), withVideo(blenderJobType()),
                      encodeJobType(), composeJobType()}) {
        // The built-in types have distinct names: a refusal here is a programming error.
        const auto added = r.add(std::move(t));
        Q_ASSERT(added.ok());
        Q_UNUSED(added);
    }
    return r;
}

const JobTypeRegistry &JobTypeRegistry::standard()
{
    static const JobTypeRegistry types = builtin();
    return types;
}

Result<void> JobTypeRegistry::add(JobType type)
{
    if (!isValidTypeName(type.name))
        return makeError("invalid_schema",
                         QString("'%1' is not a job type name ([a-z][a-z0-9_-]*)").arg(type.name));
    if (find(type.name))
        return makeError("conflict", QString("job type '%1' exists already").arg(type.name));
    if (type.engine.isEmpty() || !type.compile)
        return makeError("invalid_schema",
                         QString("job type '%1' needs an engine and a compiler").arg(type.name));
    m_types.append(std::move(type));
    return {};
}

Result<JobType> JobTypeRegistry::fromDeclaration(const QJsonObject &o)
{
    json::Reader r(o);
    r.rejectUnknown({"name", "label", "description", "engine", "extensions", "side_extensions",
                     "frames", "compile", "schema"});
    JobType t;
    t.name = r.string("name", QString(), 1, 32);
    t.label = r.string("label", t.name, 1, 100);
    t.description = r.string("description", QString(), 0, 2000);
    t.engine = r.string("engine", QString(), 1, 32);
    t.extensions = r.stringList("extensions");
    // Declared before side files were checked, a type took any: it still does unless it says.
    t.sideExtensions =
        o.contains("side_extensions") ? r.stringList("side_extensions") : QStringList{kAnySideFile};
    t.frames = r.boolean("frames", true);
    const QString compile = r.string("compile", "chunks", 1, 16);
    if (r.ok() && compile != "chunks" && compile != "single")
        r.fail("invalid_field", "compile must be 'chunks' or 'single'");
    if (r.ok() && !isValidTypeName(t.name))
        r.fail("invalid_field", QString("name '%1' is not a job type name").arg(t.name));
    if (r.ok() && !isValidTypeName(t.engine))
        r.fail("invalid_field", QString("engine '%1' is not an engine name").arg(t.engine));
    if (!r.ok())
        return r.error();
    for (QString &e : t.extensions)
        e = e.toLower();
    for (QString &e : t.sideExtensions) {
        e = e.toLower();
        static const QRegularExpression kExtension(QStringLiteral("^[a-z0-9_-]{1,16}$"));
        if (e == kAnySideFile ? t.sideExtensions.size() != 1 : !kExtension.match(e).hasMatch())
            return makeError("invalid_field",
                             QString("side_extensions: '%1' is not an extension (lower case "
                                     "letters and digits, no dot), and \"*\" (any file) "
                                     "stands alone")
                                 .arg(e));
    }
    auto schema = SettingsSchema::fromJson(o.value("schema").toObject());
    if (!schema)
        return schema.error();
    t.schema = *schema;
    if (compile == "chunks" && t.frames)
        t.compile = compileFrameChunks;
    else
        t.compile = [](const JobSpec &) {
            return Result<QList<TaskPlan>>(QList<TaskPlan>{{FrameRange(QList<int>{1}), {}}});
        };
    return t;
}

Result<int> JobTypeRegistry::loadDirectory(const QString &dir)
{
    const QDir d(dir);
    if (!d.exists())
        return makeError("not_found", QString("job type folder %1 does not exist").arg(dir));
    int added = 0;
    for (const QString &name : d.entryList({"*.json"}, QDir::Files, QDir::Name)) {
        QFile f(d.filePath(name));
        if (!f.open(QIODevice::ReadOnly) || f.size() > 1024 * 1024)
            return makeError("invalid_schema",
                             QString("%1: cannot read it (or over 1 MiB)").arg(d.filePath(name)));
        auto o = json::parseObject(f.readAll());
        auto t = o ? fromDeclaration(*o) : Result<JobType>(o.error());
        if (t)
            if (auto r = add(*t); !r)
                t = r.error();
        if (!t)
            return makeError("invalid_schema",
                             QString("%1: %2").arg(d.filePath(name), t.error().message));
        ++added;
    }
    return added;
}

const JobType *JobTypeRegistry::find(const QString &name) const
{
    for (const JobType &t : m_types)
        if (t.name == name)
            return &t;
    return nullptr;
}

QStringList JobTypeRegistry::names() const
{
    QStringList out;
    for (const JobType &t : m_types)
        out.append(t.name);
    return out;
}

Result<JobSpec> JobTypeRegistry::validate(JobSpec spec) const
{
    const JobType *type = find(spec.type);
    if (!type)
        return makeError("invalid_field", QString("type '%1' is not a known job type (known: %2)")
                                              .arg(spec.type, names().join(", ")));
    if (!type->frames) {
        if (spec.frames != "1")
            return makeError("invalid_field",
                             QString("frames does not apply to %1 jobs (one render per job); "
                                     "leave it out")
                                 .arg(type->name));
        if (spec.chunk != 1)
            return makeError(
                "invalid_field",
                QString("chunk does not apply to %1 jobs; leave it out").arg(type->name));
    }
    const QString ext = spec.input.mainName().section('.', -1).toLower();
    if (!spec.input.main.isEmpty() && !type->extensions.isEmpty() &&
        (!spec.input.mainName().contains('.') || !type->extensions.contains(ext))) {
        QStringList takers;
        for (const JobType &t : m_types)
            if (t.extensions.contains(ext))
                takers.append(t.name);
        return makeError("invalid_field",
                         QString("%1 jobs take .%2 files, not '%3'%4")
                             .arg(type->name, type->extensions.join(", ."), spec.input.mainName(),
                                  takers.isEmpty()
                                      ? QString()
                                      : QString(" (type %1 takes it)").arg(takers.join(" or "))));
    }
    for (const BundleFile &f : spec.input.files) {
        if (f.path == spec.input.main || type->takesSideFile(f.path))
            continue;
        return makeError(
            "invalid_field",
            type->sideExtensions.isEmpty()
                ? QString("%1 jobs take their main file alone; '%2' cannot travel with it")
                      .arg(type->name, f.path)
                : QString("%1 jobs take .%2 files beside the main file, not '%3'")
                      .arg(type->name, type->sideExtensions.join(", ."), f.path));
    }
    auto settings = type->schema.apply(spec.settings);
    if (!settings)
        return settings.error();
    spec.settings = *settings;
    if (type->check)
        if (auto r = type->check(spec); !r)
            return r.error();
    return spec;
}

Result<void> JobTypeRegistry::checkInput(const JobSpec &spec, const JobType::ReadInput &read) const
{
    const JobType *type = find(spec.type);
    if (!type || !type->checkInput)
        return {};
    return type->checkInput(spec, read);
}

Result<QList<TaskPlan>> JobTypeRegistry::compile(const JobSpec &spec,
                                                 const JobType::InputFile &file) const
{
    const JobType *type = find(spec.type);
    if (!type)
        return makeError("invalid_field",
                         QString("type '%1' is not a known job type").arg(spec.type));
    if (type->compileInput && file)
        return type->compileInput(spec, file);
    return type->compile(spec);
}

std::optional<TaskRole> JobTypeRegistry::taskRole(const JobSpec &spec, const Task &task) const
{
    const JobType *type = find(spec.type);
    if (!type || !type->role)
        return std::nullopt;
    return type->role(spec, task);
}

QJsonObject JobTypeRegistry::taskSettings(const JobSpec &spec, const Task &task) const
{
    if (const auto role = taskRole(spec, task))
        return role->settings;
    const JobType *type = find(spec.type);
    return type && type->frameTaskSettings ? type->frameTaskSettings(spec) : spec.settings;
}

QString JobTypeRegistry::engineFor(const JobSpec &spec, const Task &task) const
{
    if (const auto role = taskRole(spec, task))
        return role->engine;
    const JobType *type = find(spec.type);
    return type ? type->engine : QString();
}

std::optional<int> JobTypeRegistry::completedFrame(const QString &typeName,
                                                   const QString &output) const
{
    const JobType *type = find(typeName);
    if (!type)
        return std::nullopt;
    const auto m = type->frameOutput.match(output);
    if (!m.hasMatch() || m.lastCapturedIndex() < 1)
        return std::nullopt;
    return m.captured(1).toInt();
}

} // namespace farm::server
