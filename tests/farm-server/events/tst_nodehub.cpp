#include "api/apiclient.h"

using namespace farm;
using namespace farm::server;
using namespace farm::server::test;

class TestNodeHub : public QObject
{
    Q_OBJECT

    std::unique_ptr<TestServer> s;
    QString sha;

    QUrl ws(const QString &path, const TestServer &server) const
    {
        return QUrl(QString("ws://127.0.0.1:%1%2").arg(server.server->port()).arg(path));
    }
    qint64 submit(const QString &frames = "1", int chunk = 1)
    {
        return s->post("/api/v1/jobs", jobBody(sha, frames, chunk)).json().value("id").toInteger();
    }
    QString taskState(qint64 taskId)
    {
        const auto t = s->store().task(taskId);
        return t ? toString(t->task.state) : QString();
    }

private slots:
    void init()
    {
        s = std::make_unique<TestServer>();
        sha = s->upload("model bytes");
    }
    void cleanup() { s.reset(); }

    void nodeRendersATinyJob()
    {
        WsClient events;
        QVERIFY(events.open(ws("/ws/events", *s)));
        QVERIFY(events.waitFor("hello") == 0);
        QCOMPARE(events.received[0].data.value("protocol").toInt(), 1);

        const qint64 jobId = submit("1-2", 2);
        QVERIFY(events.waitFor("job.created") >= 0);

        WsClient node;
        QVERIFY(node.open(ws("/ws/node", *s)));
        node.send("hello", nodeHello("ws-lab-1"));
        const int welcome = node.waitFor("welcome");
        QVERIFY(welcome >= 0);
        QCOMPARE(node.received[welcome].data.value("heartbeat_s").toInt(), 5);
        const int assign = node.waitFor("task.assign");
        QVERIFY(assign >= 0);
        const QJsonObject a = node.received[assign].data;
        const qint64 taskId = a.value("task").toInteger();
        QCOMPARE(a.value("job").toInteger(), jobId);
        QCOMPARE(a.value("frames").toString(), QString("1-2"));
        QCOMPARE(a.value("job_frames").toString(), QString("1-2"));
        // The node fetches its input through the URL it was given.
        const auto input = s->get(a.value("input")
                                      .toObject()
                                      .value("files")
                                      .toArray()
                                      .first()
                                      .toObject()
                                      .value("url")
                                      .toString());
        QCOMPARE(input.body, QByteArray("model bytes"));

        node.send("task.accepted", {{"task", taskId}});
        node.send("task.progress", {{"task", taskId}, {"progress", 0.5}, {"frame", 1}});
        node.send("task.log", {{"task", taskId}, {"text", "rendered frame 1\n"}});
        QVERIFY(events.waitFor("task.updated", 0, [](const QJsonObject &t) {
            return t.value("progress").toDouble() == 0.5 &&
                   t.value("node").toString() == "ws-lab-1";
        }) >= 0);

        for (int f : {1, 2}) {
            const auto r = s->putOutput(node.secret(), taskId, frameFileName(f), "png bytes");
            QCOMPARE(r.status, 200);
        }
        QVERIFY(events.waitFor("task.preview", 0, [](const QJsonObject &p) {
            return p.value("frame").toInt() == 2 &&
                   p.value("output").toString() == "frame_0002.png";
        }) >= 0);
        node.send("task.done",
                  {{"task", taskId}, {"outputs", QJsonArray{"frame_0001.png", "frame_0002.png"}}});
        QVERIFY(events.waitFor("job.updated", 0, [](const QJsonObject &j) {
            return j.value("state").toString() == "completed";
        }) >= 0);
        const QJsonObject job = s->get(QString("/api/v1/jobs/%1").arg(jobId)).json();
        QCOMPARE(job.value("state").toString(), QString("completed"));
        QCOMPARE(job.value("progress").toDouble(), 1.0);
        QVERIFY(
            s->get(QString("/api/v1/tasks/%1/log").arg(taskId)).body.contains("rendered frame 1"));
        QVERIFY(events.waitFor("node.updated", 0, [](const QJsonObject &n) {
            return n.value("state").toString() == "idle";
        }) >= 0);
        const auto nodes = s->get("/api/v1/nodes").json().value("nodes").toArray();
        QCOMPARE(nodes.size(), 1);
        QCOMPARE(nodes[0].toObject().value("name").toString(), QString("ws-lab-1"));
        QVERIFY(s->get("/metrics").body.contains("farm_tasks_dispatched_total 1\n"));
    }

