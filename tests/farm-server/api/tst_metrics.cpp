// /metrics: task durations, upload bytes, the desired node count; `promtool check metrics`.
#include "api/apiclient.h"

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
};

QTEST_MAIN(TestMetrics)
#include "tst_metrics.moc"
