#include "fixtures.h"

#include "files/filestore.h"
#include "jobtypes/jobtyperegistry.h"

#include <QDir>
#include <QSqlDatabase>
#include <QSqlQuery>

using namespace farm;
using namespace farm::server;
using namespace farm::server::test;

class TestSqliteStore : public QObject
{
    Q_OBJECT
private slots:
    // A task that waits for others is no candidate until they are done (an encode after the
    // frames it encodes).
    void dependentTasksWaitForTheirPrerequisites()
    {
        QTemporaryDir dir;
        SqliteStore store;
        QVERIFY(store.open(dir.filePath("farm.db")).ok());
        const QDateTime now = QDateTime::currentDateTimeUtc();
        const auto id = store.insertJob(makeSpec("1-3", 1),
                                        QList<TaskPlan>{{FrameRange({1}), {}},
                                                        {FrameRange({2}), {}},
                                                        {FrameRange({3}), {0, 1}}},
                                        now);
        QVERIFY(id.ok());
        auto indexes = [&] {
            QList<int> out;
            for (const Candidate &c : store.candidates(10))
                out.append(c.task.task.index);
            return out;
        };
        QCOMPARE(indexes(), (QList<int>{0, 1}));
        QCOMPARE(store.waitingTasks(*id), 1);
        QList<TaskRecord> tasks = store.tasksOfJob(*id);
        for (int i : {0, 1}) {
            tasks[i].task.state = TaskState::Done;
            QVERIFY(store.updateTask(tasks[i]).ok());
            QCOMPARE(indexes(), i == 0 ? QList<int>{1} : QList<int>{2});
        }
        // A plan that waits for a task the job does not have is refused whole.
        QVERIFY(
            !store.insertJob(makeSpec("1", 1), QList<TaskPlan>{{FrameRange({1}), {5}}}, now).ok());
        QCOMPARE(store.listJobs({}).total, 1);
    }

