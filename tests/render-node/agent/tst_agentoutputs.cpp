// Render passes and template sets through the agent: every file the child announces (FRAME,
// OUTPUT, CAMERAS) is uploaded once, and task.done names them all. Shell scripts stand in for
// the renderer child; tst_rendernode runs the real one.
#include "agent/agent.h"
#include "agenttestutil.h"
#include "fakeserver.h"

#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using namespace farm;
using namespace farm::node;
using namespace agenttest;

namespace {

/// A child that writes frame 1 with a depth and a mask pass, announcing the depth file twice.
const char kPassesScript[] = R"(printf '%s\n' "$@" > "@DIR@/args.txt"
dir=$(dirname "$4")
printf 'rgb' > "$dir/frame_0001.png"
printf 'depth' > "$dir/frame_0001_depth.png"
printf 'exr' > "$dir/frame_0001_depth.exr"
printf 'mask' > "$dir/frame_0001_mask.png"
echo "OUTPUT 1 depth $dir/frame_0001_depth.png"
echo "OUTPUT 1 depth $dir/frame_0001_depth.exr"
echo "OUTPUT 1 mask $dir/frame_0001_mask.png"
echo "OUTPUT 1 depth $dir/frame_0001_depth.png"
echo "FRAME 1 $dir/frame_0001.png"
)";

/// A child that writes a template set of `--views N` views into the directory `-o DIR/`.
const char kTemplatesScript[] = R"(printf '%s\n' "$@" > "@DIR@/args.txt"
dir="$4"
n="$6"
v=0
while [ "$v" -lt "$n" ]; do
  printf 'rgb %s' "$v" > "${dir}rgb_$v.png"
  printf 'mask %s' "$v" > "${dir}mask_$v.png"
  printf 'xyz %s' "$v" > "${dir}xyz_$v.npy"
  echo "PROGRESS 0.5 $v"
  echo "OUTPUT $v mask ${dir}mask_$v.png"
  echo "OUTPUT $v xyz ${dir}xyz_$v.npy"
  echo "FRAME $v ${dir}rgb_$v.png"
  v=$((v+1))
done
printf '{}' > "${dir}cameras.json"
printf 'poses' > "${dir}poses.npy"
echo "CAMERAS ${dir}cameras.json"
echo "CAMERAS ${dir}poses.npy"
@TAIL@
)";

QJsonObject templatesAssign(qint64 task, const QString &sha, int views)
{
    QJsonObject m = assignMessage(task, sha, "engine.glb", "1", "1", "still", 32, 24);
    m.insert("type", "templates");
    QJsonObject settings = m.value("settings").toObject();
    settings.insert("views", views);
    settings.insert("passes", QJsonArray{"rgb", "mask", "xyz"});
    settings.insert("bit_depth", 16);
    m.insert("settings", settings);
    return m;
}

} // namespace

class TestAgentOutputs : public QObject
{
    Q_OBJECT

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<FakeServer> m_server;
    std::unique_ptr<Agent> m_agent;

    bool startAgent(const QString &program)
    {
        m_agent =
            std::make_unique<Agent>(makeConfig(m_server->url(), m_dir->filePath("cache"), program));
        m_agent->start();
        if (!QTest::qWaitFor([&] { return m_server->count("hello") == 1; }, 10000))
            return false;
        m_server->send("welcome", {{"protocol", 1}, {"node_id", 7}, {"heartbeat_s", 5}});
        return QTest::qWaitFor([&] { return m_agent->nodeId() == 7; }, 5000);
    }

    QString script(const QString &body, const QString &tail = {})
    {
        QString text = body;
        return writeScript(m_dir->path(), "child.sh",
                           text.replace("@DIR@", m_dir->path()).replace("@TAIL@", tail));
    }

    QStringList childArgs() const
    {
        QFile f(m_dir->filePath("args.txt"));
        return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()).split('\n')
                                           : QStringList();
    }

    QList<Envelope> forTask(const QString &type, qint64 task) const
    {
        return m_server->messagesForTask(type, task);
    }

    QStringList uploadedNames() const
    {
        QStringList names;
        for (const FakeServer::Upload &u : m_server->uploads)
            names.append(u.name);
        return names;
    }

