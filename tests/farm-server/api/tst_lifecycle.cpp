// Lifecycle actions over the real HTTP API and simulated nodes on the real /ws/node socket:
// priority, re-run, re-queue, delete with inputs, depends_on, wait, batch, no-progress timeout
// and max_run_s. Every refused request is checked to change nothing.
#include "api/apiclient.h"
#include "api/openapicheck.h"
#include "client/uploader.h"

#include "files/filestore.h"
#include "model/job.h"
#include "serverconfig.h"

#include <QDir>
#include <QFile>

#include <zip.h>

using namespace farm;
using namespace farm::server;
using namespace farm::server::test;

namespace {

/// A node that finishes every task it is given at once: accepted, each frame's image uploaded,
/// then done naming them.
class AutoNode : public WsClient
{
public:
    explicit AutoNode(TestServer &server)
    {
        connect(&socket, &QWebSocket::textMessageReceived, this,
                [this, &server](const QString &text) {
                    const auto e = Envelope::parse(text.toUtf8());
                    if (!e || e->type != "task.assign")
                        return;
                    const qint64 task = e->data.value("task").toInteger();
                    send("task.accepted", {{"task", task}});
                    QJsonArray outputs;
                    const auto frames = FrameRange::parse(e->data.value("frames").toString());
                    for (int f : frames ? frames->frames() : QList<int>{}) {
                        const QString name = QString("frame_%1.png").arg(f, 4, 10, QChar('0'));
                        if (server.putOutput(secret(), task, name, "png").status == 200)
                            outputs.append(name);
                    }
                    send("task.done", {{"task", task}, {"outputs", outputs}});
                });
    }
};

} // namespace

class TestLifecycle : public QObject
{
    Q_OBJECT

    std::unique_ptr<TestServer> s;
    QString sha;

    QUrl ws() const { return QUrl(QString("ws://127.0.0.1:%1/ws/node").arg(s->server->port())); }
    bool join(WsClient &node, const QString &name)
    {
        if (!node.open(ws()))
            return false;
        node.send("hello", nodeHello(name));
        return node.waitFor("welcome") >= 0;
    }
    /// Waits until every message sent so far was handled (an invalid one is answered in order).
    bool barrier(WsClient &node)
    {
        const int from = int(node.received.size());
        node.send("task.accepted", {{"task", 0}});
        return node.waitFor("error", from) >= 0;
    }
    /// The task ids of `task.assign` messages at or after `from`.
    static QList<qint64> assigned(const WsClient &node, int from = 0)
    {
        QList<qint64> ids;
        for (int i = from; i < node.received.size(); ++i)
            if (node.received[i].type == "task.assign")
                ids.append(node.received[i].data.value("task").toInteger());
        return ids;
    }
    static bool gotCancel(const WsClient &node, qint64 task, int from = 0)
    {
        for (int i = from; i < node.received.size(); ++i)
            if (node.received[i].type == "task.cancel" &&
                node.received[i].data.value("task").toInteger() == task)
                return true;
        return false;
    }
    /// Renders task `task` on `node`: accepted, its frame's image uploaded, done.
    bool finish(WsClient &node, qint64 task, int frame)
    {
        node.send("task.accepted", {{"task", task}});
        const QString name = frameFileName(frame);
        if (s->putOutput(node.secret(), task, name, "png bytes " + name.toUtf8()).status != 200)
            return false;
        node.send("task.done", {{"task", task}, {"outputs", QJsonArray{name}}});
        return waitTask(task, "done");
    }
    bool waitTask(qint64 task, const QString &state)
    {
        for (int i = 0; i < 500; ++i) {
            const auto t = s->store().task(task);
            if (t && toString(t->task.state) == state)
                return true;
            QTest::qWait(10);
        }
        return false;
    }
    QList<qint64> taskIds(qint64 job)
    {
        QList<qint64> ids;
        for (const TaskRecord &t : s->store().tasksOfJob(job))
            ids.append(t.task.id);
        return ids;
    }
    qint64 submit(const QJsonObject &body)
    {
        return s->post("/api/v1/jobs", body).json().value("id").toInteger();
    }
    QJsonObject job(qint64 id) { return s->get(QString("/api/v1/jobs/%1").arg(id)).json(); }
    HttpResult action(qint64 job, const QString &what, const QJsonObject &body = {})
    {
        return s->request("POST", QString("/api/v1/jobs/%1/%2").arg(job).arg(what),
                          body.isEmpty() ? QByteArray() : QJsonDocument(body).toJson());
    }
    int jobCount() { return s->get("/api/v1/jobs").json().value("total").toInt(); }
    /// The answer fits its schema in resources/api/openapi.json.
    static QString misfit(const HttpResult &r, const QString &method, const QString &path)
    {
        const farm::test::SchemaChecker checker(farm::test::openApiDocument());
        const QJsonValue schema = checker.responseSchema(path, method, r.status);
        if (schema.isUndefined())
            return QString("%1 %2 %3 is not documented").arg(method, path).arg(r.status);
        return checker.check(schema, QJsonDocument::fromJson(r.body).object()).join("; ");
    }

private slots:
    void init()
    {
        s = std::make_unique<TestServer>();
        sha = s->upload("solid bytes of a model");
        QVERIFY(isSha256Hex(sha));
    }
    void cleanup() { s.reset(); }

