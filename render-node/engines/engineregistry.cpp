#include "engineregistry.h"

#include "agent/nodeconfig.h"
#include "blender/blenderengine.h"
#include "compose/composeengine.h"
#include "encode/encodeengine.h"
#include "farmhand/farmhandengine.h"

#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcEngines, "farm.node.engines")

namespace farm::node {

std::shared_ptr<EngineRegistry> EngineRegistry::builtins(const NodeConfig &config)
{
    auto registry = std::make_shared<EngineRegistry>();
    registry->add(std::make_shared<FarmhandEngine>(config.childProgram, config.gpus));
    // Cycles' GPU devices are worth a second Blender start only on a node with GPU slots.
    registry->add(std::make_shared<BlenderEngine>(config.blenderProgram, !config.gpus.isEmpty()));
    // Frames to video, in the node's own binary (`render-node encode`).
    registry->add(std::make_shared<EncodeEngine>(config.childProgram, config.gpus));
    // Timed text over video (libass), in the node's own binary (`render-node compose`).
    registry->add(std::make_shared<ComposeEngine>(config.childProgram, config.gpus));
    return registry;
}

void EngineRegistry::add(std::shared_ptr<Engine> engine)
{
    for (Entry &e : m_entries) {
        if (e.engine->name() == engine->name()) {
            e = {std::move(engine), {}};
            return;
        }
    }
    m_entries.append({std::move(engine), {}});
}

void EngineRegistry::detect()
{
    for (Entry &e : m_entries) {
        e.detection = e.engine->detect();
        if (e.detection.available)
            qCInfo(lcEngines).noquote()
                << "engine" << e.engine->name() << e.detection.version
                << (e.detection.devices.isEmpty()
                        ? QString()
                        : QString("(%1)").arg(e.detection.devices.join(", ")));
        else
            qCInfo(lcEngines).noquote()
                << "engine" << e.engine->name() << "is not available:" << e.detection.reason;
    }
    m_detected = true;
}

QList<EngineInfo> EngineRegistry::available() const
{
    QList<EngineInfo> out;
    for (const Entry &e : m_entries)
        if (e.detection.available)
            out.append({e.engine->name(), e.detection.version, e.detection.devices});
    return out;
}

std::shared_ptr<const Engine> EngineRegistry::find(const QString &name) const
{
    for (const Entry &e : m_entries)
        if (e.engine->name() == name && e.detection.available)
            return e.engine;
    return nullptr;
}

QString EngineRegistry::whyUnavailable(const QString &name) const
{
    for (const Entry &e : m_entries)
        if (e.engine->name() == name)
            return e.detection.available ? QString()
                                         : QString("engine '%1' is not available on this node: %2")
                                               .arg(name, e.detection.reason);
    return QString("this node has no engine '%1'").arg(name);
}

} // namespace farm::node
