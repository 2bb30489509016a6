#include "model/job.h"
#include "model/node.h"
#include "model/task.h"
#include "protocol/message.h"
#include "util/json.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QtTest>

using namespace farm;

namespace {
const QString kSha = QString(64, QChar('a'));

QJsonObject validJob()
{
    return QJsonDocument::fromJson(R"({"name": "engine turntable", "type": "model", "priority": 60,
        "input": {"file": ")" + kSha.toUtf8() +
                                   R"(", "name": "2CylinderEngine.glb"},
        "frames": "1-24", "chunk": 4,
        "settings": {"width": 320, "height": 240, "spp": 8, "seed": 3, "camera": {"mode": "turntable"},
                     "passes": ["rgb"], "format": "png"},
        "requirements": {"gpu": false, "tags": ["lab"]}, "callback_url": null})")
        .object();
}
} // namespace

class TestProtocol : public QObject
{
    Q_OBJECT
private slots:
    void jobSpecRoundTrip()
    {
        const auto spec = JobSpec::fromJson(validJob());
        QVERIFY2(spec.ok(), qPrintable(spec.ok() ? "" : spec.error().message));
        QCOMPARE(spec->settings.width, 320);
        QCOMPARE(spec->settings.cameraMode, QString("turntable"));
        QCOMPARE(spec->requirements.tags, QStringList{"lab"});
        const auto again = JobSpec::fromJson(spec->toJson());
        QVERIFY(again.ok());
        QCOMPARE(*again, *spec);
    }

    void jobSpecDefaults()
    {
        const auto spec = JobSpec::fromJson(QJsonObject{
            {"type", "model"}, {"input", QJsonObject{{"file", kSha}, {"name", "a.obj"}}}});
        QVERIFY(spec.ok());
        QCOMPARE(spec->name, QString("a.obj"));
        QCOMPARE(spec->frames, QString("1"));
        QCOMPARE(spec->priority, 50);
        QCOMPARE(spec->settings.width, 640);
    }

