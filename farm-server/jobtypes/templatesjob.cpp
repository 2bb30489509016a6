// The `templates` job type: a multi-view template set for pose estimation, one render per job.
#include "jobtypes/jobtype.h"
#include "jobtypes/schemafields.h"

namespace farm::server {

using namespace schema;

JobType templatesJobType()
{
    JobType t = modelJobType(); // the same files and renderer
    t.name = "templates";
    t.label = "Pose templates";
    t.description = "Views placed over a sphere around the normalized object, each with rgb, "
                    "mask and NOCS (xyz) images, plus the cameras' poses and intrinsics.";
    t.frames = false;
    const QJsonObject model = t.schema.json().value("properties").toObject();
    QJsonObject passes = model.value("passes").toObject();
    passes.insert("default", QJsonArray{"rgb", "mask", "xyz"});
    t.schema = SettingsSchema(object({
        {"views", with(integer("Views", "Views", 1, kMaxTemplateViews),
                       {{"default", kDefaultTemplateViews},
                        {"description", "Camera positions spread evenly over a sphere"}})},
        {"width", model.value("width").toObject()},
        {"height", model.value("height").toObject()},
        {"spp", model.value("spp").toObject()},
        {"seed", model.value("seed").toObject()},
        {"passes", passes},
        {"bit_depth", model.value("bit_depth").toObject()},
        {"format", model.value("format").toObject()},
    }));
    // A template set is one render: the renderer places all views in one run (42 views at
    // preview sizes take seconds), so splitting it would only repeat the scene load per task.
    t.compile = [](const JobSpec &) {
        return Result<QList<TaskPlan>>(QList<TaskPlan>{{FrameRange(QList<int>{1}), {}}});
    };
    t.frameOutput = QRegularExpression(); // views are files of one render, not frames
    return t;
}

} // namespace farm::server
