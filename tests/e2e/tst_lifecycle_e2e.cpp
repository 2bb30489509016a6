// Lifecycle from a script's side: farmctl (the real binary) against the real farm-server and a
// real render-node. An interrupted farmctl upload resumes after a server restart; every action
// of the dashboards works from farmctl, and bad input gives a usage error or the server's.
#include "farmfixture.h"

#include <QCryptographicHash>
#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QtTest>

#include <csignal>

#include <zip.h>

namespace {

const char *kBox = "/usr/share/assimp/models/OBJ/box.obj";

struct Run
{
    int exitCode = -1;
    QString out, err;
};

Run farmctl(FarmFixture &farm, const QStringList &args, int timeoutMs = 60000)
{
    QProcess p;
    p.start(FarmFixture::binary("shared/farmctl/farmctl"),
            QStringList{"--server", farm.serverUrl()} + args);
    Run r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished(3000);
        r.err = "farmctl did not finish";
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

QJsonObject boxJob(const QString &sha, const QString &frames)
{
    return {{"name", "box"},
            {"type", "model"},
            {"input", QJsonObject{{"file", sha}, {"name", "box.obj"}}},
            {"frames", frames},
            {"settings", QJsonObject{{"width", 32}, {"height", 24}, {"spp", 1}}}};
}

} // namespace

class TestLifecycleE2e : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase()
    {
        FARM_E2E_REQUIRE(kBox);
        QVERIFY2(QFile::exists(FarmFixture::binary("shared/farmctl/farmctl")), "farmctl not built");
    }

    // Issue 10: farmctl killed in the middle of an upload, the server restarted, farmctl run
    // again: it sends only the chunks the server does not hold.
    void interruptedUploadResumes()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        QTemporaryDir dir;
        // A valid OBJ of 12 chunks: one triangle, then comment lines of random text.
        const QString path = dir.filePath("big.obj");
        {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n");
            QByteArray line(1023, 'x');
            line.append('\n');
            auto *rng = QRandomGenerator::global();
            while (f.size() + line.size() <= 96LL * 1024 * 1024) {
                line[0] = '#';
                for (int i = 1; i < 1023; i += 8)
                    line[i] = char('a' + rng->bounded(26));
                f.write(line);
            }
        }
        const qint64 size = QFileInfo(path).size();

        QProcess first;
        first.start(FarmFixture::binary("shared/farmctl/farmctl"),
                    {"--server", farm.serverUrl(), "submit", path});
        QVERIFY(first.waitForStarted(5000));
        // Kill it once the server holds a few chunks and before it holds all of them.
        QString uploadId;
        int chunks = 0;
        QVERIFY(farm.waitUntil(
            [&] {
                const QJsonArray uploads =
                    farm.get("/api/v1/uploads").json().value("uploads").toArray();
                if (uploads.isEmpty())
                    return false;
                const QJsonObject u = uploads.first().toObject();
                uploadId = u.value("id").toString();
                chunks = u.value("chunks").toInt();
                return u.value("received").toArray().size() >= 3;
            },
            60000));
        ::kill(pid_t(first.processId()), SIGKILL);
        QVERIFY(first.waitForFinished(5000));
        QCOMPARE(chunks, 12);

        // The server restarts meanwhile: the open upload survives in its database.
        QCOMPARE(farm.stopServer(), 0);
        QVERIFY(farm.startServer());
        const auto heldReply = farm.get("/api/v1/uploads/" + uploadId);
        QVERIFY2(heldReply.status == 200,
                 qPrintable(QString("%1 %2 %3")
                                .arg(heldReply.status)
                                .arg(QString::fromUtf8(heldReply.body), farm.serverLog())));
        const QJsonObject held = heldReply.json();
        const int heldChunks = int(held.value("received").toArray().size());
        QVERIFY2(heldChunks >= 3 && heldChunks < chunks, QJsonDocument(held).toJson().constData());
        const qint64 chunkSize = held.value("chunk_size").toInteger();
        qint64 heldBytes = 0;
        for (const QJsonValue &v : held.value("received").toArray())
            heldBytes += qMin(chunkSize, size - v.toInteger() * chunkSize);