    void jobSpecRejects_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QJsonValue>("value");
        QTest::addColumn<QString>("code");
        QTest::newRow("unknown type") << "type" << QJsonValue("teapot") << "invalid_field";
        QTest::newRow("bad frames") << "frames" << QJsonValue("5-1") << "invalid_field";
        QTest::newRow("width too small") << "settings.width" << QJsonValue(4) << "invalid_field";
        QTest::newRow("height huge") << "settings.height" << QJsonValue(100000) << "invalid_field";
        QTest::newRow("spp fraction") << "settings.spp" << QJsonValue(1.5) << "invalid_field";
        QTest::newRow("width string") << "settings.width" << QJsonValue("640") << "invalid_field";
        QTest::newRow("priority") << "priority" << QJsonValue(101) << "invalid_field";
        QTest::newRow("chunk zero") << "chunk" << QJsonValue(0) << "invalid_field";
        QTest::newRow("traversal")
            << "input.name" << QJsonValue("../../etc/passwd") << "invalid_field";
        QTest::newRow("bad hash") << "input.file" << QJsonValue("xyz") << "invalid_field";
        QTest::newRow("camera") << "settings.camera.mode" << QJsonValue("fly") << "invalid_field";
        QTest::newRow("pass") << "settings.passes" << QJsonValue(QJsonArray{"xray"})
                              << "invalid_field";
        QTest::newRow("unknown top") << "colour" << QJsonValue("red") << "unknown_field";
        QTest::newRow("unknown nested") << "settings.zoom" << QJsonValue(2) << "unknown_field";
        QTest::newRow("pass twice")
            << "settings.passes" << QJsonValue(QJsonArray{"rgb", "rgb"}) << "invalid_field";
        QTest::newRow("no passes")
            << "settings.passes" << QJsonValue(QJsonArray{}) << "invalid_field";
        QTest::newRow("bit depth 12") << "settings.bit_depth" << QJsonValue(12) << "invalid_field";
        QTest::newRow("bit depth text")
            << "settings.bit_depth" << QJsonValue("16") << "invalid_field";
        QTest::newRow("views on model") << "settings.views" << QJsonValue(42) << "invalid_field";
        QTest::newRow("projection")
            << "settings.camera.projection" << QJsonValue("fisheye") << "invalid_field";
        QTest::newRow("projection number")
            << "settings.camera.projection" << QJsonValue(1) << "invalid_field";
        QTest::newRow("ortho width on perspective")
            << "settings.camera.ortho_width" << QJsonValue(2.0) << "invalid_field";
        QTest::newRow("unknown camera field")
            << "settings.camera.fov" << QJsonValue(30) << "unknown_field";
    }

    void orthographicCamera_data()
    {
        QTest::addColumn<QJsonValue>("width");
        QTest::addColumn<bool>("valid");
        QTest::newRow("fitted") << QJsonValue(QJsonValue::Undefined) << true;
        QTest::newRow("2.5 units") << QJsonValue(2.5) << true;
        QTest::newRow("zero") << QJsonValue(0) << false;
        QTest::newRow("negative") << QJsonValue(-1.0) << false;
        QTest::newRow("huge") << QJsonValue(1e12) << false;
        QTest::newRow("text") << QJsonValue("2") << false;
    }
    void orthographicCamera()
    {
        QFETCH(QJsonValue, width);
        QFETCH(bool, valid);
        QJsonObject job = validJob();
        QJsonObject settings = job.value("settings").toObject();
        QJsonObject camera{{"mode", "turntable"}, {"projection", "orthographic"}};
        if (!width.isUndefined())
            camera.insert("ortho_width", width);
        settings.insert("camera", camera);
        settings.insert("passes", QJsonArray{"rgb", "instance"});
        job.insert("settings", settings);
        const auto spec = JobSpec::fromJson(job);
        QCOMPARE(spec.ok(), valid);
        if (!valid) {
            QCOMPARE(spec.error().code, QString("invalid_field"));
            QVERIFY2(spec.error().message.contains("settings.camera.ortho_width"),
                     qPrintable(spec.error().message));
            return;
        }
        QCOMPARE(spec->settings.projection, QString("orthographic"));
        QCOMPARE(spec->settings.orthoWidth, width.isUndefined() ? 0.0 : width.toDouble());
        QCOMPARE(spec->settings.passes, (QStringList{"rgb", "instance"}));
        const QJsonObject back =
            spec->toJson().value("settings").toObject().value("camera").toObject();
        QCOMPARE(back.value("projection").toString(), QString("orthographic"));
        QCOMPARE(back.contains("ortho_width"), !width.isUndefined());
        QCOMPARE(*JobSpec::fromJson(spec->toJson()), *spec);
        // A perspective job keeps the camera object older readers know.
        const QJsonObject plain =
            JobSpec::fromJson(validJob())->toJson().value("settings").toObject();
        QCOMPARE(plain.value("camera").toObject(), (QJsonObject{{"mode", "turntable"}}));
    }
    void jobSpecRejects()
    {
        QFETCH(QString, path);
        QFETCH(QJsonValue, value);
        QFETCH(QString, code);
        QJsonObject job = validJob();
        const QStringList parts = path.split('.');
        if (parts.size() == 1) {
            job.insert(parts[0], value);
        } else if (parts.size() == 2) {
            QJsonObject inner = job.value(parts[0]).toObject();
            inner.insert(parts[1], value);
            job.insert(parts[0], inner);
        } else {
            QJsonObject a = job.value(parts[0]).toObject();
            QJsonObject b = a.value(parts[1]).toObject();
            b.insert(parts[2], value);
            a.insert(parts[1], b);
            job.insert(parts[0], a);
        }
        const auto spec = JobSpec::fromJson(job);
        QVERIFY(!spec.ok());
        QCOMPARE(spec.error().code, code);
        QVERIFY2(spec.error().message.contains(parts.last()), qPrintable(spec.error().message));
    }

    void modelPasses()
    {
        QJsonObject job = validJob();
        QJsonObject settings = job.value("settings").toObject();
        const QJsonArray all{"rgb", "depth", "normal", "albedo", "mask", "xyz", "instance"};
        settings.insert("passes", all);
        settings.insert("bit_depth", 16);
        job.insert("settings", settings);
        const auto spec = JobSpec::fromJson(job);
        QVERIFY2(spec.ok(), qPrintable(spec.ok() ? "" : spec.error().message));
        QCOMPARE(spec->settings.passes.size(), 7);
        QCOMPARE(spec->settings.bitDepth, 16);
        QCOMPARE(spec->settings.views, 0);
        const QJsonObject back = spec->toJson().value("settings").toObject();
        QVERIFY(!back.contains("views")); // a model job has no template views
        QCOMPARE(back.value("passes").toArray(), all);
        QCOMPARE(*JobSpec::fromJson(spec->toJson()), *spec);
        // Older clients send no bit_depth: 8 bits.
        QCOMPARE(JobSpec::fromJson(validJob())->settings.bitDepth, 8);
    }

    void templatesDefaults()
    {
        const auto spec = JobSpec::fromJson(QJsonObject{
            {"type", "templates"}, {"input", QJsonObject{{"file", kSha}, {"name", "a.glb"}}}});
        QVERIFY2(spec.ok(), qPrintable(spec.ok() ? "" : spec.error().message));
        QCOMPARE(spec->type, QString("templates"));
        QCOMPARE(spec->settings.views, 42);
        QCOMPARE(spec->frames, QString("1"));
        QCOMPARE(spec->chunk, 1);
        QCOMPARE(spec->settings.passes, (QStringList{"rgb", "mask", "xyz"}));
        const QJsonObject json = spec->toJson();
        QCOMPARE(json.value("settings").toObject().value("views").toInt(), 42);
        const auto again = JobSpec::fromJson(json);
        QVERIFY(again.ok());
        QCOMPARE(*again, *spec);
    }

    void templatesRoundTrip()
    {
        const QJsonObject in{
            {"type", "templates"},
            {"name", "engine templates"},
            {"input", QJsonObject{{"file", kSha}, {"name", "e.glb"}}},
            {"settings", QJsonObject{{"width", 160},
                                     {"height", 120},
                                     {"spp", 4},
                                     {"views", 7},
                                     {"bit_depth", 16},
                                     {"passes", QJsonArray{"rgb", "mask", "xyz", "depth"}}}}};
        const auto spec = JobSpec::fromJson(in);
        QVERIFY2(spec.ok(), qPrintable(spec.ok() ? "" : spec.error().message));
        QCOMPARE(spec->settings.views, 7);
        QCOMPARE(spec->settings.passes, (QStringList{"rgb", "mask", "xyz", "depth"}));
        Job j;
        j.id = 3;
        j.spec = *spec;
        const auto back = Job::fromJson(j.toJson());
        QVERIFY(back.ok());
        QCOMPARE(back->spec, *spec);
    }

    void templatesRejects_data()
    {
        QTest::addColumn<QJsonObject>("extra");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("frames") << QJsonObject{{"frames", "1-10"}} << "frames";
        QTest::newRow("chunk") << QJsonObject{{"chunk", 4}} << "chunk";
        QTest::newRow("turntable")
            << QJsonObject{{"settings",
                            QJsonObject{{"camera", QJsonObject{{"mode", "turntable"}}}}}}
            << "turntable";
        QTest::newRow("views zero")
            << QJsonObject{{"settings", QJsonObject{{"views", 0}}}} << "views";
        QTest::newRow("views huge")
            << QJsonObject{{"settings", QJsonObject{{"views", 10001}}}} << "views";
        QTest::newRow("views fraction")
            << QJsonObject{{"settings", QJsonObject{{"views", 2.5}}}} << "views";
        QTest::newRow("pass") << QJsonObject{{"settings",
                                              QJsonObject{{"passes", QJsonArray{"uv"}}}}}
                              << "passes";
        QTest::newRow("unknown") << QJsonObject{{"settings", QJsonObject{{"fov", 30}}}} << "fov";
        QTest::newRow("orthographic")
            << QJsonObject{{"settings",
                            QJsonObject{{"camera", QJsonObject{{"projection", "orthographic"}}}}}}
            << "projection";
    }
    void templatesRejects()
    {
        QFETCH(QJsonObject, extra);
        QFETCH(QString, mentions);
        QJsonObject job{{"type", "templates"},
                        {"input", QJsonObject{{"file", kSha}, {"name", "a.glb"}}}};
        for (auto it = extra.begin(); it != extra.end(); ++it)
            job.insert(it.key(), it.value());
        const auto spec = JobSpec::fromJson(job);
        QVERIFY(!spec.ok());
        QVERIFY2(spec.error().message.contains(mentions), qPrintable(spec.error().message));
    }

    void jobRoundTrip()
    {
        Job j;
        j.id = 42;
        j.spec = *JobSpec::fromJson(validJob());
        j.state = JobState::Active;
        j.createdAt = QDateTime::fromString("2026-11-23T10:00:00.000Z", Qt::ISODateWithMs);
        j.progress = 0.25;
        j.tasks.total = 6;
        j.tasks.done = 1;
        const auto back = Job::fromJson(j.toJson());
        QVERIFY(back.ok());
        QCOMPARE(back->id, 42);
        QCOMPARE(back->spec, j.spec);
        QVERIFY(back->state == JobState::Active);
        QCOMPARE(back->createdAt, j.createdAt);
        QVERIFY(!back->startedAt.isValid());
        QCOMPARE(back->tasks, j.tasks);
    }

    void taskRoundTrip()
    {
        Task t;
        t.id = 5;
        t.jobId = 2;
        t.index = 1;
        t.frames = "3-4";
        t.state = TaskState::Running;
        t.nodeId = 9;
        t.nodeName = "n1";
        t.attempts = 2;
        t.progress = 0.5;
        t.startedAt = QDateTime::fromString("2026-11-23T10:00:01.500Z", Qt::ISODateWithMs);
        const auto back = Task::fromJson(t.toJson());
        QVERIFY(back.ok());
        QCOMPARE(*back, t);
    }

    void nodeRoundTrip()
    {
        Node n;
        n.id = 3;
        n.caps.name = "ws-1";
        n.caps.slotCount = 2;
        n.caps.cores = 16;
        n.caps.ramMb = 64000;
        n.caps.engines = {{"model", "1"}};
        n.caps.gpus = {{"RTX", "GPU-1", 8192, "8.6", "550"}};
        n.state = NodeState::Busy;
        n.running = {4, 5};
        const auto back = Node::fromJson(n.toJson());
        QVERIFY(back.ok());
        QCOMPARE(back->caps, n.caps);
        QCOMPARE(back->running, n.running);
        QVERIFY(back->state == NodeState::Busy);
    }

    void envelope()
    {
        EnvelopeWriter w;
        const QByteArray a = w.write(msg::Heartbeat, {{"running", QJsonArray{1}}});
        const QByteArray b = w.write(msg::TaskDone, {{"task", 1}});
        const auto ea = Envelope::parse(a);
        const auto eb = Envelope::parse(b);
        QVERIFY(ea.ok() && eb.ok());
        QCOMPARE(ea->type, QString("heartbeat"));
        QCOMPARE(ea->seq, 1);
        QCOMPARE(eb->seq, 2);
        QCOMPARE(eb->data.value("task").toInt(), 1);
    }

    void envelopeRejects_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::newRow("garbage") << QByteArray("{not json");
        QTest::newRow("array") << QByteArray("[1,2]");
        QTest::newRow("no type") << QByteArray(R"({"data":{}})");
        QTest::newRow("type number") << QByteArray(R"({"type":3})");
        QTest::newRow("data string") << QByteArray(R"({"type":"x","data":"y"})");
        QTest::newRow("seq string") << QByteArray(R"({"type":"x","seq":"1"})");
    }
    void envelopeRejects()
    {
        QFETCH(QByteArray, text);
        QVERIFY(!Envelope::parse(text).ok());
    }

    void stateMachine()
    {
        QVERIFY(canTransition(TaskState::Queued, TaskState::Assigned));
        QVERIFY(canTransition(TaskState::Running, TaskState::Queued));
        QVERIFY(!canTransition(TaskState::Done, TaskState::Queued));
        QVERIFY(!canTransition(TaskState::Queued, TaskState::Done));
        QVERIFY(canTransition(JobState::Queued, JobState::Active));
        QVERIFY(!canTransition(JobState::Completed, JobState::Active));
        QVERIFY(canTransition(JobState::Active, JobState::Canceled));
    }

    void names()
    {
        QVERIFY(isValidOutputName("frame_0001.png"));
        QVERIFY(!isValidOutputName(".hidden"));
        QVERIFY(!isValidOutputName("a/b.png"));
        QVERIFY(!isValidOutputName("a..b"));
        QCOMPARE(frameFileName(7), QString("frame_0007.png"));
        QCOMPARE(frameFileName(123456), QString("frame_123456.png"));
        QVERIFY(!isSafeFileName(".."));
        QVERIFY(isSafeFileName("model v2.glb"));
    }
};

QTEST_APPLESS_MAIN(TestProtocol)
#include "tst_protocol.moc"
