#pragma once

#include "protocol/states.h"
#include "util/result.h"

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QStringList>

#include <optional>

namespace farm {

struct EngineInfo
{
    QString name;
    QString version;
    /// Devices the engine renders on, as it names them ("CPU", "CUDA: NVIDIA RTX A4000");
    /// optional in JSON (left out when empty; nodes before it send none).
    QStringList devices;
    bool operator==(const EngineInfo &) const = default;
};

struct GpuInfo
{
    QString name;
    QString uuid;
    qint64 vramMb = 0;
    QString computeCapability; // "8.6"
    QString driver;
    bool operator==(const GpuInfo &) const = default;
};

/// Highest 1-minute load average a heartbeat may report (`heartbeat.load`).
inline constexpr double kMaxNodeLoad = 1e6;

/// One GPU's load as a node reports it in `heartbeat.gpus` (read through NVML where the
/// driver has it; docs/API.md, "/ws/node").
struct GpuSample
{
    QString uuid;
    double utilization = 0; // 0..1 of the last sample period
    qint64 memoryUsedMb = 0;
    qint64 memoryTotalMb = 0;
    bool operator==(const GpuSample &) const = default;

    /// Most GPUs one heartbeat may report.
    static constexpr int kMaxPerNode = 64;
    QJsonObject toJson() const;
    /// Strict: a list of at most kMaxPerNode objects {uuid, utilization, memory_used_mb,
    /// memory_total_mb} with utilization in 0..1 and used memory within the total.
    static Result<QList<GpuSample>> listFromJson(const QJsonValue &v);
};

/// What a node reports about itself in `hello` (docs/API.md, "/ws/node").
struct NodeCapabilities
{
    QString name;
    /// The render-node's own version (kFarmVersion); optional in JSON (nodes before it send
    /// none).
    QString version;
    int slotCount = 1;
    int cores = 1;
    qint64 ramMb = 0;
    QList<EngineInfo> engines;
    QList<GpuInfo> gpus;
    QStringList tags;

    /// Fields of the hello message other than protocol/token/running.
    QJsonObject toJson() const;
    static Result<NodeCapabilities> fromJson(const QJsonObject &o);
    bool operator==(const NodeCapabilities &) const = default;
};

/// A task on a node as the server serves it in the node's `tasks` (docs/API.md, "Node").
struct NodeTask
{
    qint64 task = 0;
    qint64 jobId = 0;
    QString frames;
    bool operator==(const NodeTask &) const = default;
};

/// A node as the server reports it.
struct Node
{
    qint64 id = 0;
    NodeCapabilities caps;
    NodeState state = NodeState::Offline;
    QList<qint64> running;
    QDateTime connectedAt, lastSeen;
    /// From the node's last heartbeat while it is connected (absent from the JSON otherwise):
    /// its 1-minute load average, its GPUs' load (NVML) and the tasks it holds.
    std::optional<double> load;
    QList<GpuSample> gpuLoad;
    QList<NodeTask> tasks;

    QJsonObject toJson() const;
    static Result<Node> fromJson(const QJsonObject &o);
};

} // namespace farm