    void doneWithoutTheFrameImagesFailsTheAttempt()
    {
        // Over real sockets: a node says done for two frames but uploaded the image of one. The
        // frame that uploaded nothing is not done: the attempt fails with a clear error and the
        // task is given out again, and the job completes only once both images landed.
        const qint64 jobId = submit("1-2", 2);
        WsClient node;
        QVERIFY(node.open(ws("/ws/node", *s)));
        node.send("hello", nodeHello("ws-lab-1"));
        int assign = node.waitFor("task.assign");
        QVERIFY(assign >= 0);
        const qint64 taskId = node.received[assign].data.value("task").toInteger();
        node.send("task.accepted", {{"task", taskId}});
        node.send("task.done", {{"task", taskId}, {"outputs", QJsonArray{}}});
        int error = node.waitFor("error", assign);
        QVERIFY(error >= 0);
        QCOMPARE(node.received[error].data.value("code").toString(), QString("missing_outputs"));
        QVERIFY2(node.received[error].data.value("message").toString().contains("frame(s) 1-2"),
                 qPrintable(node.received[error].data.value("message").toString()));
        // Given out again (attempt 2), with the reason kept on the task.
        assign = node.waitFor("task.assign", assign + 1);
        QVERIFY(assign >= 0);
        QCOMPARE(node.received[assign].data.value("attempt").toInt(), 2);
        QVERIFY(s->store().task(taskId)->task.error.contains("without the image of frame(s) 1-2"));

        QCOMPARE(s->putOutput(node.secret(), taskId, frameFileName(1), "png bytes").status, 200);
        node.send("task.done", {{"task", taskId}, {"outputs", QJsonArray{frameFileName(1)}}});
        error = node.waitFor("error", error + 1);
        QVERIFY(error >= 0);
        QVERIFY(node.received[error].data.value("message").toString().contains("frame(s) 2"));
        QCOMPARE(s->get(QString("/api/v1/jobs/%1").arg(jobId)).json().value("state").toString(),
                 QString("active"));

        // Attempt 3 renders only frame 2 (frame 1 landed); with its image the job completes.
        assign = node.waitFor("task.assign", assign + 1);
        QVERIFY(assign >= 0);
        QCOMPARE(node.received[assign].data.value("frames").toString(), QString("2"));
        QCOMPARE(s->putOutput(node.secret(), taskId, frameFileName(2), "png bytes").status, 200);
        node.send("task.done", {{"task", taskId}, {"outputs", QJsonArray{frameFileName(2)}}});
        QTRY_COMPARE(s->get(QString("/api/v1/jobs/%1").arg(jobId)).json().value("state").toString(),
                     QString("completed"));
        QCOMPARE(s->get(QString("/api/v1/jobs/%1/outputs").arg(jobId))
                     .json()
                     .value("outputs")
                     .toArray()
                     .size(),
                 2);
    }

    void malformedMessagesAreAnswered()
    {
        WsClient node;
        QVERIFY(node.open(ws("/ws/node", *s)));
        node.socket.sendTextMessage("this is not json");
        QVERIFY(node.waitFor("error") >= 0); // before hello too: answered, not dropped
        node.send("hello", nodeHello("n"));
        QVERIFY(node.waitFor("welcome") >= 0);
        const int before = node.received.size();
        node.socket.sendTextMessage(R"({"type": 5})");
        node.socket.sendTextMessage(R"({"type": "task.explode", "seq": 2, "data": {}})");
        node.socket.sendTextMessage(
            R"({"type": "task.progress", "seq": 3, "data": {"task": "x"}})");
        node.socket.sendTextMessage(R"({"type": "heartbeat", "seq": 4, "data": []})");
        node.socket.sendBinaryMessage("\x01\x02");
        int errors = 0;
        for (int from = before; errors < 5; ++errors) {
            const int i = node.waitFor("error", from);
            QVERIFY(i >= 0);
            from = i + 1;
        }
        QVERIFY(node.received.last().data.value("code").isString());
        node.send("heartbeat", {{"running", QJsonArray{}}});
        QTest::qWait(50);
        QVERIFY(!node.closed);
        QCOMPARE(s->server->scheduler().onlineCount(), 1);
    }

    void firstMessageMustBeHello()
    {
        WsClient node;
        QVERIFY(node.open(ws("/ws/node", *s)));
        node.send("heartbeat", {{"running", QJsonArray{}}});
        QVERIFY(node.waitClosed());
        QCOMPARE(node.closeCode, QWebSocketProtocol::CloseCodePolicyViolated);
    }