        const Run second = farmctl(farm, {"submit", path});
        QVERIFY2(second.exitCode == 0, qPrintable(second.err));
        const auto m =
            QRegularExpression(R"(sent (\d+) of (\d+) bytes \((\d+) already)").match(second.err);
        QVERIFY2(m.hasMatch(), qPrintable(second.err));
        const qint64 sent = m.captured(1).toLongLong();
        QCOMPARE(m.captured(2).toLongLong(), size);
        // Only what the server lacked went over the wire: each chunk reached it once.
        QVERIFY(sent < size);
        QCOMPARE(sent, size - heldBytes);
        QCOMPARE(m.captured(3).toLongLong(), heldBytes);
        QCOMPARE(farm.get("/api/v1/uploads/" + uploadId).status, 404); // completed
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCryptographicHash sha(QCryptographicHash::Sha256);
        QVERIFY(sha.addData(&f));
        QCOMPARE(farm.request("HEAD", "/api/v1/files/" + sha.result().toHex()).status, 200);
        const qint64 job = second.out.trimmed().toLongLong();
        QVERIFY(job > 0);
        QCOMPARE(farm.get(QString("/api/v1/jobs/%1").arg(job)).status, 200);
    }

    void retentionFromFarmctl()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer(0, {"--retention-input-mb", "1"}));
        QFile box(kBox);
        QVERIFY(box.open(QIODevice::ReadOnly));
        const QString used = farm.upload(box.readAll(), "box.obj");
        QVERIFY(farm.submit(boxJob(used, "1")) > 0);
        QByteArray noise(2 * 1024 * 1024, Qt::Uninitialized);
        for (char &c : noise)
            c = char(QRandomGenerator::global()->bounded(256));
        const QString unused = farm.upload(noise, "noise.bin");
        QVERIFY(!unused.isEmpty());

        Run r = farmctl(farm, {"retention"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(r.out.count('\n'), 1);
        QVERIFY2(r.out.startsWith("would remove file " + unused), qPrintable(r.out));
        QCOMPARE(farm.request("HEAD", "/api/v1/files/" + unused).status, 200);
        r = farmctl(farm, {"retention", "--apply"});
        QVERIFY2(r.out.startsWith("removed file " + unused), qPrintable(r.out));
        QCOMPARE(farm.request("HEAD", "/api/v1/files/" + unused).status, 404);
        QCOMPARE(farm.request("HEAD", "/api/v1/files/" + used).status, 200);
        QCOMPARE(farmctl(farm, {"retention"}).out, QString());
    }

    void everyActionFromFarmctl()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        QFile box(kBox);
        QVERIFY(box.open(QIODevice::ReadOnly));
        const QString sha = farm.upload(box.readAll(), "box.obj");
        QVERIFY(!sha.isEmpty());

        // Nodes: drained (by name) it takes nothing; enabled (by id) it renders.
        QVERIFY(farm.startNode("ctl-node"));
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 30000));
        Run r = farmctl(farm, {"drain", "ctl-node"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains("(ctl-node) draining"), qPrintable(r.out));
        const qint64 nodeId = r.out.section(' ', 1, 1).toLongLong();
        QVERIFY(nodeId > 0);
        r = farmctl(farm, {"disable", "ctl-node"});
        QVERIFY2(r.out.contains("disabled"), qPrintable(r.out));
        QCOMPARE(farmctl(farm, {"drain", "no-such-node"}).exitCode, 1);

        const qint64 job = farm.submit(boxJob(sha, "1-2"));
        QVERIFY(job > 0);
        const QString id = QString::number(job);
        r = farmctl(farm, {"explain", id});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains("disabled"), qPrintable(r.out));
        r = farmctl(farm, {"pause", id});
        QCOMPARE(r.out, QString("job %1 paused\n").arg(job));
        r = farmctl(farm, {"pause", id});
        QCOMPARE(r.exitCode, 1); // already paused: the server's 409, said on stderr
        QVERIFY2(r.err.startsWith("error: "), qPrintable(r.err));
        r = farmctl(farm, {"priority", id, "80"});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(farm.get("/api/v1/jobs/" + id).json().value("priority").toInt(), 80);
        QCOMPARE(farmctl(farm, {"priority", id, "101"}).exitCode, 64);
        QCOMPARE(farmctl(farm, {"priority", id, "high"}).exitCode, 64);
        QCOMPARE(farm.get("/api/v1/jobs/" + id).json().value("priority").toInt(), 80);
        QCOMPARE(farmctl(farm, {"rerun", id}).exitCode, 1); // not finished yet
        r = farmctl(farm, {"resume", id});
        QCOMPARE(r.out, QString("job %1 queued\n").arg(job));

        r = farmctl(farm, {"enable", QString::number(nodeId)});
        QVERIFY2(r.out.contains("(ctl-node)"), qPrintable(r.out));
        QCOMPARE(farm.waitForJob(job, 120000).value("state").toString(), QString("completed"));

        // Re-run frame 2: its image is rendered again.
        r = farmctl(farm, {"rerun", id, "--frames", "2"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(farm.waitForJob(job, 120000).value("state").toString(), QString("completed"));
        QCOMPARE(
            farm.get("/api/v1/jobs/" + id + "/outputs").json().value("outputs").toArray().size(),
            2);
        QCOMPARE(farmctl(farm, {"rerun", id, "--frames", "9"}).exitCode, 1);

        // Every output as one zip.
        QTemporaryDir out;
        const QString zipPath = out.filePath("box.zip");
        r = farmctl(farm, {"archive", id, zipPath});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        int zipError = 0;
        zip_t *zip =
            zip_open(QFile::encodeName(zipPath).constData(), ZIP_RDONLY | ZIP_CHECKCONS, &zipError);
        QVERIFY2(zip, qPrintable(QString::number(zipError)));
        QCOMPARE(zip_get_num_entries(zip, 0), zip_int64_t(2));
        QVERIFY(zip_name_locate(zip, "frame_0002.png", 0) >= 0);
        zip_close(zip);
        QCOMPARE(farmctl(farm, {"archive", "99999", zipPath}).exitCode, 1);

        // Re-queue a done task: the job opens again and completes again.
        const qint64 task = farm.get("/api/v1/jobs/" + id + "/tasks")
                                .json()
                                .value("tasks")
                                .toArray()
                                .first()
                                .toObject()
                                .value("id")
                                .toInteger();
        r = farmctl(farm, {"requeue", QString::number(task)});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(farm.waitForJob(job, 120000).value("state").toString(), QString("completed"));

        // Cancel, retry, delete: the input goes with the last job that used it. The node is
        // drained meanwhile, or it may finish the one-frame job before the cancel arrives.
        QCOMPARE(farmctl(farm, {"drain", QString::number(nodeId)}).exitCode, 0);
        const qint64 other = farm.submit(boxJob(sha, "1"));
        QCOMPARE(farmctl(farm, {"cancel", QString::number(other)}).exitCode, 0);
        QCOMPARE(farmctl(farm, {"retry", QString::number(other)}).exitCode, 0);
        QCOMPARE(farmctl(farm, {"enable", QString::number(nodeId)}).exitCode, 0);
        QCOMPARE(farm.waitForJob(other, 120000).value("state").toString(), QString("completed"));
        QCOMPARE(farmctl(farm, {"delete", QString::number(other)}).out,
                 QString("job %1 deleted\n").arg(other));
        QCOMPARE(farm.request("HEAD", "/api/v1/files/" + sha).status, 200); // still used
        QCOMPARE(farmctl(farm, {"delete", id}).exitCode, 0);
        QCOMPARE(farm.request("HEAD", "/api/v1/files/" + sha).status, 404);
        QCOMPARE(farmctl(farm, {"delete", id}).exitCode, 1);
        QCOMPARE(farmctl(farm, {"pause", "abc"}).exitCode, 64);
    }
};

QTEST_MAIN(TestLifecycleE2e)
#include "tst_lifecycle_e2e.moc"
