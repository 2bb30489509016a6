#include "client/apiclient.h"
#include "client/syncwait.h"
#include "fakefarmserver.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace farm;
using farm::client::ApiClient;
using farm::client::waitFor;
using farm::testing::FakeFarmServer;

namespace {

JobSpec specFor(const QString &sha)
{
    JobSpec s;
    s.name = "engine";
    s.input = {sha, "engine.glb"};
    s.frames = "1-6";
    s.chunk = 2;
    return s;
}

const QString kSha = QString(64, 'c');

} // namespace

class TestApiClient : public QObject
{
    Q_OBJECT
private slots:
    void decodesErrorBodies_data()
    {
        QTest::addColumn<int>("status");
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QString>("code");
        QTest::addColumn<QString>("message");
        QTest::newRow("api error")
            << 400 << testing::errorBody("invalid_field", "frames must be 1-100000")
            << "invalid_field"
            << "frames must be 1-100000";
        QTest::newRow("conflict") << 409 << testing::errorBody("conflict", "job is final")
                                  << "conflict"
                                  << "job is final";
        QTest::newRow("plain text") << 502 << QByteArray("bad gateway") << "http_502"
                                    << "server answered HTTP 502: bad gateway";
        QTest::newRow("empty") << 500 << QByteArray() << "http_500"
                               << "server answered HTTP 500";
    }

    void decodesErrorBodies()
    {
        QFETCH(int, status);
        QFETCH(QByteArray, body);
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.intercept = [&](const FakeFarmServer::Request &) {
            return std::optional(FakeFarmServer::Response{status, body});
        };
        ApiClient api(fake.url());
        const auto job = waitFor<Job>([&](auto cb) { api.getJob(3, cb); });
        QVERIFY(!job.ok());
        QTEST(job.error().code, "code");
        QTEST(job.error().message, "message");
    }

