#include "fixtures.h"

#include "files/filestore.h"
#include "jobtypes/jobtyperegistry.h"

#include "store/sqlhelpers.h"

#include <QDir>
#include <QJsonDocument>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>

using namespace farm;
using namespace farm::server;
using namespace farm::server::test;

/// Every case runs on SQLite (tst_jobstore) and on PostgreSQL (tst_jobstore_pg); the few that
/// concern one backend only say so.
class TestJobStore : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase() { FARM_REQUIRE_TEST_DATABASE(); }

    // A task that waits for others is no candidate until they are done (an encode after the
    // frames it encodes).
    void dependentTasksWaitForTheirPrerequisites()
    {
        QTemporaryDir dir;
        TestDatabase db(dir);
        SqlStore store;
        QVERIFY(store.open(db.url()).ok());
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
        TestDatabase db(dir);
        const QString path = db.url();
        // The newest migration compiled in (resources/migrations/<dialect>/NNN_*.sql).
        int latest = 0;
        for (const QString &name :
             QDir(TestDatabase::postgres() ? ":/migrations/postgres" : ":/migrations/sqlite")
                 .entryList({"*.sql"}, QDir::Files))
            latest = qMax(latest, name.left(3).toInt());
        QVERIFY(latest >= 4);
        qint64 jobId = 0;
        {
            SqlStore store;
            QVERIFY(store.open(path).ok());
            QCOMPARE(store.schemaVersion(), latest);
            const JobSpec spec = makeSpec("1-10", 3);
            const auto id = store.insertJob(spec, *JobTypeRegistry::standard().compile(spec),
                                            QDateTime::currentDateTimeUtc());
            QVERIFY(id.ok());
            jobId = *id;
        }
        SqlStore again;
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
        if (TestDatabase::postgres())
            QSKIP("SQLite's settings");
        QTemporaryDir dir;
        SqlStore store;
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
        if (TestDatabase::postgres())
            QSKIP("a SQLite file");
        QTemporaryDir dir;
        QFile f(dir.filePath("farm.db"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(4096, 'x'));
        f.close();
        SqlStore store;
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

    // SQLite: the store keeps the task rows it read or wrote (SqlStore::task, kept until a
    // statement on its connection changes the row); whatever changes a task, a read through
    // the store answers what a fresh connection reads. On PostgreSQL nothing is kept.
    void keptTaskRowsAreNeverStale()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-4", 1));
        const qint64 nodeId = *core.store.upsertNode(NodeCapabilities{"n1"}, core.clock.now());
        const QList<TaskRecord> tasks = core.store.tasksOfJob(jobId);
        const qint64 a = tasks[0].task.id, b = tasks[1].task.id, c = tasks[2].task.id;
        const auto row = [](const std::optional<TaskRecord> &r) {
            if (!r)
                return QJsonObject();
            QJsonObject o = r->task.toJson();
            o["orphaned"] = r->orphaned;
            o["frame_count"] = r->frameCount;
            o["queued_at"] = r->queuedAt.toMSecsSinceEpoch();
            o["started_ms"] = r->task.startedAt.toMSecsSinceEpoch();
            o["finished_ms"] = r->task.finishedAt.toMSecsSinceEpoch();
            return o;
        };
        const auto fresh = [&](qint64 id) {
            SqlStore other; // its own connection, nothing kept
            if (!other.open(core.db.url()).ok())
                return QJsonObject{{"error", "cannot open"}};
            return row(other.task(id));
        };
        const auto same = [&](qint64 id) {
            const QJsonObject mine = row(core.store.task(id));
            const QJsonObject theirs = fresh(id);
            if (mine != theirs)
                qWarning().noquote()
                    << "kept:" << QJsonDocument(mine).toJson(QJsonDocument::Compact)
                    << "\ndatabase:" << QJsonDocument(theirs).toJson(QJsonDocument::Compact);
            return mine == theirs;
        };
        const bool keeps = !TestDatabase::postgres();
        QVERIFY(same(a));
        QVERIFY(core.store.task(a)); // read again: answered from memory on SQLite
        QCOMPARE(core.store.keptTasks() > 0, keeps);
        // State changes through the state machine: the row as written, with its node's name.
        QVERIFY(core.machine->apply({{a, TaskState::Assigned, nodeId}}).ok());
        QVERIFY(same(a));
        QCOMPARE(core.store.task(a)->task.nodeName, QString("n1"));
        core.clock.advance(1500);
        QVERIFY(core.machine->apply({{a, TaskState::Running, nodeId}}).ok());
        QVERIFY(same(a));
        QVERIFY(core.machine->setProgress({{a, 0.25}}).ok());
        QVERIFY(same(a));
        QCOMPARE(core.store.task(a)->task.progress, 0.25);
        // A statement of another part of the server on the same connection.
        QVERIFY(sql::exec(core.store.database(), "UPDATE tasks SET error = ? WHERE id = ?",
                          {"set by hand", a})
                    .ok());
        QVERIFY(same(a));
        QCOMPARE(core.store.task(a)->task.error, QString("set by hand"));
        { // a change rolled back: the row as it was
            Transaction tx(core.store);
            TaskRecord t = *core.store.task(a);
            t.task.state = TaskState::Done;
            QVERIFY(core.store.updateTask(t).ok());
            COMPARE_STATE(core.store.task(a)->task.state, TaskState::Done);
        }
        QVERIFY(same(a));
        COMPARE_STATE(core.store.task(a)->task.state, TaskState::Running);
        // Rows changed in bulk.
        QVERIFY(core.store.task(b) && core.store.task(c));
        QCOMPARE(*core.store.cancelQueued(jobId, core.clock.now()), 3);
        QVERIFY(same(b));
        QVERIFY(same(c));
        COMPARE_STATE(core.store.task(b)->task.state, TaskState::Canceled);
        // A node deleted: its tasks keep no node (the foreign key's action).
        QVERIFY(core.store.deleteNode(nodeId).ok());
        QVERIFY(same(a));
        QCOMPARE(core.store.task(a)->task.nodeId, 0);
        // A job deleted: its tasks are gone.
        QVERIFY(core.store.deleteJob(jobId).ok());
        QVERIFY(!core.store.task(a));
        QVERIFY(!core.store.task(b));
        // Closed and opened again: nothing kept from before.
        const qint64 job2 = core.addJob(makeSpec("1", 1));
        const qint64 d = core.store.tasksOfJob(job2).first().task.id;
        QVERIFY(core.store.task(d));
        core.store.close();
        QCOMPARE(core.store.keptTasks(), 0);
        QVERIFY(core.store.open(core.db.url()).ok());
        QVERIFY(same(d));
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
    // The two dialects' migrations carry the same numbers: a database of either is at the same
    // version after the same release.
    void migrationsOfBothDialectsMatch()
    {
        const auto numbers = [](const QString &dir) {
            QList<int> out;
            for (const QString &name : QDir(dir).entryList({"*.sql"}, QDir::Files, QDir::Name))
                out.append(name.left(3).toInt());
            return out;
        };
        const QList<int> sqlite = numbers(":/migrations/sqlite");
        QVERIFY(sqlite.size() >= 9);
        QCOMPARE(numbers(":/migrations/postgres"), sqlite);
    }

    // A farm's SQLite database made by the migrations before 010 (counts kept by triggers)
    // upgrades in place: the triggers go, the counts stay right and are kept once, by the
    // store (with the triggers left, every change would count twice).
    void upgradesADatabaseOfTheTriggerEra()
    {
        if (TestDatabase::postgres())
            QSKIP("SQLite databases made before migration 010");
        QTemporaryDir dir;
        const QString path = dir.filePath("farm.db");
        qint64 jobId = 0;
        {
            QSqlDatabase raw = QSqlDatabase::addDatabase("QSQLITE", "old");
            raw.setDatabaseName(path);
            QVERIFY(raw.open());
            QSqlQuery q(raw);
            QVERIFY(q.exec("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                           "applied_at INTEGER NOT NULL)"));
            for (const QString &name :
                 QDir(":/migrations/sqlite").entryList({"*.sql"}, QDir::Files, QDir::Name)) {
                if (name.left(3).toInt() >= 10)
                    continue;
                QFile f(":/migrations/sqlite/" + name);
                QVERIFY(f.open(QIODevice::ReadOnly));
                for (const QString &statement :
                     sql::splitStatements(QString::fromUtf8(f.readAll())))
                    QVERIFY2(q.exec(statement), qPrintable(name + ": " + q.lastError().text()));
                QVERIFY(q.exec(QString("INSERT INTO schema_version VALUES (%1, 0)")
                                   .arg(name.left(3).toInt())));
            }
            q.prepare("INSERT INTO jobs(name, type, priority, spec, state, frames_total, "
                      "created_at, n_queued) VALUES ('old', 'model', 50, ?, 'active', 4, 1, 4)");
            q.addBindValue(QString::fromUtf8(
                QJsonDocument(makeSpec("1-4", 1).toJson()).toJson(QJsonDocument::Compact)));
            QVERIFY(q.exec());
            jobId = q.lastInsertId().toLongLong();
            for (int i = 0; i < 4; ++i)
                QVERIFY(q.exec(QString("INSERT INTO tasks(job_id, idx, frames, frame_count, "
                                       "state) VALUES (%1, %2, '%3', 1, 'queued')")
                                   .arg(jobId)
                                   .arg(i)
                                   .arg(i + 1)));
            QVERIFY(q.exec("UPDATE tasks SET state = 'done' WHERE idx = 0"));
            QVERIFY(q.exec("UPDATE tasks SET state = 'running', progress = 0.5 WHERE idx = 1"));
            // The old triggers counted (this is a database of their time).
            QVERIFY(q.exec("SELECT n_done, n_running, running_progress FROM jobs") && q.next());
            QCOMPARE(q.value(0).toInt(), 1);
            QCOMPARE(q.value(1).toInt(), 1);
            QCOMPARE(q.value(2).toDouble(), 0.5);
            q.finish();
            raw.close();
        }
        QSqlDatabase::removeDatabase("old");

        SqlStore store;
        QVERIFY(store.open(path).ok());
        QVERIFY(store.schemaVersion() >= 10);
        QSqlQuery q(store.database());
        QVERIFY(q.exec("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'") && q.next());
        QCOMPARE(q.value(0).toInt(), 0);
        q.finish();
        auto job = store.job(jobId);
        QVERIFY(job);
        QCOMPARE(job->tasks.done, 1);
        QCOMPARE(job->tasks.running, 1);
        QCOMPARE(job->tasks.queued, 2);
        QCOMPARE(job->progress, 1.5 / 4);
        auto tasks = store.tasksOfJob(jobId);
        tasks[1].task.state = TaskState::Done;
        tasks[1].task.progress = 1;
        QVERIFY(store.updateTask(tasks[1]).ok());
        QVERIFY(store.cancelQueued(jobId, QDateTime::currentDateTimeUtc()).ok());
        job = store.job(jobId);
        QCOMPARE(job->tasks.done, 2);
        QCOMPARE(job->tasks.running, 0);
        QCOMPARE(job->tasks.queued, 0);
        QCOMPARE(job->tasks.canceled, 2);
        QCOMPARE(job->progress, 0.5);
    }

    // Bulk cancels and progress batches move the job row's counts as single changes do; a
    // late progress for a task no longer on a node changes nothing.
    void countsFollowCancelAndProgress()
    {
        Core core;
        const qint64 jobId = core.addJob(makeSpec("1-6", 1));
        const qint64 nodeId = *core.store.upsertNode(NodeCapabilities{"n1"}, core.clock.now());
        const auto tasks = core.store.tasksOfJob(jobId);
        const qint64 t0 = tasks[0].task.id, t1 = tasks[1].task.id, t5 = tasks[5].task.id;
        QVERIFY(core.machine
                    ->apply({{t0, TaskState::Assigned, nodeId},
                             {t0, TaskState::Running},
                             {t1, TaskState::Assigned, nodeId}})
                    .ok());
        QVERIFY(core.store.setProgress({{t0, 0.5}, {t1, 0.25}, {t5, 0.9}}).ok());
        QCOMPARE(core.store.task(t5)->task.progress, 0.0);
        QCOMPARE(core.store.job(jobId)->progress, 0.75 / 6);
        QVERIFY(core.store.setProgress({{t0, 0.75}}).ok());
        QCOMPARE(core.store.job(jobId)->progress, 1.0 / 6);
        QCOMPARE(*core.store.cancelQueued(jobId, core.clock.now()), 4);
        auto job = core.store.job(jobId);
        QCOMPARE(job->tasks.canceled, 4);
        QCOMPARE(job->tasks.queued, 0);
        QCOMPARE(job->tasks.running, 2);
        QVERIFY(core.machine->apply({{t0, TaskState::Done}}).ok());
        QVERIFY(core.store.setProgress({{t0, 0.1}}).ok()); // late: the task is done
        job = core.store.job(jobId);
        QCOMPARE(job->tasks.done, 1);
        QCOMPARE(job->tasks.running, 1);
        QCOMPARE(job->progress, 1.25 / 6);
        QCOMPARE(core.store.task(t0)->task.progress, 1.0);
    }

    void databaseUrls_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("postgres");
        QTest::addColumn<QString>("expected"); // host:port/name user schema options, or error
        QTest::newRow("sqlite path") << "/srv/farm/farm.db" << false << "/srv/farm/farm.db";
        QTest::newRow("full") << "postgresql://farm:s%40cret@db.lan:6543/farmdb" << true
                              << "db.lan:6543/farmdb farm s@cret  ";
        QTest::newRow("short scheme, options")
            << "postgres://farm@127.0.0.1/farm?schema=lab_a&sslmode=require&connect_timeout=5"
            << true << "127.0.0.1:5432/farm farm  lab_a sslmode=require,connect_timeout=5";
        QTest::newRow("socket dir") << "postgresql://farm@/farm?host=/run/postgresql" << true
                                    << "/run/postgresql:5432/farm farm   ";
        QTest::newRow("other database")
            << "mysql://farm@db/farm" << false << "error: 'mysql' databases are not supported";
        QTest::newRow("no database")
            << "postgresql://farm@db.lan" << false << "error: names no database";
        QTest::newRow("no host") << "postgresql:///farm" << false << "error: names no host";
        QTest::newRow("bad port") << "postgresql://db.lan:99999/farm" << false << "error: ";
        QTest::newRow("bad schema")
            << "postgresql://db.lan/farm?schema=a;drop" << false << "error: schema 'a;drop'";
        QTest::newRow("unknown option") << "postgresql://db.lan/farm?sslmod=require" << false
                                        << "error: unknown option 'sslmod'";
    }

    void databaseUrls()
    {
        QFETCH(QString, text);
        QFETCH(bool, postgres);
        QFETCH(QString, expected);
        const auto url = DatabaseUrl::parse(text);
        if (expected.startsWith("error: ")) {
            QVERIFY(!url);
            QVERIFY2(url.error().message.contains(expected.mid(7)),
                     qPrintable(url.error().message));
            QVERIFY(url.error().message.contains("--database"));
            return;
        }
        QVERIFY2(url.ok(), url ? "" : qPrintable(url.error().message));
        QCOMPARE(url->backend == SqlBackend::Postgres, postgres);
        if (!postgres) {
            QCOMPARE(url->path, expected);
            return;
        }
        QCOMPARE(QString("%1:%2/%3 %4 %5 %6 %7")
                     .arg(url->host)
                     .arg(url->port)
                     .arg(url->name, url->user, url->password, url->schema, url->options.join(',')),
                 expected);
        QVERIFY(!url->display().contains("s@cret") && !url->display().contains("s%40cret"));
    }

    // Statements run once on PostgreSQL carry their values as literals (one round trip): each
    // ? outside quotes takes the next value, escaped by the driver; a negative number cannot
    // turn "x -?" into a comment.
    void valuesWrittenIntoStatements()
    {
        {
            QSqlDatabase db = QSqlDatabase::addDatabase("QPSQL", "literals");
            QCOMPARE(sql::withLiterals(db, "SELECT ?, 'a?b', \"c?\", 'it''s?', ?, ?, x -?",
                                       {QString("it's ?"), 7, QString(), -3}),
                     QString("SELECT 'it''s ?', 'a?b', \"c?\", 'it''s?', 7, '', x -(-3)"));
            QCOMPARE(sql::withLiterals(db, "UPDATE t SET a = ?, b = ? WHERE c = ?",
                                       {QVariant(), QVariant(QMetaType(QMetaType::LongLong)), 2.5}),
                     QString("UPDATE t SET a = NULL, b = NULL WHERE c = 2.5"));
            QVERIFY(sql::withLiterals(db, "SELECT ?", {1, 2}).isEmpty());
            QVERIFY(sql::withLiterals(db, "SELECT ?, ?", {1}).isEmpty());
        }
        QSqlDatabase::removeDatabase("literals");
    }

    // PostgreSQL dropped the store's connection (a server restart, a terminated backend): the
    // next statement, or transaction, opens it again and goes on.
    void reconnectsWhenTheServerDropsTheConnection()
    {
        if (!TestDatabase::postgres())
            QSKIP("PostgreSQL's connection");
        QTemporaryDir dir;
        TestDatabase db(dir);
        SqlStore store;
        QVERIFY(store.open(db.url()).ok());
        const auto id = store.insertJob(makeSpec("1-2", 1), QList<FrameRange>{FrameRange({1})},
                                        QDateTime::currentDateTimeUtc());
        QVERIFY(id.ok());
        const QUrl url(qEnvironmentVariable("FARM_TEST_PG_URL"));
        QSqlDatabase admin = QSqlDatabase::addDatabase("QPSQL", "terminator");
        admin.setHostName(url.host());
        admin.setPort(url.port(5432));
        admin.setUserName(url.userName());
        admin.setDatabaseName(url.path().mid(1));
        QVERIFY(admin.open());
        const auto dropStoreConnection = [&] {
            QSqlQuery pid(store.database());
            QVERIFY(pid.exec("SELECT pg_backend_pid()") && pid.next());
            const qint64 backend = pid.value(0).toLongLong();
            pid.finish();
            QSqlQuery q(admin);
            QVERIFY(q.exec(QString("SELECT pg_terminate_backend(%1)").arg(backend)));
            QTRY_VERIFY_WITH_TIMEOUT(
                q.exec(QString("SELECT 1 FROM pg_stat_activity WHERE pid = %1").arg(backend)) &&
                    !q.next(),
                10000);
        };
        dropStoreConnection();
        const auto job = store.job(*id); // a prepared statement, read again after reconnecting
        QVERIFY(job);
        QCOMPARE(job->tasks.queued, 1);
        dropStoreConnection();
        {
            Transaction tx(store); // BEGIN on the dropped connection: it opens again
            QVERIFY(tx.ok());
            Job changed = *job;
            changed.state = JobState::Paused;
            QVERIFY(store.updateJob(changed).ok());
            QVERIFY(tx.commit().ok());
        }
        COMPARE_STATE(store.job(*id)->state, JobState::Paused);
        admin.close();
        admin = QSqlDatabase();
        QSqlDatabase::removeDatabase("terminator");
    }

    // A server that does not answer is a clear error at open, not a crash later.
    void unreachableServerIsRefused()
    {
        SqlStore store;
        const auto r = store.open(QString("postgresql://farm@127.0.0.1:1/farm?connect_timeout=5"));
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.contains("cannot open database postgresql://farm@127.0.0.1:1/"),
                 qPrintable(r.error().message));
    }
};

QTEST_GUILESS_MAIN(TestJobStore)
#include "tst_jobstore.moc"
