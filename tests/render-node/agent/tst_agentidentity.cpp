// The agent against the real farm-server on loopback: its own secret proves its name across
// restarts, an impostor under its name is refused while it stays connected, and a task the
// server no longer gives it (lease lost) is stopped when the server refuses its outputs.
#include "agent/agent.h"
#include "agenttestutil.h"

#include "api/apiclient.h"

#include <QJsonDocument>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using namespace farm;
using namespace farm::node;
using namespace farm::server::test;
using namespace agenttest;

namespace {

// Agent log lines, so a test can wait for what the agent was told.
QStringList g_log;
QtMessageHandler g_previous = nullptr;

void capture(QtMsgType type, const QMessageLogContext &context, const QString &text)
{
    g_log.append(text);
    if (g_previous)
        g_previous(type, context, text);
}

} // namespace

class TestAgentIdentity : public QObject
{
    Q_OBJECT

    std::unique_ptr<QTemporaryDir> m_dir;

    NodeConfig config(const TestServer &s, const QString &name, const QString &cache)
    {
        NodeConfig c = makeConfig(s.url("").toString(), m_dir->filePath(cache),
                                  writeScript(m_dir->path(), "child.sh",
                                              QString(kChild).replace("@DIR@", m_dir->path())));
        c.name = name;
        c.token.clear(); // the server has no join token: loopback proves the node
        return c;
    }
    QString path(const QString &name) const { return m_dir->filePath(name); }
    static QJsonObject readJson(const QString &file)
    {
        QFile f(file);
        return f.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(f.readAll()).object()
                                           : QJsonObject();
    }

    // The fake child tells its pid, waits until the test lets it write its frame, then keeps
    // running (as a renderer busy with the next frame would) until it is stopped.
    // The pid file appears whole (renamed into place): a test that sees it reads the pid.
    static constexpr char kChild[] = R"(echo $$ > "@DIR@/child.pid.part"
mv "@DIR@/child.pid.part" "@DIR@/child.pid"
while [ ! -f "@DIR@/go" ]; do sleep 0.05; done
out=$(printf '%s' "$4" | sed "s/####/0001/")
printf 'fake png' > "$out"
echo "FRAME 1 $out"
exec sleep 60
)";

