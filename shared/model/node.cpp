#include "model/node.h"

#include "util/json.h"

#include <QJsonArray>

namespace farm {

namespace {
// Caps of a hello (docs/API.md, "/ws/node"): a node record is stored and re-sent in every
// node.updated, so each string and list is bounded.
// A hello at every cap is under 100,000 characters.
constexpr qsizetype kMaxEngineDevices = 32;
constexpr int kMaxDeviceChars = 120;
constexpr qsizetype kMaxEngines = 16;
constexpr qsizetype kMaxGpus = 64;
constexpr qsizetype kMaxTags = 32;
constexpr qsizetype kMaxRunning = 256; // the most slots a node may have
constexpr int kMaxNameChars = 100;
constexpr int kMaxVersionChars = 100;
constexpr int kMaxGpuNameChars = 120;
constexpr int kMaxGpuFieldChars = 64; // uuid, compute capability, driver

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
    QJsonObject o{{"name", name},
                  {"slots", slotCount},
                  {"cores", cores},
                  {"ram_mb", ramMb},
                  {"engines", e},
                  {"gpus", g},
                  {"tags", QJsonArray::fromStringList(tags)}};
    if (!version.isEmpty())
        o.insert("version", version);
    return o;
}

Result<NodeCapabilities> NodeCapabilities::fromJson(const QJsonObject &o)
{
    json::Reader r(o);
    NodeCapabilities c;
    c.name = r.string("name", QString(), 1, kMaxNameChars);
    if (r.ok() && c.name.isEmpty())
        r.fail("invalid_field", "name is required");
    c.version = r.string("version", QString(), 0, kMaxVersionChars);
    c.slotCount = int(r.integer("slots", 1, 1, kMaxRunning));
    c.cores = int(r.integer("cores", 1, 1, 4096));
    c.ramMb = r.integer("ram_mb", 0, 0, qint64(1) << 40);
    c.tags = r.stringList("tags", {}, kMaxTags);
    r.array("running", kMaxRunning);
    const QJsonArray engines = r.array("engines", kMaxEngines);
    for (qsizetype i = 0; i < engines.size() && r.ok(); ++i) {
        const QJsonObject e = engines[i].toObject();
        if (!e.value("name").isString()) {
            r.fail("invalid_field", "engines[] need a name");
            break;
        }
        json::Reader er(e, QString("engines[%1]").arg(i));
        EngineInfo engine{er.string("name", {}, 1, kMaxNameChars),
                          er.string("version", {}, 0, kMaxVersionChars),
                          {}};
        // Devices are informative: strings only, a bounded number.
        for (const QJsonValue &d : e.value("devices").toArray())
            if (d.isString() && engine.devices.size() < kMaxEngineDevices)
                engine.devices.append(d.toString().left(kMaxDeviceChars));
        r.adopt(er);
        c.engines.append(engine);
    }
    const QJsonArray gpus = r.array("gpus", kMaxGpus);
    for (qsizetype i = 0; i < gpus.size() && r.ok(); ++i) {
        json::Reader gr(gpus[i].toObject(), QString("gpus[%1]").arg(i));
        c.gpus.append({gr.string("name", {}, 0, kMaxGpuNameChars),
                       gr.string("uuid", {}, 0, kMaxGpuFieldChars),
                       gr.integer("vram_mb", 0, 0, qint64(1) << 40),
                       gr.string("cc", {}, 0, kMaxGpuFieldChars),
                       gr.string("driver", {}, 0, kMaxGpuFieldChars)});
        r.adopt(gr);
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
    if (load)
        o.insert("load", *load);
    if (!gpuLoad.isEmpty()) {
        QJsonArray g;
        for (const GpuSample &s : gpuLoad)
            g.append(s.toJson());
        o.insert("gpu_load", g);
    }
    if (state != NodeState::Offline) {
        QJsonArray t;
        for (const NodeTask &x : tasks)
            t.append(QJsonObject{{"task", x.task}, {"job_id", x.jobId}, {"frames", x.frames}});
        o.insert("tasks", t);
    }
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
    if (o.value("load").isDouble())
        n.load = o.value("load").toDouble();
    if (o.contains("gpu_load")) {
        auto gpus = GpuSample::listFromJson(o.value("gpu_load"));
        if (!gpus)
            return gpus.error();
        n.gpuLoad = *gpus;
    }
    for (const QJsonValue &v : o.value("tasks").toArray()) {
        const QJsonObject t = v.toObject();
        n.tasks.append({t.value("task").toInteger(), t.value("job_id").toInteger(),
                        t.value("frames").toString()});
    }
    return n;
}

QJsonObject GpuSample::toJson() const
{
    return {{"uuid", uuid},
            {"utilization", utilization},
            {"memory_used_mb", memoryUsedMb},
            {"memory_total_mb", memoryTotalMb}};
}

Result<QList<GpuSample>> GpuSample::listFromJson(const QJsonValue &v)
{
    if (!v.isArray() || v.toArray().size() > kMaxPerNode)
        return makeError(
            "invalid_field",
            QString("'gpus' must be a list of at most %1 GPU samples").arg(kMaxPerNode));
    QList<GpuSample> out;
    const QJsonArray a = v.toArray();
    for (qsizetype i = 0; i < a.size(); ++i) {
        if (!a[i].isObject())
            return makeError("invalid_field", QString("gpus[%1] must be an object").arg(i));
        json::Reader r(a[i].toObject(), QString("gpus[%1]").arg(i));
        r.rejectUnknown({"uuid", "utilization", "memory_used_mb", "memory_total_mb"});
        GpuSample g;
        g.uuid = r.string("uuid", {}, 1, kMaxGpuFieldChars);
        g.memoryUsedMb = r.integer("memory_used_mb", 0, 0, qint64(1) << 30);
        g.memoryTotalMb = r.integer("memory_total_mb", 0, 0, qint64(1) << 30);
        if (!r.ok())
            return r.error();
        const QJsonValue u = a[i].toObject().value("utilization");
        if (!u.isDouble() || u.toDouble() < 0 || u.toDouble() > 1)
            return makeError("invalid_field",
                             QString("gpus[%1].utilization must be a number from 0 to 1").arg(i));
        g.utilization = u.toDouble();
        if (g.memoryUsedMb > g.memoryTotalMb)
            return makeError("invalid_field",
                             QString("gpus[%1].memory_used_mb exceeds memory_total_mb").arg(i));
        out.append(g);
    }
    return out;
}

} // namespace farm
