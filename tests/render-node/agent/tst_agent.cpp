// The agent against a fake server on loopback, with shell scripts standing in for the renderer
// child so every protocol path (progress, frames, logs, failures, cancel, slots) is exercised.
#include "agent/agent.h"
#include "agent/inputfetch.h"
#include "agent/outputupload.h"
#include "agent/rendertask.h"
#include "agenttestutil.h"
#include "fakeserver.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QNetworkAccessManager>
#include <QProcess>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>
#include <unistd.h>

using namespace farm;
using namespace farm::node;
using namespace agenttest;

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

/// The process group of `pid` (field 5 of /proc/<pid>/stat), -1 when it is gone.
qint64 processGroup(qint64 pid)
{
    const QByteArray stat = readAll(QString("/proc/%1/stat").arg(pid));
    const QList<QByteArray> fields = stat.mid(stat.lastIndexOf(')') + 2).split(' ');
    return fields.size() > 2 ? fields[2].toLongLong() : -1;
}

class TestAgent : public QObject
{
    Q_OBJECT

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<FakeServer> m_server;
    std::unique_ptr<Agent> m_agent;
    int m_cacheMaxMb = 20480;
    QList<GpuInfo> m_gpus; // GPU slots of the next startAgent()
    QStringList m_gpuDevices;
    QString m_blender; // --blender of the next startAgent(), empty: none

    QString cacheDir() const { return m_dir->filePath("cache"); }

    /// Starts an agent, waits for its hello and welcomes it.
    bool startAgent(const QString &program, int slotCount = 1, int heartbeatS = 5)
    {
        NodeConfig config = makeConfig(m_server->url(), cacheDir(), program, slotCount);
        config.cacheMaxMb = m_cacheMaxMb;
        config.gpus = m_gpus;
        config.gpuDevices = m_gpuDevices;
        if (!m_blender.isEmpty())
            config.blenderProgram = m_blender;
        m_agent = std::make_unique<Agent>(config);
        m_agent->start();
        if (!QTest::qWaitFor([&] { return m_server->count("hello") == 1; }, 10000))
            return false;
        m_server->send(
            "welcome",
            {{"protocol", 1}, {"node_id", 7}, {"heartbeat_s", heartbeatS}, {"lease_s", 20}});
        return QTest::qWaitFor([&] { return m_agent->nodeId() == 7; }, 5000);
    }

    QList<Envelope> forTask(const QString &type, qint64 task) const
    {
        return m_server->messagesForTask(type, task);
    }

    /// Work directories left under the cache.
    QStringList taskDirs() const
    {
        return QDir(cacheDir() + "/tasks").entryList(QDir::AllEntries | QDir::NoDotAndDotDot);
    }

    QStringList args() const
    {
        return QString::fromUtf8(readAll(m_dir->filePath("args.txt"))).split('\n');
    }

    QString taskError(qint64 task) const
    {
        const auto failed = forTask("task.failed", task);
        return failed.isEmpty() ? QString() : failed.first().data.value("error").toString();
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
        m_cacheMaxMb = 20480;
        m_gpus.clear();
        m_gpuDevices.clear();
        m_blender.clear();
        m_agent.reset();
        m_server.reset();
        m_dir.reset();
    }

    void helloAndHeartbeat()
    {
        m_gpus = {{"Fake GPU", "GPU-1234", 8192, "8.6", "550.1"}};
        m_gpuDevices = {"GPU-1234"};
        QVERIFY(startAgent(fakeRenderer(m_dir->path()), 2, 1));
        QCOMPARE(m_server->wsPaths, QList<QString>{"/ws/node"});
        QCOMPARE(m_server->wsAuthorization, QList<QByteArray>{"Bearer secret"});

        const QList<Envelope> first = m_server->currentConnectionMessages();
        QCOMPARE(first.first().type, QString("hello")); // hello must be first
        QCOMPARE(first.first().seq, 1);
        const QJsonObject hello = first.first().data;
        QCOMPARE(hello.value("protocol").toInt(), 1);
        QCOMPARE(hello.value("name").toString(), QString("test-node"));
        QCOMPARE(hello.value("slots").toInt(), 3); // one GPU slot and two CPU slots
        QCOMPARE(hello.value("cores").toInt(), QThread::idealThreadCount());
        QVERIFY(hello.value("ram_mb").toInteger() > 0);
        // Engines, not job types: the built-in renderer, the encoder (frames to video) and
        // compose (text over video); no Blender at /nonexistent/blender.
        const QJsonArray engines = hello.value("engines").toArray();
        QCOMPARE(engines.size(), 3);
        QCOMPARE(engines.at(2).toObject().value("name").toString(), QString("compose"));
        QCOMPARE(engines.at(0).toObject(),
                 (QJsonObject{{"name", "farmhand"},
                              {"version", kFarmVersion},
                              {"devices", QJsonArray{"CPU", "CUDA: Fake GPU"}}}));
        const QJsonObject encode = engines.at(1).toObject();
        QCOMPARE(encode.value("name").toString(), QString("encode"));
        const QJsonArray codecs = encode.value("devices").toArray();
        QVERIFY(codecs.contains("h264 (libx264)"));
        // A node with a GPU slot says whether NVENC opens there (not on a fake GPU).
        QVERIFY(codecs.contains("no NVENC (h264_nvenc does not open)") ||
                codecs.contains("NVENC (h264_nvenc, hevc_nvenc)"));
        const QJsonObject gpu = hello.value("gpus").toArray().first().toObject();
        QCOMPARE(gpu.value("uuid").toString(), QString("GPU-1234"));
        QCOMPARE(gpu.value("vram_mb").toInt(), 8192);
        QCOMPARE(hello.value("tags").toArray(), QJsonArray{"lab"});
        QCOMPARE(hello.value("running").toArray(), QJsonArray{});
        QCOMPARE(hello.value("token").toString(), QString("secret"));

        QTRY_VERIFY_WITH_TIMEOUT(m_server->count("heartbeat") >= 2, 10000);
        const Envelope hb = m_server->messages("heartbeat").first();
        QCOMPARE(hb.data.value("running").toArray(), QJsonArray{});
        QVERIFY(hb.seq > 1);
    }

