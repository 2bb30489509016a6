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
const QString kSha2 = QString(64, QChar('b'));

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

QJsonObject bundleInput(const QString &main, const QStringList &paths)
{
    QJsonArray files;
    for (const QString &p : paths)
        files.append(QJsonObject{{"path", p}, {"file", p == main ? kSha : kSha2}});
    return {{"main", main}, {"files", files}};
}

// Sets "a.b.c" in a JSON object.
void setPath(QJsonObject &o, const QStringList &parts, const QJsonValue &value)
{
    if (parts.size() == 1) {
        o.insert(parts[0], value);
        return;
    }
    QJsonObject inner = o.value(parts[0]).toObject();
    setPath(inner, parts.mid(1), value);
    o.insert(parts[0], inner);
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
        QCOMPARE(spec->settings.value("width").toInt(), 320);
        QCOMPARE(spec->requirements.tags, QStringList{"lab"});
        // The single-file form of earlier versions is a bundle of one.
        QCOMPARE(spec->input.main, QString("2CylinderEngine.glb"));
        QCOMPARE(spec->input.files, (QList<BundleFile>{{"2CylinderEngine.glb", kSha}}));
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
        QVERIFY(spec->settings.isEmpty()); // the job type's schema fills them in on the server
    }

    void bundleRoundTrip()
    {
        QJsonObject job = validJob();
        job.insert("input", bundleInput("scenes/shot 1/scene.gltf",
                                        {"scenes/shot 1/scene.gltf", "scenes/shot 1/scene.bin",
                                         "textures/wood grain.png"}));
        job.remove("name");
        const auto spec = JobSpec::fromJson(job);
        QVERIFY2(spec.ok(), qPrintable(spec.ok() ? "" : spec.error().message));
        QCOMPARE(spec->name, QString("scene.gltf"));
        QCOMPARE(spec->input.mainName(), QString("scene.gltf"));
        QCOMPARE(spec->input.files.size(), 3);
        QCOMPARE(spec->input.mainFile()->file, kSha);
        QCOMPARE(*JobSpec::fromJson(spec->toJson()), *spec);
    }

    void archiveInput()
    {
        QJsonObject job = validJob();
        job.insert("input", QJsonObject{{"archive", kSha}});
        const auto spec = JobSpec::fromJson(job);
        QVERIFY2(spec.ok(), qPrintable(spec.ok() ? "" : spec.error().message));
        QCOMPARE(spec->input.archive, kSha);
        QVERIFY(spec->input.files.isEmpty());
        QCOMPARE(*JobSpec::fromJson(spec->toJson()), *spec);
        job.insert("input", QJsonObject{{"archive", kSha}, {"main", "../x.glb"}});
        QVERIFY(!JobSpec::fromJson(job).ok());
    }

    void bundleRejects_data()
    {
        QTest::addColumn<QJsonValue>("input");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("parent") << QJsonValue(bundleInput("a.glb", {"a.glb", "../b.png"}))
                                << "inside the bundle";
        QTest::newRow("inner parent")
            << QJsonValue(bundleInput("a.glb", {"a.glb", "tex/../../b.png"}))
            << "inside the bundle";
        QTest::newRow("absolute") << QJsonValue(bundleInput("a.glb", {"a.glb", "/etc/passwd"}))
                                  << "inside the bundle";
        QTest::newRow("backslash")
            << QJsonValue(bundleInput("a.glb", {"a.glb", "..\\..\\b.png"})) << "inside the bundle";
        QTest::newRow("drive") << QJsonValue(bundleInput("a.glb", {"a.glb", "C:/b.png"}))
                               << "inside the bundle";
        QTest::newRow("empty segment")
            << QJsonValue(bundleInput("a.glb", {"a.glb", "tex//b.png"})) << "inside the bundle";
        QTest::newRow("dot") << QJsonValue(bundleInput("a.glb", {"a.glb", "./b.png"}))
                             << "inside the bundle";
        QTest::newRow("control") << QJsonValue(bundleInput("a.glb", {"a.glb", "b\n.png"}))
                                 << "inside the bundle";
        QTest::newRow("twice") << QJsonValue(bundleInput("a.glb", {"a.glb", "b.png", "b.png"}))
                               << "twice";
        QTest::newRow("main missing")
            << QJsonValue(bundleInput("c.glb", {"a.glb"})) << "not one of input.files";
        QTest::newRow("no files") << QJsonValue(
                                         QJsonObject{{"main", "a.glb"}, {"files", QJsonArray{}}})
                                  << "1 to 10000";
        QTest::newRow("bad sha") << QJsonValue(QJsonObject{
                                        {"main", "a.glb"},
                                        {"files", QJsonArray{QJsonObject{{"path", "a.glb"},
                                                                         {"file", "xyz"}}}}})
                                 << "SHA-256";
        QTest::newRow("unknown key")
            << QJsonValue(QJsonObject{
                   {"main", "a.glb"},
                   {"files", QJsonArray{QJsonObject{{"path", "a.glb"}, {"file", kSha}, {"x", 1}}}}})
            << "x";
        QTest::newRow("not an object") << QJsonValue("a.glb") << "input is required";
    }
    void bundleRejects()
    {
        QFETCH(QJsonValue, input);
        QFETCH(QString, mentions);
        QJsonObject job = validJob();
        job.insert("input", input);
        const auto spec = JobSpec::fromJson(job);
        QVERIFY(!spec.ok());
        QVERIFY2(spec.error().message.contains(mentions), qPrintable(spec.error().message));
    }

    // A job is stored as JobSpec::toJson and read back with fromJson (after a restart): the
    // frames it stores must pass the same limits as the ones sent.
    void longFrameListsReadBack()
    {
        QStringList items;
        for (int k = 0; k < 38; ++k) {
            const int n = 1000000 + 100 * k;
            items.append(QString("%1,%2-%3:2").arg(n).arg(n + 1).arg(n + 7));
        }
        const QString frames = items.join(',');
        QVERIFY(frames.size() <= 1000);
        QJsonObject job = validJob();
        job.insert("frames", frames);
        const auto spec = JobSpec::fromJson(job);
        QVERIFY2(spec.ok(), qPrintable(spec.ok() ? QString() : spec.error().message));
        const auto back = JobSpec::fromJson(spec->toJson());
        QVERIFY2(back.ok(), qPrintable(back.ok() ? QString() : back.error().message));
        QCOMPARE(*back, *spec);
        QCOMPARE(FrameRange::parse(back->frames)->size(), 38 * 5);
    }

    void tooManyFiles()
    {
        QStringList paths;
        for (int i = 0; i <= kMaxBundleFiles; ++i)
            paths.append(QString("f%1.png").arg(i));
        QJsonObject job = validJob();
        job.insert("input", bundleInput("f0.png", paths));
        QVERIFY(!JobSpec::fromJson(job).ok());
        paths.removeLast();
        job.insert("input", bundleInput("f0.png", paths));
        QVERIFY(JobSpec::fromJson(job).ok());
    }

    void jobSpecRejects_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QJsonValue>("value");
        QTest::addColumn<QString>("code");
        QTest::newRow("type name") << "type" << QJsonValue("Tea Pot") << "invalid_field";
        QTest::newRow("type number") << "type" << QJsonValue(3) << "invalid_field";
        QTest::newRow("bad frames") << "frames" << QJsonValue("5-1") << "invalid_field";
        QTest::newRow("priority") << "priority" << QJsonValue(101) << "invalid_field";
        QTest::newRow("chunk zero") << "chunk" << QJsonValue(0) << "invalid_field";
        QTest::newRow("traversal")
            << "input.name" << QJsonValue("../../etc/passwd") << "invalid_field";
        // The single-file name is the bundle's one path, which nodes refuse with a ':'
        // (found by tests/fuzz/fuzz_json).
        QTest::newRow("colon in the single file's name")
            << "input.name" << QJsonValue("a:b.glb") << "invalid_field";
        QTest::newRow("drive in the single file's name")
            << "input.name" << QJsonValue("C:engine.glb") << "invalid_field";
        QTest::newRow("bad hash") << "input.file" << QJsonValue("xyz") << "invalid_field";
        QTest::newRow("settings not an object") << "settings" << QJsonValue(3) << "invalid_field";
        QTest::newRow("unknown top") << "colour" << QJsonValue("red") << "unknown_field";
        QTest::newRow("tags") << "requirements.tags" << QJsonValue(3) << "invalid_field";
    }
    void jobSpecRejects()
    {
        QFETCH(QString, path);
        QFETCH(QJsonValue, value);
        QFETCH(QString, code);
        QJsonObject job = validJob();
        const QStringList parts = path.split('.');
        setPath(job, parts, value);
        const auto spec = JobSpec::fromJson(job);
        QVERIFY(!spec.ok());
        QCOMPARE(spec.error().code, code);
        QVERIFY2(spec.error().message.contains(parts.last()), qPrintable(spec.error().message));
    }

    // The node's reading of the built-in renderer's settings (the server validates them first
    // against the job type's schema; the node checks again).
    void renderSettingsRejects_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QJsonValue>("value");
        QTest::addColumn<QString>("code");
        QTest::newRow("width too small") << "width" << QJsonValue(4) << "invalid_field";
        QTest::newRow("height huge") << "height" << QJsonValue(100000) << "invalid_field";
        QTest::newRow("spp fraction") << "spp" << QJsonValue(1.5) << "invalid_field";
        QTest::newRow("width string") << "width" << QJsonValue("640") << "invalid_field";
        QTest::newRow("camera") << "camera.mode" << QJsonValue("fly") << "invalid_field";
        QTest::newRow("pass") << "passes" << QJsonValue(QJsonArray{"xray"}) << "invalid_field";
        QTest::newRow("unknown") << "zoom" << QJsonValue(2) << "unknown_field";
        QTest::newRow("pass twice")
            << "passes" << QJsonValue(QJsonArray{"rgb", "rgb"}) << "invalid_field";
        QTest::newRow("no passes") << "passes" << QJsonValue(QJsonArray{}) << "invalid_field";
        QTest::newRow("bit depth 12") << "bit_depth" << QJsonValue(12) << "invalid_field";
        QTest::newRow("bit depth text") << "bit_depth" << QJsonValue("16") << "invalid_field";
        QTest::newRow("projection")
            << "camera.projection" << QJsonValue("fisheye") << "invalid_field";
        QTest::newRow("ortho width on perspective")
            << "camera.ortho_width" << QJsonValue(2.0) << "invalid_field";
        QTest::newRow("unknown camera field") << "camera.fov" << QJsonValue(30) << "unknown_field";
        QTest::newRow("views zero") << "views" << QJsonValue(0) << "invalid_field";
        QTest::newRow("views huge")
            << "views" << QJsonValue(kMaxTemplateViews + 1) << "invalid_field";
    }
    void renderSettingsRejects()
    {
        QFETCH(QString, path);
        QFETCH(QJsonValue, value);
        QFETCH(QString, code);
        QJsonObject settings = validJob().value("settings").toObject();
        const QStringList parts = path.split('.');
        setPath(settings, parts, value);
        const auto s = RenderSettings::fromJson(settings);
        QVERIFY(!s.ok());
        QCOMPARE(s.error().code, code);
        QVERIFY2(s.error().message.contains(parts.last()), qPrintable(s.error().message));
    }

    void orthographicCamera_data()
    {
        QTest::addColumn<QJsonValue>("width");
        QTest::addColumn<bool>("valid");
        QTest::newRow("fitted") << QJsonValue(QJsonValue::Undefined) << true;
        QTest::newRow("2.5 units") << QJsonValue(2.5) << true;
        QTest::newRow("zero is fitted") << QJsonValue(0) << true;
        QTest::newRow("negative") << QJsonValue(-1.0) << false;
        QTest::newRow("huge") << QJsonValue(1e12) << false;
        QTest::newRow("text") << QJsonValue("2") << false;
    }
    void orthographicCamera()
    {
        QFETCH(QJsonValue, width);
        QFETCH(bool, valid);
        QJsonObject settings = validJob().value("settings").toObject();
        QJsonObject camera{{"mode", "turntable"}, {"projection", "orthographic"}};
        if (!width.isUndefined())
            camera.insert("ortho_width", width);
        settings.insert("camera", camera);
        settings.insert("passes", QJsonArray{"rgb", "instance"});
        const auto s = RenderSettings::fromJson(settings);
        QCOMPARE(s.ok(), valid);
        if (!valid) {
            QCOMPARE(s.error().code, QString("invalid_field"));
            QVERIFY2(s.error().message.contains("settings.camera.ortho_width"),
                     qPrintable(s.error().message));
            return;
        }
        QCOMPARE(s->projection, QString("orthographic"));
        QCOMPARE(s->orthoWidth, width.isUndefined() ? 0.0 : width.toDouble());
        QCOMPARE(s->passes, (QStringList{"rgb", "instance"}));
        QCOMPARE(*RenderSettings::fromJson(s->toJson()), *s);
    }

    void renderSettingsPasses()
    {
        QJsonObject settings = validJob().value("settings").toObject();
        const QJsonArray all{"rgb", "depth", "normal", "albedo", "mask", "xyz", "instance"};
        settings.insert("passes", all);
        settings.insert("bit_depth", 16);
        const auto s = RenderSettings::fromJson(settings);
        QVERIFY2(s.ok(), qPrintable(s.ok() ? "" : s.error().message));
        QCOMPARE(s->passes.size(), 7);
        QCOMPARE(s->bitDepth, 16);
        QCOMPARE(s->views, 0);
        QVERIFY(!s->toJson().contains("views")); // a model render has no template views
        QCOMPARE(*RenderSettings::fromJson(s->toJson()), *s);
        QCOMPARE(RenderSettings::fromJson(validJob().value("settings").toObject())->bitDepth, 8);
    }

    // Clients show jobs of types and settings they do not know instead of dropping them.
    void jobsAreReadLeniently()
    {
        QJsonObject o = validJob();
        o.insert("type", "Some Future Type");
        o.insert("settings", QJsonObject{{"quantum", true}, {"width", "wide"}});
        o.insert("input", QJsonObject{{"main", "x.usd"}, {"files", "later"}});
        o.insert("id", 7);
        o.insert("state", "queued");
        const auto j = Job::fromJson(o);
        QVERIFY2(j.ok(), qPrintable(j.ok() ? "" : j.error().message));
        QCOMPARE(j->spec.type, QString("Some Future Type"));
        QCOMPARE(j->spec.settings.value("quantum").toBool(), true);
        QCOMPARE(j->spec.input.main, QString("x.usd"));
        QCOMPARE(j->spec.name, QString("engine turntable"));
        o.remove("id");
        QVERIFY(!Job::fromJson(o).ok());
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
        n.caps.engines = {{"farmhand", "1"}};
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

    // A node's or dashboard's string that cannot become UTF-8 is refused where it enters.
    void envelopeRefusesUnpairedSurrogates_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("message");
        QTest::newRow("log text")
            << QByteArray(R"({"type":"task.log","seq":3,"data":{"task":1,"text":"a\ud800"}})")
            << "data.text contains an unpaired UTF-16 surrogate (\\ud800)";
        QTest::newRow("type") << QByteArray(R"({"type":"task.\udc00","data":{}})")
                              << "type contains an unpaired UTF-16 surrogate (\\udc00)";
        QTest::newRow("hello engines")
            << QByteArray(
                   R"({"type":"hello","data":{"engines":[{"name":"farmhand","version":"\ud83d"}]}})")
            << "data.engines[0].version contains an unpaired UTF-16 surrogate (\\ud83d)";
        QTest::newRow("key") << QByteArray(R"({"type":"heartbeat","data":{"\udfff":[]}})")
                             << "field name \"\\udfff\" in data contains an unpaired UTF-16 "
                                "surrogate (\\udfff)";
    }
    void envelopeRefusesUnpairedSurrogates()
    {
        QFETCH(QByteArray, text);
        QFETCH(QString, message);
        const auto e = Envelope::parse(text);
        QVERIFY(!e.ok());
        QCOMPARE(e.error().code, QString("invalid_json"));
        QCOMPARE(e.error().message, message);
        // A pair is one character and stays.
        const auto pair = Envelope::parse(R"({"type":"task.log","data":{"text":"\ud83d\ude00"}})");
        QVERIFY(pair.ok());
        QCOMPARE(pair->data.value("text").toString(), QString::fromUtf8("\xF0\x9F\x98\x80"));
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
