#include "models/jobsmodel.h"
#include "models/nodesmodel.h"
#include "models/tasksmodel.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QtTest>

using namespace farm;
using farm::gui::JobsModel;

namespace {

Job makeJob(qint64 id, const QString &name, JobState state = JobState::Queued, double progress = 0)
{
    Job j;
    j.id = id;
    j.spec.name = name;
    j.spec.input.main = name + ".obj";
    j.spec.input.files = {{name + ".obj", QString(64, 'a')}};
    j.spec.frames = "1-10";
    j.state = state;
    j.progress = progress;
    j.createdAt = QDateTime(QDate(2026, 11, 23), QTime(12, 0)).addSecs(id * 60);
    return j;
}

QList<qint64> ids(const JobsModel &m)
{
    QList<qint64> out;
    for (int r = 0; r < m.rowCount(); ++r)
        out.append(m.index(r, JobsModel::Id).data(JobsModel::JobIdRole).toLongLong());
    return out;
}

} // namespace

class TestJobsModel : public QObject
{
    Q_OBJECT
private slots:
    void appliesCreatedAndUpdatedEvents()
    {
        JobsModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setJobs({makeJob(1, "a"), makeJob(3, "c")});
        QCOMPARE(ids(model), (QList<qint64>{3, 1})); // newest first by default

        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        model.upsert(makeJob(2, "b")); // job.created
        QCOMPARE(inserted.count(), 1);
        QCOMPARE(ids(model), (QList<qint64>{3, 2, 1}));

        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        model.upsert(makeJob(2, "b", JobState::Active, 0.5)); // job.updated
        QCOMPARE(model.rowCount(), 3);
        QVERIFY(changed.count() >= 1);
        const QModelIndex state = model.index(model.rowOf(2), JobsModel::State);
        QCOMPARE(state.data().toString(), QString("active"));
        QCOMPARE(model.index(model.rowOf(2), JobsModel::Progress)
                     .data(JobsModel::ProgressRole)
                     .toDouble(),
                 0.5);
        QCOMPARE(model.index(model.rowOf(2), JobsModel::Progress).data().toString(),
                 QString("50%"));

        Job unknown = makeJob(5, "sim");
        unknown.spec.type = "houdini_sim"; // a type this client has no code for
        unknown.spec.settings = {{"solver", "flip"}};
        model.upsert(unknown);
        QCOMPARE(model.index(model.rowOf(5), JobsModel::Type).data().toString(),
                 QString("houdini_sim"));
        QCOMPARE(model.index(model.rowOf(5), JobsModel::Name).data().toString(), QString("sim"));
        model.remove(5);

        model.remove(3); // job.deleted
        QCOMPARE(ids(model), (QList<qint64>{2, 1}));
        model.remove(42); // unknown: nothing happens
        QCOMPARE(model.rowCount(), 2);
    }

    void showsPriorityAndElapsedTime()
    {
        JobsModel model;
        Job done = makeJob(1, "done", JobState::Completed, 1.0);
        done.spec.priority = 80;
        done.startedAt = QDateTime(QDate(2026, 1, 1), QTime(10, 0, 0), Qt::UTC);
        done.finishedAt = done.startedAt.addSecs(250);
        Job waiting = makeJob(2, "waiting");
        model.setJobs({done, waiting});
        QCOMPARE(model.index(model.rowOf(1), JobsModel::Priority).data().toInt(), 80);
        QCOMPARE(model.index(model.rowOf(1), JobsModel::Elapsed).data().toString(),
                 QString("4 min 10 s"));
        QCOMPARE(model.index(model.rowOf(2), JobsModel::Elapsed).data().toString(), QString());
        const QDateTime now = done.startedAt.addSecs(3 * 3600 + 120);
        Job running = makeJob(3, "running", JobState::Active, 0.5);
        running.startedAt = done.startedAt;
        QCOMPARE(JobsModel::elapsedText(running, now), QString("3 h 2 min"));
        // State sorting puts failed, then active jobs first.
        model.upsert(running);
        model.upsert(makeJob(4, "broken", JobState::Failed));
        model.sort(JobsModel::State, Qt::AscendingOrder);
        QCOMPARE(ids(model), (QList<qint64>{4, 3, 2, 1}));
    }

