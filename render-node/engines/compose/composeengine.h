#pragma once

#include "engines/engine.h"
#include "model/node.h"

namespace farm::node {

/// Timed text over video: `<program> compose compose.json` (render-node/video), for tasks of
/// type `compose`. The task's bundle holds the scenario (its main file, .json) and at most one
/// video; its settings are compose settings (video/composer.h).
class ComposeEngine : public Engine
{
public:
    /// `program`: the render-node binary (its `compose` command); `gpus`: the node's GPU slots,
    /// where NVENC is tried.
    ComposeEngine(QString program, QList<GpuInfo> gpus);

    QString name() const override { return QStringLiteral("compose"); }
    EngineDetection detect() override;
    Result<void> check(const TaskSpec &spec) const override;
    Result<EngineLaunch> launch(const LaunchContext &context) const override;
    std::unique_ptr<ChildOutputReader> reader(const TaskSpec &spec) const override;

    /// The bundle's input video (by extension, not the main file), or empty.
    static QString videoPath(const TaskSpec &spec);

private:
    QString m_program;
    QList<GpuInfo> m_gpus;
};

} // namespace farm::node