private slots:
    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
        m_server = std::make_unique<FakeServer>();
        QVERIFY(m_server->isListening());
    }

    void cleanup()
    {
        m_agent.reset();
        m_server.reset();
        m_dir.reset();
    }

    void uploadsPassFiles()
    {
        QVERIFY(startAgent(script(kPassesScript)));
        const QString sha = m_server->addFile("model bytes");
        QJsonObject assign = assignMessage(41, sha, "engine.glb", "1", "1", "still");
        QJsonObject settings = assign.value("settings").toObject();
        settings.insert("passes", QJsonArray{"rgb", "depth", "mask"});
        assign.insert("settings", settings);
        m_server->send("task.assign", assign);

        QTRY_COMPARE_WITH_TIMEOUT(forTask("task.done", 41).size(), 1, 20000);
        const QJsonArray expected{"frame_0001_depth.png", "frame_0001_depth.exr",
                                  "frame_0001_mask.png", "frame_0001.png"};
        QCOMPARE(forTask("task.done", 41).first().data.value("outputs").toArray(), expected);
        QStringList uploaded = uploadedNames();
        QCOMPARE(uploaded.size(), 4); // the depth file was announced twice, uploaded once
        // The main image lands last: the server takes it as "frame complete".
        QCOMPARE(uploaded.last(), QString("frame_0001.png"));
        for (const FakeServer::Upload &u : m_server->uploads)
            if (u.name == "frame_0001_depth.exr")
                QCOMPARE(u.body, QByteArray("exr"));

        const QStringList args = childArgs();
        QCOMPARE(args.value(args.indexOf("--passes") + 1), QString("rgb,depth,mask"));
        QCOMPARE(args.value(args.indexOf("--bit-depth") + 1), QString("8"));
        QVERIFY(args.contains("--frames"));
        QVERIFY(!args.contains("--views"));
    }

    void uploadsTemplateSet()
    {
        QVERIFY(startAgent(script(kTemplatesScript)));
        const QString sha = m_server->addFile("model bytes");
        m_server->send("task.assign", templatesAssign(42, sha, 3));

        QTRY_COMPARE_WITH_TIMEOUT(forTask("task.done", 42).size(), 1, 20000);
        const QJsonArray outputs = forTask("task.done", 42).first().data.value("outputs").toArray();
        QStringList names;
        for (const QJsonValue &v : outputs)
            names.append(v.toString());
        QStringList expected;
        for (int v = 0; v < 3; ++v)
            expected << QString("mask_%1.png").arg(v) << QString("xyz_%1.npy").arg(v)
                     << QString("rgb_%1.png").arg(v);
        expected << "cameras.json"
                 << "poses.npy";
        // Each view's rgb image waits for the view's pass files, so only the set is fixed.
        QCOMPARE(QSet<QString>(names.begin(), names.end()),
                 QSet<QString>(expected.begin(), expected.end()));
        QCOMPARE(names.size(), expected.size());
        for (int v = 0; v < 3; ++v)
            QVERIFY(names.indexOf(QString("rgb_%1.png").arg(v)) >
                    names.indexOf(QString("mask_%1.png").arg(v)));
        QStringList uploaded = uploadedNames();
        uploaded.sort();
        expected.sort();
        QCOMPARE(uploaded, expected);
        for (const FakeServer::Upload &u : m_server->uploads)
            if (u.name == "xyz_2.npy")
                QCOMPARE(u.body, QByteArray("xyz 2"));

        // A template set: --views and a directory, never --frames or --turntable.
        const QStringList args = childArgs();
        QCOMPARE(args.value(2), QString("-o"));
        QVERIFY(args.value(3).endsWith('/'));
        QVERIFY(QFileInfo(args.value(3)).isAbsolute());
        QCOMPARE(args.mid(4, 2), (QStringList{"--views", "3"}));
        QVERIFY(!args.contains("--frames"));
        QVERIFY(!args.contains("--turntable"));
        QCOMPARE(args.value(args.indexOf("--passes") + 1), QString("rgb,mask,xyz"));
        QCOMPARE(args.value(args.indexOf("--bit-depth") + 1), QString("16"));
    }

    void templateSetMustBeComplete_data()
    {
        QTest::addColumn<int>("views");
        QTest::addColumn<QString>("tail");
        QTest::addColumn<QString>("expected");
        // The script writes 3 views; the task asked for 4.
        QTest::newRow("missing view") << 4 << QString() << "reported 3 of 4 views";
        QTest::newRow("foreign camera file")
            << 3 << QString("echo 'CAMERAS /etc/hostname'\nsleep 5") << "unusable output";
        QTest::newRow("bad output line")
            << 3 << QString("echo 'OUTPUT x depth /nowhere'\nsleep 5") << "unusable output";
    }
    void templateSetMustBeComplete()
    {
        QFETCH(int, views);
        QFETCH(QString, tail);
        QFETCH(QString, expected);
        // The fake writes "$6" views: pin it to 3 whatever the task asks.
        QString body = kTemplatesScript;
        body.replace("n=\"$6\"", "n=3");
        QVERIFY(startAgent(script(body, tail)));
        const QString sha = m_server->addFile("model bytes");
        m_server->send("task.assign", templatesAssign(43, sha, views));
        QTRY_COMPARE_WITH_TIMEOUT(forTask("task.failed", 43).size(), 1, 20000);
        const QString error = forTask("task.failed", 43).first().data.value("error").toString();
        QVERIFY2(error.contains(expected), qPrintable(error));
        QCOMPARE(forTask("task.done", 43).size(), 0);
    }

    void rejectsInconsistentAssign()
    {
        QVERIFY(startAgent(script(kTemplatesScript)));
        const QString sha = m_server->addFile("model bytes");
        QJsonObject assign = templatesAssign(44, sha, 3);
        QJsonObject settings = assign.value("settings").toObject();
        settings.insert("camera", QJsonObject{{"mode", "turntable"}});
        assign.insert("settings", settings);
        m_server->send("task.assign", assign);
        QTRY_COMPARE_WITH_TIMEOUT(forTask("task.failed", 44).size(), 1, 10000);
        const QString error = forTask("task.failed", 44).first().data.value("error").toString();
        QVERIFY2(error.contains("still camera"), qPrintable(error));
        QVERIFY(m_server->uploads.isEmpty());
        QCOMPARE(forTask("task.done", 44).size(), 0);
    }
};

QTEST_GUILESS_MAIN(TestAgentOutputs)
#include "tst_agentoutputs.moc"
