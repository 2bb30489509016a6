// Several controllers on one PostgreSQL database (docs/CONTROLLERS.md): claims, re-queueing the
// tasks of lost nodes once, the event relay, and a scheduler reacting to another controller.
// Each "controller" here is a store, state machine and scheduler of its own on its own database
// connection, in one schema of the test PostgreSQL.
#include "events/dbeventrelay.h"
#include "fixtures.h"

using namespace farm;
using namespace farm::server;
using namespace farm::server::test;

namespace {

SchedulerConfig sharedConfig()
{
    SchedulerConfig c;
    c.sharedDatabase = true;
    c.leaseS = 20;
    return c;
}

/// Another controller on the database of `core`.
struct Peer
{
    RecordingSink sink;
    SqlStore store;
    std::unique_ptr<StateMachine> machine;
    std::unique_ptr<Scheduler> scheduler;

    explicit Peer(Core &core, SchedulerConfig config = sharedConfig())
    {
        const auto r = store.open(core.db.url());
        if (!r)
            qFatal("store: %s", qPrintable(r.error().message));
        machine = std::make_unique<StateMachine>(store, core.clock, sink);
        scheduler = std::make_unique<Scheduler>(store, *machine, core.clock, sink, config);
    }
};

TaskChange claim(qint64 taskId, qint64 nodeId)
{
    TaskChange c{taskId, TaskState::Assigned, nodeId};
    c.expect = TaskState::Queued;
    return c;
}

} // namespace

/// Two controllers' relays on one database: A on the core's connection, B on a peer's.
struct TwoRelays
{
    Core core;
    RecordingSink nextA, nextB;
    DbEventRelay a{nextA}, b{nextB};
    Peer other{core, SchedulerConfig{}};
    bool started() { return a.start(core.store.database()) && b.start(other.store.database()); }
};