    void joinTokenIsRequired()
    {
        ServerConfig c;
        c.joinToken = "node-secret";
        TestServer guarded(c);
        WsClient bad;
        QVERIFY(bad.open(ws("/ws/node", guarded)));
        bad.send("hello", nodeHello("intruder", 1, "guess"));
        QVERIFY(bad.waitClosed());
        QCOMPARE(bad.closeCode, QWebSocketProtocol::CloseCodePolicyViolated);
        WsClient good;
        QVERIFY(good.open(ws("/ws/node", guarded)));
        good.send("hello", nodeHello("friend", 1, "node-secret"));
        QVERIFY(good.waitFor("welcome") >= 0);
    }

    void socketDropRequeues()
    {
        submit("1");
        auto first = std::make_unique<WsClient>();
        QVERIFY(first->open(ws("/ws/node", *s)));
        first->send("hello", nodeHello("a"));
        const int assign = first->waitFor("task.assign");
        QVERIFY(assign >= 0);
        const qint64 taskId = first->received[assign].data.value("task").toInteger();
        QCOMPARE(taskState(taskId), QString("assigned"));
        first->socket.abort();
        first.reset();
        for (int i = 0; i < 500 && taskState(taskId) != "queued"; ++i)
            QTest::qWait(10);
        QCOMPARE(taskState(taskId), QString("queued"));
        QCOMPARE(s->store().task(taskId)->task.attempts, 0);

        WsClient second;
        QVERIFY(second.open(ws("/ws/node", *s)));
        second.send("hello", nodeHello("b"));
        const int again = second.waitFor("task.assign");
        QVERIFY(again >= 0);
        QCOMPARE(second.received[again].data.value("task").toInteger(), taskId);
        QCOMPARE(second.received[again].data.value("attempt").toInt(), 2);
    }

    // A templates job is one task; its view files, data files and camera files are stored with
    // their view index (or no frame) and served with fitting content types.
    void nodeRendersATemplateSet()
    {
        WsClient events;
        QVERIFY(events.open(ws("/ws/events", *s)));
        QVERIFY(events.waitFor("hello") == 0);
        const auto created = s->post(
            "/api/v1/jobs",
            QJsonObject{
                {"type", "templates"},
                {"input", QJsonObject{{"file", sha}, {"name", "model.glb"}}},
                {"settings", QJsonObject{{"width", 32},
                                         {"height", 24},
                                         {"views", 3},
                                         {"passes", QJsonArray{"rgb", "mask", "xyz", "depth"}}}}});
        QCOMPARE(created.status, 201);
        const qint64 jobId = created.json().value("id").toInteger();
        QCOMPARE(created.json().value("tasks").toObject().value("total").toInt(), 1);

        // A node without the built-in renderer (only Blender) gets no templates task.
        WsClient modelOnly;
        QVERIFY(modelOnly.open(ws("/ws/node", *s)));
        QJsonObject blenderOnly = nodeHello("blender-only");
        blenderOnly.insert("engines",
                           QJsonArray{QJsonObject{{"name", "blender"}, {"version", "3.4.1"}}});
        modelOnly.send("hello", blenderOnly);
        QVERIFY(modelOnly.waitFor("welcome") >= 0);
        QVERIFY(s->get(QString("/api/v1/jobs/%1/explain").arg(jobId))
                    .body.contains("lacks the 'farmhand' engine"));
        modelOnly.socket.abort();

        WsClient node;
        QVERIFY(node.open(ws("/ws/node", *s)));
        node.send("hello", nodeHello("ws-lab-1"));
        const int assign = node.waitFor("task.assign");
        QVERIFY(assign >= 0);
        for (const Envelope &e : modelOnly.received)
            QVERIFY(e.type != "task.assign");
        const QJsonObject a = node.received[assign].data;
        QCOMPARE(a.value("type").toString(), QString("templates"));
        QCOMPARE(a.value("frames").toString(), QString("1"));
        QCOMPARE(a.value("settings").toObject().value("views").toInt(), 3);
        const qint64 taskId = a.value("task").toInteger();
        node.send("task.accepted", {{"task", taskId}});

        const QStringList names{"rgb_0.png",    "mask_2.png",     "xyz_12.npy",
                                "depth_1.png",  "instance_4.png", "instances.json",
                                "cameras.json", "poses.npy",      "frame_0001_depth.exr"};
        for (const QString &name : names) {
            const auto r = s->putOutput(node.secret(), taskId, name, name.toUtf8());
            QCOMPARE(r.status, 200);
        }
        QVERIFY(events.waitFor("task.preview", 0, [](const QJsonObject &p) {
            return p.value("output").toString() == "rgb_0.png" && p.value("frame").toInt(-1) == 0;
        }) >= 0);
        QVERIFY(events.waitFor("task.preview", 0, [](const QJsonObject &p) {
            return p.value("output").toString() == "cameras.json" && p.value("frame").isNull();
        }) >= 0);

        QHash<QString, QJsonValue> frames;
        for (const QJsonValue &o : s->get(QString("/api/v1/jobs/%1/outputs").arg(jobId))
                                       .json()
                                       .value("outputs")
                                       .toArray())
            frames.insert(o.toObject().value("name").toString(), o.toObject().value("frame"));
        QCOMPARE(frames.size(), names.size());
        QCOMPARE(frames["rgb_0.png"].toInt(-1), 0);
        QCOMPARE(frames["mask_2.png"].toInt(), 2);
        QCOMPARE(frames["xyz_12.npy"].toInt(), 12);
        QCOMPARE(frames["depth_1.png"].toInt(), 1);
        QCOMPARE(frames["frame_0001_depth.exr"].toInt(), 1);
        QCOMPARE(frames["instance_4.png"].toInt(), 4);
        QVERIFY(frames["instances.json"].isNull());
        QVERIFY(frames["cameras.json"].isNull());
        QVERIFY(frames["poses.npy"].isNull());

        const QString base = QString("/api/v1/jobs/%1/outputs/").arg(jobId);
        const QHash<QString, QByteArray> types{{"rgb_0.png", "image/png"},
                                               {"xyz_12.npy", "application/octet-stream"},
                                               {"frame_0001_depth.exr", "application/octet-stream"},
                                               {"cameras.json", "application/json"}};
        for (auto it = types.cbegin(); it != types.cend(); ++it) {
            const auto r = s->get(base + it.key());
            QCOMPARE(r.status, 200);
            QCOMPARE(r.body, it.key().toUtf8());
            QCOMPARE(r.contentType, it.value());
        }

        node.send("task.done", {{"task", taskId}, {"outputs", QJsonArray::fromStringList(names)}});
        QVERIFY(events.waitFor("job.updated", 0, [](const QJsonObject &j) {
            return j.value("state").toString() == "completed";
        }) >= 0);
    }