    void advertisesBlenderWhenFound()
    {
        // A stand-in that answers --version as Debian's Blender does and lists one CUDA device
        // when the node, which has a GPU slot, asks Cycles for its devices.
        m_gpus = {{"Fake GPU", "GPU-1234", 8192, "8.6", "550.1"}};
        m_gpuDevices = {"GPU-1234"};
        m_blender = writeScript(m_dir->path(), "blender",
                                "if [ \"$1\" = --version ]; then\n"
                                "  echo 'Blender 3.4.1'; echo '\tbuild date: 2023-01-01'; exit 0\n"
                                "fi\n"
                                "case \"$*\" in *--python-expr*) ;; *) exit 1 ;; esac\n"
                                "echo 'Blender 3.4.1'\n"
                                "echo 'FARMHAND_DEVICE CUDA: Fake GPU'\n");
        QVERIFY(startAgent(fakeRenderer(m_dir->path())));
        const QJsonArray engines =
            m_server->messages("hello").first().data.value("engines").toArray();
        QCOMPARE(engines.size(), 4); // farmhand, blender, encode, compose
        QCOMPARE(engines.at(0).toObject(),
                 (QJsonObject{{"name", "farmhand"},
                              {"version", kFarmVersion},
                              {"devices", QJsonArray{"CPU", "CUDA: Fake GPU"}}}));
        QCOMPARE(engines.at(1).toObject(),
                 (QJsonObject{{"name", "blender"},
                              {"version", "3.4.1"},
                              {"devices", QJsonArray{"CPU", "CUDA: Fake GPU"}}}));
        QCOMPARE(engines.at(2).toObject().value("name").toString(), QString("encode"));
    }

    void refusesEnginesItLacks()
    {
        QVERIFY(startAgent(fakeRenderer(m_dir->path())));
        const QString sha = m_server->addFile("blend bytes");
        QJsonObject blender = assignMessage(25, sha, "shot.blend", "1", "1");
        blender["type"] = "blender";
        blender["engine"] = "blender";
        blender["settings"] = QJsonObject{{"samples", 4}};
        m_server->send("task.assign", blender);
        QJsonObject unknown = blender;
        unknown["task"] = 26;
        unknown["engine"] = "povray";
        m_server->send("task.assign", unknown);
        // The built-in renderer renders model and templates tasks only.
        QJsonObject wrongType = assignMessage(27, sha, "shot.blend", "1", "1");
        wrongType["type"] = "blender";
        m_server->send("task.assign", wrongType);
        QTRY_COMPARE(m_server->count("task.failed"), 3);
        QVERIFY2(taskError(25).contains("engine 'blender' is not available"),
                 qPrintable(taskError(25)));
        QVERIFY2(taskError(25).contains("/nonexistent/blender"), qPrintable(taskError(25)));
        QVERIFY2(taskError(26).contains("no engine 'povray'"), qPrintable(taskError(26)));
        QVERIFY2(taskError(27).contains("does not render 'blender'"), qPrintable(taskError(27)));
        QCOMPARE(m_server->fileGets, 0); // refused before anything was fetched
    }

