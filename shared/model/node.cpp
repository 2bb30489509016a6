#include "model/node.h"

#include "util/json.h"

#include <QJsonArray>

namespace farm {

namespace {
constexpr qsizetype kMaxEngineDevices = 64;
} // namespace

QJsonObject NodeCapabilities::toJson() const
{
    QJsonArray e;
    for (const EngineInfo &x : engines) {
        QJsonObject engine{{"name", x.name}, {"version", x.version}};
        if (!x.devices.isEmpty())
            engine.insert("devices", QJsonArray::fromStringList(x.devices));
        e.append(engine);
    }
    QJsonArray g;
    for (const GpuInfo &x : gpus)
        g.append(QJsonObject{{"name", x.name},
                             {"uuid", x.uuid},
                             {"vram_mb", x.vramMb},
                             {"cc", x.computeCapability},
                             {"driver", x.driver}});
    return {{"name", name},
            {"slots", slotCount},
            {"cores", cores},
            {"ram_mb", ramMb},
            {"engines", e},
            {"gpus", g},
            {"tags", QJsonArray::fromStringList(tags)}};
}

Result<NodeCapabilities> NodeCapabilities::fromJson(const QJsonObject &o)
{
    json::Reader r(o);
    NodeCapabilities c;
    c.name = r.string("name", QString(), 1, 100);
    if (r.ok() && c.name.isEmpty())
        r.fail("invalid_field", "name is required");
    c.slotCount = int(r.integer("slots", 1, 1, 256));
    c.cores = int(r.integer("cores", 1, 1, 4096));
    c.ramMb = r.integer("ram_mb", 0, 0, qint64(1) << 40);
    c.tags = r.stringList("tags");
    for (const QJsonValue &v : o.value("engines").toArray()) {
        const QJsonObject e = v.toObject();
        if (!e.value("name").isString()) {
            r.fail("invalid_field", "engines[] need a name");
            break;
        }
        EngineInfo engine{e.value("name").toString(), e.value("version").toString(), {}};
        // Devices are informative: strings only, a bounded number.
        for (const QJsonValue &d : e.value("devices").toArray())
            if (d.isString() && engine.devices.size() < kMaxEngineDevices)
                engine.devices.append(d.toString().left(200));
        c.engines.append(engine);
    }
    for (const QJsonValue &v : o.value("gpus").toArray()) {
        const QJsonObject g = v.toObject();
        c.gpus.append({g.value("name").toString(), g.value("uuid").toString(),
                       g.value("vram_mb").toInteger(), g.value("cc").toString(),
                       g.value("driver").toString()});
    }
    if (!r.ok())
        return r.error();
    return c;
}

QJsonObject Node::toJson() const
{
    QJsonObject o = caps.toJson();
    QJsonArray r;
    for (qint64 t : running)
        r.append(t);
    o.insert("id", id);
    o.insert("state", farm::toString(state));
    o.insert("running", r);
    o.insert("connected_at", json::fromTime(connectedAt));
    o.insert("last_seen", json::fromTime(lastSeen));
    return o;
}

Result<Node> Node::fromJson(const QJsonObject &o)
{
    auto caps = NodeCapabilities::fromJson(o);
    if (!caps)
        return caps.error();
    Node n;
    n.caps = *caps;
    n.id = o.value("id").toInteger();
    const auto state = nodeStateFromString(o.value("state").toString());
    if (!state)
        return makeError("invalid_field", "state is not a node state");
    n.state = *state;
    for (const QJsonValue &v : o.value("running").toArray())
        n.running.append(v.toInteger());
    n.connectedAt = json::toTime(o.value("connected_at"));
    n.lastSeen = json::toTime(o.value("last_seen"));
    return n;
}

} // namespace farm
