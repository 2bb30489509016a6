// render-node's agent command line and config file, and the URLs derived from --server.
#include "agent/nodeconfig.h"
#include "agent/taskspec.h"

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
    }

    void flags()
    {
        const auto cmd =
            NodeCommandLine::parse({"render-node", "--server", "https://farm.lab:9000/farm/",
                                    "--name", "ws-3", "--slots", "4", "--token", "t0k", "--cache",
                                    "/tmp/c", "--cache-max-mb", "512", "--tags", "gpu, lab"});
        QVERIFY2(cmd.ok(), qPrintable(cmd.ok() ? "" : cmd.error().message));
        const NodeConfig &c = cmd->config;
        QCOMPARE(c.name, QString("ws-3"));
        QCOMPARE(c.slotCount, 4);
        QCOMPARE(c.token, QString("t0k"));
        QCOMPARE(c.cacheDir, QString("/tmp/c"));
        QCOMPARE(c.cacheMaxMb, 512);
        QCOMPARE(c.tags, (QStringList{"gpu", "lab"}));
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
        f.write("server = http://10.0.0.5:8420\nname = from-file\nslots = 3\ntags = a,b\n");
        f.close();
        const auto cmd = NodeCommandLine::parse({"render-node", "--config", ini, "--slots", "2"});
        QVERIFY2(cmd.ok(), qPrintable(cmd.ok() ? "" : cmd.error().message));
        QCOMPARE(cmd->config.server, QUrl("http://10.0.0.5:8420"));
        QCOMPARE(cmd->config.name, QString("from-file"));
        QCOMPARE(cmd->config.slotCount, 2); // the flag wins over the file
        QCOMPARE(cmd->config.tags, (QStringList{"a", "b"}));
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

    void renderArguments()
    {
        const QJsonObject assign{
            {"task", 5},
            {"job", 2},
            {"frames", "5-8"},
            {"job_frames", "3-26"},
            {"input", QJsonObject{{"file", QString(64, 'f')}, {"name", "m.glb"}}},
            {"settings", QJsonObject{{"width", 320},
                                     {"height", 200},
                                     {"spp", 4},
                                     {"seed", 9},
                                     {"camera", QJsonObject{{"mode", "turntable"}}}}}};
        const auto spec = TaskSpec::fromAssign(assign);
        QVERIFY2(spec.ok(), qPrintable(spec.ok() ? "" : spec.error().message));
        QCOMPARE(spec->renderArguments("/c/m.glb", "/w/frame_####.png", 2),
                 (QStringList{"render",      "/c/m.glb", "-o",          "/w/frame_####.png",
                              "--frames",    "5-8",      "--size",      "320x200",
                              "--spp",       "4",        "--seed",      "9",
                              "--threads",   "2",        "--passes",    "rgb",
                              "--bit-depth", "8",        "--turntable", "--cycle",
                              "3:24"}));

        // A template set: --views into a directory, its passes and bit depth, no frames.
        QJsonObject templates = assign;
        templates["type"] = "templates";
        templates["frames"] = "1";
        templates["job_frames"] = "1";
        templates["settings"] = QJsonObject{{"width", 160},
                                            {"height", 120},
                                            {"views", 42},
                                            {"bit_depth", 16},
                                            {"passes", QJsonArray{"rgb", "mask", "xyz", "depth"}}};
        const auto tpl = TaskSpec::fromAssign(templates);
        QVERIFY2(tpl.ok(), qPrintable(tpl.ok() ? "" : tpl.error().message));
        QVERIFY(tpl->isTemplates());
        QCOMPARE(tpl->renderArguments("/c/m.glb", "/w/", 3),
                 (QStringList{"render", "/c/m.glb", "-o", "/w/", "--views", "42", "--size",
                              "160x120", "--spp", "16", "--seed", "1", "--threads", "3", "--passes",
                              "rgb,mask,xyz,depth", "--bit-depth", "16"}));
        // Orthographic projection: --ortho (width fitted) or --ortho-width W.
        QJsonObject ortho = assign;
        ortho["settings"] =
            QJsonObject{{"camera", QJsonObject{{"mode", "still"}, {"projection", "orthographic"}}},
                        {"passes", QJsonArray{"rgb", "instance"}}};
        const auto orthoSpec = TaskSpec::fromAssign(ortho);
        QVERIFY2(orthoSpec.ok(), qPrintable(orthoSpec.ok() ? "" : orthoSpec.error().message));
        const QStringList orthoArgs = orthoSpec->renderArguments("/c/m.glb", "/w/f_####.png", 1);
        QVERIFY2(orthoArgs.contains("--ortho") && !orthoArgs.contains("--ortho-width"),
                 qPrintable(orthoArgs.join(' ')));
        QCOMPARE(orthoArgs.mid(orthoArgs.indexOf("--passes"), 2),
                 (QStringList{"--passes", "rgb,instance"}));
        ortho["settings"] = QJsonObject{
            {"camera", QJsonObject{{"projection", "orthographic"}, {"ortho_width", 2.5}}}};
        const QStringList widthArgs =
            TaskSpec::fromAssign(ortho)->renderArguments("/c/m.glb", "/w/f_####.png", 1);
        QCOMPARE(widthArgs.mid(widthArgs.indexOf("--ortho-width"), 2),
                 (QStringList{"--ortho-width", "2.5"}));
        QVERIFY(!widthArgs.contains("--ortho"));
        QVERIFY(!tpl->renderArguments("/c/m.glb", "/w/", 3).contains("--ortho"));
        QJsonObject orthoTemplates = templates;
        QJsonObject orthoTemplateSettings = templates["settings"].toObject();
        orthoTemplateSettings["camera"] = QJsonObject{{"projection", "orthographic"}};
        orthoTemplates["settings"] = orthoTemplateSettings;
        QVERIFY(!TaskSpec::fromAssign(orthoTemplates).ok());

        QJsonObject noViews = templates;
        noViews["settings"] = QJsonObject{{"width", 160}};
        QVERIFY(!TaskSpec::fromAssign(noViews).ok());
        QJsonObject viewsOnModel = assign;
        viewsOnModel["settings"] = QJsonObject{{"views", 3}};
        QVERIFY(!TaskSpec::fromAssign(viewsOnModel).ok());

        QJsonObject other = assign;
        other["type"] = "blender";
        const auto refused = TaskSpec::fromAssign(other);
        QVERIFY(!refused.ok());
        QVERIFY(refused.error().message.contains("not supported"));
    }
};

QTEST_GUILESS_MAIN(TestNodeConfig)
#include "tst_nodeconfig.moc"
