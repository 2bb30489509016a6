#pragma once

#include "model/node.h"
#include "nodecredentials.h"
#include "util/result.h"

#include <QList>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <atomic>
#include <memory>
#include <optional>

namespace farm::node {

/// Everything the agent needs to run; filled from the command line and the config file.
struct NodeConfig
{
    /// The first `--server`: it names the farm (the node's secret is kept for it).
    QUrl server{QStringLiteral("http://127.0.0.1:8420")};
    /// Every `--server`, in the order the agent tries them: controllers of one farm
    /// (docs/CONTROLLERS.md). Empty: `server` alone.
    QList<QUrl> servers;
    /// Index in controllers() of the one the agent is connected to (or tries now). Shared by
    /// every copy of this config (the input cache and each task hold one), so downloads and
    /// output uploads follow the agent to another controller.
    std::shared_ptr<std::atomic<int>> activeServer = std::make_shared<std::atomic<int>>(0);
    QString name;
    /// CPU slots (`--slots`); each GPU in `gpus` is one more slot (see applyGpus()).
    int slotCount = 1;
    bool slotsGiven = false;
    /// `--gpus`: empty or "auto" = every GPU the CUDA runtime lists, "none" = no GPU slots,
    /// else a comma separated list of device indices or UUIDs.
    QString gpuSelection;
    /// `--token`: the join token (or, on a server without one, the client token the transport
    /// needs). The node's own secret replaces it as bearer once the server issued one.
    QString token;
    /// The node's own secret; shared by every copy of this config (the input cache and each
    /// task hold one), so a secret issued later reaches them all. The Agent gives each node
    /// its own (withCredentials()).
    std::shared_ptr<NodeCredentials> credentials = std::make_shared<NodeCredentials>();
    QString cacheDir;
    /// Inputs beyond this size are evicted, least recently used first (held ones never).
    int cacheMaxMb = 20480;
    QStringList tags;
    /// Program started as `<childProgram> render FILE -o OUT ...` for every `farmhand` task.
    QString childProgram;
    /// `--blender`: the Blender binary of the `blender` engine, a path or a name on PATH.
    QString blenderProgram = QStringLiteral("blender");
    /// Reported in hello and one slot each; applyGpus() fills them. `gpuDevices[i]` is what a
    /// child rendering on `gpus[i]` gets as CUDA_VISIBLE_DEVICES (its UUID, else its index).
    QList<GpuInfo> gpus;
    QStringList gpuDevices;
    int backoffInitialMs = 500;
    int backoffMaxMs = 10000;
    /// First retry delay of a failed output upload; doubles on each further retry.
    int uploadRetryMs = 500;

    /// `servers`, or `server` alone when none are listed.
    QList<QUrl> controllers() const { return servers.isEmpty() ? QList<QUrl>{server} : servers; }
    /// The controller the agent is connected to (activeServer).
    QUrl currentServer() const;
    /// ws(s)://host:port/<path>/ws/node derived from the http(s) server URL.
    QUrl webSocketUrl() const { return webSocketUrl(server); }
    static QUrl webSocketUrl(const QUrl &server);
    /// <current server>/<path> for a REST path such as "/api/v1/files/<sha>".
    QUrl apiUrl(const QString &path) const;
    /// Bearer token for REST calls (input downloads, output uploads): the node's own secret
    /// once it has one, else `token`.
    QString bearer() const
    {
        return credentials && credentials->hasSecret() ? credentials->secret() : token;
    }
    /// Where the node's secret is kept: `<cacheDir>/node-credentials.json` (empty: nowhere).
    QString credentialsPath() const;
    /// Threads one child may use so that all slots together fill the machine once.
    int threadsPerTask() const;
    /// GPU slots first (0 .. gpus-1), then CPU slots.
    int totalSlots() const { return int(gpus.size()) + slotCount; }
};

/// Resolves `--gpus` against the GPUs the renderer detected and settles the slots: every
/// selected GPU is a slot; CPU slots are `--slots` when given, else 1 on a node without GPUs
/// and 0 on a node with some (a GPU node renders on its GPUs). A listed index or UUID that
/// matches no detected GPU is still declared (a warning in `warnings`): its child asks for
/// CUDA and falls back to the CPU, saying so in the task log. Errors: no slot at all, more
/// than 256, a duplicate entry.
Result<void> applyGpus(NodeConfig &config, const QList<GpuInfo> &detected,
                       QStringList *warnings = nullptr);

/// Checks a server URL given by a user: http or https with a host, nothing after the path.
Result<QUrl> parseServerUrl(const QString &text);
/// One or more server URLs separated by commas (`--server A,B` or the flag repeated), each
/// checked by parseServerUrl; a URL listed twice is an error.
Result<QList<QUrl>> parseServerUrls(const QString &text);

/// Default cache dir: `farmhand-node-<name>` under the system cache (or temp) location.
QString defaultCacheDir(const QString &nodeName);

/// Total physical memory from /proc/meminfo in MiB, 0 when unknown.
qint64 systemRamMb();

/// The 1-minute load average from /proc/loadavg; nullopt when it cannot be read.
std::optional<double> systemLoadAverage();

/// The agent's command line (`render-node [--server URL] [--name N] ... [--config FILE]`).
struct NodeCommandLine
{
    NodeConfig config;
    bool helpRequested = false;
    QString helpText;

    /// `arguments` include the program name. Flags override keys of the `--config` INI file
    /// (keys: server, name, slots, gpus, token, cache, cache-max-mb, tags, blender). Every value is
    /// validated; the GPUs are settled later by applyGpus().
    static Result<NodeCommandLine> parse(const QStringList &arguments);
};

} // namespace farm::node
