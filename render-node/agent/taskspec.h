#pragma once

#include "model/job.h"
#include "util/framerange.h"
#include "util/result.h"

#include <QJsonObject>
#include <QList>
#include <QString>

namespace farm::node {

/// A validated `task.assign` message (docs/API.md, "/ws/node"; docs/JOBTYPES.md). The settings
/// stay a JSON object: the task's engine reads them (Engine::check).
struct TaskSpec
{
    qint64 id = 0;
    qint64 jobId = 0;
    int attempt = 1;
    QString type = QStringLiteral("model"); // the job type
    QString engine = QStringLiteral("farmhand");
    FrameRange frames;
    /// The job's whole range; a turntable places each frame by its share of it.
    FrameRange jobFrames;
    /// The input bundle: `main` is one of `files`' paths. Every path is a safe relative path
    /// (isSafeBundlePath), unique, and every file a SHA-256.
    QString main;
    QList<BundleFile> files;
    QJsonObject settings;

    /// Checks the envelope, the frames and the bundle; not the settings (the engine does).
    /// Without `engine` (servers before job types), `model` and `templates` mean `farmhand`.
    static Result<TaskSpec> fromAssign(const QJsonObject &data);
    const BundleFile *mainFile() const;
};

} // namespace farm::node
