#include "fixtures.h"

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
    static Result<void> done(Core &core, qint64 node, qint64 task, QJsonArray outputs = {})
    {
        return core.scheduler->handleMessage(
            node, core.message("task.done", {{"task", task}, {"outputs", outputs}}));
    }

private slots:
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
        QCOMPARE(connect(core, again, hello("a", 1, QJsonArray{task, 424242})), node);
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
        connect(core, fresh, hello("a", 1, QJsonArray{task}));
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
        connect(core, a2, hello("a", 1, QJsonArray{task}));
        QCOMPARE(a2.of("task.cancel").size(), 1);
        QCOMPARE(core.store.task(task)->task.nodeName, QString("b"));
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
