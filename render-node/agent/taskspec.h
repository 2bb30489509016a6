#pragma once

#include "model/job.h"
#include "util/framerange.h"
#include "util/result.h"

#include <QJsonObject>
#include <QString>

namespace farm::node {

/// A validated `task.assign` message (docs/API.md, "/ws/node").
struct TaskSpec
{
    qint64 id = 0;
    qint64 jobId = 0;
    int attempt = 1;
    QString type = QStringLiteral("model"); // model | templates
    FrameRange frames;
    /// The job's whole range; a turntable places each frame by its share of it.
    FrameRange jobFrames;
    QString inputSha;
    QString inputName;
    RenderSettings settings;

    static Result<TaskSpec> fromAssign(const QJsonObject &data);
    bool isTemplates() const { return type == QLatin1String("templates"); }
    /// Arguments after the program name for `render-node render ...`. `output` is the frame
    /// pattern of a model job (`dir/frame_####.png`) or the directory of a template set.
    QStringList renderArguments(const QString &inputPath, const QString &output, int threads) const;
};

} // namespace farm::node
