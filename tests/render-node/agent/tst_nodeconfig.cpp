// render-node's agent command line and config file, and the URLs derived from --server.
#include "agent/nodeconfig.h"

#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest>

using namespace farm;
using namespace farm::node;

class TestNodeConfig : public QObject
{
    Q_OBJECT
private slots:
    void defaults()
    {
        const auto cmd = NodeCommandLine::parse({"render-node"});
        QVERIFY2(cmd.ok(), qPrintable(cmd.ok() ? "" : cmd.error().message));
        QCOMPARE(cmd->config.server, QUrl("http://127.0.0.1:8420"));
        QVERIFY(!cmd->config.name.isEmpty());
        QCOMPARE(cmd->config.slotCount, 1);
        QVERIFY(cmd->config.token.isEmpty());
        QVERIFY2(cmd->config.cacheDir.contains("farmhand-node-"), qPrintable(cmd->config.cacheDir));
        QCOMPARE(cmd->config.webSocketUrl(), QUrl("ws://127.0.0.1:8420/ws/node"));
        QCOMPARE(cmd->config.blenderProgram, QString("blender")); // looked up on PATH
    }

    void flags()
    {
        const auto cmd = NodeCommandLine::parse(
            {"render-node", "--server", "https://farm.lab:9000/farm/", "--name", "ws-3", "--slots",
             "4", "--token", "t0k", "--cache", "/tmp/c", "--cache-max-mb", "512", "--tags",
             "gpu, lab", "--blender", "/opt/blender-4.2/blender"});
        QVERIFY2(cmd.ok(), qPrintable(cmd.ok() ? "" : cmd.error().message));
        const NodeConfig &c = cmd->config;
        QCOMPARE(c.name, QString("ws-3"));
        QCOMPARE(c.slotCount, 4);
        QCOMPARE(c.token, QString("t0k"));
        QCOMPARE(c.cacheDir, QString("/tmp/c"));
        QCOMPARE(c.cacheMaxMb, 512);
        QCOMPARE(c.tags, (QStringList{"gpu", "lab"}));
        QCOMPARE(c.blenderProgram, QString("/opt/blender-4.2/blender"));
        QCOMPARE(c.webSocketUrl(), QUrl("wss://farm.lab:9000/farm/ws/node"));
        QCOMPARE(c.apiUrl("/api/v1/files/ab"), QUrl("https://farm.lab:9000/farm/api/v1/files/ab"));
    }

    void gpuFlags()
    {
        auto cmd = NodeCommandLine::parse({"render-node", "--gpus", "0,GPU-x1", "--slots", "0"});
        QVERIFY2(cmd.ok(), qPrintable(cmd.ok() ? "" : cmd.error().message));
        QCOMPARE(cmd->config.gpuSelection, QString("0,GPU-x1"));
        QCOMPARE(cmd->config.slotCount, 0);
        QVERIFY(cmd->config.slotsGiven);
        NodeConfig c = cmd->config;
        QVERIFY(applyGpus(c, {}).ok()); // two declared GPU slots, no CPU slot
        QCOMPARE(c.totalSlots(), 2);
        cmd = NodeCommandLine::parse({"render-node", "--slots", "0"});
        QVERIFY(cmd.ok());
        c = cmd->config;
        QVERIFY(!applyGpus(c, {}).ok()); // no GPU detected and no CPU slot: refused
        cmd = NodeCommandLine::parse({"render-node"});
        c = cmd->config;
        QVERIFY(applyGpus(c, {}).ok());
        QCOMPARE(c.totalSlots(), 1); // no GPU: one CPU slot by default
    }

    void configFile()
    {
        QTemporaryDir dir;
        const QString ini = dir.filePath("node.ini");
        QFile f(ini);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("server = http://10.0.0.5:8420\nname = from-file\nslots = 3\ntags = a,b\n"
                "blender = /usr/local/bin/blender\n");
        f.close();
        const auto cmd = NodeCommandLine::parse({"render-node", "--config", ini, "--slots", "2"});
        QVERIFY2(cmd.ok(), qPrintable(cmd.ok() ? "" : cmd.error().message));
        QCOMPARE(cmd->config.server, QUrl("http://10.0.0.5:8420"));
        QCOMPARE(cmd->config.name, QString("from-file"));
        QCOMPARE(cmd->config.slotCount, 2); // the flag wins over the file
        QCOMPARE(cmd->config.tags, (QStringList{"a", "b"}));
        QCOMPARE(cmd->config.blenderProgram, QString("/usr/local/bin/blender"));
    }

