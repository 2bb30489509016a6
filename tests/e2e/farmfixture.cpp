#include "farmfixture.h"

#include <QColor>
#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFileInfo>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkReply>
#include <QRegularExpression>
#include <QTest>
#include <QTimer>

#include <csignal>

bool writeSolidPng(const QString &path, const QColor &colour)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QImage image(64, 64, QImage::Format_RGB32);
    image.fill(colour);
    return image.save(path, "PNG");
}

double dominantShare(const QImage &img, int channel)
{
    qint64 n = 0;
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x) {
            const QColor c = img.pixelColor(x, y);
            const int v[3] = {c.red(), c.green(), c.blue()};
            const int a = v[(channel + 1) % 3], b = v[(channel + 2) % 3];
            if (v[channel] > 60 && v[channel] > 2 * a && v[channel] > 2 * b)
                ++n;
        }
    return double(n) / (double(img.width()) * img.height());
}

QJsonObject FarmFixture::Reply::json() const
{
    return QJsonDocument::fromJson(body).object();
}

FarmFixture::FarmFixture() = default;

FarmFixture::~FarmFixture()
{
    for (auto &node : m_nodes) {
        if (node->state() != QProcess::NotRunning) {
            node->terminate();
            if (!node->waitForFinished(5000))
                node->kill();
            node->waitForFinished(2000);
        }
    }
    if (m_server && m_server->state() != QProcess::NotRunning)
        stopServer();
}

QString FarmFixture::binary(const QString &relativePath)
{
    return qEnvironmentVariable("FARM_BUILD_DIR") + '/' + relativePath;
}

bool FarmFixture::startServer(int port, const QStringList &extra)
{
    m_server = std::make_unique<QProcess>();
    m_server->setProcessChannelMode(QProcess::MergedChannels);
    m_server->start(binary("farm-server/farm-server"),
                    QStringList{"--port", QString::number(port), "--bind", "127.0.0.1", "--data",
                                m_data.path(), "--lease", "6", "--heartbeat", "1"} +
                        extra);
    if (!m_server->waitForStarted(5000))
        return false;
    static const QRegularExpression ready(R"(listening on http://[^:\s]+:(\d+))");
    // A restarted server's log follows the earlier run's: only this run's line counts.
    const qsizetype from = m_serverLog.size();
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < 20000) {
        if (!m_server->waitForReadyRead(200) && m_server->state() == QProcess::NotRunning)
            break;
        m_serverLog += QString::fromUtf8(m_server->readAll());
        const auto m = ready.match(m_serverLog, from);
        if (m.hasMatch()) {
            m_port = m.captured(1).toInt();
            // Keep draining the server's output so its pipe never fills up.
            QObject::connect(m_server.get(), &QProcess::readyRead, m_server.get(),
                             [this] { m_serverLog += QString::fromUtf8(m_server->readAll()); });
            return true;
        }
    }
    qWarning("farm-server did not start:\n%s", qPrintable(m_serverLog));
    return false;
}

int FarmFixture::stopServer()
{
    if (!m_server || m_server->state() == QProcess::NotRunning)
        return -1;
    m_server->terminate();
    if (!m_server->waitForFinished(15000)) {
        m_server->kill();
        m_server->waitForFinished(3000);
        return -2;
    }
    m_serverLog += QString::fromUtf8(m_server->readAll());
    return m_server->exitStatus() == QProcess::NormalExit ? m_server->exitCode() : -3;
}

QProcess *FarmFixture::startNode(const QString &name, const QStringList &extra)
{
    auto node = std::make_unique<QProcess>();
    node->setProcessChannelMode(QProcess::ForwardedErrorChannel);
    node->setStandardOutputFile(QProcess::nullDevice());
    node->start(binary("render-node/render-node"),
                QStringList{"--server", serverUrl(), "--name", name, "--slots", "1", "--cache",
                            m_data.path() + "/node-cache-" + name} +
                    extra);
    if (!node->waitForStarted(5000))
        return nullptr;
    m_nodes.push_back(std::move(node));
    return m_nodes.back().get();
}

void FarmFixture::killNode(QProcess *node)
{
    ::kill(pid_t(node->processId()), SIGKILL);
    node->waitForFinished(5000);
}

QUrl FarmFixture::url(const QString &path) const
{
    return QUrl(serverUrl() + path);
}

QString FarmFixture::serverUrl() const
{
    return QString("http://127.0.0.1:%1").arg(m_port);
}

FarmFixture::Reply FarmFixture::request(const QByteArray &method, const QString &path,
                                        const QByteArray &body, const QByteArray &contentType)
{
    QNetworkRequest req(url(path));
    if (!bearer.isEmpty())
        req.setRawHeader("Authorization", "Bearer " + bearer);
    if (!body.isEmpty())
        req.setHeader(QNetworkRequest::ContentTypeHeader, contentType);
    QNetworkReply *reply = m_net.sendCustomRequest(req, method, body);
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    QTimer::singleShot(30000, &loop, &QEventLoop::quit);
    loop.exec();
    Reply r;
    r.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    r.body = reply->readAll();
    r.contentType = reply->header(QNetworkRequest::ContentTypeHeader).toByteArray();
    reply->deleteLater();
    return r;
}

QString FarmFixture::upload(const QByteArray &bytes, const QString &name)
{
    const QString sha = QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex();
    const Reply created = post(
        "/api/v1/uploads",
        QJsonDocument(QJsonObject{{"name", name}, {"size", qint64(bytes.size())}, {"sha256", sha}})
            .toJson());
    if (created.json().value("exists").toBool())
        return sha;
    if (created.status != 201)
        return {};
    const QString id = created.json().value("id").toString();
    const qint64 chunkSize = created.json().value("chunk_size").toInteger();
    for (qint64 offset = 0, n = 0; offset < bytes.size(); offset += chunkSize, ++n) {
        const Reply put = request("PUT", QString("/api/v1/uploads/%1/chunks/%2").arg(id).arg(n),
                                  bytes.mid(offset, chunkSize), "application/octet-stream");
        if (put.status != 200)
            return {};
    }
    const Reply done = post(QString("/api/v1/uploads/%1/complete").arg(id), {});
    return done.json().value("file").toString() == sha ? sha : QString();
}

qint64 FarmFixture::submit(const QJsonObject &spec)
{
    const Reply r = post("/api/v1/jobs", QJsonDocument(spec).toJson());
    if (r.status != 201) {
        qWarning("submit failed: %d %s", r.status, r.body.constData());
        return 0;
    }
    return r.json().value("id").toInteger();
}

bool FarmFixture::waitUntil(const std::function<bool()> &condition, int timeoutMs)
{
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < timeoutMs) {
        if (condition())
            return true;
        QTest::qWait(150);
    }
    return condition();
}

QJsonObject FarmFixture::waitForJob(qint64 id, int timeoutMs)
{
    QJsonObject job;
    const bool finished = waitUntil(
        [&] {
            job = get(QString("/api/v1/jobs/%1").arg(id)).json();
            const QString state = job.value("state").toString();
            return state == "completed" || state == "failed" || state == "canceled";
        },
        timeoutMs);
    return finished ? job : QJsonObject();
}

int FarmFixture::onlineNodes()
{
    int online = 0;
    for (const QJsonValue &n : get("/api/v1/nodes").json().value("nodes").toArray())
        if (n.toObject().value("state").toString() != "offline")
            ++online;
    return online;
}
