// Two farm-server controllers on one PostgreSQL database share the farm (docs/CONTROLLERS.md):
// real farm-server processes, real render-node processes, a dashboard socket on one of them.
#include "farmfixture.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSet>
#include <QUrlQuery>
#include <QWebSocket>
#include <QtTest>

#include <csignal>

namespace {

/// The test database URL in a schema of its own, so that runs never see each other's rows.
QString freshSchema(const QString &url)
{
    QUrl u(url);
    QUrlQuery q(u);
    q.removeAllQueryItems("schema");
    q.addQueryItem(
        "schema",
        QString("controllers_%1").arg(QRandomGenerator::global()->generate64() % 1000000000000));
    u.setQuery(q);
    return u.toString();
}

QJsonArray tasksOf(FarmFixture &farm, qint64 job)
{
    return farm.get(QString("/api/v1/jobs/%1/tasks").arg(job)).json().value("tasks").toArray();
}

} // namespace

class TestControllersE2e : public QObject
{
    Q_OBJECT

    QString m_database;

private slots:
    void initTestCase()
    {
        FARM_E2E_REQUIRE(kEngine);
        const QString url = qEnvironmentVariable("FARM_TEST_PG_URL");
        if (url.isEmpty())
            QSKIP("FARM_TEST_PG_URL is not set: two controllers need a PostgreSQL database; "
                  "scripts/test.sh starts one and sets it (docs/CONTROLLERS.md)");
        m_database = freshSchema(url);
    }

    // Nodes on both controllers run a job submitted to one; a dashboard on the other sees its
    // progress; the first is killed mid-job: its nodes move to the other, keep what they run,
    // and the job completes with every task run once.
    void shareTheFarmAndSurviveAKill()
    {
        FarmFixture a, b;
        QVERIFY(a.startServer(0, {"--database", m_database}));
        // One farm: the same database and the same files (a shared data directory).
        QVERIFY(b.startServer(0, {"--database", m_database, "--data", a.dataDir()}));
        // a1 and a2 try A first, then B; b1 tries B first.
        QVERIFY(a.startNode("a1", {"--server", b.serverUrl()}));
        QVERIFY(a.startNode("a2", {"--server", b.serverUrl()}));
        QVERIFY(b.startNode("b1", {"--server", a.serverUrl()}));
        // Both controllers see all three nodes: their own live, the other's by its heartbeat.
        QVERIFY(a.waitUntil([&] { return a.onlineNodes() == 3 && b.onlineNodes() == 3; }, 30000));
        QVERIFY2(b.serverLog().contains("node b1"), qPrintable(b.serverLog()));
        QVERIFY2(!b.serverLog().contains("node a1"), qPrintable(b.serverLog()));

        // A dashboard on B.
        QWebSocket dashboard;
        QList<QJsonObject> seen;
        connect(&dashboard, &QWebSocket::textMessageReceived, this, [&](const QString &text) {
            seen.append(QJsonDocument::fromJson(text.toUtf8()).object());
        });
        dashboard.open(QUrl(QString("ws://127.0.0.1:%1/ws/events").arg(b.port())));
        QTRY_VERIFY_WITH_TIMEOUT(dashboard.state() == QAbstractSocket::ConnectedState, 10000);

        const QString sha = a.upload(readFile(kEngine), "2CylinderEngine.glb");
        QVERIFY(!sha.isEmpty());
        const QJsonObject spec{
            {"name", "two controllers"},
            {"type", "model"},
            {"input", QJsonObject{{"file", sha}, {"name", "2CylinderEngine.glb"}}},
            {"frames", "1-12"},
            {"chunk", 1},
            {"settings", QJsonObject{{"width", 320},
                                     {"height", 240},
                                     {"spp", 24},
                                     {"camera", QJsonObject{{"mode", "turntable"}}}}}};
        const qint64 job = a.submit(spec);
        QVERIFY(job > 0);

        // B's node runs tasks of the job A took, while A's nodes run others.
        QStringList onA; // tasks running on A's nodes when A is killed
        QVERIFY(b.waitUntil(
            [&] {
                bool byB = false;
                onA.clear();
                for (const QJsonValue &v : tasksOf(b, job)) {
                    const QJsonObject t = v.toObject();
                    const QString node = t.value("node").toString();
                    const QString state = t.value("state").toString();
                    if (node == "b1" && (state == "running" || state == "done"))
                        byB = true;
                    if (node.startsWith("a") && state == "running")
                        onA.append(QString::number(t.value("id").toInteger()) + '@' + node);
                }
                return byB && !onA.isEmpty();
            },
            120000));

        // What A did reached B's dashboard through the database.
        const auto eventOnA = [&] {
            for (const QJsonObject &e : seen) {
                const QJsonObject d = e.value("data").toObject();
                if (e.value("type").toString() == "task.updated" &&
                    d.value("job_id").toInteger() == job &&
                    d.value("node").toString().startsWith("a"))
                    return true;
            }
            return false;
        };
        QTRY_VERIFY_WITH_TIMEOUT(eventOnA(), 15000);
        QVERIFY(std::any_of(seen.cbegin(), seen.cend(), [&](const QJsonObject &e) {
            return e.value("type").toString() == "job.created" &&
                   e.value("data").toObject().value("id").toInteger() == job;
        }));

        // A dies without a word.
        ::kill(pid_t(a.serverProcess()->processId()), SIGKILL);
        QVERIFY(a.serverProcess()->waitForFinished(10000));

        const QJsonObject done = b.waitForJob(job, 300000);
        QCOMPARE(done.value("state").toString(), QString("completed"));
        QVERIFY2(b.serverLog().contains(QRegularExpression("node a1 \\(\\d+\\) connected")),
                 qPrintable(b.serverLog()));
        QVERIFY2(b.serverLog().contains(QRegularExpression("node a2 \\(\\d+\\) connected")),
                 qPrintable(b.serverLog()));

        QSet<QString> nodes;
        for (const QJsonValue &v : tasksOf(b, job)) {
            const QJsonObject t = v.toObject();
            const qint64 id = t.value("id").toInteger();
            QCOMPARE(t.value("state").toString(), QString("done"));
            QCOMPARE(t.value("attempts").toInt(), 0);
            nodes.insert(t.value("node").toString());
            // Run once: a task's log has a header per run, and only the first run's.
            const QByteArray log = b.get(QString("/api/v1/tasks/%1/log").arg(id)).body;
            QVERIFY2(!log.contains("=== attempt 2"), log.constData());
            for (const QString &held : std::as_const(onA))
                if (held.section('@', 0, 0).toLongLong() == id) // kept by its node across the kill
                    QCOMPARE(t.value("node").toString(), held.section('@', 1));
        }
        QVERIFY2(nodes.contains("b1"), qPrintable(QStringList(nodes.values()).join(',')));
        QVERIFY2(nodes.contains("a1") || nodes.contains("a2"),
                 qPrintable(QStringList(nodes.values()).join(',')));
        QStringList names;
        for (const QJsonValue &o :
             b.get(QString("/api/v1/jobs/%1/outputs").arg(job)).json().value("outputs").toArray())
            names.append(o.toObject().value("name").toString());
        names.sort();
        QStringList expected;
        for (int f = 1; f <= 12; ++f)
            expected.append(QString("frame_%1.png").arg(f, 4, 10, QChar('0')));
        QCOMPARE(names, expected);
    }
};

QTEST_MAIN(TestControllersE2e)
#include "tst_controllers_e2e.moc"