    void severalServers()
    {
        // Controllers of one farm: comma separated, the flag repeated, or a list in the file.
        auto cmd = NodeCommandLine::parse(
            {"render-node", "--server", "http://a:8420, http://b:8420", "--server", "http://c:1"});
        QVERIFY2(cmd.ok(), qPrintable(cmd.ok() ? "" : cmd.error().message));
        NodeConfig c = cmd->config;
        QCOMPARE(c.server, QUrl("http://a:8420")); // names the farm (the node's secret)
        QCOMPARE(c.controllers(),
                 (QList<QUrl>{QUrl("http://a:8420"), QUrl("http://b:8420"), QUrl("http://c:1")}));
        QCOMPARE(c.apiUrl("/api/v1/files/ab"), QUrl("http://a:8420/api/v1/files/ab"));
        NodeConfig copy = c; // a task's copy follows the agent to another controller
        c.activeServer->store(1);
        QCOMPARE(copy.apiUrl("/api/v1/files/ab"), QUrl("http://b:8420/api/v1/files/ab"));
        QCOMPARE(NodeConfig::webSocketUrl(c.controllers()[2]), QUrl("ws://c:1/ws/node"));

        QTemporaryDir dir;
        const QString ini = dir.filePath("node.ini");
        QFile f(ini);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("server = http://a:8420, http://b:8420\n");
        f.close();
        cmd = NodeCommandLine::parse({"render-node", "--config", ini});
        QVERIFY2(cmd.ok(), qPrintable(cmd.ok() ? "" : cmd.error().message));
        QCOMPARE(cmd->config.controllers().size(), 2);

        cmd = NodeCommandLine::parse({"render-node", "--server", "http://a:1,http://a:1/"});
        QVERIFY(!cmd.ok());
        QVERIFY2(cmd.error().message.contains("listed twice"), qPrintable(cmd.error().message));
        cmd = NodeCommandLine::parse({"render-node", "--server", "http://a:1,ftp://b"});
        QVERIFY(!cmd.ok());
        QVERIFY2(cmd.error().message.contains("ftp://b"), qPrintable(cmd.error().message));
    }

    void badInput_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("fileContent");
        QTest::addColumn<QString>("expected");
        QTest::newRow("slots negative") << QStringList{"--slots", "-1"} << ""
                                        << "--slots";
        QTest::newRow("slots text") << QStringList{"--slots", "many"} << ""
                                    << "--slots";
        QTest::newRow("server scheme") << QStringList{"--server", "ftp://x"} << ""
                                       << "--server";
        QTest::newRow("server no host") << QStringList{"--server", "http://"} << ""
                                        << "--server";
        QTest::newRow("unknown flag") << QStringList{"--frobnicate"} << ""
                                      << "frobnicate";
        QTest::newRow("missing value") << QStringList{"--name"} << ""
                                       << "name";
        QTest::newRow("positional") << QStringList{"scene.glb"} << ""
                                    << "unexpected argument";
        QTest::newRow("cache max") << QStringList{"--cache-max-mb", "0"} << ""
                                   << "--cache-max-mb";
        QTest::newRow("bad tag") << QStringList{"--tags", "a b"} << ""
                                 << "tag";
        QTest::newRow("empty blender") << QStringList{"--blender", " "} << ""
                                       << "--blender";
        QTest::newRow("config missing") << QStringList{"--config", "/nonexistent/x.ini"} << ""
                                        << "cannot be read";
        QTest::newRow("config unknown key") << QStringList{} << "sluts = 3\n"
                                            << "unknown key 'sluts'";
        QTest::newRow("config bad slots") << QStringList{} << "slots = 999\n"
                                          << "--slots";
    }

    void badInput()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, fileContent);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        QStringList argv{"render-node"};
        if (!fileContent.isEmpty()) {
            QFile f(dir.filePath("node.ini"));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(fileContent.toUtf8());
            argv << "--config" << f.fileName();
        }
        const auto cmd = NodeCommandLine::parse(argv + args);
        QVERIFY(!cmd.ok());
        QVERIFY2(cmd.error().message.contains(expected), qPrintable(cmd.error().message));
        QVERIFY(!cmd.error().message.contains('\n'));
    }

    void help()
    {
        const auto cmd = NodeCommandLine::parse({"render-node", "--help"});
        QVERIFY(cmd.ok());
        QVERIFY(cmd->helpRequested);
        QVERIFY(cmd->helpText.contains("--server"));
    }
};

QTEST_GUILESS_MAIN(TestNodeConfig)
#include "tst_nodeconfig.moc"