    void reconnectsAfterServerCloses()
    {
        QVERIFY(startAgent(fakeRenderer(m_dir->path())));
        m_server->dropConnection();
        QTRY_COMPARE_WITH_TIMEOUT(m_server->connections, 2, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(m_server->count("hello"), 2, 5000);
        // seq restarts on the new connection and hello is again the first message.
        QCOMPARE(m_server->currentConnectionMessages().first().type, QString("hello"));
        QCOMPARE(m_server->currentConnectionMessages().first().seq, 1);
        QCOMPARE(m_server->wsAuthorization.last(), QByteArray("Bearer secret"));

        // The whole server goes away and comes back later on the same port: the node keeps
        // retrying with backoff and announces itself to the new server.
        const quint16 port = m_server->port();
        m_server.reset();
        QTest::qWait(300); // a few refused attempts
        m_server = std::make_unique<FakeServer>(port);
        if (!m_server->isListening())
            QSKIP("another process took the fake server's port meanwhile");
        QTRY_COMPARE_WITH_TIMEOUT(m_server->count("hello"), 1, 10000);
    }

    void ignoresMalformedMessages()
    {
        QVERIFY(startAgent(fakeRenderer(m_dir->path())));
        m_server->sendRaw("this is not json");
        m_server->sendRaw("[1, 2, 3]");
        m_server->sendRaw(R"({"type": 5})");
        m_server->sendRaw(R"({"type": "task.assign", "data": [1]})");
        m_server->sendRaw(R"({"type": "task.assign", "seq": "x", "data": {}})");
        m_server->sendBinary(QByteArray("\x00\x01\x02", 3));
        m_server->send("node.explode", {{"boom", true}});
        m_server->send("task.assign", {});
        m_server->send("task.assign", {{"task", "seven"}});
        m_server->send("task.cancel", {{"task", 999}});
        m_server->send("welcome", {{"heartbeat_s", "soon"}});
        m_server->send("error", {{"code", "bad"}, {"message", "the server complains"}});

        // Assigns with a task id but bad content are refused with a reason naming the field.
        const QString sha(64, 'a');
        QJsonObject badSettings = assignMessage(21, sha, "m.glb", "1", "1");
        badSettings["settings"] = QJsonObject{{"width", 3}};
        m_server->send("task.assign", badSettings);
        m_server->send("task.assign", assignMessage(22, sha, "../evil.glb", "1", "1"));
        m_server->send("task.assign", assignMessage(23, "nothex", "m.glb", "1", "1"));
        QJsonObject badFrames = assignMessage(24, sha, "m.glb", "5-1", "1");
        m_server->send("task.assign", badFrames);

        QTRY_COMPARE(m_server->count("task.failed"), 4);
        QVERIFY2(taskError(21).contains("settings.width"), qPrintable(taskError(21)));
        QVERIFY2(taskError(22).contains("input.files[0].path '../evil.glb'"),
                 qPrintable(taskError(22)));
        QVERIFY2(taskError(23).contains("input.files[0].file"), qPrintable(taskError(23)));
        QVERIFY2(taskError(24).contains("frames"), qPrintable(taskError(24)));
        QCOMPARE(m_server->count("task.accepted"), 4);
        QCOMPARE(m_server->connections, 1); // never dropped
        QVERIFY(m_agent->runningTasks().isEmpty());
    }

    void runsTaskAndUploadsFrames()
    {
        QVERIFY(startAgent(fakeRenderer(m_dir->path())));
        const QString sha = m_server->addFile("model bytes");
        m_server->send("task.assign", assignMessage(31, sha, "engine.glb", "3-4", "1-8"));

        QTRY_COMPARE_WITH_TIMEOUT(forTask("task.done", 31).size(), 1, 20000);
        // task.done goes out only after every output was stored by the server.
        QCOMPARE(m_server->uploads.size(), 2);
        QCOMPARE(forTask("task.done", 31).first().data.value("outputs").toArray(),
                 (QJsonArray{"frame_0003.png", "frame_0004.png"}));
        for (const FakeServer::Upload &u : m_server->uploads) {
            QCOMPARE(u.task, 31);
            QCOMPARE(u.authorization, QByteArray("Bearer secret"));
            QCOMPARE(u.body, "fake png " + u.name.mid(9, 1).toUtf8() + "\n");
        }
        QCOMPARE(forTask("task.accepted", 31).size(), 1);
        QVERIFY(!forTask("task.progress", 31).isEmpty());
        const Envelope progress = forTask("task.progress", 31).first();
        QCOMPARE(progress.data.value("progress").toDouble(), 0.5);
        QCOMPARE(progress.data.value("frame").toInt(), 3);

        QString log;
        for (const Envelope &e : forTask("task.log", 31))
            log += e.data.value("text").toString();
        QVERIFY2(log.contains("rendered by the fake"), qPrintable(log));
        QVERIFY2(log.contains("note: on stderr"), qPrintable(log));
        QVERIFY(!log.contains("FRAME 3")); // protocol lines are not log

        // The child got the input laid out in its work dir under its bundle path, and the
        // job's whole cycle.
        QFile argsFile(m_dir->filePath("args.txt"));
        QVERIFY(argsFile.open(QIODevice::ReadOnly));
        const QStringList args = QString::fromUtf8(argsFile.readAll()).split('\n');
        QCOMPARE(args.value(0), QString("render"));
        const QString tasks = QFileInfo(cacheDir() + "/tasks").absoluteFilePath();
        QVERIFY2(args.value(1).startsWith(tasks + "/31-") &&
                     args.value(1).endsWith("/input/engine.glb"),
                 qPrintable(args.value(1)));
        QCOMPARE(readAll(m_dir->filePath("input-copy")), QByteArray("model bytes"));
        QCOMPARE(args.value(2), QString("-o"));
        QVERIFY(args.value(3).endsWith("/frame_####.png"));
        QCOMPARE(args.mid(4, 8),
                 (QStringList{"--frames", "3-4", "--size", "64x48", "--spp", "1", "--seed", "7"}));
        QVERIFY(args.contains("--turntable"));
        QCOMPARE(args.value(args.indexOf("--cycle") + 1), QString("1:8"));
        QVERIFY(m_agent->runningTasks().isEmpty());
        QTRY_VERIFY(taskDirs().isEmpty()); // workdir cleaned up

        // A second task of the same input uses the cache: no second download.
        m_server->send("task.assign", assignMessage(32, sha, "engine.glb", "5", "1-8", "still"));
        QTRY_COMPARE_WITH_TIMEOUT(forTask("task.done", 32).size(), 1, 20000);
        QCOMPARE(m_server->fileGets, 1);
        QVERIFY(argsFile.seek(0));
        QVERIFY(!QString::fromUtf8(argsFile.readAll()).contains("--turntable"));
    }

    void laysOutBundles()
    {
        // The child reads the side files by their relative paths next to the main file.
        const QString before =
            QString("main_dir=$(dirname \"$2\")\n"
                    "cat \"$main_dir/textures/wood.png\" \"$main_dir/../shared/lib.bin\" > "
                    "\"%1/side.txt\"\n"
                    "stat -c '%h %a' \"$main_dir/textures/wood.png\" > \"%1/links.txt\"\n")
                .arg(m_dir->path());
        QVERIFY(startAgent(fakeRenderer(m_dir->path(), before)));
        const QString scene = m_server->addFile("scene bytes");
        const QString wood = m_server->addFile("wood ");
        const QString lib = m_server->addFile("lib");
        QJsonObject assign = assignMessage(33, scene, "shots/a.glb", "1", "1", "still");
        QJsonArray files;
        for (const auto &[path, sha] :
             {std::pair{"shots/a.glb", scene}, std::pair{"shots/textures/wood.png", wood},
              std::pair{"shared/lib.bin", lib}})
            files.append(QJsonObject{{"path", path}, {"file", sha}});
        assign["input"] = QJsonObject{{"main", "shots/a.glb"}, {"files", files}};
        m_server->send("task.assign", assign);
        QTRY_COMPARE_WITH_TIMEOUT(forTask("task.done", 33).size(), 1, 20000);
        QCOMPARE(readAll(m_dir->filePath("side.txt")), QByteArray("wood lib"));
        QCOMPARE(m_server->fileGets, 3);
        // Hard links to the cache (two names for one file), read-only so that no child
        // changes the cached copy.
        QCOMPARE(readAll(m_dir->filePath("links.txt")).trimmed(), QByteArray("2 444"));
        QCOMPARE(readAll(cacheDir() + "/files/" + wood + "/wood.png"), QByteArray("wood "));
        QVERIFY2(QFileInfo(args().value(1)).path().endsWith("/input/shots"),
                 qPrintable(args().value(1)));

        // Unsafe or inconsistent bundles are refused before anything is fetched.
        QJsonObject escape = assign;
        escape["task"] = 34;
        escape["input"] = QJsonObject{
            {"main", "a.glb"},
            {"files", QJsonArray{QJsonObject{{"path", "a.glb"}, {"file", scene}},
                                 QJsonObject{{"path", "x/../../b.png"}, {"file", wood}}}}};
        m_server->send("task.assign", escape);
        QJsonObject noMain = assign;
        noMain["task"] = 36;
        noMain["input"] =
            QJsonObject{{"main", "other.glb"},
                        {"files", QJsonArray{QJsonObject{{"path", "a.glb"}, {"file", scene}}}}};
        m_server->send("task.assign", noMain);
        QJsonObject twice = assign;
        twice["task"] = 37;
        twice["input"] =
            QJsonObject{{"main", "a.glb"},
                        {"files", QJsonArray{QJsonObject{{"path", "a.glb"}, {"file", scene}},
                                             QJsonObject{{"path", "a.glb"}, {"file", wood}}}}};
        m_server->send("task.assign", twice);
        QTRY_COMPARE(m_server->count("task.failed"), 3);
        QVERIFY2(taskError(34).contains("input.files[1].path 'x/../../b.png'"),
                 qPrintable(taskError(34)));
        QVERIFY2(taskError(36).contains("'other.glb' is not one of"), qPrintable(taskError(36)));
        QVERIFY2(taskError(37).contains("appears twice"), qPrintable(taskError(37)));
        QCOMPARE(m_server->fileGets, 3);
    }

    void throttlesProgressAndBatchesLogs()
    {
        // 400 progress and 400 log lines as fast as the shell can print them.
        const QString before = "i=0\nwhile [ $i -lt 400 ]; do echo \"PROGRESS 0.$i 1\"; "
                               "echo \"line $i\"; i=$((i+1)); done";
        QVERIFY(startAgent(fakeRenderer(m_dir->path(), before)));
        QElapsedTimer clock;
        clock.start();
        m_server->send("task.assign", assignMessage(35, m_server->addFile("m"), "a.glb", "1", "1"));
        QTRY_COMPARE_WITH_TIMEOUT(forTask("task.done", 35).size(), 1, 20000);
        const qint64 elapsedMs = clock.elapsed();

        // At most 4 progress updates a second, however fast the child talks.
        const qsizetype updates = forTask("task.progress", 35).size();
        QVERIFY(updates >= 1);
        QVERIFY2(updates <= 1 + elapsedMs / RenderTask::kProgressIntervalMs,
                 qPrintable(QString("%1 updates in %2 ms").arg(updates).arg(elapsedMs)));

        // Logs arrive batched, complete and in order.
        const QList<Envelope> logs = forTask("task.log", 35);
        QString text;
        for (const Envelope &e : logs)
            text += e.data.value("text").toString();
        QVERIFY2(logs.size() < 50, qPrintable(QString::number(logs.size())));
        qsizetype at = 0;
        for (int i = 0; i < 400; ++i) {
            at = text.indexOf(QString("line %1\n").arg(i), at);
            QVERIFY2(at >= 0, qPrintable(QString("line %1 missing").arg(i)));
        }
    }

    void evictsUnusedInputs()
    {
        m_cacheMaxMb = 1;
        const QString before =
            QString("while [ ! -e \"%1/go\" ]; do sleep 0.05; done").arg(m_dir->path());
        QVERIFY(startAgent(fakeRenderer(m_dir->path(), before), 2));
        const QString shaA = m_server->addFile(QByteArray(700 * 1024, 'a'));
        const QString shaB = m_server->addFile(QByteArray(700 * 1024, 'b'));
        const QString dirA = cacheDir() + "/files/" + shaA, dirB = cacheDir() + "/files/" + shaB;

        // Over the limit while both are in use: nothing a task holds is deleted.
        m_server->send("task.assign", assignMessage(121, shaA, "a.glb", "1", "1"));
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(dirA + "/a.glb"), 10000);
        m_server->send("task.assign", assignMessage(122, shaB, "b.glb", "1", "1"));
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(dirB + "/b.glb"), 10000);
        QFile go(m_dir->filePath("go"));
        QVERIFY(go.open(QIODevice::WriteOnly));
        go.close();
        QTRY_COMPARE_WITH_TIMEOUT(m_server->count("task.done"), 2, 10000);
        QVERIFY(QFile::exists(dirA + "/a.glb"));

