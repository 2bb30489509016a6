#include "taskspec.h"

#include "util/json.h"

#include <QJsonArray>
#include <QSet>

namespace farm::node {

namespace {

Result<void> readBundle(const QJsonObject &input, TaskSpec &t)
{
    json::Reader r(input, "task.assign.input");
    r.rejectUnknown({"main", "files"});
    t.main = r.string("main", QString(), 1, 1024);
    if (!r.ok())
        return r.error();
    const QJsonValue files = input.value("files");
    if (!files.isArray() || files.toArray().isEmpty())
        return makeError("invalid_field", "task.assign.input.files must be a non-empty list");
    const QJsonArray list = files.toArray();
    if (list.size() > kMaxBundleFiles)
        return makeError("invalid_field", QString("task.assign.input.files holds %1 files; at "
                                                  "most %2 are allowed")
                                              .arg(list.size())
                                              .arg(kMaxBundleFiles));
    QSet<QString> seen;
    for (qsizetype i = 0; i < list.size(); ++i) {
        const QString at = QString("task.assign.input.files[%1]").arg(i);
        const QJsonObject f = list.at(i).toObject();
        const QString path = f.value("path").toString();
        const QString sha = f.value("file").toString();
        if (!list.at(i).isObject() || !isSafeBundlePath(path))
            return makeError("invalid_field",
                             QString("%1.path '%2' must be a relative path without '..', '\\', "
                                     "':' or empty segments")
                                 .arg(at, path));
        if (!isSha256Hex(sha))
            return makeError("invalid_field", at + ".file must be a sha256 hex digest");
        if (seen.contains(path))
            return makeError("invalid_field", QString("%1.path '%2' appears twice").arg(at, path));
        seen.insert(path);
        t.files.append({path, sha});
    }
    if (!t.mainFile())
        return makeError(
            "invalid_field",
            QString("task.assign.input.main '%1' is not one of the bundle's files").arg(t.main));
    return {};
}

} // namespace

Result<TaskSpec> TaskSpec::fromAssign(const QJsonObject &data)
{
    json::Reader r(data, "task.assign");
    TaskSpec t;
    if (!data.value("task").isDouble())
        return makeError("invalid_field", "task.assign.task must be a task id");
    t.id = r.integer("task", 0, 1, std::numeric_limits<qint64>::max() / 2);
    t.jobId = r.integer("job", 0, 0, std::numeric_limits<qint64>::max() / 2);
    t.attempt = int(r.integer("attempt", 1, 1, 1000000));
    t.type = r.string("type", "model", 1, 32);
    if (r.ok() && !isValidTypeName(t.type))
        r.fail("invalid_field",
               QString("task.assign.type '%1' is not a job type name").arg(t.type));
    const bool builtin = t.type == "model" || t.type == "templates";
    t.engine = r.string("engine", builtin ? QStringLiteral("farmhand") : QString(), 1, 32);
    if (r.ok() && !isValidTypeName(t.engine))
        r.fail("invalid_field", "task.assign.engine must name an engine");
    const QString frames = r.string("frames", QString(), 1, 100000);
    const QString jobFrames = r.string("job_frames", frames, 1, 100000);
    const QJsonObject input = r.object("input");
    t.settings = r.object("settings");
    if (!r.ok())
        return r.error();

    auto range = FrameRange::parse(frames);
    if (!range || range->isEmpty())
        return makeError("invalid_field", "task.assign.frames: " + (range ? QString("no frames")
                                                                          : range.error().message));
    t.frames = *range;
    auto jobRange = FrameRange::parse(jobFrames);
    if (!jobRange || jobRange->isEmpty())
        return makeError("invalid_field",
                         "task.assign.job_frames: " +
                             (jobRange ? QString("no frames") : jobRange.error().message));
    t.jobFrames = *jobRange;
    if (auto b = readBundle(input, t); !b)
        return b.error();
    return t;
}

const BundleFile *TaskSpec::mainFile() const
{
    for (const BundleFile &f : files)
        if (f.path == main)
            return &f;
    return nullptr;
}

} // namespace farm::node
