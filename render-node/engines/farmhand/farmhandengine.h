#pragma once

#include "engines/engine.h"
#include "model/node.h"

namespace farm::node {

/// The built-in renderer: `<program> render MAIN -o OUT ...` (render-node/renderer), for the
/// `model` and `templates` job types. Its child speaks the protocol of renderer/childprotocol.h.
class FarmhandEngine : public Engine
{
public:
    /// `program`: the render-node binary (its `render` command); `gpus`: the node's GPU slots.
    FarmhandEngine(QString program, QList<GpuInfo> gpus);

    QString name() const override { return QStringLiteral("farmhand"); }
    EngineDetection detect() override;
    Result<void> check(const TaskSpec &spec) const override;
    Result<EngineLaunch> launch(const LaunchContext &context) const override;
    std::unique_ptr<ChildOutputReader> reader(const TaskSpec &spec) const override;

    /// Arguments after the program name for `render-node render ...`. `output` is the frame
    /// pattern of a model job (`dir/frame_####.png`) or the directory of a template set.
    static QStringList renderArguments(const TaskSpec &spec, const RenderSettings &settings,
                                       const QString &inputPath, const QString &output,
                                       int threads);

    /// Seconds between the child's partial previews (`--preview-interval`).
    static constexpr double kChildPreviewIntervalS = 1.5;

private:
    QString m_program;
    QList<GpuInfo> m_gpus;
};

} // namespace farm::node
