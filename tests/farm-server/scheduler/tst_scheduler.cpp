#include "fixtures.h"

#include "scheduler/nodecredentials.h"
#include "store/sqlhelpers.h"

using namespace farm;
using namespace farm::server;
using namespace farm::server::test;

class TestScheduler : public QObject
{
    Q_OBJECT

    static qint64 connect(Core &core, RecordingLink &link, const QJsonObject &hello)
    {
        const auto id = core.scheduler->connectNode(&link, hello);
        if (!id)
            qWarning() << id.error().message;
        return id ? *id : 0;
    }
    /// As a node does: each frame's image is uploaded before task.done (here: its output row).
    static void landFrames(Core &core, qint64 task)
    {
        const auto t = core.store.task(task);
        QVERIFY(t);
        const auto range = FrameRange::parse(t->task.frames);
        for (int f : range->frames())
            QVERIFY(core.store
                        .upsertOutput({t->task.jobId, task,
                                       QString("frame_%1.png").arg(f, 4, 10, QChar('0')), 9, f},
                                      core.clock.now())
                        .ok());
    }
    static Result<void> done(Core &core, qint64 node, qint64 task, QJsonArray outputs = {})
    {
        if (outputs.isEmpty())
            landFrames(core, task);
        return core.scheduler->handleMessage(
            node, core.message("task.done", {{"task", task}, {"outputs", outputs}}));
    }

private slots:
    void initTestCase() { FARM_REQUIRE_TEST_DATABASE(); } // SQLite, or PostgreSQL in _pg

    void welcomesAndAssignsWithFullContract()
    {
        Core core;
        JobSpec spec = makeSpec("10-15", 4);
        spec.settings = {{"camera", QJsonObject{{"mode", "turntable"}}}};
        const qint64 jobId = core.addJob(spec);
        RecordingLink link;
        const qint64 node = connect(core, link, hello("ws-1"));
        QVERIFY(node > 0);
        QCOMPARE(link.sent.first().first, QString("welcome"));
        QCOMPARE(link.sent.first().second.value("node_id").toInteger(), node);
        QCOMPARE(link.sent.first().second.value("lease_s").toInt(), 20);
        const auto assigns = link.of("task.assign");
        QCOMPARE(assigns.size(), 1); // one slot
        const QJsonObject a = assigns.first();
        QCOMPARE(a.value("job").toInteger(), jobId);
        QCOMPARE(a.value("frames").toString(), QString("10-13"));
        QCOMPARE(a.value("job_frames").toString(), QString("10-15"));
        QCOMPARE(a.value("type").toString(), QString("model"));
        QCOMPARE(a.value("attempt").toInt(), 1);
        QCOMPARE(a.value("engine").toString(), QString("farmhand"));
        const QJsonObject input = a.value("input").toObject();
        QCOMPARE(input.value("main").toString(), QString("model.glb"));
        QCOMPARE(input.value("files").toArray().size(), 1);
        QCOMPARE(input.value("files").toArray().first().toObject().value("url").toString(),
                 "/api/v1/files/" + QString(64, 'a'));
        QCOMPARE(a.value("settings").toObject().value("camera").toObject().value("mode").toString(),
                 QString("turntable"));
        COMPARE_STATE(core.store.job(jobId)->state, JobState::Active);
        QCOMPARE(core.scheduler->metrics().dispatched, 1);
        const auto n = core.scheduler->node(node);
        COMPARE_STATE(n->state, NodeState::Busy);
    }