    void priorityChangesDispatchOrder()
    {
        const qint64 first = submit(jobBody(sha, "1"));
        const qint64 second = submit(jobBody(sha, "1"));
        auto r = action(second, "priority", {{"priority", 90}});
        QCOMPARE(r.status, 200);
        QCOMPARE(misfit(r, "POST", "/api/v1/jobs/{id}/priority"), QString());
        QCOMPARE(r.json().value("priority").toInt(), 90);
        QCOMPARE(job(second).value("priority").toInt(), 90);

        // Refused, and nothing changes: out of range, wrong type, missing, unknown key.
        for (const QJsonObject &bad :
             {QJsonObject{{"priority", 101}}, QJsonObject{{"priority", "high"}}, QJsonObject{},
              QJsonObject{{"priority", 10}, {"urgent", true}}}) {
            r = action(second, "priority", bad);
            QCOMPARE(r.status, 400);
            QVERIFY(!r.errorCode().isEmpty());
        }
        QCOMPARE(s->request("POST", QString("/api/v1/jobs/%1/priority").arg(second), "{").status,
                 400);
        QCOMPARE(job(second).value("priority").toInt(), 90);
        QCOMPARE(action(99999, "priority", {{"priority", 5}}).status, 404);

        // The later job with the higher priority runs first.
        WsClient node;
        QVERIFY(join(node, "prio-node"));
        QVERIFY(barrier(node));
        QCOMPARE(assigned(node), QList<qint64>{taskIds(second).first()});
        Q_UNUSED(first);

        QCOMPARE(action(second, "cancel").status, 200);
        r = action(second, "priority", {{"priority", 10}});
        QCOMPARE(r.status, 409);
        QCOMPARE(r.errorCode(), QString("conflict"));
        QCOMPARE(job(second).value("priority").toInt(), 90);
    }

