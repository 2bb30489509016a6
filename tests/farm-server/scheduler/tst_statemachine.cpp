#include "fixtures.h"

using namespace farm;
using namespace farm::server;
using namespace farm::server::test;

class TestStateMachine : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase() { FARM_REQUIRE_TEST_DATABASE(); } // SQLite, or PostgreSQL in _pg

    void firstAssignmentActivatesJob()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-4", 2));
        const qint64 nodeId = *core.store.upsertNode(NodeCapabilities{"n1"}, core.clock.now());
        const qint64 taskId = core.store.tasksOfJob(jobId)[0].task.id;
        const auto out = core.machine->apply({{taskId, TaskState::Assigned, nodeId}});
        QVERIFY(out.ok());
        const auto job = core.store.job(jobId);
        COMPARE_STATE(job->state, JobState::Active);
        QVERIFY(job->startedAt.isValid());
        const auto task = core.store.task(taskId);
        QCOMPARE(task->task.nodeId, nodeId);
        QCOMPARE(task->task.nodeName, QString("n1"));
    }

    void illegalTransitionIsRefusedAndNothingChanges()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-4", 2));
        const qint64 taskId = core.store.tasksOfJob(jobId)[0].task.id;
        const auto out = core.machine->apply({{taskId, TaskState::Running}}); // queued → running
        QVERIFY(!out.ok());
        QCOMPARE(out.error().code, QString("conflict"));
        COMPARE_STATE(core.store.task(taskId)->task.state, TaskState::Queued);
        QVERIFY(core.sink.events.isEmpty());
    }

    void batchIsAllOrNothing()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-4", 2));
        const auto tasks = core.store.tasksOfJob(jobId);
        const qint64 nodeId = *core.store.upsertNode(NodeCapabilities{"n1"}, core.clock.now());
        const auto out = core.machine->apply(
            {{tasks[0].task.id, TaskState::Assigned, nodeId}, {tasks[1].task.id, TaskState::Done}});
        QVERIFY(!out.ok());
        COMPARE_STATE(core.store.task(tasks[0].task.id)->task.state, TaskState::Queued);
        COMPARE_STATE(core.store.job(jobId)->state, JobState::Queued);
    }

    void completesWhenAllTasksDone()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-4", 2));
        const qint64 nodeId = *core.store.upsertNode(NodeCapabilities{"n1"}, core.clock.now());
        for (const TaskRecord &t : core.store.tasksOfJob(jobId)) {
            const auto out = core.machine->apply({{t.task.id, TaskState::Assigned, nodeId},
                                                  {t.task.id, TaskState::Running},
                                                  {t.task.id, TaskState::Done}});
            QVERIFY2(out.ok(), qPrintable(out.ok() ? QString() : out.error().message));
        }
        const auto job = core.store.job(jobId);
        COMPARE_STATE(job->state, JobState::Completed);
        QCOMPARE(job->progress, 1.0);
        QVERIFY(job->finishedAt.isValid());
    }

    void failuresRetryThenFailTheJob()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-4", 2));
        const qint64 nodeId = *core.store.upsertNode(NodeCapabilities{"n1"}, core.clock.now());
        const auto tasks = core.store.tasksOfJob(jobId);
        const qint64 bad = tasks[1].task.id;
        const qint64 other = tasks[0].task.id;
        QVERIFY(core.machine->apply({{other, TaskState::Assigned, nodeId}}).ok());
        for (int attempt = 1; attempt <= StateMachine::kMaxAttempts; ++attempt) {
            QVERIFY(core.machine->apply({{bad, TaskState::Assigned, nodeId}}).ok());
            const auto out =
                core.machine->apply({{bad, TaskState::Failed, nodeId, "model file is corrupt",
                                      TaskChange::Reason::Failure}});
            QVERIFY(out.ok());
            const auto t = core.store.task(bad);
            QCOMPARE(t->task.attempts, attempt);
            if (attempt < StateMachine::kMaxAttempts) {
                COMPARE_STATE(t->task.state, TaskState::Queued);
            } else {
                COMPARE_STATE(t->task.state, TaskState::Failed);
                // The other task, still on a node, is canceled there.
                QCOMPARE(out->cancels.size(), 1);
                QCOMPARE(out->cancels.first().second, other);
            }
        }
        const auto job = core.store.job(jobId);
        COMPARE_STATE(job->state, JobState::Failed);
        QVERIFY2(job->error.contains("task 1") && job->error.contains("3-4") &&
                     job->error.contains("model file is corrupt"),
                 qPrintable(job->error));
        COMPARE_STATE(core.store.task(other)->task.state, TaskState::Canceled);
    }

    void orphaningDoesNotCountAttempts()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1", 1));
        const qint64 nodeId = *core.store.upsertNode(NodeCapabilities{"n1"}, core.clock.now());
        const qint64 taskId = core.store.tasksOfJob(jobId)[0].task.id;
        QVERIFY(core.machine->apply({{taskId, TaskState::Assigned, nodeId}}).ok());
        QVERIFY(
            core.machine->apply({{taskId, TaskState::Queued, 0, {}, TaskChange::Reason::Orphaned}})
                .ok());
        const auto t = core.store.task(taskId);
        QCOMPARE(t->task.attempts, 0);
        QCOMPARE(t->orphaned, 1);
        QCOMPARE(t->task.nodeId, 0);
    }

    void cancelStopsEverything()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-6", 2));
        const qint64 nodeId = *core.store.upsertNode(NodeCapabilities{"n1"}, core.clock.now());
        const auto tasks = core.store.tasksOfJob(jobId);
        QVERIFY(core.machine
                    ->apply({{tasks[0].task.id, TaskState::Assigned, nodeId},
                             {tasks[1].task.id, TaskState::Assigned, nodeId},
                             {tasks[1].task.id, TaskState::Done}})
                    .ok());
        const auto out = core.machine->setJobState(jobId, JobState::Canceled);
        QVERIFY(out.ok());
        QCOMPARE(out->cancels.size(), 1);
        QCOMPARE(out->cancels.first(), std::make_pair(nodeId, tasks[0].task.id));
        COMPARE_STATE(core.store.job(jobId)->state, JobState::Canceled);
        COMPARE_STATE(core.store.task(tasks[1].task.id)->task.state, TaskState::Done);
        COMPARE_STATE(core.store.task(tasks[2].task.id)->task.state, TaskState::Canceled);
        QVERIFY(!core.machine->setJobState(jobId, JobState::Paused).ok()); // final stays final
    }

    void retryReopensFailedTasks()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-2", 1));
        const qint64 nodeId = *core.store.upsertNode(NodeCapabilities{"n1"}, core.clock.now());
        const auto tasks = core.store.tasksOfJob(jobId);
        QVERIFY(core.machine
                    ->apply({{tasks[0].task.id, TaskState::Assigned, nodeId},
                             {tasks[0].task.id, TaskState::Done}})
                    .ok());
        QVERIFY(!core.machine->retryJob(jobId).ok()); // not failed: nothing to retry
        for (int i = 0; i < StateMachine::kMaxAttempts; ++i)
            QVERIFY(core.machine
                        ->apply({{tasks[1].task.id, TaskState::Assigned, nodeId},
                                 {tasks[1].task.id, TaskState::Failed, nodeId, "boom",
                                  TaskChange::Reason::Failure}})
                        .ok());
        COMPARE_STATE(core.store.job(jobId)->state, JobState::Failed);
        QVERIFY(core.machine->retryJob(jobId).ok());
        const auto job = core.store.job(jobId);
        COMPARE_STATE(job->state, JobState::Active); // one task was already done
        QVERIFY(job->error.isEmpty());
        const auto t = core.store.task(tasks[1].task.id);
        COMPARE_STATE(t->task.state, TaskState::Queued);
        QCOMPARE(t->task.attempts, 0);
        COMPARE_STATE(core.store.task(tasks[0].task.id)->task.state, TaskState::Done);
    }

    void bigCancelIsOneBulkUpdate()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-1500", 1));
        const qint64 nodeId = *core.store.upsertNode(NodeCapabilities{"n1"}, core.clock.now());
        const qint64 running = core.store.tasksOfJob(jobId)[7].task.id;
        QVERIFY(core.machine->apply({{running, TaskState::Assigned, nodeId}}).ok());
        core.sink.events.clear();
        const auto out = core.machine->setJobState(jobId, JobState::Canceled);
        QVERIFY(out.ok());
        QCOMPARE(out->cancels.size(), 1);
        const auto job = core.store.job(jobId);
        QCOMPARE(job->tasks.canceled, 1500);
        QCOMPARE(core.sink.ofType("task.updated").size(), 1); // only the task a node had
        QCOMPARE(core.sink.ofType("job.updated").last().data.value("state").toString(),
                 QString("canceled"));
    }

    void pauseAndResume()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-2", 1));
        QVERIFY(core.machine->setJobState(jobId, JobState::Paused).ok());
        COMPARE_STATE(core.store.job(jobId)->state, JobState::Paused);
        QVERIFY(core.store.candidates(10).isEmpty()); // paused jobs hand out nothing
        QVERIFY(core.machine->setJobState(jobId, JobState::Queued).ok());
        COMPARE_STATE(core.store.job(jobId)->state, JobState::Queued);
        QCOMPARE(core.store.candidates(10).size(), 2);
    }

    void persistedBeforeAnnounced()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1", 1));
        const qint64 nodeId = *core.store.upsertNode(NodeCapabilities{"n1"}, core.clock.now());
        const qint64 taskId = core.store.tasksOfJob(jobId)[0].task.id;
        // When an event goes out, a fresh connection to the database must already see the change.
        QStringList seen;
        core.sink.onPublish = [&](const RecordingSink::Event &e) {
            SqlStore other;
            QVERIFY(other.open(core.db.url()).ok());
            if (e.type == "task.updated")
                seen.append(toString(other.task(taskId)->task.state) + "/" +
                            e.data.value("state").toString());
        };
        QVERIFY(core.machine->apply({{taskId, TaskState::Assigned, nodeId}}).ok());
        QCOMPARE(seen, QStringList{"assigned/assigned"});
        const auto jobEvents = core.sink.ofType("job.updated");
        QCOMPARE(jobEvents.size(), 1);
        QCOMPARE(jobEvents.first().data.value("state").toString(), QString("active"));
    }
};

QTEST_GUILESS_MAIN(TestStateMachine)
#include "tst_statemachine.moc"
