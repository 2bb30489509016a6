// The real render-node binary: the agent renders a real model through it, a corrupt model fails
// with the renderer's error, bad flags are refused, and SIGTERM/SIGKILL take the children along.
#include "agent/agent.h"
#include "agenttestutil.h"
#include "fakeserver.h"

#include <QDirIterator>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QTemporaryDir>
#include <QtEndian>
#include <QtTest>

#include <csignal>
#include <memory>

using namespace farm;
using namespace farm::node;
using namespace agenttest;

namespace {
const char kEngineModel[] =
    "/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb";

QString renderNodeBinary()
{
    const QString dir = qEnvironmentVariable("FARM_BUILD_DIR");
    const QString path = dir + "/render-node/render-node";
    return !dir.isEmpty() && QFileInfo(path).isExecutable() ? path : QString();
}

/// Pids whose parent is `parent` and that have not exited (zombies count as gone).
QList<qint64> liveChildren(qint64 parent)
{
    QList<qint64> out;
    QDirIterator it("/proc", {"[0-9]*"}, QDir::Dirs);
    while (it.hasNext()) {
        QFile stat(it.next() + "/stat");
        if (!stat.open(QIODevice::ReadOnly))
            continue;
        const QByteArray text = stat.readAll();
        // "pid (comm) S ppid ..." and comm may hold spaces: split after the last ')'.
        const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
        if (fields.size() > 1 && fields[1].toLongLong() == parent && fields[0] != "Z")
            out.append(it.fileName().toLongLong());
    }
    return out;
}

} // namespace

class TestRenderNode : public QObject
{
    Q_OBJECT

    QString m_binary;
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<FakeServer> m_server;

    QList<Envelope> forTask(const QString &type, qint64 task) const
    {
        QList<Envelope> out;
        for (const Envelope &e : m_server->messages(type))
            if (e.data.value("task").toInteger() == task)
                out.append(e);
        return out;
    }

    QByteArray engineBytes() const
    {
        QFile f(kEngineModel);
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    }

    /// Starts the binary as an agent against the fake server and waits until a long render of
    /// task 5 runs in its child.
    bool startBusyNode(QProcess &node, QList<qint64> &children)
    {
        node.start(m_binary, {"--server", m_server->url(), "--name", "sigtest", "--cache",
                              m_dir->filePath("cache")});
        if (!QTest::qWaitFor([&] { return m_server->count("hello") == 1; }, 20000))
            return false;
        m_server->send("welcome", {{"protocol", 1}, {"node_id", 1}, {"heartbeat_s", 5}});
        const QString sha = m_server->addFile(engineBytes());
        m_server->send("task.assign", assignMessage(5, sha, "engine.glb", "1-500", "1-500",
                                                    "turntable", 1920, 1080));
        if (!QTest::qWaitFor([&] { return !forTask("task.log", 5).isEmpty(); }, 20000))
            return false;
        return QTest::qWaitFor(
            [&] {
                children = liveChildren(node.processId());
                return !children.isEmpty();
            },
            20000);
    }

private slots:
    void init()
    {
        m_binary = renderNodeBinary();
        if (m_binary.isEmpty())
            QSKIP("render-node is not built (set FARM_BUILD_DIR; ctest does)");
        m_dir = std::make_unique<QTemporaryDir>();
        m_server = std::make_unique<FakeServer>();
        QVERIFY(m_server->isListening());
    }

    void cleanup()
    {
        m_server.reset();
        m_dir.reset();
    }

    void rendersRealModel()
    {
        QVERIFY(QFile::exists(kEngineModel));
        Agent agent(makeConfig(m_server->url(), m_dir->filePath("cache"), m_binary));
        agent.start();
        QTRY_COMPARE_WITH_TIMEOUT(m_server->count("hello"), 1, 10000);
        m_server->send("welcome", {{"protocol", 1}, {"node_id", 1}, {"heartbeat_s", 5}});
        const QString sha = m_server->addFile(engineBytes());
        m_server->send("task.assign", assignMessage(11, sha, "2CylinderEngine.glb", "2-3", "1-4"));

        QTRY_VERIFY_WITH_TIMEOUT(
            !forTask("task.done", 11).isEmpty() || !forTask("task.failed", 11).isEmpty(), 120000);
        QVERIFY2(forTask("task.failed", 11).isEmpty(),
                 qPrintable(forTask("task.failed", 11).value(0).data.value("error").toString()));
        QCOMPARE(forTask("task.done", 11).first().data.value("outputs").toArray(),
                 (QJsonArray{"frame_0002.png", "frame_0003.png"}));
        QCOMPARE(m_server->uploads.size(), 2);
        for (const FakeServer::Upload &u : m_server->uploads) {
            QVERIFY2(u.body.startsWith("\x89PNG\r\n\x1a\n"), qPrintable(u.name));
            // IHDR: width and height big-endian at bytes 16 and 20.
            QCOMPARE(qFromBigEndian<quint32>(u.body.constData() + 16), 64u);
            QCOMPARE(qFromBigEndian<quint32>(u.body.constData() + 20), 48u);
        }
        // Two turntable frames see the model from different sides.
        QVERIFY(m_server->uploads[0].body != m_server->uploads[1].body);
        QVERIFY(!forTask("task.progress", 11).isEmpty());
    }