private slots:
    void initTestCase() { g_previous = qInstallMessageHandler(capture); }
    void cleanupTestCase() { qInstallMessageHandler(g_previous); }
    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
        g_log.clear();
    }

    void secretIsKeptAndProvesTheName()
    {
        TestServer s;
        auto first = std::make_unique<Agent>(config(s, "ws-a", "cache-a"));
        QSignalSpy welcomed(first.get(), &Agent::welcomed);
        first->start();
        QVERIFY(welcomed.wait(10000));
        const qint64 id = first->nodeId();
        const QString file = path("cache-a/node-credentials.json");
        QVERIFY(QFile::exists(file));
        QCOMPARE(QFile::permissions(file) &
                     ~(QFile::ReadOwner | QFile::WriteOwner | QFile::ReadUser | QFile::WriteUser),
                 QFileDevice::Permissions{});
        const QString secret = readJson(file).value("secret").toString();
        QVERIFY(!secret.isEmpty());
        QCOMPARE(readJson(file).value("node_id").toInteger(), id);
        QCOMPARE(s.server->scheduler().nodeForSecret(secret.toUtf8()), id);

        // Another machine under the same name, without the secret: refused, and the first
        // node stays connected.
        Agent impostor(config(s, "ws-a", "cache-b"));
        QSignalSpy impostorWelcomed(&impostor, &Agent::welcomed);
        impostor.start();
        QVERIFY(QTest::qWaitFor(
            [] {
                return std::any_of(g_log.cbegin(), g_log.cend(), [](const QString &l) {
                    return l.contains("name_taken") && l.contains("farmctl nodes forget ws-a");
                });
            },
            10000));
        QCOMPARE(impostorWelcomed.count(), 0);
        QVERIFY(!QFile::exists(path("cache-b/node-credentials.json")));
        QCOMPARE(s.server->scheduler().onlineCount(), 1);
        QVERIFY(s.server->scheduler().node(id)->state != NodeState::Offline);
        impostor.stop();

        // The same node restarted: its secret from disk proves it.
        first.reset();
        QVERIFY(QTest::qWaitFor([&] { return s.server->scheduler().onlineCount() == 0; }, 5000));
        Agent again(config(s, "ws-a", "cache-a"));
        QSignalSpy againWelcomed(&again, &Agent::welcomed);
        again.start();
        QVERIFY(againWelcomed.wait(10000));
        QCOMPARE(again.nodeId(), id);
        QCOMPARE(readJson(file).value("secret").toString(), secret); // not re-issued
    }

    // The operator released the name (the node was forgotten): the node's old secret is
    // refused, so it joins again with the join token and keeps the new secret.
    void forgottenNodeJoinsAgain()
    {
        farm::server::ServerConfig sc;
        sc.joinToken = "join-token";
        TestServer s(sc);
        NodeConfig c = config(s, "ws-f", "cache-f");
        c.token = "join-token";
        auto first = std::make_unique<Agent>(c);
        QSignalSpy welcomed(first.get(), &Agent::welcomed);
        first->start();
        QVERIFY(welcomed.wait(10000));
        const qint64 id = first->nodeId();
        const QString file = path("cache-f/node-credentials.json");
        const QString secret = readJson(file).value("secret").toString();
        QVERIFY(!secret.isEmpty());
        QVERIFY(!first->helloData().contains("token")); // the join token was for joining only
        first.reset();
        QVERIFY(QTest::qWaitFor([&] { return s.server->scheduler().onlineCount() == 0; }, 5000));
        QCOMPARE(s.request("DELETE", QString("/api/v1/nodes/%1").arg(id)).status, 204);

        Agent again(c);
        QSignalSpy againWelcomed(&again, &Agent::welcomed);
        again.start();
        QVERIFY(againWelcomed.wait(10000));
        QVERIFY(again.nodeId() != id);
        const QString fresh = readJson(file).value("secret").toString();
        QVERIFY(!fresh.isEmpty());
        QVERIFY(fresh != secret);
        QCOMPARE(s.server->scheduler().nodeForSecret(fresh.toUtf8()), again.nodeId());
    }

    // A node whose lease expired but which reconnects before anyone else took its task keeps
    // it: an upload racing the reconnect is told to retry, not to stop.
    void reconnectKeepsItsTask()
    {
        farm::server::ManualClock clock(QDateTime::currentDateTimeUtc());
        TestServer s({}, &clock);
        const QString sha = s.upload("model bytes");
        const qint64 job =
            s.post("/api/v1/jobs", jobBody(sha, "1", 1)).json().value("id").toInteger();
        NodeConfig c = config(s, "ws-back", "cache-back");
        // The reconnect comes well after the upload's retries (50, 100, 200 ms) are spent: an
        // upload told the task is orphaned waits for it instead of failing the task.
        c.backoffInitialMs = c.backoffMaxMs = 1500;
        Agent agent(c);
        QSignalSpy welcomed(&agent, &Agent::welcomed);
        QSignalSpy lost(&agent, &Agent::taskLost);
        QSignalSpy finished(&agent, &Agent::taskFinished);
        agent.start();
        QVERIFY(QTest::qWaitFor([&] { return QFile::exists(path("child.pid")); }, 10000));
        const qint64 task = agent.runningTasks().value(0);
        const qint64 id = agent.nodeId();
        clock.advance(qint64(s.server->scheduler().config().leaseS + 1) * 1000);
        s.server->scheduler().checkLeases();
        QCOMPARE(toString(s.store().task(task)->task.state), QString("queued"));
        QFile go(path("go"));
        QVERIFY(go.open(QIODevice::WriteOnly));
        go.close();
        QVERIFY(QTest::qWaitFor([&] { return welcomed.count() == 2; }, 10000));
        QCOMPARE(agent.nodeId(), id);
        QVERIFY(QTest::qWaitFor(
            [&] { return toString(s.store().task(task)->task.state) == "running"; }, 10000));
        QCOMPARE(s.store().task(task)->task.nodeId, id);
        QVERIFY(QTest::qWaitFor(
            [&] {
                return s.get(QString("/api/v1/jobs/%1/outputs").arg(job))
                           .json()
                           .value("outputs")
                           .toArray()
                           .size() == 1;
            },
            10000));
        QCOMPARE(lost.count(), 0);
        QCOMPARE(finished.count(), 0); // the child still runs (its next frame)
        QVERIFY(agent.runningTasks().contains(task));
    }

    // A node whose lease expired keeps rendering until it uploads; the server refuses the
    // output and the node stops the task without reporting anything more.
    void lostTaskIsStopped_data()
    {
        QTest::addColumn<bool>("reassigned");
        QTest::addColumn<QString>("code");
        QTest::newRow("job canceled meanwhile") << false << "task_not_running";
        QTest::newRow("given to another node") << true << "not_your_task";
    }
    void lostTaskIsStopped()
    {
        QFETCH(bool, reassigned);
        QFETCH(QString, code);
        farm::server::ManualClock clock(QDateTime::currentDateTimeUtc());
        TestServer s({}, &clock);
        const QString sha = s.upload("model bytes");
        const qint64 job =
            s.post("/api/v1/jobs", jobBody(sha, "1", 1)).json().value("id").toInteger();
        QVERIFY(job > 0);
        NodeConfig c = config(s, "ws-lost", "cache-lost");
        c.backoffInitialMs = c.backoffMaxMs = 60000; // stays away once the server drops it
        Agent agent(c);
        agent.start();
        QVERIFY(QTest::qWaitFor([&] { return QFile::exists(path("child.pid")); }, 10000));
        QCOMPARE(agent.runningTasks().size(), 1);
        const qint64 task = agent.runningTasks().first();
        QFile pidFile(path("child.pid"));
        QVERIFY(pidFile.open(QIODevice::ReadOnly));
        const qint64 pid = pidFile.readAll().trimmed().toLongLong();
        QVERIFY(isAlive(pid));

        clock.advance(qint64(s.server->scheduler().config().leaseS + 1) * 1000);
        s.server->scheduler().checkLeases();
        QCOMPARE(s.server->scheduler().onlineCount(), 0);
        QCOMPARE(toString(s.store().task(task)->task.state), QString("queued"));
        WsClient other;
        if (!reassigned) // the node is away: it never hears the task.cancel
            QCOMPARE(s.request("POST", QString("/api/v1/jobs/%1/cancel").arg(job)).status, 200);
        if (reassigned) {
            QVERIFY(other.open(QUrl(QString("ws://127.0.0.1:%1/ws/node").arg(s.server->port()))));
            other.send("hello", nodeHello("ws-other"));
            const int assign = other.waitFor("task.assign");
            QVERIFY(assign >= 0);
            QCOMPARE(other.received[assign].data.value("task").toInteger(), task);
        }

        QSignalSpy lost(&agent, &Agent::taskLost);
        QSignalSpy finished(&agent, &Agent::taskFinished);
        QFile go(path("go"));
        QVERIFY(go.open(QIODevice::WriteOnly));
        go.close();
        QVERIFY(lost.wait(10000));
        QCOMPARE(lost.first().at(0).toLongLong(), task);
        QVERIFY2(lost.first().at(1).toString().contains(code),
                 qPrintable(lost.first().at(1).toString()));
        QVERIFY(QTest::qWaitFor([&] { return !isAlive(pid); }, 5000)); // the render is gone
        QVERIFY(agent.runningTasks().isEmpty());
        QVERIFY(agent.helloData().value("running").toArray().isEmpty());
        QCOMPARE(finished.count(), 0); // no task.done or task.failed for it
        QVERIFY(std::any_of(g_log.cbegin(), g_log.cend(), [&](const QString &l) {
            return l.contains(QString("stopped task %1").arg(task)) && l.contains(code);
        }));
        // Nothing was written under the task's name.
        QVERIFY(s.get(QString("/api/v1/jobs/%1/outputs").arg(job))
                    .json()
                    .value("outputs")
                    .toArray()
                    .isEmpty());
        const auto t = s.store().task(task);
        QCOMPARE(toString(t->task.state), QString(reassigned ? "assigned" : "canceled"));
        QCOMPARE(t->task.attempts, 0);
    }
};

QTEST_GUILESS_MAIN(TestAgentIdentity)
#include "tst_agentidentity.moc"
