#include "api/apiclient.h"
#include "fixtures.h"

#include <QProcess>

using namespace farm;
using namespace farm::server;
using namespace farm::server::test;

class TestFarmServer : public QObject
{
    Q_OBJECT

    static QString binary()
    {
        return qEnvironmentVariable("FARM_BUILD_DIR") + "/farm-server/farm-server";
    }

    /// Starts the real binary and returns the port from its "listening" line (0 on failure).
    static int startBinary(QProcess &p, const QStringList &args)
    {
        p.start(binary(), args);
        if (!p.waitForStarted(5000))
            return 0;
        QByteArray out;
        for (int i = 0; i < 100 && !out.contains('\n'); ++i) {
            p.waitForReadyRead(100);
            out += p.readAllStandardOutput();
        }
        const QRegularExpression line(
            "^farm-server listening on http://127\\.0\\.0\\.1:(\\d+) \\(data: .+\\)\n");
        const auto m = line.match(QString::fromUtf8(out));
        return m.hasMatch() ? m.captured(1).toInt() : 0;
    }

private slots:
    void initTestCase() { FARM_REQUIRE_TEST_DATABASE(); } // SQLite, or PostgreSQL in _pg

    void config_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<bool>("ok");
        QTest::newRow("defaults") << QStringList{} << true;
        QTest::newRow("all") << QStringList{"--port",
                                            "0",
                                            "--bind",
                                            "0.0.0.0",
                                            "--data",
                                            "/tmp/x",
                                            "--token",
                                            "t",
                                            "--join-token",
                                            "j",
                                            "--no-trust-loopback",
                                            "--lease",
                                            "30",
                                            "--heartbeat",
                                            "3"}
                             << true;
        QTest::newRow("bad port") << QStringList{"--port", "70000"} << false;
        QTest::newRow("bad bind") << QStringList{"--bind", "not-an-ip"} << false;
        QTest::newRow("heartbeat >= lease")
            << QStringList{"--lease", "5", "--heartbeat", "5"} << false;
        QTest::newRow("unknown option") << QStringList{"--frobnicate"} << false;
        QTest::newRow("stray argument") << QStringList{"extra"} << false;
        QTest::newRow("missing config") << QStringList{"--config", "/nonexistent.ini"} << false;
        QTest::newRow("database") << QStringList{"--database", "postgresql://f:p@db:5433/farm"}
                                  << true;
        QTest::newRow("database, short scheme")
            << QStringList{"--database", "postgres://f@db/farm?schema=lab"} << true;
        QTest::newRow("database, other kind")
            << QStringList{"--database", "mysql://f@db/farm"} << false;
        QTest::newRow("database, a path") << QStringList{"--database", "/srv/farm.db"} << false;
        QTest::newRow("database, no name") << QStringList{"--database", "postgresql://db"} << false;
    }
    void config()
    {
        QFETCH(QStringList, args);
        QFETCH(bool, ok);
        const auto c = ServerConfig::fromArguments(QStringList{"farm-server"} + args);
        QCOMPARE(c.ok(), ok);
    }

    void configFileAndOverrides()
    {
        QTemporaryDir dir;
        const QString ini = dir.filePath("farm.ini");
        QFile f(ini);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("port=9000\ndata=/srv/farm\ntoken=abc\nno-trust-loopback=true\nlease=40\n");
        f.close();
        const auto c =
            ServerConfig::fromArguments({"farm-server", "--config", ini, "--port", "9100"});
        QVERIFY(c.ok());
        QCOMPARE(c->port, quint16(9100)); // the command line wins
        QCOMPARE(c->dataDir, QString("/srv/farm"));
        QCOMPARE(c->token, QString("abc"));
        QCOMPARE(c->trustLoopback, false);
        QCOMPARE(c->leaseS, 40);
        QCOMPARE(c->heartbeatS, 5);
    }

    void binaryStartsServesAndStops()
    {
        if (!QFile::exists(binary()))
            QSKIP("farm-server binary not built (FARM_BUILD_DIR unset?)");
        if (TestDatabase::postgres())
            QSKIP("SQLite in the data dir (binaryRunsOnPostgres is this test's _pg twin)");
        QTemporaryDir dir;
        QProcess p;
        const int port = startBinary(p, {"--port", "0", "--data", dir.filePath("d")});
        QVERIFY(port > 0);
        QVERIFY(QFile::exists(dir.filePath("d/farm.db")));

        // A second server on the same port fails with one readable line.
        QProcess busy;
        busy.start(binary(), {"--port", QString::number(port), "--data", dir.filePath("e")});
        QVERIFY(busy.waitForFinished(10000));
        QVERIFY(busy.exitCode() != 0);
        const QByteArray err = busy.readAllStandardError();
        QVERIFY2(err.startsWith("farm-server: cannot listen"), err.constData());
        QCOMPARE(err.count('\n'), 1);

        p.terminate(); // SIGTERM: clean shutdown
        QVERIFY(p.waitForFinished(10000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 0);
    }

    void binaryRefusesUnwritableDataDir()
    {
        if (!QFile::exists(binary()))
            QSKIP("farm-server binary not built");
        QTemporaryDir dir;
        QFile blocker(dir.filePath("file"));
        QVERIFY(blocker.open(QIODevice::WriteOnly));
        blocker.close();
        QProcess p;
        p.start(binary(), {"--port", "0", "--data", dir.filePath("file/sub")});
        QVERIFY(p.waitForFinished(10000));
        QVERIFY(p.exitCode() != 0);
        QVERIFY(p.readAllStandardError().startsWith("farm-server: "));
    }

    void binaryRefusesCorruptDatabase()
    {
        if (!QFile::exists(binary()))
            QSKIP("farm-server binary not built");
        if (TestDatabase::postgres())
            QSKIP("a SQLite file");
        QTemporaryDir dir;
        QVERIFY(QDir().mkpath(dir.filePath("d")));
        QFile db(dir.filePath("d/farm.db"));
        QVERIFY(db.open(QIODevice::WriteOnly));
        db.write(QByteArray(8192, '\x5a'));
        db.close();
        QProcess p;
        p.start(binary(), {"--port", "0", "--data", dir.filePath("d")});
        QVERIFY(p.waitForFinished(10000));
        QVERIFY(p.exitCode() != 0);
        const QByteArray err = p.readAllStandardError();
        QVERIFY2(err.startsWith("farm-server: ") && err.count('\n') == 1, err.constData());
    }

    // --database: tables in PostgreSQL, files still in --data; the startup line names the
    // database without its password.
    void binaryRunsOnPostgres()
    {
        if (!QFile::exists(binary()))
            QSKIP("farm-server binary not built");
        if (!TestDatabase::postgres())
            QSKIP("the _pg variant runs it (FARM_TEST_PG_URL)");
        QTemporaryDir dir;
        TestDatabase db(dir);
        QProcess p;
        p.start(binary(), {"--port", "0", "--data", dir.filePath("d"), "--database", db.url()});
        QVERIFY(p.waitForStarted(5000));
        QByteArray out;
        for (int i = 0; i < 100 && !out.contains('\n'); ++i) {
            p.waitForReadyRead(100);
            out += p.readAllStandardOutput();
        }
        const QRegularExpression line("^farm-server listening on http://127\\.0\\.0\\.1:(\\d+) "
                                      "\\(data: .+, database: postgresql://.+\\)\n");
        const auto m = line.match(QString::fromUtf8(out));
        QVERIFY2(m.hasMatch(), out.constData());
        QVERIFY(QFile::exists(dir.filePath("d/files")));
        QVERIFY(!QFile::exists(dir.filePath("d/farm.db")));
        QNetworkAccessManager net;
        QNetworkReply *reply = net.get(
            QNetworkRequest(QUrl(QString("http://127.0.0.1:%1/health").arg(m.captured(1)))));
        QSignalSpy done(reply, &QNetworkReply::finished);
        QVERIFY(done.wait(10000));
        QCOMPARE(reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), 200);
        reply->deleteLater();
        p.terminate();
        QVERIFY(p.waitForFinished(10000));
        QCOMPARE(p.exitCode(), 0);
    }

    // Two controllers started at the same moment on a new database (a farm's hosts booting
    // together) both come up: one applies the migrations while the other waits for it.
    void controllersStartTogetherOnANewDatabase()
    {
        if (!QFile::exists(binary()))
            QSKIP("farm-server binary not built");
        if (!TestDatabase::postgres())
            QSKIP("the _pg variant runs it (FARM_TEST_PG_URL)");
        for (int round = 0; round < 3; ++round) {
            QTemporaryDir dir;
            TestDatabase db(dir);
            QProcess a, b;
            const QStringList args{"--port",          "0",          "--data",
                                   dir.filePath("d"), "--database", db.url()};
            a.start(binary(), args);
            b.start(binary(), args);
            QVERIFY(a.waitForStarted(5000) && b.waitForStarted(5000));
            for (QProcess *p : {&a, &b}) {
                QByteArray out;
                for (int i = 0; i < 150 && !out.contains('\n'); ++i) {
                    p->waitForReadyRead(100);
                    out += p->readAllStandardOutput();
                }
                QVERIFY2(out.startsWith("farm-server listening on"),
                         (out + p->readAllStandardError()).constData());
            }
            for (QProcess *p : {&a, &b}) {
                p->terminate();
                QVERIFY(p->waitForFinished(10000));
                QCOMPARE(p->exitCode(), 0);
            }
        }
    }

    // A --database the server cannot use stops it at once with one readable line.
    void binaryRefusesUnusableDatabase_data()
    {
        QTest::addColumn<QString>("url");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("error");
        QTest::newRow("other kind") << "mysql://farm@127.0.0.1/farm" << 2
                                    << "farm-server: --database mysql://farm@127.0.0.1/farm: "
                                       "'mysql' databases are not supported";
        QTest::newRow("no server") << "postgresql://farm:pw@127.0.0.1:1/farm?connect_timeout=5" << 1
                                   << "farm-server: cannot open database "
                                      "postgresql://farm@127.0.0.1:1/farm?connect_timeout=5: ";
    }
    void binaryRefusesUnusableDatabase()
    {
        if (!QFile::exists(binary()))
            QSKIP("farm-server binary not built");
        QFETCH(QString, url);
        QFETCH(int, exitCode);
        QFETCH(QString, error);
        QTemporaryDir dir;
        QProcess p;
        p.start(binary(), {"--port", "0", "--data", dir.filePath("d"), "--database", url});
        QVERIFY(p.waitForFinished(20000));
        QCOMPARE(p.exitCode(), exitCode);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.startsWith(error) && err.count('\n') == 1, qPrintable(err));
        QVERIFY(!err.contains("pw")); // the password is never printed
    }

    void restartRequeuesAndReconnectingNodeResumes()
    {
        // On PostgreSQL another controller may still hold a node's tasks: a starting one leaves
        // them to their leases (docs/CONTROLLERS.md) instead of re-queuing them at once.
        if (TestDatabase::postgres())
            QSKIP("one controller's restart on SQLite; on PostgreSQL see docs/CONTROLLERS.md");
        QTemporaryDir dir;
        ServerConfig c;
        c.port = 0;
        c.dataDir = dir.filePath("data");
        qint64 taskId = 0;
        {
            FarmServer first(c);
            QVERIFY(first.start().ok());
            const JobSpec spec = [&] {
                JobSpec s;
                s.name = "restart";
                s.input.main = "m.glb";
                s.input.files = {{"m.glb", QString(64, 'a')}};
                return s;
            }();
            const auto id =
                first.store().insertJob(spec, {FrameRange({1})}, QDateTime::currentDateTimeUtc());
            QVERIFY(id.ok());
            taskId = first.store().tasksOfJob(*id).first().task.id;
            const qint64 node =
                *first.store().upsertNode(NodeCapabilities{"n1"}, QDateTime::currentDateTimeUtc());
            QVERIFY(first.stateMachine()
                        .apply({{taskId, TaskState::Assigned, node},
                                {taskId, TaskState::Running, node}})
                        .ok());
        } // the process ends with a task still running on a node
        FarmServer second(c);
        QVERIFY(second.start().ok());
        COMPARE_STATE(second.store().task(taskId)->task.state, TaskState::Queued);

        WsClient node;
        QVERIFY(node.open(QUrl(QString("ws://127.0.0.1:%1/ws/node").arg(second.port()))));
        node.send("hello", [&] {
            QJsonObject h = nodeHello("n1");
            h.insert("running", QJsonArray{taskId});
            return h;
        }());
        QVERIFY(node.waitFor("welcome") >= 0);
        for (int i = 0; i < 200 && second.store().task(taskId)->task.state != TaskState::Running;
             ++i)
            QTest::qWait(10);
        COMPARE_STATE(second.store().task(taskId)->task.state, TaskState::Running);
        QTest::qWait(50);
        for (const Envelope &e : node.received)
            QVERIFY(e.type != "task.assign"); // it keeps rendering; nothing is sent again
    }
};

QTEST_GUILESS_MAIN(TestFarmServer)
#include "tst_farmserver.moc"
