#pragma once

#include "engines/engine.h"
#include "model/node.h"

namespace farm::node {

/// Image frames to a video: `<program> encode encode.json` (render-node/video), for tasks of
/// type `encode`: the encode task a frame job's compiler adds, and `encode` jobs. The task's
/// input bundle holds the frames; its settings are video settings (video/videosettings.h).
class EncodeEngine : public Engine
{
public:
    /// `program`: the render-node binary (its `encode` command); `gpus`: the node's GPU slots,
    /// where NVENC is tried.
    EncodeEngine(QString program, QList<GpuInfo> gpus);

    QString name() const override { return QStringLiteral("encode"); }
    EngineDetection detect() override;
    Result<void> check(const TaskSpec &spec) const override;
    Result<EngineLaunch> launch(const LaunchContext &context) const override;
    std::unique_ptr<ChildOutputReader> reader(const TaskSpec &spec) const override;

    /// The bundle's image files in frame order (by the number in their names, else by path).
    static QStringList framePaths(const TaskSpec &spec);

private:
    QString m_program;
    QList<GpuInfo> m_gpus;
};

} // namespace farm::node
