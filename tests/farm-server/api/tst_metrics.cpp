// /metrics: task durations, upload bytes, the desired node count; `promtool check metrics`.
#include "api/apiclient.h"

#include "util/json.h"

#include <QProcess>
#include <QStandardPaths>

using namespace farm;
using namespace farm::server;
using namespace farm::server::test;

class TestMetrics : public QObject
{
    Q_OBJECT

    /// The value of one sample line ("name{labels} value"), or -1 when the line is missing.
    static double sample(const QByteArray &body, const QByteArray &series)
    {
        for (const QByteArray &line : body.split('\n'))
            if (line.startsWith(series + ' '))
                return line.mid(series.size() + 1).toDouble();
        return -1;
    }

private slots:
    void durationsBytesAndDesiredNodes()
    {
        ManualClock clock;
        ServerConfig c;
        c.leaseS = 3600; // the manual clock jumps; the node must not be taken for lost
        c.heartbeatS = 5;
        c.autoscaleWindowS = 60;
        TestServer s(c, &clock);
        const QByteArray model = "model bytes for metrics";
        const QString sha = s.upload(model);
        QByteArray m = s.get("/metrics").body;
        QCOMPARE(sample(m, "farm_upload_bytes_total{kind=\"input\"}"), double(model.size()));
        QCOMPARE(sample(m, "farm_desired_nodes"), 0.0);

        const qint64 job =
            s.post("/api/v1/jobs", jobBody(sha, "1-4", 1)).json().value("id").toInteger();
        QVERIFY(job > 0);
        m = s.get("/metrics").body;
        QCOMPARE(sample(m, "farm_queued_frames"), 4.0);
        QCOMPARE(sample(m, "farm_desired_nodes"), 4.0); // no rate yet: a slot per task
        QCOMPARE(sample(m, "farm_frame_slot_seconds"), 0.0);

        WsClient node;
        QVERIFY(node.open(QUrl(QString("ws://127.0.0.1:%1/ws/node").arg(s.server->port()))));
        node.send("hello", nodeHello("metrics-node", 1));
        QVERIFY(node.waitFor("welcome") >= 0);
        const int assign = node.waitFor("task.assign");
        QVERIFY(assign >= 0);
        const qint64 task = node.received[assign].data.value("task").toInteger();
        node.send("task.accepted", {{"task", task}});
        for (int i = 0; i < 200 && s.store().task(task)->task.state != TaskState::Running; ++i)
            QTest::qWait(10);
        clock.advance(90 * 1000); // the frame takes 90 s
        QCOMPARE(s.putOutput(node.secret(), task, "frame_0001.png", "12345").status, 200);
        node.send("task.done", {{"task", task}, {"outputs", QJsonArray{"frame_0001.png"}}});
        for (int i = 0; i < 200 && s.store().task(task)->task.state != TaskState::Done; ++i)
            QTest::qWait(10);

        m = s.get("/metrics").body;
        QCOMPARE(sample(m, "farm_upload_bytes_total{kind=\"output\"}"), 5.0);
        QCOMPARE(sample(m, "farm_task_duration_seconds_count{outcome=\"done\"}"), 1.0);
        QCOMPARE(sample(m, "farm_task_duration_seconds_sum{outcome=\"done\"}"), 90.0);
        QCOMPARE(sample(m, "farm_task_duration_seconds_bucket{outcome=\"done\",le=\"60\"}"), 0.0);
        QCOMPARE(sample(m, "farm_task_duration_seconds_bucket{outcome=\"done\",le=\"120\"}"), 1.0);
        QCOMPARE(sample(m, "farm_task_duration_seconds_count{outcome=\"failed\"}"), 0.0);
        QCOMPARE(sample(m, "farm_frame_slot_seconds"), 90.0);
        // 3 frames left, 90 s each on a 1-slot node: 270 node-seconds; in a 60 s window that is
        // 5 nodes, but only 3 tasks remain to run.
        QCOMPARE(sample(m, "farm_queued_frames"), 3.0);
        QCOMPARE(sample(m, "farm_desired_nodes"), 3.0);

        const QString promtool = QStandardPaths::findExecutable("promtool");
        if (promtool.isEmpty())
            QSKIP("promtool is not installed (scripts/setup-deps.sh --test installs prometheus)");
        QProcess p;
        p.start(promtool, {"check", "metrics"});
        p.write(m);
        p.closeWriteChannel();
        QVERIFY(p.waitForFinished(30000));
        QVERIFY2(p.exitCode() == 0, qPrintable(QString::fromUtf8(p.readAllStandardOutput() +
                                                                 p.readAllStandardError())));
    }