    void migratesAndReopens()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("farm.db");
        // The newest migration compiled in (resources/migrations/NNN_*.sql).
        int latest = 0;
        for (const QString &name : QDir(":/migrations").entryList({"*.sql"}, QDir::Files))
            latest = qMax(latest, name.left(3).toInt());
        QVERIFY(latest >= 4);
        qint64 jobId = 0;
        {
            SqliteStore store;
            QVERIFY(store.open(path).ok());
            QCOMPARE(store.schemaVersion(), latest);
            const JobSpec spec = makeSpec("1-10", 3);
            const auto id = store.insertJob(spec, *JobTypeRegistry::standard().compile(spec),
                                            QDateTime::currentDateTimeUtc());
            QVERIFY(id.ok());
            jobId = *id;
        }
        SqliteStore again;
        QVERIFY(again.open(path).ok());
        QCOMPARE(again.schemaVersion(), latest); // migrations are not applied twice
        // A migration numbered below the newest applied one and not yet recorded (added by
        // work merged later) is still applied: here 004's table, dropped and forgotten.
        QSqlQuery(again.database()).exec("DROP TABLE job_deps");
        QSqlQuery(again.database()).exec("DELETE FROM schema_version WHERE version = 4");
        again.close();
        QVERIFY(again.open(path).ok());
        QVERIFY(QSqlQuery(again.database()).exec("SELECT COUNT(*) FROM job_deps"));
        QCOMPARE(again.schemaVersion(), latest);
        const auto job = again.job(jobId);
        QVERIFY(job);
        QCOMPARE(job->spec, makeSpec("1-10", 3));
        COMPARE_STATE(job->state, JobState::Queued);
        QCOMPARE(job->tasks.total, 4);
        QCOMPARE(job->tasks.queued, 4);
        const auto tasks = again.tasksOfJob(jobId);
        QCOMPARE(tasks.size(), 4);
        QCOMPARE(tasks[0].task.frames, QString("1-3"));
        QCOMPARE(tasks[3].task.frames, QString("10"));
        QCOMPARE(tasks[3].frameCount, 1);
    }

    void pragmasAreSet()
    {
        QTemporaryDir dir;
        SqliteStore store;
        QVERIFY(store.open(dir.filePath("farm.db")).ok());
        QSqlDatabase probe = QSqlDatabase::addDatabase("QSQLITE", "probe");
        probe.setDatabaseName(dir.filePath("farm.db"));
        QVERIFY(probe.open());
        QSqlQuery q(probe);
        QVERIFY(q.exec("PRAGMA journal_mode"));
        QVERIFY(q.next());
        QCOMPARE(q.value(0).toString(), QString("wal"));
        q.finish();
        probe.close();
        probe = QSqlDatabase();
        QSqlDatabase::removeDatabase("probe");
    }

    void corruptFileIsRefused()
    {
        QTemporaryDir dir;
        QFile f(dir.filePath("farm.db"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(4096, 'x'));
        f.close();
        SqliteStore store;
        const auto r = store.open(dir.filePath("farm.db"));
        QVERIFY(!r.ok());
    }

    void progressCountsFrames()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-10", 4)); // tasks of 4, 4, 2 frames
        auto tasks = core.store.tasksOfJob(jobId);
        tasks[0].task.state = TaskState::Done;
        tasks[1].task.state = TaskState::Running;
        tasks[1].task.progress = 0.5;
        QVERIFY(core.store.updateTask(tasks[0]).ok());
        QVERIFY(core.store.updateTask(tasks[1]).ok());
        const auto job = core.store.job(jobId);
        QCOMPARE(job->tasks.done, 1);
        QCOMPARE(job->tasks.running, 1);
        QCOMPARE(job->tasks.queued, 1);
        QCOMPARE(job->progress, 0.6); // (4 + 0.5 * 4) / 10
    }

    void countsFollowEveryChange()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-9", 1));
        const qint64 nodeId = *core.store.upsertNode(NodeCapabilities{"n1"}, core.clock.now());
        const auto tasks = core.store.tasksOfJob(jobId);
        QVERIFY(core.machine
                    ->apply({{tasks[0].task.id, TaskState::Assigned, nodeId},
                             {tasks[0].task.id, TaskState::Done},
                             {tasks[1].task.id, TaskState::Assigned, nodeId},
                             {tasks[2].task.id, TaskState::Assigned, nodeId},
                             {tasks[2].task.id, TaskState::Running},
                             {tasks[3].task.id, TaskState::Canceled}})
                    .ok());
        { // a rolled back change leaves the counts alone too
            Transaction tx(core.store);
            TaskRecord t = tasks[4];
            t.task.state = TaskState::Done;
            QVERIFY(core.store.updateTask(t).ok());
        }
        const auto job = core.store.job(jobId);
        TaskCounts expected;
        for (const TaskRecord &t : core.store.tasksOfJob(jobId)) {
            ++expected.total;
            switch (t.task.state) {
            case TaskState::Queued:
                ++expected.queued;
                break;
            case TaskState::Assigned:
            case TaskState::Running:
                ++expected.running;
                break;
            case TaskState::Done:
                ++expected.done;
                break;
            case TaskState::Failed:
                ++expected.failed;
                break;
            case TaskState::Canceled:
                ++expected.canceled;
                break;
            }
        }
        QCOMPARE(job->tasks.toJson(), expected.toJson());
        QCOMPARE(expected.queued, 5);
        QCOMPARE(job->progress, 1.0 / 9);
    }

    void listFiltersSortsAndPages()
    {
        Core core;
        JobSpec a = makeSpec();
        a.name = "alpha turntable";
        JobSpec b = makeSpec();
        b.name = "beta still";
        b.priority = 90;
        JobSpec c = makeSpec();
        c.name = "gamma_turntable";
        const qint64 ida = core.addJob(a);
        const qint64 idb = core.addJob(b);
        const qint64 idc = core.addJob(c);
        auto job = *core.store.job(idb);
        job.state = JobState::Canceled;
        QVERIFY(core.store.updateJob(job).ok());

        JobQuery q;
        JobPage page = core.store.listJobs(q);
        QCOMPARE(page.total, 3);
        QCOMPARE(page.jobs.first().id, idc); // newest first by default

        q.states = {JobState::Queued};
        page = core.store.listJobs(q);
        QCOMPARE(page.total, 2);

        q = {};
        q.text = "turntable";
        QCOMPARE(core.store.listJobs(q).total, 2);
        q.text = "_"; // LIKE wildcards are matched literally
        QCOMPARE(core.store.listJobs(q).total, 1);

        q = {};
        q.sort = "priority";
        q.limit = 1;
        page = core.store.listJobs(q);
        QCOMPARE(page.jobs.size(), 1);
        QCOMPARE(page.jobs.first().id, idb);
        q.offset = 1;
        q.descending = false;
        q.sort = "created_at";
        page = core.store.listJobs(q);
        QCOMPARE(page.jobs.first().id, idb);
        QCOMPARE(page.total, 3);
        Q_UNUSED(ida);
    }

    void deleteCascades()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec());
        const qint64 taskId = core.store.tasksOfJob(jobId).first().task.id;
        QVERIFY(core.store.upsertOutput({jobId, taskId, "frame_0001.png", 10, 1}, core.clock.now())
                    .ok());
        QVERIFY(core.store.appendLog(taskId, 1, "hello\n", core.clock.now()).ok());
        QVERIFY(core.store.deleteJob(jobId).ok());
        QVERIFY(!core.store.job(jobId));
        QVERIFY(!core.store.task(taskId));
        QVERIFY(core.store.outputs(jobId).isEmpty());
        QVERIFY(core.store.taskLog(taskId).isEmpty());
    }

    void transactionsRollBack()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec());
        {
            Transaction tx(core.store);
            auto job = *core.store.job(jobId);
            job.state = JobState::Canceled;
            QVERIFY(core.store.updateJob(job).ok());
        } // no commit
        COMPARE_STATE(core.store.job(jobId)->state, JobState::Queued);
    }

    void staleUploadsArePurged()
    {
        Core core;
        FileStore files(core.dir.filePath("data"), core.store, core.clock);
        QVERIFY(files.init().ok());
        const auto old = files.createUpload("old.bin", 10, QString(64, 'b'));
        QVERIFY(old.ok());
        QVERIFY(QFile::exists(files.partPath(old->upload.id)));
        core.clock.advance(8LL * 24 * 3600 * 1000);
        const auto fresh = files.createUpload("new.bin", 10, QString(64, 'c'));
        QCOMPARE(files.purgeStaleUploads(7), 1);
        QVERIFY(!files.upload(old->upload.id));
        QVERIFY(!QFile::exists(files.partPath(old->upload.id)));
        QVERIFY(files.upload(fresh->upload.id));
    }

    void uploadsAndNodes()
    {
        Core core;
        UploadRecord u{"abc", "a.glb", 10, QString(64, 'b'), 8, 2, {}, core.clock.now()};
        QVERIFY(core.store.insertUpload(u).ok());
        QVERIFY(core.store.setUploadReceived("abc", {1}).ok());
        QCOMPARE(core.store.upload("abc")->received, QList<int>{1});
        NodeCapabilities caps;
        caps.name = "ws-1";
        const auto id = core.store.upsertNode(caps, core.clock.now());
        caps.cores = 32;
        const auto again = core.store.upsertNode(caps, core.clock.now());
        QCOMPARE(*id, *again); // a node keeps its id by name
        QCOMPARE(core.store.node(*id)->caps.cores, 32);
        QCOMPARE(core.store.node(*id)->admin, QString("enabled"));
    }
};

QTEST_GUILESS_MAIN(TestSqliteStore)
#include "tst_sqlitestore.moc"
