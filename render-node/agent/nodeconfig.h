#pragma once

#include "model/node.h"
#include "util/result.h"

#include <QList>
#include <QString>
#include <QStringList>
#include <QUrl>

namespace farm::node {

/// Everything the agent needs to run; filled from the command line and the config file.
struct NodeConfig
{
    QUrl server{QStringLiteral("http://127.0.0.1:8420")};
    QString name;
    int slotCount = 1;
    QString token;
    QString cacheDir;
    /// Inputs beyond this size are evicted, least recently used first (held ones never).
    int cacheMaxMb = 20480;
    QStringList tags;
    /// Program started as `<childProgram> render FILE -o OUT ...` for every task.
    QString childProgram;
    /// Reported in hello; main() fills it from the renderer's GPU enumeration.
    QList<GpuInfo> gpus;
    int backoffInitialMs = 500;
    int backoffMaxMs = 10000;
    /// First retry delay of a failed output upload; doubles on each further retry.
    int uploadRetryMs = 500;

    /// ws(s)://host:port/<path>/ws/node derived from the http(s) server URL.
    QUrl webSocketUrl() const;
    /// <server>/<path> for a REST path such as "/api/v1/files/<sha>".
    QUrl apiUrl(const QString &path) const;
    /// Threads one child may use so that all slots together fill the machine once.
    int threadsPerTask() const;
};

/// Checks a server URL given by a user: http or https with a host, nothing after the path.
Result<QUrl> parseServerUrl(const QString &text);

/// Default cache dir: `farmhand-node-<name>` under the system cache (or temp) location.
QString defaultCacheDir(const QString &nodeName);

/// Total physical memory from /proc/meminfo in MiB, 0 when unknown.
qint64 systemRamMb();

/// The agent's command line (`render-node [--server URL] [--name N] ... [--config FILE]`).
struct NodeCommandLine
{
    NodeConfig config;
    bool helpRequested = false;
    QString helpText;

    /// `arguments` include the program name. Flags override keys of the `--config` INI file
    /// (keys: server, name, slots, token, cache, cache-max-mb, tags). Every value is validated.
    static Result<NodeCommandLine> parse(const QStringList &arguments);
};

} // namespace farm::node
