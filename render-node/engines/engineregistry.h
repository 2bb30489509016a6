#pragma once

#include "engine.h"
#include "model/node.h"

#include <QHash>
#include <QList>
#include <QString>

#include <memory>

namespace farm::node {

struct NodeConfig;

/// The node's engines by name. Engines are registered first, detected once (at the agent's
/// start); only the ones found are advertised in `hello` and run tasks.
class EngineRegistry
{
public:
    /// The built-in engines: `farmhand` (the node's own renderer, `render-node render`) and
    /// `blender` (`NodeConfig::blenderProgram`).
    static std::shared_ptr<EngineRegistry> builtins(const NodeConfig &config);

    /// Registers `engine` under its name, replacing an engine of the same name.
    void add(std::shared_ptr<Engine> engine);
    /// Runs every engine's detection (blocking) and logs what was found.
    void detect();
    bool isDetected() const { return m_detected; }

    /// The engines found, in registration order, as `hello` lists them.
    QList<EngineInfo> available() const;
    /// The engine called `name` if it was found, else null.
    std::shared_ptr<const Engine> find(const QString &name) const;
    /// Why a task for `name` cannot run here, for its task.failed message.
    QString whyUnavailable(const QString &name) const;

private:
    struct Entry
    {
        std::shared_ptr<Engine> engine;
        EngineDetection detection;
    };
    QList<Entry> m_entries;
    bool m_detected = false;
};

} // namespace farm::node
