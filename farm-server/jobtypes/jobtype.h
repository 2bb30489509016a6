#pragma once

#include "model/job.h"
#include "model/settingsschema.h"
#include "store/jobstore.h"
#include "util/result.h"

#include <QJsonObject>
#include <QRegularExpression>
#include <QStringList>

#include <functional>

namespace farm::server {

/// One job type (docs/JOBTYPES.md): what it is called, the engine its tasks need, the files it
/// takes, its settings schema, its rules across fields and its compiler. One source file per
/// type defines one (modeljob.cpp, templatesjob.cpp, blenderjob.cpp); nothing else in the
/// server, the node protocol or the clients knows the type.
struct JobType
{
    QString name;
    QString label;
    QString description;
    QString engine;
    QStringList extensions; // main-file extensions, lower case, without the dot
    bool frames = true;     // whether `frames` and `chunk` apply
    SettingsSchema schema;
    /// Rules across fields, run on a spec whose settings have their defaults (optional).
    std::function<Result<void>(const JobSpec &)> check;
    /// Job → tasks. Runs on a validated spec.
    std::function<Result<QList<TaskPlan>>(const JobSpec &)> compile;
    /// Output names that are a frame's main image (group 1: the frame number): a frame whose
    /// main image landed is complete and never rendered again.
    QRegularExpression frameOutput{QStringLiteral("^frame_(\\d{1,9})\\.[A-Za-z0-9]+$")};

    /// As served by GET /api/v1/job-types.
    QJsonObject toJson() const;
};

/// Chunks of `chunk` consecutive frames of the job's range, no dependencies: the compiler of
/// every type whose frames render independently.
Result<QList<TaskPlan>> compileFrameChunks(const JobSpec &spec);

JobType modelJobType();
JobType templatesJobType();
JobType blenderJobType();

} // namespace farm::server