        // The next use of B (from the cache) makes room: A, unused and older, goes.
        m_server->send("task.assign", assignMessage(123, shaB, "b.glb", "1", "1"));
        QTRY_COMPARE_WITH_TIMEOUT(m_server->count("task.done"), 3, 10000);
        QCOMPARE(m_server->fileGets, 2);
        QVERIFY(!QDir(dirA).exists());
        QVERIFY(QFile::exists(dirB + "/b.glb"));
    }

    void retriesUploads()
    {
        QVERIFY(startAgent(fakeRenderer(m_dir->path())));
        const QString sha = m_server->addFile("model bytes");
        m_server->failNextPuts = 2;
        m_server->send("task.assign", assignMessage(41, sha, "a.obj", "1", "1"));
        QTRY_COMPARE_WITH_TIMEOUT(forTask("task.done", 41).size(), 1, 20000);
        QCOMPARE(m_server->putRequests, 3);

        m_server->failNextPuts = 1000;
        m_server->send("task.assign", assignMessage(42, sha, "a.obj", "1", "1"));
        QTRY_COMPARE_WITH_TIMEOUT(forTask("task.failed", 42).size(), 1, 20000);
        QVERIFY2(taskError(42).contains("upload of frame_0001.png failed"),
                 qPrintable(taskError(42)));
        QVERIFY2(taskError(42).contains("HTTP 500"), qPrintable(taskError(42)));
        QCOMPARE(m_server->putRequests, 3 + OutputUpload::kAttempts);
    }

    void failsOnInputProblems()
    {
        QVERIFY(startAgent(fakeRenderer(m_dir->path()), 2));
        // Bytes that do not hash to the sha the task names.
        const QString wrongSha = m_server->addFile("tampered", QString(64, 'b'));
        m_server->send("task.assign", assignMessage(51, wrongSha, "a.glb", "1", "1"));
        m_server->send("task.assign", assignMessage(52, QString(64, 'c'), "b.glb", "1", "1"));
        QTRY_COMPARE_WITH_TIMEOUT(m_server->count("task.failed"), 2, 10000);
        QVERIFY2(taskError(51).contains("hash check"), qPrintable(taskError(51)));
        QVERIFY2(taskError(52).contains("404"), qPrintable(taskError(52)));
        QVERIFY(!QFile::exists(cacheDir() + "/files/" + wrongSha + "/a.glb"));
        QVERIFY(!QFile::exists(m_dir->filePath("args.txt"))); // no render was started
    }

    void childFailures_data()
    {
        QTest::addColumn<QString>("script");
        QTest::addColumn<QString>("expected");
        QTest::newRow("exit code")
            << "echo loading\necho 'error: cannot import a.glb: bad magic' >&2\nexit 3"
            << "exited with code 3: error: cannot import a.glb: bad magic";
        QTest::newRow("crash") << "kill -SEGV $$"
                               << "render process crashed";
        QTest::newRow("missing frames") << "echo 'PROGRESS 1 1'\nexit 0"
                                        << "reported 0 of 1 frames";
        QTest::newRow("foreign output") << "echo 'FRAME 1 /etc/hostname'\nexec sleep 5"
                                        << "unusable output";
        QTest::newRow("no program") << ""
                                    << "cannot start render process";
    }

    void childFailures()
    {
        QFETCH(QString, script);
        QFETCH(QString, expected);
        const QString program = script.isEmpty() ? m_dir->filePath("does-not-exist")
                                                 : writeScript(m_dir->path(), "child.sh", script);
        QVERIFY(startAgent(program));
        const QString sha = m_server->addFile("model bytes");
        m_server->send("task.assign", assignMessage(61, sha, "a.glb", "1", "1"));
        QTRY_COMPARE_WITH_TIMEOUT(forTask("task.failed", 61).size(), 1, 10000);
        QVERIFY2(taskError(61).contains(expected), qPrintable(taskError(61)));
        QCOMPARE(forTask("task.done", 61).size(), 0);
        QVERIFY(m_agent->runningTasks().isEmpty());
        // The node lives on and still heartbeats over the same connection.
        QCOMPARE(m_server->connections, 1);
    }

    void cancelKillsChild()
    {
        const QString pidFile = m_dir->filePath("pid");
        QVERIFY(startAgent(writeScript(
            m_dir->path(), "slow.sh",
            QString("echo $$ > '%1'\necho 'PROGRESS 0.1 1'\nexec sleep 600\n").arg(pidFile))));
        const QString sha = m_server->addFile("model bytes");
        m_server->send("task.assign", assignMessage(71, sha, "a.glb", "1-10", "1-10"));
        QTRY_COMPARE_WITH_TIMEOUT(forTask("task.progress", 71).size(), 1, 10000);
        QFile f(pidFile);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const pid_t pid = pid_t(f.readAll().trimmed().toLongLong());
        QVERIFY(pid > 0);
        QVERIFY(isAlive(pid));
        QCOMPARE(m_agent->runningTasks(), QList<qint64>{71});

        m_server->send("task.cancel", {{"task", 71}});
        QTRY_VERIFY_WITH_TIMEOUT(!isAlive(pid), 10000);
        QVERIFY(m_agent->runningTasks().isEmpty());
        QTRY_VERIFY(taskDirs().isEmpty());
        QCOMPARE(forTask("task.done", 71).size() + forTask("task.failed", 71).size(), 0);
    }

    void cancelKillsProcessGroup()
    {
        // The child starts a grandchild in the background, as Blender may start helpers:
        // the cancel must reach it too.
        const QString pids = m_dir->filePath("pids");
        QVERIFY(startAgent(writeScript(m_dir->path(), "spawner.sh",
                                       QString("sleep 600 &\necho $! > '%1.tmp'\n"
                                               "echo $$ >> '%1.tmp'\nmv '%1.tmp' '%1'\n"
                                               "echo 'PROGRESS 0.1 1'\nwait\n")
                                           .arg(pids))));
        m_server->send("task.assign", assignMessage(72, m_server->addFile("m"), "a.glb", "1", "1"));
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(pids), 10000);
        const QList<QByteArray> lines = readAll(pids).trimmed().split('\n');
        QCOMPARE(lines.size(), 2);
        const qint64 grandchild = lines[0].toLongLong(), child = lines[1].toLongLong();
        QVERIFY(isAlive(grandchild) && isAlive(child));
        // The child leads its own process group, and its grandchild is in it.
        QCOMPARE(processGroup(child), child);
        QCOMPARE(processGroup(grandchild), child);
        QVERIFY(processGroup(child) != ::getpgrp());

        m_server->send("task.cancel", {{"task", 72}});
        QTRY_VERIFY_WITH_TIMEOUT(!isAlive(grandchild) && !isAlive(child), 10000);
        QTRY_VERIFY(taskDirs().isEmpty());
    }

    void runsSlotsInParallel()
    {
        // Each child waits for a "go" file, so both must have started before either ends.
        const QString before = QString("touch \"%1/started-$$\"\n"
                                       "while [ ! -e \"%1/go\" ]; do sleep 0.05; done")
                                   .arg(m_dir->path());
        QVERIFY(startAgent(fakeRenderer(m_dir->path(), before), 2));
        const QString sha = m_server->addFile("model bytes");
        m_server->send("task.assign", assignMessage(81, sha, "a.glb", "1", "1-2"));
        m_server->send("task.assign", assignMessage(82, sha, "a.glb", "2", "1-2"));
        QTRY_COMPARE_WITH_TIMEOUT(QDir(m_dir->path()).entryList({"started-*"}).size(), 2, 10000);
        QCOMPARE(m_agent->runningTasks(), (QList<qint64>{81, 82}));
        QCOMPARE(m_server->fileGets, 1); // both waited for one download

        // A third task does not fit the two slots.
        m_server->send("task.assign", assignMessage(83, sha, "a.glb", "3", "1-3"));
        QTRY_COMPARE(forTask("task.failed", 83).size(), 1);
        QVERIFY2(taskError(83).contains("no free slot"), qPrintable(taskError(83)));

        QFile go(m_dir->filePath("go"));
        QVERIFY(go.open(QIODevice::WriteOnly));
        go.close();
        QTRY_COMPARE_WITH_TIMEOUT(m_server->count("task.done"), 2, 20000);
        QCOMPARE(m_server->uploads.size(), 2);
    }

    void keepsTasksAcrossReconnects()
    {
        const QString before = QString("echo started >> \"%1/starts\"\n"
                                       "while [ ! -e \"%1/go\" ]; do sleep 0.05; done")
                                   .arg(m_dir->path());
        QVERIFY(startAgent(fakeRenderer(m_dir->path(), before)));
        const QString sha = m_server->addFile("model bytes");
        m_server->send("task.assign", assignMessage(101, sha, "a.glb", "1", "1"));
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(m_dir->filePath("starts")), 10000);

        // The task survives a dropped connection and is announced in the next hello.
        m_server->dropConnection();
        QTRY_COMPARE_WITH_TIMEOUT(m_server->count("hello"), 2, 10000);
        QCOMPARE(m_server->messages("hello").last().data.value("running").toArray(),
                 QJsonArray{101});
        m_server->send("welcome", {{"protocol", 1}, {"node_id", 7}, {"heartbeat_s", 5}});
        // Given back by the server: accepted again, but not started twice.
        m_server->send("task.assign", assignMessage(101, sha, "a.glb", "1", "1"));
        QTRY_COMPARE(forTask("task.accepted", 101).size(), 2);
        QCOMPARE(m_agent->runningTasks(), QList<qint64>{101});

        // It finishes while the node is connected but not yet welcomed: the report waits.
        m_server->dropConnection();
        QTRY_COMPARE_WITH_TIMEOUT(m_server->count("hello"), 3, 10000);
        QFile go(m_dir->filePath("go"));
        QVERIFY(go.open(QIODevice::WriteOnly));
        go.close();
        QTRY_VERIFY_WITH_TIMEOUT(m_agent->runningTasks().isEmpty(), 10000);
        QCOMPARE(m_server->count("task.done"), 0);
        m_server->send("welcome", {{"protocol", 1}, {"node_id", 7}, {"heartbeat_s", 5}});
        QTRY_COMPARE(forTask("task.done", 101).size(), 1);
        QFile starts(m_dir->filePath("starts"));
        QVERIFY(starts.open(QIODevice::ReadOnly));
        QCOMPARE(starts.readAll(), QByteArray("started\n"));
    }

    void failsOverToAnotherController()
    {
        // Two controllers of one farm (docs/CONTROLLERS.md): the first goes away mid-task; the
        // node moves to the second, says there what it runs, and uploads its frame there.
        auto other = std::make_unique<FakeServer>();
        QVERIFY(other->isListening());
        const QString before =
            QString("while [ ! -e \"%1/go\" ]; do sleep 0.05; done").arg(m_dir->path());
        NodeConfig config =
            makeConfig(m_server->url(), cacheDir(), fakeRenderer(m_dir->path(), before));
        config.servers = {QUrl(m_server->url()), QUrl(other->url())};
        m_agent = std::make_unique<Agent>(config);
        m_agent->start();
        QTRY_COMPARE_WITH_TIMEOUT(m_server->count("hello"), 1, 10000);
        QCOMPARE(other->connections, 0); // the first one listed comes first
        m_server->send("welcome", {{"protocol", 1}, {"node_id", 7}, {"heartbeat_s", 5}});
        QTRY_COMPARE(m_agent->nodeId(), qint64(7));
        const QString sha = m_server->addFile("model bytes");
        m_server->send("task.assign", assignMessage(101, sha, "a.glb", "1", "1"));
        // Its input downloaded and its child started (the fake renderer writes args.txt).
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(m_dir->filePath("args.txt")), 10000);

        m_server.reset(); // killed: its port refuses from now on
        QTRY_COMPARE_WITH_TIMEOUT(other->count("hello"), 1, 10000);
        QCOMPARE(other->messages("hello").first().data.value("running").toArray(), QJsonArray{101});
        other->send("welcome", {{"protocol", 1}, {"node_id", 7}, {"heartbeat_s", 5}});
        QFile go(m_dir->filePath("go"));
        QVERIFY(go.open(QIODevice::WriteOnly));
        go.close();
        QTRY_COMPARE_WITH_TIMEOUT(other->messagesForTask("task.done", 101).size(), 1, 10000);
        QCOMPARE(other->uploads.size(), 1); // the frame went to the controller it talks to
        QCOMPARE(other->uploads.first().task, qint64(101));

        // That one drops too: the node tries the next in turn (the first, still down, then
        // this one again) and comes back here.
        other->dropConnection();
        QTRY_COMPARE_WITH_TIMEOUT(other->count("hello"), 2, 15000);
        m_agent.reset();
    }

    void inputFetchRetriesAtTheNextController()
    {
        // The controller serving a download goes away: the fetch tries again where the agent
        // talks to by then (here the second URL) instead of failing the task.
        const QString sha = m_server->addFile("model bytes");
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost));
        const QUrl gone(
            QString("http://127.0.0.1:%1/api/v1/files/%2").arg(probe.serverPort()).arg(sha));
        probe.close(); // refuses connections from now on
        QNetworkAccessManager network;
        InputFetch fetch(&network, gone, {}, cacheDir(), sha, "a.glb");
        int asked = 0;
        fetch.followServer(
            [&] { return ++asked == 1 ? gone : QUrl(m_server->url() + "/api/v1/files/" + sha); });
        QString path, error = "not finished";
        connect(&fetch, &InputFetch::finished, this, [&](const QString &p, const QString &e) {
            path = p;
            error = e;
        });
        fetch.start();
        QTRY_VERIFY_WITH_TIMEOUT(error != "not finished", 10000);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(asked, 2);
        QCOMPARE(readAll(path), QByteArray("model bytes"));
    }

    void childDiesWithKilledAgent()
    {
        // The child never writes, so only PR_SET_PDEATHSIG can end it when the agent is killed.
        const QString pidFile = m_dir->filePath("pid");
        const QString program = writeScript(
            m_dir->path(), "silent.sh", QString("echo $$ > '%1'\nexec sleep 600\n").arg(pidFile));
        QProcess host;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("FARM_AGENT_HOST_URL", m_server->url());
        env.insert("FARM_AGENT_HOST_CACHE", cacheDir());
        env.insert("FARM_AGENT_HOST_PROGRAM", program);
        host.setProcessEnvironment(env);
        host.start(QCoreApplication::applicationFilePath(), {});
        QTRY_COMPARE_WITH_TIMEOUT(m_server->count("hello"), 1, 10000);
        m_server->send("welcome", {{"protocol", 1}, {"node_id", 9}, {"heartbeat_s", 5}});
        m_server->send("task.assign", assignMessage(95, m_server->addFile("x"), "a.glb", "1", "1"));
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo(pidFile).size() > 0, 10000);
        QFile f(pidFile);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const qint64 pid = f.readAll().trimmed().toLongLong();
        QVERIFY(isAlive(pid));
        host.kill();
        QVERIFY(host.waitForFinished(10000));
        QTRY_VERIFY_WITH_TIMEOUT(!isAlive(pid), 10000);
    }

    void stopKillsChildren()
    {
        const QString pidFile = m_dir->filePath("pid");
        QVERIFY(startAgent(writeScript(m_dir->path(), "slow.sh",
                                       QString("echo $$ > '%1'\nexec sleep 600\n").arg(pidFile))));
        m_server->send("task.assign", assignMessage(91, m_server->addFile("x"), "a.glb", "1", "1"));
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo(pidFile).size() > 0, 10000);
        QFile f(pidFile);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const pid_t pid = pid_t(f.readAll().trimmed().toLongLong());
        m_agent->stop();
        QTRY_VERIFY_WITH_TIMEOUT(!isAlive(pid), 10000);
        QTRY_VERIFY(!m_server->hasConnection());
    }
};

// With FARM_AGENT_HOST_URL set this binary runs just an agent, so a test can SIGKILL the agent's
// process and watch what happens to its children.
static int runAgentHost()
{
    Agent agent(makeConfig(qEnvironmentVariable("FARM_AGENT_HOST_URL"),
                           qEnvironmentVariable("FARM_AGENT_HOST_CACHE"),
                           qEnvironmentVariable("FARM_AGENT_HOST_PROGRAM")));
    agent.start();
    return QCoreApplication::exec();
}

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    if (qEnvironmentVariableIsSet("FARM_AGENT_HOST_URL"))
        return runAgentHost();
    TestAgent test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}
#include "tst_agent.moc"