    void sortsAndKeepsSortOnUpdates()
    {
        JobsModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setJobs({makeJob(1, "gear", JobState::Active, 0.2),
                       makeJob(2, "Bolt", JobState::Active, 0.9),
                       makeJob(3, "anchor", JobState::Active, 0.5)});
        model.sort(JobsModel::Name, Qt::AscendingOrder);
        QCOMPARE(ids(model), (QList<qint64>{3, 2, 1})); // anchor, Bolt, gear (case-insensitive)

        model.sort(JobsModel::Progress, Qt::DescendingOrder);
        QCOMPARE(ids(model), (QList<qint64>{2, 3, 1}));

        // An update that changes the sort key moves the row, and a persistent index follows it.
        const QPersistentModelIndex gear = model.index(2, 0);
        QSignalSpy moved(&model, &QAbstractItemModel::rowsMoved);
        model.upsert(makeJob(1, "gear", JobState::Active, 1.0));
        QCOMPARE(moved.count(), 1);
        QCOMPARE(ids(model), (QList<qint64>{1, 2, 3}));
        QCOMPARE(gear.row(), 0);

        model.upsert(makeJob(4, "new", JobState::Queued, 0.0));
        QCOMPARE(ids(model), (QList<qint64>{1, 2, 3, 4}));
        model.sort(JobsModel::Id, Qt::AscendingOrder);
        QCOMPARE(ids(model), (QList<qint64>{1, 2, 3, 4}));
    }

    void tasksAndNodesUpsert()
    {
        gui::TasksModel tasks;
        Task t;
        t.id = 10;
        t.jobId = 7;
        t.index = 1;
        t.frames = "5-8";
        tasks.setTasks(7, {t});
        Task other = t;
        other.jobId = 8;
        other.id = 11;
        tasks.upsert(other); // another job's task
        QCOMPARE(tasks.rowCount(), 1);
        Task first = t;
        first.id = 9;
        first.index = 0;
        tasks.upsert(first);
        QCOMPARE(tasks.index(0, gui::TasksModel::Index).data().toInt(), 0);
        t.state = TaskState::Running;
        t.progress = 0.25;
        tasks.upsert(t);
        QCOMPARE(tasks.rowCount(), 2);
        QCOMPARE(tasks.index(1, gui::TasksModel::State).data().toString(), QString("running"));

        gui::NodesModel nodes;
        Node n;
        n.id = 1;
        n.caps.name = "ws-b";
        n.caps.gpus.append({"RTX 4090", "GPU-1", 24564, "8.9", "550"});
        nodes.upsert(n);
        n.id = 2;
        n.caps.name = "ws-a";
        n.caps.gpus.clear();
        nodes.upsert(n);
        QCOMPARE(nodes.index(0, gui::NodesModel::Name).data().toString(), QString("ws-a"));
        QCOMPARE(nodes.index(1, gui::NodesModel::Gpus).data().toString(),
                 QString("RTX 4090 24 GiB"));
        n.state = NodeState::Busy;
        nodes.upsert(n);
        QCOMPARE(nodes.rowCount(), 2);
        QCOMPARE(nodes.index(0, gui::NodesModel::State).data().toString(), QString("busy"));
        // What the server serves from heartbeats: load, GPU use, the tasks held, the version.
        QCOMPARE(nodes.index(0, gui::NodesModel::Version).data().toString(), QString("unknown"));
        QCOMPARE(nodes.index(0, gui::NodesModel::Load).data().toString(), QString("—"));
        n.id = 1;
        n.caps.name = "ws-b";
        n.caps.version = "0.1.0";
        n.caps.cores = 8;
        n.caps.slotCount = 2;
        n.caps.gpus = {{"RTX 4090", "GPU-1", 24564, "8.9", "550"},
                       {"RTX A4000", "GPU-2", 16376, "8.6", "550"}};
        n.load = 2.0;
        n.gpuLoad = {{"GPU-1", 0.87, 20480, 24564}};
        n.running = {31};
        n.tasks = {{31, 7, "12"}};
        nodes.upsert(n);
        QCOMPARE(nodes.index(1, gui::NodesModel::Version).data().toString(), QString("0.1.0"));
        QCOMPARE(nodes.index(1, gui::NodesModel::Load).data().toString(), QString("2.00 (25%)"));
        // Utilisation only for the GPU that reported it.
        QCOMPARE(nodes.index(1, gui::NodesModel::Gpus).data().toString(),
                 QString("RTX 4090 24 GiB · 87% busy, RTX A4000 16 GiB"));
        QCOMPARE(nodes.index(1, gui::NodesModel::Current).data().toString(),
                 QString("1/2  job 7 frame 12"));
        // The JSON round trip the app reads.
        const auto back = Node::fromJson(n.toJson());
        QVERIFY(back);
        QCOMPARE(back->load, n.load);
        QCOMPARE(back->gpuLoad, n.gpuLoad);
        QCOMPARE(back->tasks, n.tasks);
        QCOMPARE(back->caps.version, QString("0.1.0"));
    }
};

QTEST_MAIN(TestJobsModel)
#include "tst_jobsmodel.moc"
