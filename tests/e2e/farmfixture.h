#pragma once

#include <QByteArray>
#include <QFile>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QProcess>
#include <QTemporaryDir>
#include <QUrl>

#include <functional>
#include <memory>
#include <vector>

/// initTestCase of an end-to-end suite: skips without the model file (Debian's test models),
/// fails without the built farm-server and render-node binaries.
#define FARM_E2E_REQUIRE(model)                                                                    \
    do {                                                                                           \
        if (!QFile::exists(model))                                                                 \
            QSKIP("assimp-testmodels is not installed");                                           \
        QVERIFY2(QFile::exists(FarmFixture::binary("farm-server/farm-server")),                    \
                 "farm-server not built");                                                         \
        QVERIFY2(QFile::exists(FarmFixture::binary("render-node/render-node")),                    \
                 "render-node not built");                                                         \
    } while (false)

class QColor;
class QImage;

/// The glTF model most end-to-end suites render (Debian's assimp-testmodels).
inline constexpr const char *kEngine =
    "/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb";

/// A whole file, or empty when it cannot be read.
inline QByteArray readFile(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

/// A solid-colour 64×64 PNG at `path` (folders made): a texture whose colour a frame must show.
bool writeSolidPng(const QString &path, const QColor &colour);
/// Share of pixels where `channel` (0 red, 1 green, 2 blue) clearly dominates the other two: the
/// texture's colour, not the renderer's fallback grey nor the sky.
double dominantShare(const QImage &img, int channel);

/// A real farm on loopback for end-to-end tests: the farm-server binary on a temporary data
/// directory and any number of render-node processes, plus a small synchronous HTTP client.
class FarmFixture
{
public:
    struct Reply
    {
        int status = 0;
        QByteArray body;
        QByteArray contentType;
        QJsonObject json() const;
    };

    FarmFixture();
    ~FarmFixture();

    static QString binary(const QString &relativePath);

    /// Starts farm-server on `port` (0: any free port) over this fixture's data directory;
    /// `extra` flags go after the defaults (tokens, --no-trust-loopback, ...).
    bool startServer(int port = 0, const QStringList &extra = {});
    /// SIGTERM, then waits for a clean exit; returns the exit code.
    int stopServer();
    /// `extra` flags go after the defaults (a later `--slots` wins).
    QProcess *startNode(const QString &name, const QStringList &extra = {});
    void killNode(QProcess *node); // SIGKILL, as a crash or power loss would

    int port() const { return m_port; }
    /// The server's process (its id for /proc, whether it still runs).
    QProcess *serverProcess() const { return m_server.get(); }
    /// Sent as 'Authorization: Bearer' by request() and the helpers built on it; empty: none.
    QByteArray bearer;
    QUrl url(const QString &path) const;
    QString serverUrl() const;
    QString dataDir() const { return m_data.path(); }
    QString serverLog() const { return m_serverLog; }

    Reply request(const QByteArray &method, const QString &path, const QByteArray &body = {},
                  const QByteArray &contentType = "application/json");
    Reply get(const QString &path) { return request("GET", path); }
    Reply post(const QString &path, const QByteArray &body) { return request("POST", path, body); }

    /// Uploads a file in one chunk through the public upload API; returns its SHA-256 or empty.
    QString upload(const QByteArray &bytes, const QString &name);
    /// Creates a model job; returns its id or 0.
    qint64 submit(const QJsonObject &spec);
    /// Polls until the job reaches a final state; returns the job, or an empty object on timeout.
    QJsonObject waitForJob(qint64 id, int timeoutMs);
    bool waitUntil(const std::function<bool()> &condition, int timeoutMs);
    int onlineNodes();

private:
    QTemporaryDir m_data;
    std::unique_ptr<QProcess> m_server;
    std::vector<std::unique_ptr<QProcess>> m_nodes;
    QNetworkAccessManager m_net;
    int m_port = 0;
    QString m_serverLog;
};
