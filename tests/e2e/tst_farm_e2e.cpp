#include "farmfixture.h"

#include <QDir>
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRandomGenerator>
#include <QSet>
#include <QTcpServer>
#include <QtTest>

namespace {

QJsonObject turntableJob(const QString &sha, const QString &frames, int chunk, int w, int h,
                         int spp)
{
    return QJsonObject{{"name", "e2e turntable"},
                       {"type", "model"},
                       {"input", QJsonObject{{"file", sha}, {"name", "2CylinderEngine.glb"}}},
                       {"frames", frames},
                       {"chunk", chunk},
                       {"settings", QJsonObject{{"width", w},
                                                {"height", h},
                                                {"spp", spp},
                                                {"camera", QJsonObject{{"mode", "turntable"}}}}}};
}

/// Share of pixels that differ clearly from the left-edge pixel of their row (the background
/// there: the sky varies by row only, and auto-framing keeps the object off the edges).
double objectCoverage(const QImage &img)
{
    qint64 differing = 0;
    for (int y = 0; y < img.height(); ++y) {
        const QColor bg = img.pixelColor(0, y);
        for (int x = 0; x < img.width(); ++x) {
            const QColor c = img.pixelColor(x, y);
            if (std::abs(c.red() - bg.red()) + std::abs(c.green() - bg.green()) +
                    std::abs(c.blue() - bg.blue()) >
                40)
                ++differing;
        }
    }
    return double(differing) / (double(img.width()) * img.height());
}

int freePort()
{
    QTcpServer probe;
    probe.listen(QHostAddress::LocalHost, 0);
    return probe.serverPort();
}

QSet<QString> outputNames(FarmFixture &farm, qint64 job)
{
    QSet<QString> names;
    const QJsonArray outputs =
        farm.get(QString("/api/v1/jobs/%1/outputs").arg(job)).json().value("outputs").toArray();
    for (const QJsonValue &o : outputs)
        names.insert(o.toObject().value("name").toString());
    return names;
}

QSet<QString> expectedFrames(int first, int last)
{
    QSet<QString> names;
    for (int f = first; f <= last; ++f)
        names.insert(QString("frame_%1.png").arg(f, 4, 10, QChar('0')));
    return names;
}

} // namespace

