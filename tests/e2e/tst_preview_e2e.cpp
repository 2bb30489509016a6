// End to end with the real farm-server and render-node binaries on loopback: live partial
// previews while a frame renders, and a GPU slot on a machine without a usable GPU.
#include "farmfixture.h"

#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QTemporaryDir>
#include <QWebSocket>
#include <QtTest>

namespace {

QJsonObject stillJob(const QString &sha, int w, int h, int spp, bool gpu = false)
{
    return QJsonObject{{"name", "e2e preview"},
                       {"type", "model"},
                       {"input", QJsonObject{{"file", sha}, {"name", "2CylinderEngine.glb"}}},
                       {"frames", "1"},
                       {"settings", QJsonObject{{"width", w}, {"height", h}, {"spp", spp}}},
                       {"requirements", QJsonObject{{"gpu", gpu}}}};
}

/// Collects the envelopes of /ws/events.
struct EventsSocket
{
    QWebSocket socket;
    QList<QJsonObject> received;

    bool open(const QString &url)
    {
        QObject::connect(&socket, &QWebSocket::textMessageReceived, [this](const QString &text) {
            received.append(QJsonDocument::fromJson(text.toUtf8()).object());
        });
        QSignalSpy connected(&socket, &QWebSocket::connected);
        socket.open(QUrl(url));
        return connected.wait(5000);
    }
    QList<QJsonObject> ofType(const QString &type) const
    {
        QList<QJsonObject> out;
        for (const QJsonObject &e : received)
            if (e.value("type").toString() == type)
                out.append(e.value("data").toObject());
        return out;
    }
};

} // namespace

class TestPreviewEndToEnd : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase() { FARM_E2E_REQUIRE(kEngine); }

    // A frame with enough samples to take seconds: dashboards hear of partial images and can
    // fetch a decodable JPEG while the task runs; once it ends there is none.
    void partialPreviewsWhileAFrameRenders()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        QVERIFY(farm.startNode("previewer"));
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 20000));
        EventsSocket events;
        QVERIFY(events.open(QString("ws://127.0.0.1:%1/ws/events").arg(farm.port())));
        const QString sha = farm.upload(readFile(kEngine), "2CylinderEngine.glb");
        QVERIFY(!sha.isEmpty());
        const int spp = 768;
        const qint64 job = farm.submit(stillJob(sha, 320, 240, spp));
        QVERIFY(job > 0);

        QVERIFY2(farm.waitUntil([&] { return !events.ofType("task.partial").isEmpty(); }, 60000),
                 "no task.partial event while the frame rendered");
        const QJsonObject partial = events.ofType("task.partial").first();
        const qint64 task = partial.value("task").toInteger();
        QCOMPARE(partial.value("job").toInteger(), job);
        QCOMPARE(partial.value("frame").toInt(), 1);
        QCOMPARE(partial.value("spp").toInt(), spp);
        const int samples = partial.value("samples").toInt();
        QVERIFY2(samples >= 1 && samples < spp, qPrintable(QString::number(samples)));

        const auto got = farm.get(QString("/api/v1/tasks/%1/preview").arg(task));
        const QString state = farm.get(QString("/api/v1/jobs/%1/tasks").arg(job))
                                  .json()
                                  .value("tasks")
                                  .toArray()
                                  .first()
                                  .toObject()
                                  .value("state")
                                  .toString();
        QCOMPARE(got.status, 200);
        QCOMPARE(got.contentType, QByteArray("image/jpeg"));
        const QImage image = QImage::fromData(got.body, "JPG");
        QVERIFY(!image.isNull());
        QCOMPARE(image.size(), QSize(320, 240)); // long side already <= 512
        QCOMPARE(state, QString("running"));     // fetched while it ran

        const QJsonObject done = farm.waitForJob(job, 240000);
        QCOMPARE(done.value("state").toString(), QString("completed"));
        QCOMPARE(farm.get(QString("/api/v1/tasks/%1/preview").arg(task)).status, 404);
        // Previews came at most about every interval; samples only grew.
        const QList<QJsonObject> all = events.ofType("task.partial");
        for (qsizetype i = 1; i < all.size(); ++i)
            QVERIFY(all[i].value("samples").toInt() > all[i - 1].value("samples").toInt());
        const QString log =
            QString::fromUtf8(farm.get(QString("/api/v1/tasks/%1/log").arg(task)).body);
        QVERIFY2(log.contains("--preview ") && log.contains("--device cpu"), qPrintable(log));
        qInfo("%d partial previews over the frame", int(all.size()));
    }

    // A declared GPU (no usable one here): the task runs on the GPU slot with --device cuda and
    // CUDA_VISIBLE_DEVICES, says it fell back to the CPU, and its frame is exactly what a CPU
    // render gives.
    void gpuSlotFallsBackToTheCpu()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        QVERIFY(farm.startNode("gpu-node", {"--gpus", "GPU-e2e-declared", "--slots", "0"}));
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 20000));
        const QJsonObject node =
            farm.get("/api/v1/nodes").json().value("nodes").toArray().first().toObject();
        QCOMPARE(node.value("slots").toInt(), 1);
        QCOMPARE(node.value("gpus").toArray().first().toObject().value("uuid").toString(),
                 QString("GPU-e2e-declared"));

        const QString sha = farm.upload(readFile(kEngine), "2CylinderEngine.glb");
        const qint64 job = farm.submit(stillJob(sha, 96, 72, 4, true));
        QVERIFY(job > 0);
        const QJsonObject done = farm.waitForJob(job, 120000);
        QCOMPARE(done.value("state").toString(), QString("completed"));
        const qint64 task = farm.get(QString("/api/v1/jobs/%1/tasks").arg(job))
                                .json()
                                .value("tasks")
                                .toArray()
                                .first()
                                .toObject()
                                .value("id")
                                .toInteger();
        const QString log =
            QString::fromUtf8(farm.get(QString("/api/v1/tasks/%1/log").arg(task)).body);
        QVERIFY2(log.contains("slot 0 (GPU)"), qPrintable(log));
        QVERIFY2(log.contains("running CUDA_VISIBLE_DEVICES=GPU-e2e-declared "), qPrintable(log));
        QVERIFY2(log.contains("--device cuda"), qPrintable(log));
        QVERIFY2(log.contains("note: CUDA unavailable ("), qPrintable(log));

        const auto frame = farm.get(QString("/api/v1/jobs/%1/outputs/frame_0001.png").arg(job));
        QCOMPARE(frame.status, 200);
        QTemporaryDir dir;
        QProcess cpu;
        cpu.start(FarmFixture::binary("render-node/render-node"),
                  {"render", kEngine, "-o", dir.filePath("cpu.png"), "--size", "96x72", "--spp",
                   "4", "--seed", "1", "--device", "cpu"});
        QVERIFY(cpu.waitForFinished(60000));
        QCOMPARE(cpu.exitCode(), 0);
        const QImage local(dir.filePath("cpu.png"));
        QVERIFY(!local.isNull());
        QCOMPARE(QImage::fromData(frame.body, "PNG"), local);
    }
};

QTEST_MAIN(TestPreviewEndToEnd)
#include "tst_preview_e2e.moc"