    void notFoundFromServerRoute()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        ApiClient api(fake.url());
        const auto job = waitFor<Job>([&](auto cb) { api.getJob(999, cb); });
        QVERIFY(!job.ok());
        QCOMPARE(job.error().code, QString("not_found"));
        QCOMPARE(job.error().message, QString("job 999 not found"));
    }

    void unreachableServer()
    {
        quint16 port = 0;
        {
            FakeFarmServer gone;
            QVERIFY(gone.listen());
            port = gone.url().port();
        }
        ApiClient api(QUrl(QString("http://127.0.0.1:%1").arg(port)));
        const auto status = waitFor<client::ServerStatus>([&](auto cb) { api.status(cb); });
        QVERIFY(!status.ok());
        QCOMPARE(status.error().code, QString("unreachable"));
        QVERIFY(status.error().message.contains("cannot reach server"));
    }

    void parsesServerUrls()
    {
        QVERIFY(ApiClient::parseServerUrl("http://farm:8420").ok());
        QVERIFY(ApiClient::parseServerUrl("https://farm.example.org/prefix").ok());
        QVERIFY(!ApiClient::parseServerUrl("ftp://farm").ok());
        QVERIFY(!ApiClient::parseServerUrl("").ok());
    }

    void createListAndFilterJobsWithToken()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.files.insert(kSha, "x");
        ApiClient api(fake.url());
        api.setToken("s3cret");
        const auto created = waitFor<Job>([&](auto cb) { api.createJob(specFor(kSha), cb); });
        QVERIFY2(created.ok(), qPrintable(created.ok() ? "" : created.error().message));
        QCOMPARE(created->id, qint64(1));
        QCOMPARE(created->tasks.total, 3);
        QCOMPARE(fake.lastAuthorization, QByteArray("Bearer s3cret"));
        fake.setJobState(1, JobState::Active, 0.5);
        QVERIFY(waitFor<Job>([&](auto cb) { api.createJob(specFor(kSha), cb); }).ok());

        client::JobQuery q;
        q.states = {"active"};
        q.limit = 10;
        const auto page = waitFor<client::JobPage>([&](auto cb) { api.listJobs(q, cb); });
        QVERIFY(page.ok());
        QCOMPARE(page->total, qint64(1));
        QVERIFY(page->jobs.first().state == JobState::Active);
        QVERIFY2(fake.requestLog.last().contains("state=active&limit=10&offset=0"),
                 qPrintable(fake.requestLog.last()));

        const auto all = waitFor<client::JobPage>([&](auto cb) { api.listJobs({}, cb); });
        QCOMPARE(all->jobs.size(), 2);
        QCOMPARE(all->jobs.first().id, qint64(2)); // newest first

        const auto bad =
            waitFor<Job>([&](auto cb) { api.createJob(specFor(QString(64, 'd')), cb); });
        QVERIFY(!bad.ok());
        QCOMPARE(bad.error().code, QString("invalid_field"));
    }

    void tasksOutputsAndDownload()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.files.insert(kSha, "x");
        const qint64 id = fake.addJob(specFor(kSha)).id;
        QByteArray frame(300 * 1024, 'p');
        frame[0] = 'P';
        fake.completeJob(id, frame);
        ApiClient api(fake.url());

        const auto tasks = waitFor<QList<Task>>([&](auto cb) { api.jobTasks(id, cb); });
        QVERIFY(tasks.ok());
        QCOMPARE(tasks->size(), 3);
        QCOMPARE(tasks->at(1).frames, QString("3-4"));
        QVERIFY(tasks->at(1).state == TaskState::Done);

        const auto outputs =
            waitFor<QList<client::OutputInfo>>([&](auto cb) { api.jobOutputs(id, cb); });
        QVERIFY(outputs.ok());
        QCOMPARE(outputs->size(), 6);
        QCOMPARE(outputs->at(0).name, QString("frame_0001.png"));
        QCOMPARE(outputs->at(0).frame, 1);
        QCOMPARE(outputs->at(0).size, qint64(frame.size()));

        QTemporaryDir dir;
        const QString target = dir.filePath("f1.png");
        qint64 lastProgress = 0;
        const auto n = waitFor<qint64>([&](auto cb) {
            api.downloadOutput(id, "frame_0001.png", target, cb,
                               [&](qint64 done, qint64) { lastProgress = done; });
        });
        QVERIFY2(n.ok(), qPrintable(n.ok() ? "" : n.error().message));
        QCOMPARE(*n, qint64(frame.size()));
        QCOMPARE(lastProgress, qint64(frame.size()));
        QFile f(target);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), frame);
        QVERIFY(!QFile::exists(target + ".part"));

        const QString missing = dir.filePath("missing.png");
        const auto err = waitFor<qint64>(
            [&](auto cb) { api.downloadOutput(id, "frame_0099.png", missing, cb); });
        QVERIFY(!err.ok());
        QCOMPARE(err.error().code, QString("not_found"));
        QVERIFY(!QFile::exists(missing));
        QVERIFY(!QFile::exists(missing + ".part"));
        const auto traversal =
            waitFor<qint64>([&](auto cb) { api.downloadOutput(id, "../etc", missing, cb); });
        QCOMPARE(traversal.error().code, QString("invalid_field"));
    }

    void statusNodesLogAndCancel()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.files.insert(kSha, "x");
        Node n;
        n.id = 4;
        n.caps.name = "ws-lab-3";
        n.caps.cores = 16;
        n.caps.gpus.append({"RTX 4090", "GPU-1", 24576, "8.9", "550"});
        n.state = NodeState::Busy;
        n.running = {101};
        fake.nodes.append(n);
        fake.logs.insert(101, "rendering frame 1\n");
        const qint64 id = fake.addJob(specFor(kSha)).id;
        ApiClient api(fake.url());

        const auto status = waitFor<client::ServerStatus>([&](auto cb) { api.status(cb); });
        QVERIFY(status.ok());
        QCOMPARE(status->protocol, 1);
        QCOMPARE(status->nodesOnline, qint64(1));
        const auto nodes = waitFor<QList<Node>>([&](auto cb) { api.nodes(cb); });
        QVERIFY(nodes.ok());
        QCOMPARE(nodes->first().caps.gpus.first().name, QString("RTX 4090"));
        QCOMPARE(nodes->first().running, QList<qint64>{101});
        const auto log = waitFor<QString>([&](auto cb) { api.taskLog(101, cb); });
        QCOMPARE(*log, QString("rendering frame 1\n"));
        const auto canceled = waitFor<Job>([&](auto cb) { api.cancelJob(id, cb); });
        QVERIFY(canceled->state == JobState::Canceled);
        const auto again = waitFor<Job>([&](auto cb) { api.cancelJob(id, cb); });
        QCOMPARE(again.error().code, QString("conflict"));
    }

    void decodeJobIgnoresUnknownKeys()
    {
        Job j;
        j.id = 5;
        j.spec = specFor(kSha);
        QJsonObject o = j.toJson();
        o.insert("explain", "waiting for a GPU node");
        const auto decoded = client::decodeJob(o);
        QVERIFY(decoded.ok());
        QCOMPARE(decoded->id, qint64(5));
        o.remove("id");
        QVERIFY(!client::decodeJob(o).ok());
    }
};

QTEST_GUILESS_MAIN(TestApiClient)
#include "tst_apiclient.moc"