    void rendersTemplateSet()
    {
        Agent agent(makeConfig(m_server->url(), m_dir->filePath("cache"), m_binary));
        agent.start();
        QTRY_COMPARE_WITH_TIMEOUT(m_server->count("hello"), 1, 10000);
        m_server->send("welcome", {{"protocol", 1}, {"node_id", 1}, {"heartbeat_s", 5}});
        const QString sha = m_server->addFile(engineBytes());
        QJsonObject assign = assignMessage(13, sha, "2CylinderEngine.glb", "1", "1", "still");
        assign.insert("type", "templates");
        QJsonObject settings = assign.value("settings").toObject();
        settings.insert("views", 3);
        settings.insert("passes", QJsonArray{"rgb", "mask", "xyz", "depth"});
        assign.insert("settings", settings);
        m_server->send("task.assign", assign);

        QTRY_VERIFY_WITH_TIMEOUT(
            !forTask("task.done", 13).isEmpty() || !forTask("task.failed", 13).isEmpty(), 120000);
        QVERIFY2(forTask("task.failed", 13).isEmpty(),
                 qPrintable(forTask("task.failed", 13).value(0).data.value("error").toString()));
        QStringList names;
        for (const QJsonValue &v : forTask("task.done", 13).first().data.value("outputs").toArray())
            names.append(v.toString());
        for (int view = 0; view < 3; ++view)
            for (const char *f : {"rgb_%1.png", "mask_%1.png", "xyz_%1.npy", "depth_%1.png"})
                QVERIFY2(names.contains(QString(f).arg(view)), qPrintable(names.join(' ')));
        for (const char *f : {"cameras.json", "poses.npy", "intrinsics.npy"})
            QVERIFY2(names.contains(f), qPrintable(names.join(' ')));
        QCOMPARE(m_server->uploads.size(), names.size());
        for (const FakeServer::Upload &u : m_server->uploads) {
            if (u.name.endsWith(".npy"))
                QVERIFY2(u.body.startsWith("\x93NUMPY"), qPrintable(u.name));
            if (u.name == "cameras.json")
                QCOMPARE(QJsonDocument::fromJson(u.body).object().value("views").toArray().size(),
                         3);
        }
    }

    void corruptModelFails()
    {
        Agent agent(makeConfig(m_server->url(), m_dir->filePath("cache"), m_binary));
        agent.start();
        QTRY_COMPARE_WITH_TIMEOUT(m_server->count("hello"), 1, 10000);
        m_server->send("welcome", {{"protocol", 1}, {"node_id", 1}, {"heartbeat_s", 5}});
        const QString sha = m_server->addFile("glTF this is not a binary glTF file at all");
        m_server->send("task.assign", assignMessage(12, sha, "broken.glb", "1", "1"));
        QTRY_COMPARE_WITH_TIMEOUT(forTask("task.failed", 12).size(), 1, 60000);
        // Bytes no importer reads: the renderer exits with 65 and the node says the input is
        // unusable (the server then fails the job without another attempt).
        const QJsonObject failed = forTask("task.failed", 12).first().data;
        const QString error = failed.value("error").toString();
        QCOMPARE(failed.value("code").toString(), QString(errc::InvalidInput));
        QVERIFY2(error.contains("broken.glb") && !error.contains("exited with code"),
                 qPrintable(error));
        QVERIFY(m_server->uploads.isEmpty());
    }

    void badFlagsExitNonZero_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("expected");
        QTest::newRow("slots") << QStringList{"--slots", "0"} << "--slots";
        QTest::newRow("server") << QStringList{"--server", "gopher://x"} << "--server";
        QTest::newRow("unknown") << QStringList{"--bogus"} << "bogus";
    }

    void badFlagsExitNonZero()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, expected);
        QProcess p;
        p.start(m_binary, args);
        QVERIFY(p.waitForFinished(20000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QVERIFY(p.exitCode() != 0);
        const QString err = QString::fromUtf8(p.readAllStandardError()).trimmed();
        QVERIFY2(err.contains(expected) && !err.contains('\n'), qPrintable(err));
    }

    void sigtermStopsCleanly()
    {
        QProcess node;
        QList<qint64> children;
        QVERIFY(startBusyNode(node, children));
        node.terminate();
        QVERIFY(node.waitForFinished(20000));
        QCOMPARE(node.exitStatus(), QProcess::NormalExit);
        QCOMPARE(node.exitCode(), 0);
        for (qint64 pid : children)
            QTRY_VERIFY_WITH_TIMEOUT(!isAlive(pid), 10000);
        QTRY_VERIFY(!m_server->hasConnection());
    }

    void childDiesWithKilledNode()
    {
        QProcess node;
        QList<qint64> children;
        QVERIFY(startBusyNode(node, children));
        // SIGKILL: no cleanup code runs. The child goes too (PR_SET_PDEATHSIG, or SIGPIPE on its
        // next progress line; tst_agent checks PR_SET_PDEATHSIG with a child that never writes).
        node.kill();
        QVERIFY(node.waitForFinished(20000));
        for (qint64 pid : children)
            QTRY_VERIFY_WITH_TIMEOUT(!isAlive(pid), 10000);
    }
};

QTEST_GUILESS_MAIN(TestRenderNode)
#include "tst_rendernode.moc"
