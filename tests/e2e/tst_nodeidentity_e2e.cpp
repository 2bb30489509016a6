// Node identity through the real binaries: a node keeps its own secret in its cache, a second
// machine under its name is refused while the real node keeps working, and a reinstalled
// machine joins again once `farmctl nodes forget` released the name.
#include "farmfixture.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QProcess>
#include <QtTest>

namespace {

const char *kModel =
    "/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb";

} // namespace

class TestNodeIdentityEndToEnd : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase()
    {
        FARM_E2E_REQUIRE(kModel);
        QVERIFY2(QFile::exists(FarmFixture::binary("shared/farmctl/farmctl")), "farmctl not built");
    }

    void impostorIsRefusedAndForgottenNameJoinsAgain()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        QProcess *real = farm.startNode("box");
        QVERIFY(real);
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 20000));
        const QString secretFile = farm.dataDir() + "/node-cache-box/node-credentials.json";
        QVERIFY(farm.waitUntil([&] { return QFile::exists(secretFile); }, 5000));
        QCOMPARE(QFileInfo(secretFile).permissions() &
                     (QFile::ReadGroup | QFile::WriteGroup | QFile::ReadOther | QFile::WriteOther),
                 QFileDevice::Permissions{});
        const QString secret =
            QJsonDocument::fromJson(readFile(secretFile)).object().value("secret").toString();
        QVERIFY(!secret.isEmpty());

        // Another machine under the same name, with its own (empty) cache.
        QProcess *impostor = farm.startNode("box", {"--cache", farm.dataDir() + "/impostor-cache"});
        QVERIFY(impostor);
        QVERIFY(farm.waitUntil(
            [&] { return farm.serverLog().contains("refused a hello as 'box': name_taken"); },
            20000));
        QCOMPARE(farm.onlineNodes(), 1);
        QVERIFY(!QFile::exists(farm.dataDir() + "/impostor-cache/node-credentials.json"));

        // The real node still renders.
        const QString sha = farm.upload(readFile(kModel), "2CylinderEngine.glb");
        QVERIFY(!sha.isEmpty());
        const qint64 job =
            farm.submit({{"type", "model"},
                         {"input", QJsonObject{{"file", sha}, {"name", "2CylinderEngine.glb"}}},
                         {"frames", "1"},
                         {"settings", QJsonObject{{"width", 64}, {"height", 48}, {"spp", 1}}}});
        QVERIFY(job > 0);
        QCOMPARE(farm.waitForJob(job, 120000).value("state").toString(), QString("completed"));
        const QJsonObject task = farm.get(QString("/api/v1/jobs/%1/tasks").arg(job))
                                     .json()
                                     .value("tasks")
                                     .toArray()
                                     .first()
                                     .toObject();
        QCOMPARE(task.value("node").toString(), QString("box"));
        farm.killNode(impostor);

        // The machine is reinstalled: its secret is gone. Refused until the name is released.
        farm.killNode(real);
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 0; }, 20000));
        const int refusals = int(farm.serverLog().count("refused a hello as 'box'"));
        QVERIFY(farm.startNode("box", {"--cache", farm.dataDir() + "/reinstalled-cache"}));
        QVERIFY(farm.waitUntil(
            [&] { return farm.serverLog().count("refused a hello as 'box'") > refusals; }, 20000));
        QCOMPARE(farm.onlineNodes(), 0);

        const QString farmctl = FarmFixture::binary("shared/farmctl/farmctl");
        QProcess forget;
        forget.start(farmctl, {"--server", farm.serverUrl(), "nodes", "forget", "box"});
        QVERIFY(forget.waitForFinished(30000));
        QCOMPARE(forget.exitCode(), 0);
        QVERIFY(forget.readAllStandardOutput().contains("forgotten"));
        QProcess unknown;
        unknown.start(farmctl, {"--server", farm.serverUrl(), "nodes", "forget", "nobody"});
        QVERIFY(unknown.waitForFinished(30000));
        QCOMPARE(unknown.exitCode(), 1);
        QVERIFY(unknown.readAllStandardError().contains("no node is named 'nobody'"));

        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 30000));
        QVERIFY(farm.waitUntil(
            [&] {
                return QFile::exists(farm.dataDir() + "/reinstalled-cache/node-credentials.json");
            },
            5000));
        // Forgetting a node that is online is refused.
        QProcess busy;
        busy.start(farmctl, {"--server", farm.serverUrl(), "nodes", "forget", "box"});
        QVERIFY(busy.waitForFinished(30000));
        QCOMPARE(busy.exitCode(), 1);
        QVERIFY(busy.readAllStandardError().contains("online"));
    }
};

QTEST_GUILESS_MAIN(TestNodeIdentityEndToEnd)
#include "tst_nodeidentity_e2e.moc"