    // GPU load from heartbeats (a node's NVML readings), checked before it is kept.
    void gpuLoadFromHeartbeats()
    {
        TestServer s;
        WsClient node;
        QVERIFY(node.open(QUrl(QString("ws://127.0.0.1:%1/ws/node").arg(s.server->port()))));
        node.send("hello", nodeHello("gpu-node", 1));
        QVERIFY(node.waitFor("welcome") >= 0);
        const QJsonObject gpu{{"uuid", "GPU-1234"},
                              {"utilization", 0.75},
                              {"memory_used_mb", 1024},
                              {"memory_total_mb", 81920}};
        node.send("heartbeat", {{"running", QJsonArray{}}, {"gpus", QJsonArray{gpu}}});
        const QByteArray series = "{node=\"gpu-node\",gpu=\"GPU-1234\"}";
        QByteArray m;
        for (int i = 0; i < 200 && sample(m, "farm_node_gpu_utilization_ratio" + series) < 0; ++i) {
            QTest::qWait(10);
            m = s.get("/metrics").body;
        }
        QCOMPARE(sample(m, "farm_node_gpu_utilization_ratio" + series), 0.75);
        QCOMPARE(sample(m, "farm_node_gpu_memory_used_bytes" + series), 1024.0 * 1024 * 1024);
        QCOMPARE(sample(m, "farm_node_gpu_memory_total_bytes" + series), 81920.0 * 1024 * 1024);

        // A reading out of range is answered with an error and changes nothing.
        QJsonObject bad = gpu;
        bad.insert("utilization", 7);
        const int from = node.received.size();
        node.send("heartbeat", {{"running", QJsonArray{}}, {"gpus", QJsonArray{bad}}});
        QVERIFY(node.waitFor("error", from) >= 0);
        QCOMPARE(sample(s.get("/metrics").body, "farm_node_gpu_utilization_ratio" + series), 0.75);

        const QString promtool = QStandardPaths::findExecutable("promtool");
        if (promtool.isEmpty())
            QSKIP("promtool is not installed (scripts/setup-deps.sh --test installs prometheus)");
        QProcess p;
        p.start(promtool, {"check", "metrics"});
        p.write(s.get("/metrics").body);
        p.closeWriteChannel();
        QVERIFY(p.waitForFinished(30000));
        QVERIFY2(p.exitCode() == 0, qPrintable(QString::fromUtf8(p.readAllStandardOutput() +
                                                                 p.readAllStandardError())));
    }

    void desiredNodesWithinTheWindow()
    {
        ManualClock clock;
        ServerConfig c;
        c.leaseS = 3600;
        c.autoscaleWindowS = 3600;
        TestServer s(c, &clock);
        const QString sha = s.upload("model bytes for metrics");
        QVERIFY(s.post("/api/v1/jobs", jobBody(sha, "1-21", 1)).status == 201);
        WsClient node;
        QVERIFY(node.open(QUrl(QString("ws://127.0.0.1:%1/ws/node").arg(s.server->port()))));
        node.send("hello", nodeHello("metrics-node", 1));
        const int assign = node.waitFor("task.assign");
        QVERIFY(assign >= 0);
        const qint64 task = node.received[assign].data.value("task").toInteger();
        node.send("task.accepted", {{"task", task}});
        for (int i = 0; i < 200 && s.store().task(task)->task.state != TaskState::Running; ++i)
            QTest::qWait(10);
        clock.advance(600 * 1000);
        QCOMPARE(s.putOutput(node.secret(), task, "frame_0001.png", "x").status, 200);
        node.send("task.done", {{"task", task}, {"outputs", QJsonArray{"frame_0001.png"}}});
        for (int i = 0; i < 200 && s.store().task(task)->task.state != TaskState::Done; ++i)
            QTest::qWait(10);
        // 20 frames of 600 s = 12000 node-seconds; within 3600 s: ceil(3.33) = 4 nodes.
        QCOMPARE(sample(s.get("/metrics").body, "farm_desired_nodes"), 4.0);
    }