class TestControllers : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase()
    {
        if (qEnvironmentVariableIsEmpty("FARM_TEST_PG_URL"))
            QSKIP("several controllers need PostgreSQL: FARM_TEST_PG_URL is not set "
                  "(scripts/test.sh starts a server and sets it)");
        qputenv("FARM_TEST_BACKEND", "postgres"); // TestDatabase: a schema of its own
    }

    void claimSkipsARowAnotherControllerHolds()
    {
        Core core;
        Peer a(core), b(core);
        const qint64 jobId = core.addJob(makeSpec("1-4", 2));
        const auto tasks = core.store.tasksOfJob(jobId);
        const qint64 t0 = tasks[0].task.id, t1 = tasks[1].task.id;
        const qint64 node = *core.store.upsertNode(NodeCapabilities{"n1"}, core.clock.now());

        // A is in the middle of changing t0: B's claim does not wait for it, it loses t0 and
        // takes t1 in the same batch.
        QVERIFY(a.store.begin().ok());
        QCOMPARE(*a.store.lockTask(t0, false), true);
        auto out =
            b.machine->apply({claim(t0, node), {t0, TaskState::Running, node}, claim(t1, node)});
        QVERIFY2(out.ok(), qPrintable(out.ok() ? "" : out.error().message));
        QCOMPARE(out->lost, QList<qint64>{t0});
        COMPARE_STATE(core.store.task(t1)->task.state, TaskState::Assigned);
        a.store.rollback();
        COMPARE_STATE(core.store.task(t0)->task.state, TaskState::Queued);

        // Free again: B takes it; A's claim after that finds it taken.
        out = b.machine->apply({claim(t0, node)});
        QVERIFY(out.ok());
        QVERIFY(out->lost.isEmpty());
        out = a.machine->apply({claim(t0, node)});
        QVERIFY(out.ok());
        QCOMPARE(out->lost, QList<qint64>{t0});
        QVERIFY(a.sink.ofType("task.updated").isEmpty()); // a lost claim announces nothing
    }

    void dispatchLosesAClaimAndMovesOn()
    {
        Core core;
        Peer a(core), b(core);
        const qint64 jobId = core.addJob(makeSpec("1-4", 2));
        const auto tasks = core.store.tasksOfJob(jobId);
        QVERIFY(a.store.begin().ok());
        QCOMPARE(*a.store.lockTask(tasks[0].task.id, false), true);
        RecordingLink link;
        QVERIFY(b.scheduler->connectNode(&link, hello("n1")).ok());
        // The first candidate is held by A: B's node gets the second, and dispatch returns.
        QCOMPARE(link.assignedTasks(), QList<qint64>{tasks[1].task.id});
        a.store.rollback();
        COMPARE_STATE(core.store.task(tasks[0].task.id)->task.state, TaskState::Queued);
    }

    void tasksOfLostNodesAreRequeuedOnce()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-4", 2));
        const qint64 taskId = core.store.tasksOfJob(jobId)[0].task.id;
        const qint64 node = *core.store.upsertNode(NodeCapabilities{"gone"}, core.clock.now());
        QVERIFY(core.machine->apply({{taskId, TaskState::Assigned, node}}).ok());
        QVERIFY(core.machine->apply({{taskId, TaskState::Running, node}}).ok());

        // Seen 10 s ago by its controller: a controller starting now leaves it alone.
        core.clock.advance(10 * 1000);
        Peer a(core), b(core);
        QVERIFY(a.scheduler->recover().ok());
        COMPARE_STATE(core.store.task(taskId)->task.state, TaskState::Running);
        a.scheduler->requeueStale();
        COMPARE_STATE(core.store.task(taskId)->task.state, TaskState::Running);

        // Past its lease with no controller touching it: the first to look re-queues it, the
        // second finds nothing to do.
        core.clock.advance(15 * 1000);
        a.scheduler->requeueStale();
        b.scheduler->requeueStale();
        const auto t = core.store.task(taskId);
        COMPARE_STATE(t->task.state, TaskState::Queued);
        QCOMPARE(t->orphaned, 1);
        QCOMPARE(t->task.attempts, 0);
        QCOMPARE(a.sink.ofType("task.updated").size(), 1);
        QVERIFY(b.sink.ofType("task.updated").isEmpty());
        // The node, should it come back to A, may claim its task back there.
        QCOMPARE(a.scheduler->lastHolder(taskId), node);
    }

    void taskTheNodeNeverGotIsRequeuedAtItsFirstHeartbeat()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-2", 1));
        const auto tasks = core.store.tasksOfJob(jobId);
        const qint64 t0 = tasks[0].task.id, t1 = tasks[1].task.id;
        const qint64 node = *core.store.upsertNode(NodeCapabilities{"n1"}, core.clock.now());
        // A controller assigned t0 and t1 to n1 and died before n1 got t0; t1 it runs.
        QVERIFY(core.machine->apply({{t0, TaskState::Assigned, node}}).ok());
        QVERIFY(core.machine->apply({{t1, TaskState::Assigned, node}}).ok());
        Peer b(core);
        RecordingLink link;
        QVERIFY(b.scheduler->connectNode(&link, hello("n1", 2, QJsonArray{t1})).ok());
        COMPARE_STATE(core.store.task(t0)->task.state, TaskState::Assigned); // reports may follow
        QVERIFY(b.scheduler
                    ->handleMessage(node, core.message("heartbeat", {{"running", QJsonArray{t1}}}))
                    .ok());
        const auto t = core.store.task(t0);
        QCOMPARE(t->orphaned, 1);
        QCOMPARE(link.assignedTasks(), QList<qint64>{t0}); // back in the queue, then to a free slot
        QCOMPARE(core.store.task(t1)->task.nodeId, node);  // kept
        QCOMPARE(core.store.task(t1)->orphaned, 0);
        // Only at the first heartbeat: the database is not read again at later ones.
        QVERIFY(b.scheduler
                    ->handleMessage(node, core.message("heartbeat", {{"running", QJsonArray{t1}}}))
                    .ok());
        QCOMPARE(link.assignedTasks().size(), 1);
    }

    void taskTakenOverThereIsStoppedHere()
    {
        Core core;
        Peer a(core), b(core);
        const qint64 jobId = core.addJob(makeSpec("1-2", 2));
        const qint64 taskId = core.store.tasksOfJob(jobId)[0].task.id;
        RecordingLink link;
        QVERIFY(b.scheduler->connectNode(&link, hello("n1")).ok());
        QCOMPARE(link.assignedTasks(), QList<qint64>{taskId});
        QVERIFY(b.scheduler
                    ->handleMessage(b.store.nodeByName("n1")->id,
                                    core.message("task.accepted", {{"task", taskId}}))
                    .ok());

        // A user cancels the job through A's API; A's events reach B (the relay's part).
        QVERIFY(a.machine->setJobState(jobId, JobState::Canceled).ok());
        for (const RecordingSink::Event &e : a.sink.events)
            b.scheduler->onPeerEvent(e.type, e.data);
        QCOMPARE(link.of("task.cancel").size(), 1);
        QCOMPARE(link.of("task.cancel").first().value("task").toInteger(), taskId);
        QVERIFY(b.scheduler->node(b.store.nodeByName("n1")->id)->running.isEmpty());

        // New work queued over there is dispatched here.
        const qint64 job2 = core.addJob(makeSpec("1", 1));
        b.scheduler->onPeerEvent("job.created", core.store.job(job2)->toJson());
        QCOMPARE(link.assignedTasks().size(), 2);
        QCOMPARE(link.assignedTasks().last(), core.store.tasksOfJob(job2)[0].task.id);
    }

    void relayCarriesEventsBetweenControllers()
    {
        TwoRelays relays;
        QVERIFY(relays.started());
        auto &[core, nextA, nextB, a, b, other] = relays;
        QVERIFY(a.channel().startsWith("farm_events_farm_t")); // this test's schema only
        QList<std::pair<QString, QJsonObject>> atB, atA;
        connect(&b, &DbEventRelay::peerEvent, this,
                [&](const QString &type, const QJsonObject &data) {
                    atB.append({type, data});
                });
        connect(&a, &DbEventRelay::peerEvent, this,
                [&](const QString &type, const QJsonObject &data) {
                    atA.append({type, data});
                });

        a.publish("task.updated", {{"id", 1}, {"state", "running"}});
        // Larger than one notification: carried by a row of event_relay.
        a.publish("job.updated", {{"id", 2}, {"name", QString(20000, 'x')}});
        QCOMPARE(nextA.events.size(), 2); // passed on here at once
        QTRY_COMPARE_WITH_TIMEOUT(atB.size(), 2, 10000);
        QCOMPARE(atB[0].first, QString("task.updated"));
        QCOMPARE(atB[0].second.value("state").toString(), QString("running"));
        QCOMPARE(atB[1].second.value("name").toString().size(), 20000);
        QCOMPARE(nextB.events.size(), 2); // and on to B's dashboards
        QTest::qWait(300);
        QVERIFY(atA.isEmpty()); // a controller does not hear itself
    }

    void relayListensAgainAfterItsConnectionDrops()
    {
        TwoRelays relays;
        QVERIFY(relays.started());
        auto &[core, nextA, nextB, a, b, other] = relays;
        b.setPingInterval(1000);
        int resumed = 0;
        connect(&b, &DbEventRelay::resumedAfterGap, this, [&] { ++resumed; });
        QStringList atB;
        connect(&b, &DbEventRelay::peerEvent, this,
                [&](const QString &type, const QJsonObject &) { atB.append(type); });
        // PostgreSQL ends B's listening connection (an administrator, a restart, a cut network):
        // notifications stop, without an error on the connection.
        QSqlQuery kill(core.store.database());
        QVERIFY(kill.exec(QString("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                                  "application_name = '%1'")
                              .arg(b.listenerName())));
        QVERIFY(kill.next());
        QVERIFY(kill.value(0).toBool());
        QTRY_COMPARE_WITH_TIMEOUT(resumed, 1, 15000); // its ping did not come back
        a.publish("task.updated", {{"id", 7}, {"state", "running"}});
        QTRY_COMPARE_WITH_TIMEOUT(atB, QStringList{"task.updated"}, 10000);
        // Pings that come back change nothing.
        QTest::qWait(3500);
        QCOMPARE(resumed, 1);
    }
};

QTEST_MAIN(TestControllers)
#include "tst_controllers.moc"