    // Only a frame's main image marks it as landed when a task is re-queued: a pass file or a
    // template view with the same number does not.
    void passFilesDoNotMarkFramesLanded()
    {
        const qint64 modelJob = submit("1-2", 2);
        auto first = std::make_unique<WsClient>();
        QVERIFY(first->open(ws("/ws/node", *s)));
        first->send("hello", nodeHello("a"));
        const int assign = first->waitFor("task.assign");
        QVERIFY(assign >= 0);
        const qint64 taskId = first->received[assign].data.value("task").toInteger();
        QCOMPARE(first->received[assign].data.value("job").toInteger(), modelJob);
        for (const char *name : {"frame_0001.png", "frame_0002_depth.png", "rgb_2.png"})
            QCOMPARE(s->putOutput(first->secret(), taskId, name, "bytes").status, 200);
        first->socket.abort();
        first.reset();
        for (int i = 0; i < 500 && taskState(taskId) != "queued"; ++i)
            QTest::qWait(10);
        QCOMPARE(taskState(taskId), QString("queued"));

        WsClient second;
        QVERIFY(second.open(ws("/ws/node", *s)));
        second.send("hello", nodeHello("b"));
        const int again = second.waitFor("task.assign");
        QVERIFY(again >= 0);
        QCOMPARE(second.received[again].data.value("task").toInteger(), taskId);
        QCOMPARE(second.received[again].data.value("frames").toString(), QString("2"));
    }

    void dashboardsOnlyListen()
    {
        WsClient events;
        QVERIFY(events.open(ws("/ws/events", *s)));
        QVERIFY(events.waitFor("hello") >= 0);
        events.send("job.cancel", {{"id", 1}});
        const int e = events.waitFor("error");
        QVERIFY(e >= 0);
        QCOMPARE(events.received[e].data.value("code").toString(), QString("unknown_type"));
        QVERIFY(!events.closed);
    }
};

QTEST_GUILESS_MAIN(TestNodeHub)
#include "tst_nodehub.moc"