    // What GET /api/v1/nodes serves of a live node: its load and its tasks' job and frames.
    void servesLoadAndCurrentWork()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("10-15", 4));
        RecordingLink link;
        const qint64 node = connect(core, link, hello("ws-1"));
        QVERIFY(!core.scheduler->node(node)->load); // no heartbeat yet
        const qint64 task = link.assignedTasks().first();
        QVERIFY(core.scheduler
                    ->handleMessage(node, core.message("heartbeat", {{"running", QJsonArray{task}},
                                                                     {"load", 1.5}}))
                    .ok());
        const auto n = core.scheduler->node(node);
        QCOMPARE(n->load, std::optional<double>(1.5));
        QCOMPARE(n->tasks, (QList<NodeTask>{{task, jobId, "10-13"}}));
        const QJsonObject json = n->toJson();
        QCOMPARE(json.value("load").toDouble(), 1.5);
        QCOMPARE(json.value("tasks").toArray().first().toObject().value("frames").toString(),
                 QString("10-13"));
        QVERIFY(!json.contains("gpu_load")); // only where the node reports its GPUs
        // A heartbeat without the field keeps the last reading (older nodes send none).
        QVERIFY(
            core.scheduler
                ->handleMessage(node, core.message("heartbeat", {{"running", QJsonArray{task}}}))
                .ok());
        QCOMPARE(core.scheduler->node(node)->load, std::optional<double>(1.5));
    }

    void waitsForPrerequisitesAndSaysSo()
    {
        Core core;
        JobSpec spec = makeSpec("1-2", 1);
        const auto id = core.store.insertJob(
            spec, QList<TaskPlan>{{FrameRange({1}), {}}, {FrameRange({2}), {0}}}, core.clock.now());
        QVERIFY(id.ok());
        RecordingLink link;
        const qint64 node = connect(core, link, hello("ws-1", 2));
        QCOMPARE(link.of("task.assign").size(), 1); // two free slots, one task ready
        const qint64 first = link.assignedTasks().first();
        QVERIFY(core.scheduler->explain(*core.store.job(*id))
                    .first()
                    .startsWith("1 of its 1 queued task(s) wait for other tasks"));
        QVERIFY(
            core.store.upsertOutput({*id, first, "frame_0001.png", 5, 1}, core.clock.now()).ok());
        QVERIFY(done(core, node, first, {"frame_0001.png"}).ok());
        QCOMPARE(link.of("task.assign").size(), 2); // now the second one
        QCOMPARE(link.of("task.assign").last().value("frames").toString(), QString("2"));
    }

    void picksByPriorityThenAge()
    {
        Core core;
        const qint64 older = core.addJob(makeSpec("1", 1, 50));
        const qint64 urgent = core.addJob(makeSpec("1", 1, 90));
        const qint64 newer = core.addJob(makeSpec("1", 1, 50));
        RecordingLink link;
        const qint64 node = connect(core, link, hello("ws-1"));
        QList<qint64> order;
        for (int i = 0; i < 3; ++i) {
            const qint64 task = link.assignedTasks().value(i);
            QVERIFY(task > 0);
            order.append(core.store.task(task)->task.jobId);
            QVERIFY(done(core, node, task).ok());
        }
        QCOMPARE(order, (QList<qint64>{urgent, older, newer}));
        COMPARE_STATE(core.store.job(newer)->state, JobState::Completed);
    }

    void honoursRequirements()
    {
        Core core;
        JobSpec spec = makeSpec("1", 1);
        spec.requirements.gpu = true;
        spec.requirements.tags = {"lab"};
        core.addJob(spec);
        RecordingLink cpuOnly, gpuNoTag, noEngine, good;
        connect(core, cpuOnly, hello("cpu", 4, {}, {"lab"}));
        connect(core, gpuNoTag, hello("gpu", 4, {}, {}, true));
        QJsonObject h = hello("other", 4, {}, {"lab"}, true);
        h.insert("engines", QJsonArray{});
        connect(core, noEngine, h);
        QVERIFY(cpuOnly.assignedTasks().isEmpty());
        QVERIFY(gpuNoTag.assignedTasks().isEmpty());
        QVERIFY(noEngine.assignedTasks().isEmpty());
        connect(core, good, hello("good", 1, {}, {"lab", "fast"}, true));
        QCOMPARE(good.assignedTasks().size(), 1);
    }

    void fillsEverySlot()
    {
        Core core;
        core.addJob(makeSpec("1-10", 1));
        RecordingLink link;
        connect(core, link, hello("big", 4));
        QCOMPARE(link.assignedTasks().size(), 4);
    }

    void leaseExpiryRequeues()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1", 1));
        RecordingLink link;
        const qint64 node = connect(core, link, hello("ws-1"));
        const qint64 task = link.assignedTasks().value(0);
        core.clock.advance(15'000);
        QVERIFY(
            core.scheduler
                ->handleMessage(node, core.message("heartbeat", {{"running", QJsonArray{task}}}))
                .ok());
        core.clock.advance(15'000);
        core.scheduler->checkLeases(); // 15 s since the heartbeat: still alive
        QCOMPARE(core.scheduler->onlineCount(), 1);
        core.clock.advance(6'000);
        core.scheduler->checkLeases();
        QCOMPARE(core.scheduler->onlineCount(), 0);
        QVERIFY(link.closedWith != 0);
        const auto t = core.store.task(task);
        COMPARE_STATE(t->task.state, TaskState::Queued);
        QCOMPARE(t->task.attempts, 0); // a lost node is not the task's fault
        QCOMPARE(t->orphaned, 1);
        COMPARE_STATE(core.scheduler->node(node)->state, NodeState::Offline);
        COMPARE_STATE(core.store.job(jobId)->state, JobState::Active);
    }

    void dropRequeuesToAnotherNode()
    {
        Core core;
        core.addJob(makeSpec("1", 1));
        RecordingLink a, b;
        const qint64 na = connect(core, a, hello("a"));
        connect(core, b, hello("b"));
        const qint64 task = a.assignedTasks().value(0);
        QVERIFY(b.assignedTasks().isEmpty());
        core.scheduler->disconnectNode(na, &a, "socket closed");
        QCOMPARE(b.assignedTasks(), QList<qint64>{task});
        QCOMPARE(b.of("task.assign").first().value("attempt").toInt(), 2);
    }

    void reconnectGetsItsTasksBack()
    {
        Core core;
        core.addJob(makeSpec("1-2", 1));
        RecordingLink first;
        const qint64 node = connect(core, first, hello("a"));
        const qint64 task = first.assignedTasks().value(0);
        QVERIFY(core.scheduler->handleMessage(node, core.message("task.accepted", {{"task", task}}))
                    .ok());
        core.scheduler->disconnectNode(node, &first, "socket closed");
        COMPARE_STATE(core.store.task(task)->task.state, TaskState::Queued);

        RecordingLink again;
        QCOMPARE(connect(core, again,
                         withSecret(hello("a", 1, QJsonArray{task, 424242}), first.secret())),
                 node);
        QVERIFY(again.secret().isEmpty()); // a known node keeps its secret
        const auto t = core.store.task(task);
        COMPARE_STATE(t->task.state, TaskState::Running);
        QCOMPARE(t->task.nodeId, node);
        QVERIFY(!again.assignedTasks().contains(task)); // it keeps running, no new assignment
        QCOMPARE(again.of("task.cancel").size(), 1);
        QCOMPARE(again.of("task.cancel").first().value("task").toInteger(), 424242);
    }

    void replacedConnectionKeepsItsTasks()
    {
        Core core;
        core.addJob(makeSpec("1", 1));
        RecordingLink stale, other, fresh;
        connect(core, stale, hello("a"));
        const qint64 task = stale.assignedTasks().value(0);
        connect(core, other, hello("b")); // idle, would take the task if it were re-queued
        // "a" reconnects before its old socket was noticed dead.
        connect(core, fresh, withSecret(hello("a", 1, QJsonArray{task}), stale.secret()));
        QVERIFY(other.assignedTasks().isEmpty());
        QVERIFY(fresh.of("task.cancel").isEmpty());
        QVERIFY(stale.closedWith != 0); // the old socket is told to go
        COMPARE_STATE(core.store.task(task)->task.state, TaskState::Running);
        QCOMPARE(core.store.task(task)->task.nodeName, QString("a"));
    }

    void reconnectAfterTaskMovedOnIsCanceled()
    {
        Core core;
        core.addJob(makeSpec("1", 1));
        RecordingLink a, b, a2;
        const qint64 na = connect(core, a, hello("a"));
        const qint64 task = a.assignedTasks().value(0);
        core.scheduler->disconnectNode(na, &a, "socket closed");
        connect(core, b, hello("b"));
        QCOMPARE(b.assignedTasks(), QList<qint64>{task});
        connect(core, a2, withSecret(hello("a", 1, QJsonArray{task}), a.secret()));
        QCOMPARE(a2.of("task.cancel").size(), 1);
        QCOMPARE(core.store.task(task)->task.nodeName, QString("b"));
    }

    // A second hello under a registered name without that node's secret is refused, and the
    // real node keeps its connection and its tasks.
    void takenNameIsRefused_data()
    {
        QTest::addColumn<QString>("joinToken");
        QTest::addColumn<QString>("sentToken");
        QTest::addColumn<QString>("secret");
        QTest::addColumn<QString>("code");
        QTest::newRow("no secret") << ""
                                   << ""
                                   << ""
                                   << "name_taken";
        QTest::newRow("wrong secret") << ""
                                      << ""
                                      << "not-the-secret"
                                      << "name_taken";
        QTest::newRow("join token, no secret") << "jt"
                                               << "jt"
                                               << ""
                                               << "name_taken";
        QTest::newRow("no join token") << "jt"
                                       << ""
                                       << ""
                                       << "unauthorized";
        QTest::newRow("overlong secret") << ""
                                         << "" << QString(200, 'x') << "invalid_field";
    }
    void takenNameIsRefused()
    {
        QFETCH(QString, joinToken);
        QFETCH(QString, sentToken);
        QFETCH(QString, secret);
        QFETCH(QString, code);
        Core core;
        Scheduler guarded(core.store, *core.machine, core.clock, core.sink, {20, 5, joinToken});
        core.addJob(makeSpec("1", 1));
        RecordingLink real, impostor;
        QJsonObject h = hello("a");
        if (!joinToken.isEmpty())
            h.insert("token", joinToken);
        const auto node = guarded.connectNode(&real, h);
        QVERIFY(node.ok());
        QVERIFY(!real.secret().isEmpty());
        const qint64 task = real.assignedTasks().value(0);
        QVERIFY(task > 0);

        QJsonObject bad = hello("a", 4, QJsonArray{task}, {}, true);
        if (!sentToken.isEmpty())
            bad.insert("token", sentToken);
        if (!secret.isEmpty())
            bad.insert("secret", secret);
        const auto r = guarded.connectNode(&impostor, bad);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, code);
        if (code == "name_taken") {
            QVERIFY2(r.error().message.contains("farmctl nodes forget a"),
                     qPrintable(r.error().message));
        }
        QVERIFY(impostor.sent.isEmpty()); // no welcome, no cancel: nothing for the impostor
        QCOMPARE(real.closedWith, 0);     // the real node is not disconnected
        QCOMPARE(guarded.onlineCount(), 1);
        const auto t = core.store.task(task);
        COMPARE_STATE(t->task.state, TaskState::Assigned);
        QCOMPARE(t->task.nodeId, *node);
        QCOMPARE(guarded.node(*node)->running, QList<qint64>{task});
        QCOMPARE(guarded.node(*node)->caps.slotCount, 1); // its capabilities are not overwritten
        QCOMPARE(guarded.nodeForSecret(real.secret().toUtf8()), *node);
        QCOMPARE(guarded.nodeForSecret("not-the-secret"), 0);
        QCOMPARE(guarded.nodeForSecret(QByteArray()), 0);
    }

    // The right secret proves the node even without the join token (it may have changed).
    void secretProvesAReconnectingNode()
    {
        Core core;
        Scheduler guarded(core.store, *core.machine, core.clock, core.sink, {20, 5, "jt"});
        RecordingLink first, second;
        QJsonObject h = hello("a");
        h.insert("token", "jt");
        const auto node = guarded.connectNode(&first, h);
        QVERIFY(node.ok());
        const QString secret = first.secret();
        QCOMPARE(secret.size(), 43); // 32 random bytes, base64url
        const auto again = guarded.connectNode(&second, withSecret(hello("a"), secret));
        QVERIFY(again.ok());
        QCOMPARE(*again, *node);
        QVERIFY(first.closedWith != 0); // the stale socket goes
        QVERIFY(second.secret().isEmpty());
        QCOMPARE(guarded.nodeForSecret(secret.toUtf8()), *node);
        // The store keeps a hash, never the secret itself.
        QVERIFY(!core.store.node(*node)->secretHash.isEmpty());
        QVERIFY(!core.store.node(*node)->secretHash.contains(secret.toUtf8()));
    }

    // A connected node's secret is known from its hello (no database read per upload); the
    // database answers for a node that is not connected; a forgotten node's secret is nobody's.
    void connectedNodesSecretsAreKnownFromTheirHello()
    {
        Core core;
        RecordingLink first, second, other;
        const qint64 node = connect(core, first, hello("a"));
        const QByteArray secret = first.secret().toUtf8();
        QVERIFY(!secret.isEmpty());
        QCOMPARE(core.scheduler->nodeForSecret(secret), node);
        const qint64 b = connect(core, other, hello("b"));
        QCOMPARE(core.scheduler->nodeForSecret(other.secret().toUtf8()), b);
        // While connected the hello's proof holds, whatever the row says meanwhile.
        QVERIFY(sql::exec(core.store.database(), "UPDATE nodes SET secret_hash = NULL WHERE id = ?",
                          {node})
                    .ok());
        QCOMPARE(core.scheduler->nodeForSecret(secret), node);
        QVERIFY(core.store.setNodeSecret(node, credentials::hashSecret(secret)).ok());
        // A new connection of the same node replaces the old one; the old one's late close
        // changes nothing.
        QCOMPARE(connect(core, second, withSecret(hello("a"), QString::fromUtf8(secret))), node);
        core.scheduler->disconnectNode(node, &first, "socket closed");
        QCOMPARE(core.scheduler->nodeForSecret(secret), node);
        // Offline: from the database (an upload still in flight is told why it is refused).
        core.scheduler->disconnectNode(node, &second, "socket closed");
        QCOMPARE(core.scheduler->onlineCount(), 1);
        QCOMPARE(core.scheduler->nodeForSecret(secret), node);
        QVERIFY(sql::exec(core.store.database(), "UPDATE nodes SET secret_hash = NULL WHERE id = ?",
                          {node})
                    .ok());
        QCOMPARE(core.scheduler->nodeForSecret(secret), 0);
        // Forgotten, and the name joined again: the old secret is nobody's.
        QVERIFY(core.scheduler->forgetNode(node).ok());
        RecordingLink reinstalled;
        const qint64 again = connect(core, reinstalled, hello("a"));
        QVERIFY(again != node);
        QCOMPARE(core.scheduler->nodeForSecret(secret), 0);
        QCOMPARE(core.scheduler->nodeForSecret(reinstalled.secret().toUtf8()), again);
        QCOMPARE(core.scheduler->nodeForSecret(other.secret().toUtf8()), b);
    }

    // hello.running adopts only tasks taken from this very node, up to its slots, and only
    // those whose requirements it meets; the rest are canceled on it.
    void helloRunningAdoptsOnlyItsOwnTasks()
    {
        Core core;
        core.addJob(makeSpec("1", 1));
        RecordingLink a, b, b2, a2;
        const qint64 na = connect(core, a, hello("a"));
        const qint64 task = a.assignedTasks().value(0);
        QVERIFY(task > 0);
        // "b" claims the task "a" runs: canceled on b, a keeps it.
        const qint64 nb = connect(core, b, hello("b", 1, QJsonArray{task}));
        QCOMPARE(b.of("task.cancel").size(), 1);
        QCOMPARE(core.store.task(task)->task.nodeId, na);
        QVERIFY(a.of("task.cancel").isEmpty());
        QCOMPARE(core.scheduler->node(na)->running, QList<qint64>{task});

        // "a" is lost; "b" (disabled, so the queue gives it nothing) claims the queued task.
        QVERIFY(core.scheduler->setNodeAdmin(nb, "disable").ok());
        core.scheduler->disconnectNode(nb, &b, "socket closed");
        core.scheduler->disconnectNode(na, &a, "socket closed");
        COMPARE_STATE(core.store.task(task)->task.state, TaskState::Queued);
        connect(core, b2, withSecret(hello("b", 1, QJsonArray{task}), b.secret()));
        QCOMPARE(b2.of("task.cancel").size(), 1);
        COMPARE_STATE(core.store.task(task)->task.state, TaskState::Queued);
        QVERIFY(core.scheduler->node(nb)->running.isEmpty());

        // The node it was taken from gets it back.
        connect(core, a2, withSecret(hello("a", 1, QJsonArray{task}), a.secret()));
        QVERIFY(a2.of("task.cancel").isEmpty());
        COMPARE_STATE(core.store.task(task)->task.state, TaskState::Running);
        QCOMPARE(core.store.task(task)->task.nodeId, na);
    }

    void helloRunningRespectsSlots()
    {
        Core core;
        core.addJob(makeSpec("1-2", 1));
        RecordingLink first, again;
        const qint64 node = connect(core, first, hello("a", 2));
        const QList<qint64> tasks = first.assignedTasks();
        QCOMPARE(tasks.size(), 2);
        core.scheduler->disconnectNode(node, &first, "socket closed");
        QVERIFY(core.scheduler->setNodeAdmin(node, "disable").ok()); // no fresh assignments
        connect(core, again,
                withSecret(hello("a", 1, QJsonArray{tasks[0], tasks[1]}), first.secret()));
        QCOMPARE(again.of("task.cancel").size(), 1);
        QCOMPARE(again.of("task.cancel").first().value("task").toInteger(), tasks[1]);
        COMPARE_STATE(core.store.task(tasks[0])->task.state, TaskState::Running);
        COMPARE_STATE(core.store.task(tasks[1])->task.state, TaskState::Queued);
        QCOMPARE(core.scheduler->node(node)->running, QList<qint64>{tasks[0]});
    }

    void helloRunningRespectsRequirements()
    {
        Core core;
        JobSpec spec = makeSpec("1", 1);
        spec.requirements.gpu = true;
        core.addJob(spec);
        RecordingLink first, again;
        const qint64 node = connect(core, first, hello("g", 1, {}, {}, true));
        const qint64 task = first.assignedTasks().value(0);
        QVERIFY(task > 0);
        core.scheduler->disconnectNode(node, &first, "socket closed");
        // The same machine comes back without its GPU.
        connect(core, again, withSecret(hello("g", 1, QJsonArray{task}), first.secret()));
        QCOMPARE(again.of("task.cancel").size(), 1);
        COMPARE_STATE(core.store.task(task)->task.state, TaskState::Queued);
        QVERIFY(core.scheduler->node(node)->running.isEmpty());
    }

    // After a server restart the node that ran a task gets it back; no other node does.
    void restartKeepsTheLastHolder()
    {
        Core core;
        core.addJob(makeSpec("1", 1));
        RecordingLink a, b;
        const qint64 na = connect(core, a, hello("a"));
        connect(core, b, hello("b"));
        const qint64 task = a.assignedTasks().value(0);
        Scheduler fresh(core.store, *core.machine, core.clock, core.sink, {});
        QVERIFY(fresh.recover().ok());
        COMPARE_STATE(core.store.task(task)->task.state, TaskState::Queued);
        RecordingLink b2, a2;
        QVERIFY(fresh.setNodeAdmin(core.store.nodeByName("b").value_or(NodeRecord{}).id, "disable")
                    .ok());
        QVERIFY(
            fresh.connectNode(&b2, withSecret(hello("b", 1, QJsonArray{task}), b.secret())).ok());
        QCOMPARE(b2.of("task.cancel").size(), 1);
        QVERIFY(
            fresh.connectNode(&a2, withSecret(hello("a", 1, QJsonArray{task}), a.secret())).ok());
        QVERIFY(a2.of("task.cancel").isEmpty());
        COMPARE_STATE(core.store.task(task)->task.state, TaskState::Running);
        QCOMPARE(core.store.task(task)->task.nodeId, na);
    }

    void forgetReleasesAnOfflineName()
    {
        Core core;
        RecordingLink first, impostor, reinstalled;
        const qint64 node = connect(core, first, hello("a"));
        QCOMPARE(core.scheduler->forgetNode(node).error().code, QString("conflict")); // online
        QCOMPARE(core.scheduler->forgetNode(node + 100).error().code, QString("not_found"));
        core.scheduler->disconnectNode(node, &first, "socket closed");
        QCOMPARE(core.scheduler->connectNode(&impostor, hello("a")).error().code,
                 QString("name_taken"));
        QVERIFY(core.scheduler->forgetNode(node).ok());
        QVERIFY(!core.scheduler->node(node));
        QCOMPARE(core.scheduler->nodeForSecret(first.secret().toUtf8()), 0);
        const qint64 again = connect(core, reinstalled, hello("a"));
        QVERIFY(again > 0);
        QVERIFY(again != node);
        QVERIFY(!reinstalled.secret().isEmpty());
        QVERIFY(reinstalled.secret() != first.secret());
    }

    // A node registered before nodes had secrets (no hash stored) is claimed by the next hello
    // under its name that proves the join: it gets a secret, and from then on the name is its.
    void nodeWithoutSecretIsClaimedOnce()
    {
        Core core;
        Scheduler guarded(core.store, *core.machine, core.clock, core.sink, {20, 5, "jt"});
        const auto id =
            core.store.upsertNode(*NodeCapabilities::fromJson(hello("old")), core.clock.now());
        QVERIFY(id.ok());
        QVERIFY(core.store.node(*id)->secretHash.isEmpty());
        RecordingLink noToken, claimer, late;
        QCOMPARE(guarded.connectNode(&noToken, hello("old")).error().code, QString("unauthorized"));
        QJsonObject h = hello("old");
        h.insert("token", "jt");
        const auto claimed = guarded.connectNode(&claimer, h);
        QVERIFY(claimed.ok());
        QCOMPARE(*claimed, *id); // the same row, history kept
        QVERIFY(!claimer.secret().isEmpty());
        QCOMPARE(guarded.connectNode(&late, h).error().code, QString("name_taken"));
        QCOMPARE(claimer.closedWith, 0);
    }

    void storeKeepsOnlyHashes()
    {
        Core core;
        const auto a =
            core.store.upsertNode(*NodeCapabilities::fromJson(hello("a")), core.clock.now());
        const auto b =
            core.store.upsertNode(*NodeCapabilities::fromJson(hello("b")), core.clock.now());
        QVERIFY(a.ok() && b.ok());
        QVERIFY(core.store.setNodeSecret(*a, {}).ok()); // none: NULL, so several may have none
        QVERIFY(core.store.setNodeSecret(*b, {}).ok());
        QVERIFY(core.store.setNodeSecret(*a, QByteArray(64, 'f')).ok());
        QVERIFY(!core.store.setNodeSecret(*b, QByteArray(64, 'f')).ok()); // hashes are unique
        QCOMPARE(core.store.nodeForSecret(QByteArray(64, 'f')), *a);
        QCOMPARE(core.store.nodeForSecret({}), 0);
        QCOMPARE(core.store.nodeByName("b")->id, *b);
        QVERIFY(!core.store.nodeByName("c"));
        QVERIFY(core.store.deleteNode(*a).ok());
        QCOMPARE(core.store.deleteNode(*a).error().code, QString("not_found"));
        QCOMPARE(core.store.nodeForSecret(QByteArray(64, 'f')), 0);
        QCOMPARE(core.store.nodes().size(), 1);
    }

    void recoverRequeuesAfterRestart()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-2", 1));
        RecordingLink link;
        connect(core, link, hello("a"));
        const qint64 task = link.assignedTasks().value(0);
        // A new scheduler over the same database, as after a server restart.
        Scheduler fresh(core.store, *core.machine, core.clock, core.sink, {});
        QVERIFY(fresh.recover().ok());
        COMPARE_STATE(core.store.task(task)->task.state, TaskState::Queued);
        QCOMPARE(core.store.job(jobId)->tasks.queued, 2);
    }

    void doneNeedsUploadedOutputsAndIsIdempotent()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1", 1));
        RecordingLink a, b;
        const qint64 na = connect(core, a, hello("a"));
        const qint64 nb = connect(core, b, hello("b"));
        const qint64 task = a.assignedTasks().value(0);
        const QJsonArray outputs{"frame_0001.png"};
        auto r = done(core, na, task, outputs);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, QString("missing_outputs"));
        QVERIFY(
            core.store.upsertOutput({jobId, task, "frame_0001.png", 5, 1}, core.clock.now()).ok());
        r = done(core, nb, task, outputs); // not b's task
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, QString("not_assigned"));
        QVERIFY(done(core, na, task, outputs).ok());
        QVERIFY(done(core, na, task, outputs).ok()); // repeated: fine, nothing changes
        COMPARE_STATE(core.store.job(jobId)->state, JobState::Completed);
        QCOMPARE(core.sink.ofType("job.updated").last().data.value("state").toString(),
                 QString("completed"));
    }

    void doneWithoutFrameImagesFailsTheAttempt()
    {
        // task.done counts only for frames whose image landed: an empty output list (or one
        // naming only some frames) fails the attempt with a clear reason, never completes it.
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-2", 2));
        RecordingLink a;
        const qint64 na = connect(core, a, hello("a"));
        const qint64 task = a.assignedTasks().value(0);
        auto r = core.scheduler->handleMessage(
            na, core.message("task.done", {{"task", task}, {"outputs", QJsonArray{}}}));
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, QString("missing_outputs"));
        QVERIFY2(r.error().message.contains("frame(s) 1-2"), qPrintable(r.error().message));
        auto t = core.store.task(task);
        COMPARE_STATE(t->task.state, TaskState::Assigned); // attempt 2, given out again
        QCOMPARE(t->task.attempts, 1);
        QVERIFY(t->task.error.contains("without the image of frame(s) 1-2"));
        QCOMPARE(core.store.job(jobId)->tasks.done, 0);
        // One frame of two landed: still not done.
        QVERIFY(
            core.store.upsertOutput({jobId, task, "frame_0001.png", 5, 1}, core.clock.now()).ok());
        r = core.scheduler->handleMessage(
            na,
            core.message("task.done", {{"task", task}, {"outputs", QJsonArray{"frame_0001.png"}}}));
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.contains("frame(s) 2"), qPrintable(r.error().message));
        QCOMPARE(core.store.task(task)->task.attempts, 2);
        // Both landed: done, and the job completes.
        r = done(core, na, task);
        QVERIFY2(r.ok(), r.ok() ? "" : qPrintable(r.error().message));
        COMPARE_STATE(core.store.task(task)->task.state, TaskState::Done);
        COMPARE_STATE(core.store.job(jobId)->state, JobState::Completed);
    }

    void progressIsCoalescedWhenAsked()
    {
        Core core;
        SchedulerConfig config;
        config.progressFlushMs = 50;
        config.deferDispatch = true;
        core.scheduler =
            std::make_unique<Scheduler>(core.store, *core.machine, core.clock, core.sink, config);
        const qint64 jobId = core.addJob(makeSpec("1-4", 1));
        RecordingLink link;
        const qint64 node = connect(core, link, hello("a"));
        const qint64 task = link.assignedTasks().value(0);
        auto progress = [&](double p) {
            return core.scheduler->handleMessage(
                node, core.message("task.progress", {{"task", task}, {"progress", p}}));
        };
        QVERIFY(progress(0.25).ok()); // the first report is a state change: written at once
        COMPARE_STATE(core.store.task(task)->task.state, TaskState::Running);
        const qsizetype tasksBefore = core.sink.ofType("task.updated").size();
        const qsizetype jobsBefore = core.sink.ofType("job.updated").size();
        QVERIFY(progress(0.5).ok());
        QVERIFY(progress(0.75).ok());
        // Dashboards see each value at once; the database gets the latest in one batch.
        QCOMPARE(core.sink.ofType("task.updated").size(), tasksBefore + 2);
        QCOMPARE(core.sink.ofType("task.updated").last().data.value("progress").toDouble(), 0.75);
        QCOMPARE(core.store.task(task)->task.progress, 0.0);
        QTRY_COMPARE(core.store.task(task)->task.progress, 0.75);
        QCOMPARE(core.sink.ofType("job.updated").size(), jobsBefore + 1);
        QCOMPARE(core.sink.ofType("job.updated").last().data.value("progress").toDouble(),
                 0.75 / 4);
        // A late value never overwrites done; the freed slot is filled on the next pass.
        QVERIFY(progress(0.9).ok());
        QVERIFY(done(core, node, task).ok());
        QCOMPARE(link.assignedTasks().size(), 1);
        QTRY_COMPARE(link.assignedTasks().size(), 2);
        QTest::qWait(120);
        QCOMPARE(core.store.task(task)->task.progress, 1.0);
        COMPARE_STATE(core.store.task(task)->task.state, TaskState::Done);
    }

    // SchedulerConfig::batchChanges: task.accepted and task.done of one turn of the event loop
    // commit in one transaction, each before it is announced; the job's counts are exact after
    // the batch; a change made meanwhile (a node lost) commits the batch first; a change the
    // batch can no longer make is refused to its node alone.
    void reportedChangesOfOneTurnCommitTogether()
    {
        Core core;
        SchedulerConfig config;
        config.deferDispatch = true;
        config.batchChanges = true;
        core.scheduler =
            std::make_unique<Scheduler>(core.store, *core.machine, core.clock, core.sink, config);
        const qint64 jobId = core.addJob(makeSpec("1-4", 1));
        RecordingLink links[4];
        qint64 nodes[4], tasks[4];
        for (int i = 0; i < 4; ++i) {
            nodes[i] = connect(core, links[i], hello(QString("n%1").arg(i)));
            tasks[i] = links[i].assignedTasks().value(0);
            QVERIFY(tasks[i] > 0);
        }
        auto stateEvents = [&](qint64 task, TaskState state) {
            int n = 0;
            for (const auto &e : core.sink.ofType("task.updated"))
                n += e.data.value("id").toInteger() == task &&
                     e.data.value("state").toString() == toString(state);
            return n;
        };
        const qsizetype jobsBefore = core.sink.ofType("job.updated").size();
        for (int i = 0; i < 4; ++i)
            QVERIFY(
                core.scheduler
                    ->handleMessage(nodes[i], core.message("task.accepted", {{"task", tasks[i]}}))
                    .ok());
        // Nothing committed yet, so nothing announced.
        COMPARE_STATE(core.store.task(tasks[0])->task.state, TaskState::Assigned);
        QCOMPARE(stateEvents(tasks[0], TaskState::Running), 0);
        QTRY_COMPARE(stateEvents(tasks[3], TaskState::Running), 1);
        QCOMPARE(core.store.job(jobId)->tasks.running, 4); // assigned or running
        for (int i = 0; i < 4; ++i) {
            COMPARE_STATE(core.store.task(tasks[i])->task.state, TaskState::Running);
            QCOMPARE(stateEvents(tasks[i], TaskState::Running), 1);
        }
        QCOMPARE(core.sink.ofType("job.updated").size(), jobsBefore + 1); // one for the batch
        COMPARE_STATE(core.store.job(jobId)->state, JobState::Active);

        // Three done in one turn (one said twice); the fourth task is canceled behind the
        // scheduler's back before its done is committed.
        for (int i = 0; i < 3; ++i)
            QVERIFY(done(core, nodes[i], tasks[i]).ok());
        QVERIFY(done(core, nodes[0], tasks[0]).ok()); // a repeat: not queued again
        landFrames(core, tasks[3]);
        QVERIFY(done(core, nodes[3], tasks[3]).ok());
        TaskRecord gone = *core.store.task(tasks[3]);
        gone.task.state = TaskState::Canceled;
        QVERIFY(core.store.updateTask(gone).ok());
        QCOMPARE(core.store.job(jobId)->tasks.done, 0);
        QCOMPARE(stateEvents(tasks[0], TaskState::Done), 0);
        // The batch fails on the canceled task; each change then applies on its own.
        QTRY_COMPARE(core.store.job(jobId)->tasks.done, 3);
        const Job job = *core.store.job(jobId);
        QCOMPARE(job.tasks.running, 0);
        QCOMPARE(job.tasks.canceled, 1);
        QCOMPARE(job.tasks.queued, 0);
        for (int i = 0; i < 3; ++i) {
            COMPARE_STATE(core.store.task(tasks[i])->task.state, TaskState::Done);
            QCOMPARE(stateEvents(tasks[i], TaskState::Done), 1); // exactly once
        }
        QCOMPARE(stateEvents(tasks[3], TaskState::Done), 0);
        QCOMPARE(links[3].of("error").size(), 1);
        QVERIFY(links[3].of("error").first().value("message").toString().contains("canceled"));
        QCOMPARE(links[0].of("error").size(), 0);

        // A node lost while its done waits for the batch: the done commits first, the task is
        // not re-queued.
        const qint64 second = core.addJob(makeSpec("1", 1));
        core.scheduler->dispatch();
        QCOMPARE(links[0].assignedTasks().size() + links[1].assignedTasks().size() +
                     links[2].assignedTasks().size(),
                 4);
        qint64 node = 0, task = 0;
        for (int i = 0; i < 3; ++i)
            if (links[i].assignedTasks().size() == 2) {
                node = nodes[i];
                task = links[i].assignedTasks().last();
                QVERIFY(core.scheduler
                            ->handleMessage(node, core.message("task.accepted", {{"task", task}}))
                            .ok());
                QVERIFY(done(core, node, task).ok());
                core.scheduler->disconnectNode(node, &links[i], "socket closed");
            }
        QVERIFY(task > 0);
        COMPARE_STATE(core.store.task(task)->task.state, TaskState::Done);
        COMPARE_STATE(core.store.job(second)->state, JobState::Completed);
        QCOMPARE(core.store.job(second)->tasks.done, 1);
        QCOMPARE(stateEvents(task, TaskState::Done), 1);
    }

    void framesDoneAreNotRenderedAgain()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-4", 4));
        RecordingLink a, b;
        const qint64 na = connect(core, a, hello("a"));
        const qint64 task = a.assignedTasks().value(0);
        for (int f : {1, 2})
            QVERIFY(core.store.upsertOutput({jobId, task, frameFileName(f), 5, f}, core.clock.now())
                        .ok());
        core.scheduler->disconnectNode(na, &a, "socket closed");
        connect(core, b, hello("b"));
        QCOMPARE(b.of("task.assign").first().value("frames").toString(), QString("3-4"));
        QCOMPARE(b.of("task.assign").first().value("job_frames").toString(), QString("1-4"));
    }

    void failuresUseUpAttempts()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1", 1));
        RecordingLink link;
        const qint64 node = connect(core, link, hello("a"));
        for (int i = 0; i < StateMachine::kMaxAttempts; ++i) {
            const qint64 task = link.assignedTasks().value(i);
            QVERIFY(task > 0);
            QVERIFY(core.scheduler
                        ->handleMessage(node,
                                        core.message("task.failed",
                                                     {{"task", task}, {"error", "out of memory"}}))
                        .ok());
        }
        QCOMPARE(link.assignedTasks().size(), StateMachine::kMaxAttempts);
        const auto job = core.store.job(jobId);
        COMPARE_STATE(job->state, JobState::Failed);
        QVERIFY(job->error.contains("out of memory"));
    }

    // An input the node cannot use (a file that is not a video) fails the same way on every
    // attempt: task.failed with code invalid_input fails the job at once, with the node's
    // message; any other code (or none) keeps the attempts.
    void invalidInputFailsTheJobAtOnce()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1", 1));
        RecordingLink link;
        const qint64 node = connect(core, link, hello("a"));
        const qint64 task = link.assignedTasks().value(0);
        QVERIFY(core.scheduler
                    ->handleMessage(node, core.message("task.failed", {{"task", task},
                                                                       {"error", "disk full"},
                                                                       {"code", "disk_full"}}))
                    .ok());
        QCOMPARE(core.store.task(task)->task.attempts, 1);
        COMPARE_STATE(core.store.job(jobId)->state, JobState::Active); // queued again
        const qint64 again = link.assignedTasks().last();
        QCOMPARE(again, task);
        QVERIFY(core.scheduler
                    ->handleMessage(
                        node, core.message("task.failed",
                                           {{"task", task},
                                            {"error", "clip.mp4 is not a media file FFmpeg reads"},
                                            {"code", errc::InvalidInput}}))
                    .ok());
        const auto t = core.store.task(task);
        COMPARE_STATE(t->task.state, TaskState::Failed);
        QCOMPARE(t->task.attempts, 2);
        const auto job = core.store.job(jobId);
        COMPARE_STATE(job->state, JobState::Failed);
        QVERIFY2(job->error.contains("not retried (invalid_input: another attempt would read the "
                                     "same input): clip.mp4 is not a media file FFmpeg reads"),
                 qPrintable(job->error));
        // A code that is not a string is refused, and changes nothing.
        const qint64 other = core.addJob(makeSpec("1", 1));
        core.scheduler->dispatch();
        const qint64 t2 = link.assignedTasks().last();
        QCOMPARE(core.store.task(t2)->task.jobId, other);
        QVERIFY(
            !core.scheduler
                 ->handleMessage(
                     node, core.message("task.failed", {{"task", t2}, {"error", "x"}, {"code", 7}}))
                 .ok());
        QCOMPARE(core.store.task(t2)->task.attempts, 0);
    }

    void blocklistsANodeThatKeepsFailingAJob()
    {
        Core core;
        const qint64 x = core.addJob(makeSpec("1", 1, 90));
        core.addJob(makeSpec("1", 1, 10));
        RecordingLink a, b;
        const qint64 na = connect(core, a, hello("a"));
        const qint64 nb = connect(core, b, hello("b"));
        const qint64 taskX = a.assignedTasks().value(0);
        const qint64 taskY = b.assignedTasks().value(0);
        QCOMPARE(core.store.task(taskX)->task.jobId, x);
        auto fail = [&] {
            return core.scheduler->handleMessage(
                na, core.message("task.failed", {{"task", taskX}, {"error", "driver crash"}}));
        };
        QVERIFY(fail().ok());
        QCOMPARE(a.assignedTasks(), (QList<qint64>{taskX, taskX})); // b is busy: a tries again
        QVERIFY(fail().ok());
        QCOMPARE(a.assignedTasks().size(), 2); // blocklisted: b could run it, so it waits for b
        const QString why = core.scheduler->explain(*core.store.job(x)).join(' ');
        QVERIFY2(why.contains("a is blocklisted"), qPrintable(why));
        QVERIFY(done(core, nb, taskY).ok());
        QCOMPARE(b.assignedTasks(), (QList<qint64>{taskY, taskX}));
        QCOMPARE(b.of("task.assign").last().value("attempt").toInt(), 3);
    }

    void progressAndLogs()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-2", 2));
        RecordingLink link;
        const qint64 node = connect(core, link, hello("a"));
        const qint64 task = link.assignedTasks().value(0);
        QVERIFY(core.scheduler
                    ->handleMessage(node,
                                    core.message("task.progress",
                                                 {{"task", task}, {"progress", 0.5}, {"frame", 1}}))
                    .ok());
        COMPARE_STATE(core.store.task(task)->task.state, TaskState::Running);
        QCOMPARE(core.store.job(jobId)->progress, 0.5);
        QVERIFY(core.scheduler
                    ->handleMessage(node, core.message("task.log", {{"task", task},
                                                                    {"text", "frame 1 done\n"}}))
                    .ok());
        QVERIFY(core.store.taskLog(task).contains("frame 1 done"));
        QVERIFY(!core.scheduler
                     ->handleMessage(
                         node, core.message("task.progress", {{"task", task}, {"progress", 7}}))
                     .ok());
    }

    void rejectsBadMessages_data()
    {
        QTest::addColumn<QString>("type");
        QTest::addColumn<QJsonObject>("data");
        QTest::addColumn<QString>("code");
        QTest::newRow("unknown type") << "task.explode" << QJsonObject{} << "unknown_type";
        QTest::newRow("no task id") << "task.accepted" << QJsonObject{} << "invalid_field";
        QTest::newRow("string task id")
            << "task.done" << QJsonObject{{"task", "7"}} << "invalid_field";
        QTest::newRow("unknown task")
            << "task.accepted" << QJsonObject{{"task", 999}} << "not_found";
        QTest::newRow("bad running")
            << "heartbeat" << QJsonObject{{"running", "x"}} << "invalid_field";
        QTest::newRow("string load")
            << "heartbeat" << QJsonObject{{"running", QJsonArray{}}, {"load", "1.5"}}
            << "invalid_field";
        QTest::newRow("negative load")
            << "heartbeat" << QJsonObject{{"running", QJsonArray{}}, {"load", -1}}
            << "invalid_field";
        QTest::newRow("huge load")
            << "heartbeat" << QJsonObject{{"running", QJsonArray{}}, {"load", 1e300}}
            << "invalid_field";
        QTest::newRow("empty error")
            << "task.failed" << QJsonObject{{"task", 1}, {"error", ""}} << "invalid_field";
    }
    void rejectsBadMessages()
    {
        QFETCH(QString, type);
        QFETCH(QJsonObject, data);
        QFETCH(QString, code);
        Core core;
        core.addJob(makeSpec("1", 1));
        RecordingLink link;
        const qint64 node = connect(core, link, hello("a"));
        const auto r = core.scheduler->handleMessage(node, core.message(type, data));
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, code);
    }

    void helloIsChecked()
    {
        Core core;
        Scheduler guarded(core.store, *core.machine, core.clock, core.sink, {20, 5, "s3cret"});
        RecordingLink link;
        auto r = guarded.connectNode(&link, hello("a"));
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, QString("unauthorized"));
        QJsonObject h = hello("a");
        h.insert("token", "s3cret");
        QVERIFY(guarded.connectNode(&link, h).ok());
        h.insert("protocol", 2);
        QCOMPARE(guarded.connectNode(&link, h).error().code, QString("unsupported_protocol"));
    }

    void explainsWhyAJobWaits()
    {
        Core core;
        JobSpec spec = makeSpec("1-3", 1);
        spec.requirements.gpu = true;
        const qint64 jobId = core.addJob(spec);
        auto why = core.scheduler->explain(*core.store.job(jobId)).join(' ');
        QVERIFY2(why.contains("no render node"), qPrintable(why));
        RecordingLink cpu;
        connect(core, cpu, hello("cpu-box"));
        why = core.scheduler->explain(*core.store.job(jobId)).join(' ');
        QVERIFY2(why.contains("cpu-box lacks a GPU"), qPrintable(why));
        RecordingLink gpu;
        const qint64 g = connect(core, gpu, hello("gpu-box", 1, {}, {}, true));
        why = core.scheduler->explain(*core.store.job(jobId)).join(' ');
        QVERIFY2(why.contains("busy"), qPrintable(why));
        QVERIFY(core.scheduler->setNodeAdmin(g, "disable").ok());
        why = core.scheduler->explain(*core.store.job(jobId)).join(' ');
        QVERIFY2(why.contains("gpu-box is disabled"), qPrintable(why));
    }

    void drainStopsNewWork()
    {
        Core core;
        core.addJob(makeSpec("1-2", 1));
        RecordingLink link;
        const qint64 node = connect(core, link, hello("a"));
        const qint64 first = link.assignedTasks().value(0);
        QVERIFY(core.scheduler->setNodeAdmin(node, "drain").ok());
        QVERIFY(done(core, node, first).ok());
        QCOMPARE(link.assignedTasks().size(), 1);
        COMPARE_STATE(core.scheduler->node(node)->state, NodeState::Draining);
        QVERIFY(core.scheduler->setNodeAdmin(node, "enable").ok());
        QCOMPARE(link.assignedTasks().size(), 2);
    }
};

QTEST_GUILESS_MAIN(TestScheduler)
#include "tst_scheduler.moc"