    void rerunChosenFramesThenAll()
    {
        const qint64 id = submit(jobBody(sha, "1-2"));
        const QList<qint64> tasks = taskIds(id);
        QCOMPARE(tasks.size(), 2);
        QCOMPARE(action(id, "rerun").status, 409); // still queued: nothing finished to re-run

        WsClient node;
        QVERIFY(join(node, "rerun-node"));
        QVERIFY(barrier(node));
        QVERIFY(finish(node, tasks[0], 1));
        QVERIFY(barrier(node));
        QVERIFY(finish(node, tasks[1], 2));
        QCOMPARE(job(id).value("state").toString(), QString("completed"));
        const QString frame2 = s->server->files().outputPath(id, "frame_0002.png");
        QVERIFY(QFile::exists(frame2));

        // Bad input changes nothing.
        QCOMPARE(action(id, "rerun", {{"frames", "abc"}}).status, 400);
        QCOMPARE(action(id, "rerun", {{"frames", "7"}}).errorCode(), QString("invalid_field"));
        QCOMPARE(action(id, "rerun", {{"frames", 2}}).status, 400);
        QCOMPARE(action(id, "rerun", {{"frame", "2"}}).errorCode(), QString("unknown_field"));
        QCOMPARE(job(id).value("state").toString(), QString("completed"));
        QVERIFY(QFile::exists(frame2));

        // Frame 2 only: its task and image go, frame 1 stays done.
        const int from = int(node.received.size());
        auto r = action(id, "rerun", {{"frames", "2"}});
        QCOMPARE(r.status, 200);
        QCOMPARE(misfit(r, "POST", "/api/v1/jobs/{id}/rerun"), QString());
        QCOMPARE(r.json().value("state").toString(), QString("active"));
        QCOMPARE(r.json().value("tasks").toObject().value("done").toInt(), 1);
        QVERIFY(!QFile::exists(frame2));
        const QJsonArray outputs =
            s->get(QString("/api/v1/jobs/%1/outputs").arg(id)).json().value("outputs").toArray();
        QCOMPARE(outputs.size(), 1);
        QCOMPARE(outputs[0].toObject().value("name").toString(), QString("frame_0001.png"));
        QVERIFY(node.waitFor("task.assign", from) >= 0);
        QCOMPARE(assigned(node, from), QList<qint64>{tasks[1]});
        QVERIFY(finish(node, tasks[1], 2));
        QCOMPARE(job(id).value("state").toString(), QString("completed"));
        QVERIFY(QFile::exists(frame2));

        // Everything: the job starts over from queued.
        QCOMPARE(node.socket.state(), QAbstractSocket::ConnectedState);
        node.socket.close();
        QVERIFY(node.waitClosed());
        r = action(id, "rerun");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value("state").toString(), QString("queued"));
        QCOMPARE(r.json().value("tasks").toObject().value("queued").toInt(), 2);
        QCOMPARE(s->get(QString("/api/v1/jobs/%1/outputs").arg(id))
                     .json()
                     .value("outputs")
                     .toArray()
                     .size(),
                 0);
    }

    void requeueOneTask()
    {
        const qint64 id = submit(jobBody(sha, "1-2"));
        const QList<qint64> tasks = taskIds(id);
        QCOMPARE(s->request("POST", QString("/api/v1/tasks/%1/requeue").arg(tasks[0])).status,
                 409); // queued already
        QCOMPARE(s->request("POST", "/api/v1/tasks/99999/requeue").status, 404);

        WsClient node;
        QVERIFY(join(node, "requeue-node"));
        QVERIFY(barrier(node));
        QCOMPARE(assigned(node), QList<qint64>{tasks[0]});
        node.send("task.accepted", {{"task", tasks[0]}});
        QVERIFY(waitTask(tasks[0], "running"));

        // A running task: stopped on its node, queued again without counting an attempt, and
        // given out again.
        int from = int(node.received.size());
        auto r = s->request("POST", QString("/api/v1/tasks/%1/requeue").arg(tasks[0]));
        QCOMPARE(r.status, 200);
        QVERIFY(node.waitFor("task.cancel", from) >= 0);
        QVERIFY(gotCancel(node, tasks[0], from));
        QVERIFY(node.waitFor("task.assign", from) >= 0);
        QCOMPARE(s->store().task(tasks[0])->task.attempts, 0);
        const qint64 again = assigned(node, from).first();
        QVERIFY(finish(node, again, again == tasks[0] ? 1 : 2));
        QVERIFY(barrier(node));
        const qint64 other = again == tasks[0] ? tasks[1] : tasks[0];
        QVERIFY(finish(node, other, other == tasks[0] ? 1 : 2));
        QCOMPARE(job(id).value("state").toString(), QString("completed"));

        // A done task of a completed job: the job opens again and the task renders again.
        from = int(node.received.size());
        r = s->request("POST", QString("/api/v1/tasks/%1/requeue").arg(tasks[1]));
        QCOMPARE(r.status, 200);
        // Queued, and given to the idle node before the answer was written.
        QCOMPARE(r.json().value("state").toString(), QString("assigned"));
        QCOMPARE(r.json().value("attempts").toInt(), 0);
        QCOMPARE(job(id).value("state").toString(), QString("active"));
        QCOMPARE(job(id).value("tasks").toObject().value("done").toInt(), 1);
        QVERIFY(node.waitFor("task.assign", from) >= 0);
        QCOMPARE(assigned(node, from), QList<qint64>{tasks[1]});

        // A canceled job's tasks are not re-queued one by one.
        QCOMPARE(action(id, "cancel").status, 200);
        r = s->request("POST", QString("/api/v1/tasks/%1/requeue").arg(tasks[0]));
        QCOMPARE(r.status, 409);
        QVERIFY(r.json().value("error").toObject().value("message").toString().contains("retry"));
    }

    void deleteRemovesUnusedInputs()
    {
        const QString own = s->upload("bytes only the first job uses", "own.glb");
        QJsonObject both = jobBody(sha, "1");
        both.insert(
            "input",
            QJsonObject{{"main", "model.glb"},
                        {"files", QJsonArray{QJsonObject{{"path", "model.glb"}, {"file", own}},
                                             QJsonObject{{"path", "shared.bin"}, {"file", sha}}}}});
        const qint64 first = submit(both);
        const qint64 second = submit(jobBody(sha, "1"));
        QVERIFY(first && second);
        const QString ownPath = s->server->files().filePath(own);
        const QString sharedPath = s->server->files().filePath(sha);

        auto r = s->request("DELETE", QString("/api/v1/jobs/%1").arg(first));
        QCOMPARE(r.status, 409); // not finished: nothing removed
        QVERIFY(QFile::exists(ownPath));
        QCOMPARE(action(first, "cancel").status, 200);
        QCOMPARE(s->request("DELETE", QString("/api/v1/jobs/%1").arg(first)).status, 204);
        QVERIFY(!QFile::exists(ownPath));
        QVERIFY(QFile::exists(sharedPath)); // the second job still uses it
        QCOMPARE(s->request("HEAD", "/api/v1/files/" + own).status, 404);

        QCOMPARE(action(second, "cancel").status, 200);
        QCOMPARE(s->request("DELETE", QString("/api/v1/jobs/%1").arg(second)).status, 204);
        QVERIFY(!QFile::exists(sharedPath));
    }

    void dependsOn()
    {
        const qint64 first = submit(jobBody(sha, "1"));
        QJsonObject body = jobBody(sha, "1");
        body.insert("depends_on", QJsonArray{first});
        auto r = s->post("/api/v1/jobs", body);
        QCOMPARE(r.status, 201);
        const qint64 second = r.json().value("id").toInteger();
        QCOMPARE(r.json().value("depends_on").toArray(), QJsonArray{first});

        // Bad dependencies are refused and create nothing.
        const int before = jobCount();
        for (const QJsonValue &bad : {QJsonValue(QJsonArray{99999}), QJsonValue("1"),
                                      QJsonValue(QJsonArray{-1}), QJsonValue(QJsonArray{1.5})}) {
            body.insert("depends_on", bad);
            r = s->post("/api/v1/jobs", body);
            QCOMPARE(r.status, 400);
            QCOMPARE(r.errorCode(), QString("invalid_field"));
        }
        QCOMPARE(jobCount(), before);

        // The second job waits until the first completed.
        WsClient node;
        QVERIFY(join(node, "deps-node"));
        QVERIFY(barrier(node));
        QCOMPARE(assigned(node), taskIds(first));
        const QJsonArray why = s->get(QString("/api/v1/jobs/%1/explain").arg(second))
                                   .json()
                                   .value("reasons")
                                   .toArray();
        QVERIFY2(QJsonDocument(why).toJson().contains("waits for job"),
                 QJsonDocument(why).toJson().constData());
        const int from = int(node.received.size());
        QVERIFY(finish(node, taskIds(first).first(), 1));
        QVERIFY(node.waitFor("task.assign", from) >= 0);
        QCOMPARE(assigned(node, from), taskIds(second));
        node.socket.close();
        QVERIFY(node.waitClosed());

        // A canceled dependency fails the jobs that wait for it, and theirs.
        const qint64 a = submit(jobBody(sha, "1"));
        body.insert("depends_on", QJsonArray{a});
        const qint64 b = submit(body);
        body.insert("depends_on", QJsonArray{b});
        const qint64 c = submit(body);
        QVERIFY(a && b && c);
        QCOMPARE(action(a, "cancel").status, 200);
        QCOMPARE(job(b).value("state").toString(), QString("failed"));
        QVERIFY(job(b).value("error").toString().contains(QString("job %1").arg(a)));
        QCOMPARE(job(c).value("state").toString(), QString("failed"));
        QCOMPARE(job(c).value("tasks").toObject().value("canceled").toInt(), 1);
        // It can be retried only once what it waits for can complete again.
        r = action(b, "retry");
        QCOMPARE(r.status, 409);
        QCOMPARE(job(b).value("state").toString(), QString("failed"));
        body.insert("depends_on", QJsonArray{a});
        QCOMPARE(s->post("/api/v1/jobs", body).status, 400); // a is canceled
        QCOMPARE(action(a, "retry").status, 200);
        QCOMPARE(action(b, "retry").status, 200);
        QCOMPARE(job(b).value("state").toString(), QString("queued"));
    }

    void waitForTheJob()
    {
        // Bad wait parameters are refused before anything is created.
        const int before = jobCount();
        const QByteArray body = QJsonDocument(jobBody(sha, "1")).toJson();
        for (const char *query : {"?wait=maybe", "?wait=true&timeout=0", "?wait=true&timeout=601",
                                  "?wait=true&timeout=x", "?timeout=5"}) {
            const auto r = s->request("POST", QString("/api/v1/jobs") + query, body);
            QCOMPARE(r.status, 400);
            QCOMPARE(r.errorCode(), QString("invalid_field"));
        }
        QCOMPARE(jobCount(), before);

        // No node: the time runs out, 202 with the job as it is.
        QElapsedTimer timer;
        timer.start();
        auto r = s->request("POST", "/api/v1/jobs?wait=true&timeout=1", body);
        QCOMPARE(r.status, 202);
        QCOMPARE(misfit(r, "POST", "/api/v1/jobs"), QString());
        QCOMPARE(r.json().value("state").toString(), QString("queued"));
        QVERIFY(timer.elapsed() >= 900);
        QCOMPARE(jobCount(), before + 1);

        // The server stays responsive while a submission waits: a second one answers first.
        AutoNode node(*s);
        QVERIFY(join(node, "wait-node"));
        r = s->request("POST", "/api/v1/jobs?wait=true&timeout=60",
                       QJsonDocument(jobBody(sha, "1-3")).toJson());
        QCOMPARE(r.status, 200);
        QCOMPARE(misfit(r, "POST", "/api/v1/jobs"), QString());
        QCOMPARE(r.json().value("state").toString(), QString("completed"));
        QCOMPARE(r.json().value("tasks").toObject().value("done").toInt(), 3);
    }

    void batchIsAllOrNothing()
    {
        QJsonArray jobs{jobBody(sha, "1"), jobBody(sha, "1-2"), jobBody(sha, "3")};
        auto r = s->post("/api/v1/jobs:batch", {{"jobs", jobs}});
        QCOMPARE(r.status, 201);
        const QJsonArray created = r.json().value("jobs").toArray();
        QCOMPARE(created.size(), 3);
        QCOMPARE(created[1].toObject().value("tasks").toObject().value("total").toInt(), 2);
        QCOMPARE(jobCount(), 3);

        // One bad job stores none, and the error names it.
        QJsonObject bad = jobBody(QString(64, 'a'), "1");
        jobs = {jobBody(sha, "1"), bad, jobBody(sha, "2")};
        r = s->post("/api/v1/jobs:batch", {{"jobs", jobs}});
        QCOMPARE(r.status, 400);
        QVERIFY2(
            r.json().value("error").toObject().value("message").toString().startsWith("jobs[1]:"),
            r.body.constData());
        QJsonArray tooMany;
        for (int i = 0; i < 101; ++i)
            tooMany.append(jobBody(sha, "1"));
        QCOMPARE(s->post("/api/v1/jobs:batch", {{"jobs", tooMany}}).status, 400);
        QCOMPARE(s->post("/api/v1/jobs:batch", {{"jobs", QJsonArray{}}}).status, 400);
        QCOMPARE(s->post("/api/v1/jobs:batch", {{"jobs", QJsonArray{1}}}).status, 400);
        QCOMPARE(s->post("/api/v1/jobs:batch", {{"jobs", jobs}, {"x", 1}}).errorCode(),
                 QString("unknown_field"));
        QJsonObject archive = jobBody(sha, "1");
        archive.insert("input", QJsonObject{{"archive", sha}});
        QCOMPARE(s->post("/api/v1/jobs:batch", {{"jobs", QJsonArray{archive}}}).status, 400);
        QCOMPARE(jobCount(), 3);
    }

    void archiveOfOutputs()
    {
        const qint64 id = submit(jobBody(sha, "1-3"));
        QCOMPARE(s->get(QString("/api/v1/jobs/%1/archive").arg(id)).status, 404); // none yet
        QCOMPARE(s->get("/api/v1/jobs/99999/archive").status, 404);
        WsClient node;
        QVERIFY(join(node, "zip-node"));
        for (int i = 0; i < 3; ++i) {
            QVERIFY(barrier(node));
            const QList<qint64> given = assigned(node);
            QVERIFY(finish(node, given.last(), i + 1));
        }
        QCOMPARE(job(id).value("state").toString(), QString("completed"));

        const auto r = s->get(QString("/api/v1/jobs/%1/archive").arg(id));
        QCOMPARE(r.status, 200);
        QCOMPARE(r.contentType, QByteArray("application/zip"));
        // The archive holds every output with its bytes.
        zip_error_t error;
        zip_error_init(&error);
        zip_source_t *src = zip_source_buffer_create(r.body.constData(), r.body.size(), 0, &error);
        QVERIFY(src);
        zip_t *zip = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &error);
        QVERIFY(zip);
        QCOMPARE(zip_get_num_entries(zip, 0), zip_int64_t(3));
        for (int frame = 1; frame <= 3; ++frame) {
            const QString name = frameFileName(frame);
            zip_stat_t st;
            QVERIFY(zip_stat(zip, name.toUtf8().constData(), 0, &st) == 0);
            zip_file_t *f = zip_fopen(zip, name.toUtf8().constData(), 0);
            QVERIFY(f);
            QByteArray bytes(qsizetype(st.size), '\0');
            QCOMPARE(zip_fread(f, bytes.data(), st.size), zip_int64_t(st.size));
            zip_fclose(f);
            QCOMPARE(bytes, "png bytes " + name.toUtf8());
        }
        zip_close(zip);
        // Nothing is left behind in the server's temporary folder.
        QTest::qWait(50);
        QVERIFY(QDir(s->server->files().tempDir()).entryList({"archive-*"}, QDir::Files).isEmpty());
    }

    void noProgressTimeoutMovesTheTask()
    {
        ManualClock clock;
        ServerConfig config;
        config.leaseS = 3600; // the nodes stay alive however far the clock moves
        config.noProgressS = 30;
        s = std::make_unique<TestServer>(config, &clock);
        sha = s->upload("solid bytes of a model");
        const qint64 id = submit(jobBody(sha, "1"));
        const qint64 task = taskIds(id).first();

        WsClient hung, healthy;
        QVERIFY(join(hung, "hung-node"));
        QVERIFY(barrier(hung));
        QCOMPARE(assigned(hung), QList<qint64>{task});
        hung.send("task.accepted", {{"task", task}});
        hung.send("task.progress", {{"task", task}, {"progress", 0.1}});
        QVERIFY(join(healthy, "healthy-node"));
        QVERIFY(barrier(healthy));
        QVERIFY(assigned(healthy).isEmpty());

        // 25 s without progress: under the limit, nothing happens.
        clock.advance(25'000);
        hung.send("heartbeat", {{"running", QJsonArray{task}}});
        QVERIFY(barrier(hung));
        s->server->scheduler().checkTasks();
        QVERIFY(s->store().task(task)->task.state == TaskState::Running);

        // 31 s: the task fails an attempt, is stopped on the hung node (which still sends
        // heartbeats) and goes to the other node.
        clock.advance(6'000);
        const int hungFrom = int(hung.received.size());
        const int healthyFrom = int(healthy.received.size());
        hung.send("heartbeat", {{"running", QJsonArray{task}}});
        healthy.send("heartbeat", {{"running", QJsonArray{}}});
        QVERIFY(barrier(hung));
        QVERIFY(barrier(healthy));
        s->server->scheduler().checkTasks();
        QVERIFY(hung.waitFor("task.cancel", hungFrom) >= 0);
        QVERIFY(healthy.waitFor("task.assign", healthyFrom) >= 0);
        QCOMPARE(assigned(healthy, healthyFrom), QList<qint64>{task});
        QVERIFY(assigned(hung, hungFrom).isEmpty());
        const Task t = s->store().task(task)->task;
        QCOMPARE(t.attempts, 1);
        QVERIFY2(t.error.contains("no progress for 31 s on node hung-node"), qPrintable(t.error));
        QCOMPARE(hung.socket.state(), QAbstractSocket::ConnectedState);

        // Progress keeps a task alive past the limit counted from its start.
        healthy.send("task.accepted", {{"task", task}});
        clock.advance(20'000);
        healthy.send("task.progress", {{"task", task}, {"progress", 0.5}});
        QVERIFY(barrier(healthy));
        clock.advance(20'000);
        s->server->scheduler().checkTasks();
        QVERIFY(s->store().task(task)->task.state == TaskState::Running);
        QCOMPARE(s->store().task(task)->task.nodeName, QString("healthy-node"));
        // So does an output upload (the render is over, the node sends its files).
        QCOMPARE(s->putOutput(healthy.secret(), task, "frame_0001.png", "png").status, 200);
        clock.advance(20'000);
        s->server->scheduler().checkTasks();
        QVERIFY(s->store().task(task)->task.state == TaskState::Running);
        clock.advance(11'000);
        s->server->scheduler().checkTasks();
        QVERIFY(s->store().task(task)->task.state != TaskState::Running);
    }

    void maxRunTime()
    {
        ManualClock clock;
        ServerConfig config;
        config.leaseS = 3600;
        config.noProgressS = 0; // off: only the job's own limit applies
        s = std::make_unique<TestServer>(config, &clock);
        sha = s->upload("solid bytes of a model");
        QJsonObject body = jobBody(sha, "1");
        for (const QJsonValue &bad :
             {QJsonValue(-1), QJsonValue("10"), QJsonValue(kMaxRunSeconds + 1)}) {
            body.insert("max_run_s", bad);
            QCOMPARE(s->post("/api/v1/jobs", body).status, 400);
        }
        QCOMPARE(jobCount(), 0);
        body.insert("max_run_s", 10);
        auto r = s->post("/api/v1/jobs", body);
        QCOMPARE(r.status, 201);
        QCOMPARE(r.json().value("max_run_s").toInt(), 10);
        const qint64 task = taskIds(r.json().value("id").toInteger()).first();

        WsClient node;
        QVERIFY(join(node, "slow-node"));
        QVERIFY(barrier(node));
        node.send("task.accepted", {{"task", task}});
        for (int i = 1; i <= 4; ++i) { // busy, but too slow
            clock.advance(3'000);
            node.send("task.progress", {{"task", task}, {"progress", 0.1 * i}});
            QVERIFY(barrier(node));
            s->server->scheduler().checkTasks();
        }
        const Task t = s->store().task(task)->task;
        QCOMPARE(t.attempts, 1);
        QVERIFY2(t.error.contains("past the job's max_run_s (10 s)"), qPrintable(t.error));
    }

    void retentionDryRunThenApply()
    {
        ManualClock clock;
        ServerConfig config;
        config.leaseS = 30 * 24 * 3600; // the node stays through the days the clock moves
        config.retentionOutputDays = 7;
        config.retentionInputDays = 7;
        config.retentionInputMb = 1;
        s = std::make_unique<TestServer>(config, &clock);
        sha = s->upload("solid bytes of a model");
        WsClient node;
        QVERIFY(join(node, "keep-node"));
        const qint64 old = submit(jobBody(sha, "1"));
        QVERIFY(barrier(node));
        QVERIFY(finish(node, taskIds(old).first(), 1));
        clock.advance(8LL * 24 * 3600 * 1000);
        const qint64 recent = submit(jobBody(sha, "1"));
        QVERIFY(barrier(node));
        QVERIFY(finish(node, taskIds(recent).first(), 1));

        // Unused uploads: one unchanged for 10 days, two of 700 KiB over the 1 MiB kept.
        QStringList unused;
        for (int i = 0; i < 3; ++i) {
            const QByteArray bytes(700 * 1024, char('a' + i));
            unused.append(s->upload(bytes, QString("unused%1.bin").arg(i)));
            QFile f(s->server->files().filePath(unused.last()));
            QVERIFY(f.open(QIODevice::ReadWrite));
            QVERIFY(f.setFileTime(clock.now().addDays(i == 0   ? -10
                                                      : i == 1 ? -1
                                                               : 0),
                                  QFileDevice::FileModificationTime));
        }

        // The dry run lists and removes nothing.
        auto r = s->get("/api/v1/retention");
        QCOMPARE(r.status, 200);
        QCOMPARE(misfit(r, "GET", "/api/v1/retention"), QString());
        QVERIFY(r.json().value("enabled").toBool());
        QCOMPARE(r.json().value("rules").toObject().value("output_days").toInt(), 7);
        QJsonObject plan = r.json().value("expire").toObject();
        QJsonArray outputs = plan.value("outputs").toArray();
        QCOMPARE(outputs.size(), 1);
        QCOMPARE(outputs[0].toObject().value("job").toInteger(), old);
        QVERIFY(outputs[0].toObject().value("reason").toString().contains("7 days"));
        QJsonArray inputs = plan.value("inputs").toArray();
        QCOMPARE(inputs.size(), 2);
        QCOMPARE(inputs[0].toObject().value("file").toString(), unused[0]);
        QVERIFY(inputs[0].toObject().value("reason").toString().contains("unchanged"));
        QCOMPARE(inputs[1].toObject().value("file").toString(), unused[1]);
        QVERIFY(inputs[1].toObject().value("reason").toString().contains("over the 1 MiB"));
        const QString oldFrame = s->server->files().outputPath(old, "frame_0001.png");
        QVERIFY(QFile::exists(oldFrame));
        QVERIFY(QFile::exists(s->server->files().filePath(unused[0])));

        r = s->post("/api/v1/retention/run", QJsonObject{});
        QCOMPARE(r.status, 200);
        QCOMPARE(misfit(r, "POST", "/api/v1/retention/run"), QString());
        QCOMPARE(r.json().value("removed").toObject().value("outputs").toArray().size(), 1);
        QCOMPARE(r.json().value("removed").toObject().value("inputs").toArray().size(), 2);
        QVERIFY(!QFile::exists(oldFrame));
        QCOMPARE(s->get(QString("/api/v1/jobs/%1/outputs").arg(old))
                     .json()
                     .value("outputs")
                     .toArray()
                     .size(),
                 0);
        QCOMPARE(job(old).value("state").toString(), QString("completed")); // history stays
        QVERIFY(QFile::exists(s->server->files().outputPath(recent, "frame_0001.png")));
        QVERIFY(!QFile::exists(s->server->files().filePath(unused[0])));
        QVERIFY(!QFile::exists(s->server->files().filePath(unused[1])));
        QVERIFY(QFile::exists(s->server->files().filePath(unused[2])));
        QVERIFY(QFile::exists(s->server->files().filePath(sha))); // jobs use it
        plan = s->get("/api/v1/retention").json().value("expire").toObject();
        QCOMPARE(plan.value("bytes").toInteger(), 0);
    }

    void othersJobsAreRefused()
    {
        ServerConfig config;
        config.token = "admin-token";
        config.trustLoopback = false;
        s = std::make_unique<TestServer>(config);
        s->bearer = "admin-token";
        sha = s->upload("solid bytes of a model");
        const qint64 id = submit(jobBody(sha, "1"));
        const qint64 task = taskIds(id).first();
        const QByteArray bob = s->post("/api/v1/users", {{"name", "bob"}, {"role", "user"}})
                                   .json()
                                   .value("token")
                                   .toString()
                                   .toUtf8();
        QVERIFY(!bob.isEmpty());
        s->bearer = bob;
        // A user acts only on their own jobs, and retention is an admin's.
        QCOMPARE(action(id, "priority", {{"priority", 99}}).status, 403);
        QCOMPARE(s->request("POST", QString("/api/v1/tasks/%1/requeue").arg(task)).status, 403);
        QCOMPARE(s->get("/api/v1/retention").status, 403);
        QCOMPARE(s->post("/api/v1/retention/run", QJsonObject{}).status, 403);
        QCOMPARE(s->get(QString("/api/v1/jobs/%1/archive").arg(id)).status, 404); // read: open
        s->bearer = {};
        QCOMPARE(action(id, "priority", {{"priority", 99}}).status, 401);
        s->bearer = "admin-token";
        QCOMPARE(action(id, "cancel").status, 200);
        s->bearer = bob;
        QCOMPARE(action(id, "rerun").status, 403);
        s->bearer = "admin-token";
        QCOMPARE(job(id).value("priority").toInt(), 50);
        QCOMPARE(job(id).value("state").toString(), QString("canceled"));
    }

    // farm-gui's uploader (farmctl's too): a client that quit after one chunk, a server
    // restarted, the same file dropped again: only the missing chunks travel.
    void uploaderResumesAfterBothRestart()
    {
        QTemporaryDir dir;
        QByteArray data(3 * FileStore::kChunkSize - 1000, Qt::Uninitialized);
        for (qsizetype i = 0; i < data.size(); ++i)
            data[i] = char((i * 131) % 251);
        QFile f(dir.filePath("scene.glb"));
        QVERIFY(f.open(QIODevice::WriteOnly) && f.write(data) == data.size());
        f.close();
        const QString hash = QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex();
        // What the client managed before it quit: the session and its first chunk.
        const auto created = s->post(
            "/api/v1/uploads", {{"name", "scene.glb"}, {"size", data.size()}, {"sha256", hash}});
        QCOMPARE(created.status, 201);
        const QString id = created.json().value("id").toString();
        QCOMPARE(s->request("PUT", QString("/api/v1/uploads/%1/chunks/0").arg(id),
                            data.left(FileStore::kChunkSize), "application/octet-stream")
                     .status,
                 200);

        ServerConfig config;
        config.port = 0;
        config.dataDir = s->dataDir();
        s->server.reset();
        s->server = std::make_unique<FarmServer>(config);
        QVERIFY(s->server->start());

        farm::client::ApiClient api(s->url(""));
        farm::client::Uploader up(&api);
        QSignalSpy done(&up, &farm::client::Uploader::finished);
        up.start(f.fileName());
        QVERIFY(done.wait(30000));
        QCOMPARE(done.first().first().toString(), hash);
        QCOMPARE(up.sentChunks(), (QList<int>{1, 2}));
        QCOMPARE(up.bytesSent(), data.size() - FileStore::kChunkSize);
        QCOMPARE(s->get("/api/v1/uploads/" + id).status, 404); // completed
        QCOMPARE(s->request("HEAD", "/api/v1/files/" + hash).status, 200);
    }

    void serverFlags()
    {
        auto r = ServerConfig::fromArguments(
            {"farm-server", "--retention-output-days", "30", "--retention-input-mb", "2048"});
        QVERIFY(r);
        QCOMPARE(r->retentionOutputDays, 30);
        QCOMPARE(r->retentionInputMb, 2048);
        QCOMPARE(r->retentionOutputMb, 0);
        QVERIFY(!ServerConfig::fromArguments({"farm-server", "--retention-output-days", "-1"}));
        QVERIFY(!ServerConfig::fromArguments({"farm-server", "--retention-input-mb", "lots"}));
    }

    void noProgressFlag()
    {
        auto c = ServerConfig::fromArguments({"farm-server"});
        QVERIFY(c);
        QCOMPARE(c->noProgressS, kDefaultNoProgressS);
        c = ServerConfig::fromArguments({"farm-server", "--no-progress-timeout", "45"});
        QVERIFY(c);
        QCOMPARE(c->noProgressS, 45);
        c = ServerConfig::fromArguments({"farm-server", "--no-progress-timeout", "0"});
        QVERIFY(c);
        QCOMPARE(c->noProgressS, 0);
        QVERIFY(!ServerConfig::fromArguments({"farm-server", "--no-progress-timeout", "-5"}));
        QVERIFY(!ServerConfig::fromArguments({"farm-server", "--no-progress-timeout", "soon"}));
    }
};

QTEST_MAIN(TestLifecycle)
#include "tst_lifecycle.moc"
