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
        {"preset",
         with(choice("Preset", "Views", kTemplatePresets),
              {{"default", "none"},
               {"description",
                "sam6d: SAM-6D's 42 views, light and object scale, files in templates/ as its "
                "loaders read them (views is then 42; spp counts samples on edges only, twice "
                "that where an edge's contrast is strong). "
                "See docs/TEMPLATES.md"}})},
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
    // A preset places its own views and writes the files its estimator reads (8-bit images).
    t.check = [](const JobSpec &spec) -> Result<void> {
        const QString preset = spec.settings.value("preset").toString("none");
        if (preset == QLatin1String("sam6d") &&
            spec.settings.value("views").toInt(kSam6dTemplateViews) != kSam6dTemplateViews)
            return makeError("invalid_field",
                             QString("settings.views must be %1 with the sam6d preset (its own "
                                     "poses)")
                                 .arg(kSam6dTemplateViews));
        if (preset == QLatin1String("sam6d") && spec.settings.value("bit_depth").toInt(8) != 8)
            return makeError("invalid_field",
                             "settings.bit_depth must be 8 with the sam6d preset (its loader "
                             "reads 8-bit images)");
        return {};
    };
    // A template set is one render: the renderer places all views in one run (42 views at
    // preview sizes take seconds), so splitting it would only repeat the scene load per task.
    t.compile = [](const JobSpec &) {
        return Result<QList<TaskPlan>>(QList<TaskPlan>{{FrameRange(QList<int>{1}), {}}});
    };
    t.frameOutput = QRegularExpression(); // views are files of one render, not frames
    return t;
}

} // namespace farm::server