class TestFarmEndToEnd : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase() { FARM_E2E_REQUIRE(kEngine); }

    // Flow of issue 2: farmctl submit / wait / download against a server with two nodes.
    void turntableWithTwoNodes()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        QVERIFY(farm.startNode("e2e-a"));
        QVERIFY(farm.startNode("e2e-b"));
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 2; }, 20000));

        const QString farmctl = FarmFixture::binary("shared/farmctl/farmctl");
        QProcess submit;
        submit.start(farmctl, {"--server", farm.serverUrl(), "submit", kEngine, "--frames", "1-12",
                               "--turntable", "--chunk", "2", "--size", "160x120", "--spp", "4"});
        QVERIFY(submit.waitForFinished(60000));
        QCOMPARE(submit.exitCode(), 0);
        const qint64 job = submit.readAllStandardOutput().trimmed().toLongLong();
        QVERIFY(job > 0);

        QProcess wait;
        wait.start(farmctl, {"--server", farm.serverUrl(), "wait", QString::number(job),
                             "--timeout", "240"});
        QVERIFY(wait.waitForFinished(250000));
        QVERIFY2(wait.exitCode() == 0, wait.readAllStandardError().constData());

        const QJsonObject done = farm.get(QString("/api/v1/jobs/%1").arg(job)).json();
        QCOMPARE(done.value("state").toString(), QString("completed"));
        QCOMPARE(done.value("tasks").toObject().value("total").toInt(), 6);

        // Both nodes took part: the scheduler pushes to whichever slot is free.
        QSet<QString> nodes;
        for (const QJsonValue &t :
             farm.get(QString("/api/v1/jobs/%1/tasks").arg(job)).json().value("tasks").toArray())
            nodes.insert(t.toObject().value("node").toString());
        QCOMPARE(nodes, (QSet<QString>{"e2e-a", "e2e-b"}));

        QTemporaryDir out;
        QProcess download;
        download.start(
            farmctl, {"--server", farm.serverUrl(), "download", QString::number(job), out.path()});
        QVERIFY(download.waitForFinished(60000));
        QCOMPARE(download.exitCode(), 0);

        const QStringList pngs = QDir(out.path()).entryList({"*.png"}, QDir::Files, QDir::Name);
        QCOMPARE(QSet<QString>(pngs.begin(), pngs.end()), expectedFrames(1, 12));
        QImage first;
        for (const QString &name : pngs) {
            QImage img(out.filePath(name));
            QVERIFY2(!img.isNull(), qPrintable(name + " does not decode"));
            QCOMPARE(img.size(), QSize(160, 120));
            const double coverage = objectCoverage(img);
            QVERIFY2(coverage > 0.03,
                     qPrintable(QString("%1 looks blank (%2)").arg(name).arg(coverage)));
            if (first.isNull())
                first = img;
        }
        // A turntable turns: frame 4 (90 degrees on) is not frame 1.
        QVERIFY(QImage(out.filePath("frame_0004.png")) != first);
    }

    // A node dies (kill -9) while it renders: its task is re-queued and the job completes with
    // every frame exactly once.
    void nodeKilledMidTask()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        QProcess *a = farm.startNode("victim");
        QVERIFY(a);
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 20000));
        const QString sha = farm.upload(readFile(kEngine), "2CylinderEngine.glb");
        QVERIFY(!sha.isEmpty());
        const qint64 job = farm.submit(turntableJob(sha, "1-8", 4, 320, 240, 24));
        QVERIFY(job > 0);

        QVERIFY(farm.waitUntil(
            [&] {
                for (const QJsonValue &t : farm.get(QString("/api/v1/jobs/%1/tasks").arg(job))
                                               .json()
                                               .value("tasks")
                                               .toArray())
                    if (t.toObject().value("state").toString() == "running")
                        return true;
                return false;
            },
            30000));
        farm.killNode(a);
        QVERIFY(farm.startNode("survivor"));

        const QJsonObject done = farm.waitForJob(job, 240000);
        QCOMPARE(done.value("state").toString(), QString("completed"));
        const QJsonArray outputs =
            farm.get(QString("/api/v1/jobs/%1/outputs").arg(job)).json().value("outputs").toArray();
        QCOMPARE(outputs.size(), 8);
        QCOMPARE(outputNames(farm, job), expectedFrames(1, 8));
        for (const QJsonValue &t :
             farm.get(QString("/api/v1/jobs/%1/tasks").arg(job)).json().value("tasks").toArray())
            QCOMPARE(t.toObject().value("node").toString(), QString("survivor"));
    }

    // The server stops mid-job and starts again on the same data directory: nodes reconnect, the
    // job completes, and nothing submitted before is lost.
    void serverRestartMidJob()
    {
        FarmFixture farm;
        const int port = freePort();
        QVERIFY(farm.startServer(port));
        QVERIFY(farm.startNode("steady"));
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 20000));
        const QString sha = farm.upload(readFile(kEngine), "2CylinderEngine.glb");
        QVERIFY(!sha.isEmpty());
        const qint64 warmup = farm.submit(turntableJob(sha, "1", 1, 64, 48, 1));
        QCOMPARE(farm.waitForJob(warmup, 60000).value("state").toString(), QString("completed"));

        const qint64 job = farm.submit(turntableJob(sha, "1-8", 2, 240, 180, 16));
        QVERIFY(farm.waitUntil(
            [&] {
                return farm.get(QString("/api/v1/jobs/%1").arg(job))
                           .json()
                           .value("tasks")
                           .toObject()
                           .value("done")
                           .toInt() >= 1;
            },
            120000));
        QCOMPARE(farm.stopServer(), 0);
        QVERIFY(farm.startServer(port));

        const QJsonObject done = farm.waitForJob(job, 240000);
        QCOMPARE(done.value("state").toString(), QString("completed"));
        QCOMPARE(outputNames(farm, job), expectedFrames(1, 8));
        for (const QString &name : expectedFrames(1, 8))
            QVERIFY(QFile::exists(farm.dataDir() + QString("/outputs/%1/%2").arg(job).arg(name)));
        const QJsonObject before = farm.get(QString("/api/v1/jobs/%1").arg(warmup)).json();
        QCOMPARE(before.value("state").toString(), QString("completed"));
        QCOMPARE(outputNames(farm, warmup), expectedFrames(1, 1));
    }

    // A corrupt model fails its job with a readable log; the farm goes on with the next job.
    void corruptModelAndBadRequests()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        QVERIFY(farm.startNode("sturdy"));
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 20000));

        QByteArray garbage(64 * 1024, Qt::Uninitialized);
        QRandomGenerator rng(7);
        for (char &c : garbage)
            c = char(rng.bounded(256));
        garbage.replace(0, 4, "glTF");
        const QString bad = farm.upload(garbage, "broken.glb");
        QVERIFY(!bad.isEmpty());
        QJsonObject spec = turntableJob(bad, "1-2", 1, 64, 48, 1);
        spec.insert("input", QJsonObject{{"file", bad}, {"name", "broken.glb"}});
        const qint64 failing = farm.submit(spec);
        QVERIFY(failing > 0);
        const QJsonObject failed = farm.waitForJob(failing, 120000);
        QCOMPARE(failed.value("state").toString(), QString("failed"));
        QVERIFY(!failed.value("error").toString().isEmpty());
        const QJsonArray tasks =
            farm.get(QString("/api/v1/jobs/%1/tasks").arg(failing)).json().value("tasks").toArray();
        QVERIFY(!tasks.isEmpty());
        // The same bytes would fail the same way on any node: one attempt, not three, and the
        // job's error says why it was not tried again (a task still queued when the job failed
        // was canceled without an attempt).
        int attempts = 0;
        for (const QJsonValue &t : tasks) {
            QVERIFY(t.toObject().value("attempts").toInt() <= 1);
            attempts += t.toObject().value("attempts").toInt();
        }
        QVERIFY(attempts >= 1);
        QVERIFY2(failed.value("error").toString().contains("not retried (invalid_input"),
                 qPrintable(failed.value("error").toString()));
        const qint64 task = tasks.first().toObject().value("id").toInteger();
        const auto log = farm.get(QString("/api/v1/tasks/%1/log").arg(task));
        QCOMPARE(log.status, 200);
        QVERIFY2(log.body.contains("error"), log.body.constData());

        // The node and the server still serve the next job.
        const QString good = farm.upload(readFile(kEngine), "2CylinderEngine.glb");
        const qint64 next = farm.submit(turntableJob(good, "1", 1, 64, 48, 1));
        QCOMPARE(farm.waitForJob(next, 60000).value("state").toString(), QString("completed"));
        QCOMPARE(farm.onlineNodes(), 1);

        struct Case
        {
            const char *name;
            QByteArray body;
        };
        QJsonObject unknownType = turntableJob(good, "1", 1, 64, 48, 1);
        unknownType.insert("type", "hologram");
        QJsonObject badFrames = turntableJob(good, "9-1", 1, 64, 48, 1);
        QJsonObject badSize = turntableJob(good, "1", 1, 3, 48, 1);
        const Case cases[] = {
            {"malformed json", "{\"name\": "},
            {"unknown type", QJsonDocument(unknownType).toJson()},
            {"bad frame range", QJsonDocument(badFrames).toJson()},
            {"bad resolution", QJsonDocument(badSize).toJson()},
        };
        for (const Case &c : cases) {
            const auto r = farm.post("/api/v1/jobs", c.body);
            QVERIFY2(r.status == 400, c.name);
            const QJsonObject error = r.json().value("error").toObject();
            QVERIFY2(!error.value("code").toString().isEmpty(), c.name);
            QVERIFY2(!error.value("message").toString().isEmpty(), c.name);
        }
    }
};

QTEST_GUILESS_MAIN(TestFarmEndToEnd)
#include "tst_farm_e2e.moc"
