// Blender jobs end to end: the real farm-server and two render-node processes with Debian's
// Blender, a .blend and its texture submitted as a bundle over the REST API. Renders are tiny
// (the machines have two cores); skipped where Blender is not installed.
#include "farmfixture.h"

#include <QDir>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QSet>
#include <QStandardPaths>
#include <QtTest>

namespace {

const QColor kTexture(30, 200, 90);

int colourDistance(const QColor &a, const QColor &b)
{
    return std::abs(a.red() - b.red()) + std::abs(a.green() - b.green()) +
           std::abs(a.blue() - b.blue());
}

/// Live processes whose command is blender and that are children of `parent` or in process
/// group `group` (fields of /proc/<pid>/stat after the command: state, ppid, pgrp).
QList<qint64> blenderProcesses(qint64 parent, qint64 group = 0)
{
    QList<qint64> found;
    for (const QString &name : QDir("/proc").entryList(QDir::Dirs)) {
        const qint64 pid = name.toLongLong();
        if (pid <= 0)
            continue;
        const QByteArray stat = readFile(QString("/proc/%1/stat").arg(pid));
        const QList<QByteArray> f = stat.mid(stat.lastIndexOf(')') + 2).split(' ');
        if (f.size() < 3 || f[0] == "Z")
            continue;
        const bool inGroup = group > 0 && f[2].toLongLong() == group;
        const bool child = f[1].toLongLong() == parent &&
                           readFile(QString("/proc/%1/comm").arg(pid)).startsWith("blender");
        if (inGroup || child)
            found.append(pid);
    }
    return found;
}

} // namespace

class TestBlenderEndToEnd : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QByteArray m_scene, m_texture;

    /// The bundle of the test scene: the .blend and the texture it names as //tex/colour.png.
    QJsonObject bundle(FarmFixture &farm, const QByteArray &blend)
    {
        const QString scene = farm.upload(blend, "scene.blend");
        const QString texture = farm.upload(m_texture, "colour.png");
        if (scene.isEmpty() || texture.isEmpty())
            return {};
        return {{"main", "scene.blend"},
                {"files", QJsonArray{QJsonObject{{"path", "scene.blend"}, {"file", scene}},
                                     QJsonObject{{"path", "tex/colour.png"}, {"file", texture}}}}};
    }

    QJsonArray tasksOf(FarmFixture &farm, qint64 job)
    {
        return farm.get(QString("/api/v1/jobs/%1/tasks").arg(job)).json().value("tasks").toArray();
    }

    bool startFarm(FarmFixture &farm, const QStringList &nodes)
    {
        if (!farm.startServer())
            return false;
        for (const QString &name : nodes)
            if (!farm.startNode(name))
                return false;
        return farm.waitUntil([&] { return farm.onlineNodes() == nodes.size(); }, 30000);
    }

