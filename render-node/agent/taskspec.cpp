#include "taskspec.h"

#include "util/json.h"

namespace farm::node {

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
    if (r.ok() && t.type != "model" && t.type != "templates")
        r.fail("unsupported", QString("task type '%1' is not supported by this node").arg(t.type));
    const QString frames = r.string("frames", QString(), 1, 100000);
    const QString jobFrames = r.string("job_frames", frames, 1, 100000);
    const QJsonObject input = r.object("input");
    const QJsonObject settings = r.object("settings");
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

    t.inputSha = input.value("file").toString();
    t.inputName = input.value("name").toString();
    if (!isSha256Hex(t.inputSha))
        return makeError("invalid_field", "task.assign.input.file must be a sha256 hex digest");
    if (!isSafeFileName(t.inputName))
        return makeError("invalid_field",
                         "task.assign.input.name must be a plain file name (no '/', '\\' or '..')");

    auto s = RenderSettings::fromJson(settings);
    if (!s)
        return s.error();
    t.settings = *s;
    if (t.isTemplates() && (t.settings.views < 1 || t.settings.cameraMode != "still" ||
                            t.settings.projection != "perspective"))
        return makeError("invalid_field", "task.assign.settings: a templates task needs views and "
                                          "a still camera with perspective projection");
    if (!t.isTemplates() && t.settings.views != 0)
        return makeError("invalid_field", "task.assign.settings.views applies only to templates");
    return t;
}

QStringList TaskSpec::renderArguments(const QString &inputPath, const QString &output,
                                      int threads) const
{
    QStringList args{"render", inputPath, "-o", output};
    // A template set places its own cameras: --frames/--turntable cannot go with --views.
    if (isTemplates())
        args << "--views" << QString::number(settings.views);
    else
        args << "--frames" << frames.toString();
    args << "--size" << QString("%1x%2").arg(settings.width).arg(settings.height) //
         << "--spp" << QString::number(settings.spp)                              //
         << "--seed" << QString::number(settings.seed)                            //
         << "--threads" << QString::number(threads)                               //
         << "--passes" << settings.passes.join(',')                               //
         << "--bit-depth" << QString::number(settings.bitDepth);
    if (!isTemplates() && settings.projection == "orthographic") {
        if (settings.orthoWidth > 0.0)
            args << "--ortho-width" << QString::number(settings.orthoWidth, 'g', 17);
        else
            args << "--ortho";
    }
    if (!isTemplates() && settings.cameraMode == "turntable") {
        // The renderer places frame f at (f - FIRST) / COUNT of a turn, so COUNT is the span of
        // the job's range: a stepped range ("1-24:2") still makes one full turn.
        const int first = jobFrames.frames().first();
        const int span = jobFrames.frames().last() - first + 1;
        args << "--turntable"
             << "--cycle" << QString("%1:%2").arg(first).arg(span);
    }
    return args;
}

} // namespace farm::node