    // GET /api/v1/nodes/{id}/tasks and GET /api/v1/farm/history from the task rows (SQLite).
    void nodeTasksAndFarmHistory()
    {
        ManualClock clock;
        ServerConfig c;
        c.leaseS = 3 * 3600; // the manual clock jumps; the node must not be taken for lost
        TestServer s(c, &clock);
        const QString sha = s.upload("model bytes for history");
        const qint64 job =
            s.post("/api/v1/jobs", jobBody(sha, "1-2", 2)).json().value("id").toInteger();
        QVERIFY(job > 0);
        WsClient node;
        QVERIFY(node.open(QUrl(QString("ws://127.0.0.1:%1/ws/node").arg(s.server->port()))));
        node.send("hello", nodeHello("history-node", 1));
        const int assign = node.waitFor("task.assign");
        QVERIFY(assign >= 0);
        const qint64 task = node.received[assign].data.value("task").toInteger();
        node.send("task.accepted", {{"task", task}});
        for (int i = 0; i < 200 && s.store().task(task)->task.state != TaskState::Running; ++i)
            QTest::qWait(10);
        clock.advance(90 * 1000); // the task (two frames) takes 90 s and ends now
        for (const char *f : {"frame_0001.png", "frame_0002.png"})
            QCOMPARE(s.putOutput(node.secret(), task, f, "x").status, 200);
        node.send("task.done",
                  {{"task", task}, {"outputs", QJsonArray{"frame_0001.png", "frame_0002.png"}}});
        for (int i = 0; i < 200 && s.store().task(task)->task.state != TaskState::Done; ++i)
            QTest::qWait(10);

        const qint64 nodeId = s.get("/api/v1/nodes")
                                  .json()
                                  .value("nodes")
                                  .toArray()[0]
                                  .toObject()
                                  .value("id")
                                  .toInteger();
        auto r = s.get(QString("/api/v1/nodes/%1/tasks?limit=5").arg(nodeId));
        QCOMPARE(r.status, 200);
        const QJsonArray tasks = r.json().value("tasks").toArray();
        QCOMPARE(tasks.size(), 1);
        const QJsonObject t = tasks[0].toObject();
        QCOMPARE(t.value("id").toInteger(), task);
        QCOMPARE(t.value("job_id").toInteger(), job);
        QCOMPARE(t.value("job_name").toString(), QString("api job"));
        QCOMPARE(t.value("frames").toString(), QString("1-2"));
        QCOMPARE(t.value("state").toString(), QString("done"));
        QCOMPARE(t.value("attempts").toInt(), 0); // failed attempts: none
        QCOMPARE(json::toTime(t.value("finished_at")).toMSecsSinceEpoch() -
                     json::toTime(t.value("started_at")).toMSecsSinceEpoch(),
                 qint64(90000));
        for (const char *bad : {"limit=0", "limit=501", "limit=ten"}) {
            r = s.get(QString("/api/v1/nodes/%1/tasks?%2").arg(nodeId).arg(bad));
            QCOMPARE(r.status, 400);
            QCOMPARE(r.json().value("error").toObject().value("code").toString(),
                     QString("invalid_field"));
        }
        QCOMPARE(s.get("/api/v1/nodes/99999/tasks").status, 404);

        // An hour: 60 one-minute buckets ending now; the 90 s run covers 30 s of the one but
        // last and all of the last, where its two frames finished.
        r = s.get("/api/v1/farm/history?window=hour");
        QCOMPARE(r.status, 200);
        QJsonObject hist = r.json();
        QCOMPARE(hist.value("bucket_s").toInt(), 60);
        QCOMPARE(hist.value("slots_online").toInt(), 1);
        QCOMPARE(hist.value("frames").toInt(), 2);
        QJsonArray buckets = hist.value("buckets").toArray();
        QCOMPARE(buckets.size(), 60);
        QCOMPARE(buckets[59].toObject().value("frames").toInt(), 2);
        QCOMPARE(buckets[59].toObject().value("busy_s").toDouble(), 60.0);
        QCOMPARE(buckets[58].toObject().value("busy_s").toDouble(), 30.0);
        QCOMPARE(buckets[57].toObject().value("busy_s").toDouble(), 0.0);
        QCOMPARE(json::toTime(buckets[0].toObject().value("start")), clock.now().addSecs(-3600));

        // Two hours later the hour is empty; the day (96 buckets of 15 min) still has the run.
        clock.advance(2 * 3600 * 1000);
        hist = s.get("/api/v1/farm/history?window=hour").json();
        QCOMPARE(hist.value("frames").toInt(), 0);
        double busy = 0;
        for (const QJsonValue &b : hist.value("buckets").toArray())
            busy += b.toObject().value("busy_s").toDouble();
        QCOMPARE(busy, 0.0);
        hist = s.get("/api/v1/farm/history?window=day").json();
        QCOMPARE(hist.value("bucket_s").toInt(), 900);
        buckets = hist.value("buckets").toArray();
        QCOMPARE(buckets.size(), 96);
        QCOMPARE(hist.value("frames").toInt(), 2);
        busy = 0;
        for (const QJsonValue &b : buckets)
            busy += b.toObject().value("busy_s").toDouble();
        QCOMPARE(busy, 90.0);

        for (const char *bad : {"?window=week", "?window=", "?window=HOUR"}) {
            r = s.get(QString("/api/v1/farm/history") + bad);
            QCOMPARE(r.status, 400);
            QVERIFY(r.json().value("error").toObject().value("message").toString().contains(
                "hour or day"));
        }
    }
};

QTEST_MAIN(TestMetrics)
#include "tst_metrics.moc"