private slots:
    void initTestCase()
    {
        const QString blender = QStandardPaths::findExecutable("blender");
        if (blender.isEmpty())
            QSKIP("blender is not installed (scripts/setup-deps.sh installs it)");
        QVERIFY2(QFile::exists(FarmFixture::binary("farm-server/farm-server")),
                 "farm-server not built");
        QVERIFY2(QFile::exists(FarmFixture::binary("render-node/render-node")),
                 "render-node not built");
        QVERIFY(QDir().mkpath(m_dir.filePath("tex")));
        QImage texture(16, 16, QImage::Format_RGB32);
        texture.fill(kTexture);
        QVERIFY(texture.save(m_dir.filePath("tex/colour.png")));
        m_texture = readFile(m_dir.filePath("tex/colour.png"));
        const QString script = QFINDTESTDATA("../render-node/engines/make_scene.py");
        QVERIFY(!script.isEmpty());
        QProcess make;
        make.setProcessChannelMode(QProcess::MergedChannels);
        make.start(blender,
                   {"-b", "--factory-startup", "--python-exit-code", "1", "-P", script, "--",
                    m_dir.filePath("scene.blend"), m_dir.filePath("tex/colour.png")});
        QVERIFY(make.waitForFinished(120000));
        QVERIFY2(make.exitCode() == 0, make.readAll().constData());
        m_scene = readFile(m_dir.filePath("scene.blend"));
        QVERIFY(m_scene.startsWith("BLENDER"));
    }

    void sixFramesOnTwoNodes()
    {
        FarmFixture farm;
        QVERIFY(startFarm(farm, {"blend-a", "blend-b"}));
        // Both nodes found Blender and say so.
        for (const QJsonValue &n : farm.get("/api/v1/nodes").json().value("nodes").toArray()) {
            QStringList engines;
            for (const QJsonValue &v : n.toObject().value("engines").toArray()) {
                const QJsonObject e = v.toObject();
                engines.append(e.value("name").toString());
                // Versions and devices as the node detected them, through the server.
                if (e.value("name") == "blender") {
                    QVERIFY2(e.value("version").toString().startsWith("3.") ||
                                 e.value("version").toString().startsWith("4."),
                             qPrintable(e.value("version").toString()));
                    QVERIFY(e.value("devices").toArray().contains("CPU"));
                }
            }
            QVERIFY2(engines.contains("blender") && engines.contains("farmhand"),
                     qPrintable(engines.join(',')));
        }

        const QJsonObject input = bundle(farm, m_scene);
        QVERIFY(!input.isEmpty());
        const qint64 job = farm.submit(
            {{"name", "e2e blender"},
             {"type", "blender"},
             {"input", input},
             {"frames", "1-6"},
             {"chunk", 1},
             {"settings",
              QJsonObject{
                  {"render_engine", "CYCLES"}, {"samples", 2}, {"width", 64}, {"height", 48}}}});
        QVERIFY(job > 0);
        const QJsonObject done = farm.waitForJob(job, 400000);
        QVERIFY2(done.value("state").toString() == "completed",
                 QJsonDocument(done).toJson().constData());

        QSet<QString> nodes;
        for (const QJsonValue &t : tasksOf(farm, job))
            nodes.insert(t.toObject().value("node").toString());
        QCOMPARE(nodes, (QSet<QString>{"blend-a", "blend-b"}));

        QStringList names;
        for (const QJsonValue &o : farm.get(QString("/api/v1/jobs/%1/outputs").arg(job))
                                       .json()
                                       .value("outputs")
                                       .toArray())
            names.append(o.toObject().value("name").toString());
        names.sort();
        QCOMPARE(names, (QStringList{"frame_0001.png", "frame_0002.png", "frame_0003.png",
                                     "frame_0004.png", "frame_0005.png", "frame_0006.png"}));
        for (const QString &name : std::as_const(names)) {
            const auto r = farm.get(QString("/api/v1/jobs/%1/outputs/%2").arg(job).arg(name));
            QCOMPARE(r.status, 200);
            const QImage img = QImage::fromData(r.body);
            QVERIFY2(!img.isNull(), qPrintable(name));
            QCOMPARE(img.size(), QSize(64, 48));
            const QColor centre = img.pixelColor(32, 24);
            QVERIFY2(colourDistance(centre, kTexture) <= 12,
                     qPrintable(QString("%1: centre %2, texture %3")
                                    .arg(name, centre.name(), kTexture.name())));
            QVERIFY2(colourDistance(img.pixelColor(1, 1), centre) > 100, qPrintable(name));
        }
    }

    void cancelEndsBlender()
    {
        FarmFixture farm;
        QVERIFY(startFarm(farm, {"blend-long"}));
        const qint64 job = farm.submit(
            {{"name", "e2e blender long"},
             {"type", "blender"},
             {"input", bundle(farm, m_scene)},
             {"frames", "1-20"},
             {"chunk", 20},
             {"settings", QJsonObject{{"samples", 65536}, {"width", 320}, {"height", 240}}}});
        QVERIFY(job > 0);
        // Find the node's Blender child once it renders.
        qint64 nodePid = 0;
        for (const QString &name : QDir("/proc").entryList(QDir::Dirs)) {
            const QByteArray cmdline = readFile(QString("/proc/%1/cmdline").arg(name));
            if (cmdline.contains("render-node") && cmdline.contains("blend-long"))
                nodePid = name.toLongLong();
        }
        QVERIFY(nodePid > 0);
        QList<qint64> running;
        QVERIFY(farm.waitUntil(
            [&] {
                running = blenderProcesses(nodePid);
                return !running.isEmpty() &&
                       tasksOf(farm, job).first().toObject().value("state").toString() == "running";
            },
            60000));
        QTest::qWait(1500); // well into the render
        const qint64 blender = running.first();

        QCOMPARE(farm.post(QString("/api/v1/jobs/%1/cancel").arg(job), {}).status, 200);
        QCOMPARE(farm.waitForJob(job, 30000).value("state").toString(), QString("canceled"));
        // Blender and anything in its process group are gone; the node lives on.
        QVERIFY2(
            farm.waitUntil([&] { return blenderProcesses(nodePid, blender).isEmpty(); }, 15000),
            "a blender process survived the cancel");
        QCOMPARE(farm.onlineNodes(), 1);
    }

    void corruptBlendFails()
    {
        FarmFixture farm;
        QVERIFY(startFarm(farm, {"blend-sturdy"}));
        QByteArray garbage(8192, '\0');
        for (int i = 0; i < garbage.size(); ++i)
            garbage[i] = char((i * 131 + 7) % 251);
        const QString sha = farm.upload(garbage, "broken.blend");
        QVERIFY(!sha.isEmpty());
        const qint64 job = farm.submit(
            {{"name", "e2e broken blend"},
             {"type", "blender"},
             {"input", QJsonObject{{"main", "broken.blend"},
                                   {"files", QJsonArray{QJsonObject{{"path", "broken.blend"},
                                                                    {"file", sha}}}}}},
             {"frames", "1"},
             {"settings", QJsonObject{{"samples", 1}, {"width", 32}, {"height", 24}}}});
        QVERIFY(job > 0);
        const QJsonObject failed = farm.waitForJob(job, 180000);
        QCOMPARE(failed.value("state").toString(), QString("failed"));
        QVERIFY2(failed.value("error").toString().contains("File format is not supported"),
                 qPrintable(failed.value("error").toString()));
        const qint64 task = tasksOf(farm, job).first().toObject().value("id").toInteger();
        const auto log = farm.get(QString("/api/v1/tasks/%1/log").arg(task));
        QCOMPARE(log.status, 200);
        QVERIFY2(log.body.contains("Error: File format is not supported"), log.body.constData());
        QCOMPARE(farm.onlineNodes(), 1);
    }
};

QTEST_MAIN(TestBlenderEndToEnd)
#include "tst_blender_e2e.moc"
