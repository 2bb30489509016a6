#pragma once

#include "engines/engine.h"

namespace farm::node {

/// Blender (`blender` job type): `blender --factory-startup -b MAIN.blend --python-exit-code 2
/// -P farmhand_blender.py -- farmhand_task.json` in the task's work directory. The settings
/// script (a resource, written to the work directory) applies the task's settings, names the
/// files the scene misses, and renders each frame to frame_NNNN.<ext> with a FRAME line.
class BlenderEngine : public Engine
{
public:
    /// `program`: a path, or a name looked up on PATH (`--blender`, default "blender").
    /// `probeGpus`: detection also asks Cycles for its CUDA/OptiX/HIP devices (a second
    /// Blender start of a few seconds; worth it on nodes with GPU slots only).
    explicit BlenderEngine(QString program, bool probeGpus = false);

    QString name() const override { return QStringLiteral("blender"); }
    EngineDetection detect() override;
    Result<void> check(const TaskSpec &spec) const override;
    Result<EngineLaunch> launch(const LaunchContext &context) const override;
    std::unique_ptr<ChildOutputReader> reader(const TaskSpec &spec) const override;

    static constexpr const char *kScriptName = "farmhand_blender.py";
    static constexpr const char *kTaskFileName = "farmhand_task.json";

private:
    /// "CUDA: <name>" for every GPU device Cycles lists, in its order.
    QStringList cyclesGpus() const;

    QString m_program;
    bool m_probeGpus = false;
    QString m_resolved; // set by detect()
};

} // namespace farm::node
