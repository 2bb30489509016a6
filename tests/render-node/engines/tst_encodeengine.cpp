// The encode engine: its checks, the frames in frame order, the child's command line and task
// file, the slot's device, and the translation of the child's output (docs/JOBTYPES.md, "Video").
#include "agent/taskspec.h"
#include "engines/encode/encodeengine.h"
#include "renderer/childprotocol.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QtTest>

using namespace farm;
using namespace farm::node;

namespace {

QJsonObject assign(const QStringList &paths, const QJsonObject &settings,
                   const QString &type = "encode")
{
    QJsonArray files;
    for (int i = 0; i < paths.size(); ++i)
        files.append(QJsonObject{{"path", paths[i]}, {"file", QString(64, QChar('a' + i % 6))}});
    return {
        {"task", 9},           {"job", 3},
        {"type", type},        {"engine", "encode"},
        {"frames", "1-12"},    {"input", QJsonObject{{"main", paths.first()}, {"files", files}}},
        {"settings", settings}};
}

TaskSpec spec(const QJsonObject &message)
{
    auto s = TaskSpec::fromAssign(message);
    if (!s)
        qFatal("%s", qPrintable(s.error().message));
    return *s;
}

} // namespace

class TestEncodeEngine : public QObject
{
    Q_OBJECT
    EncodeEngine m_engine{"/opt/farm/render-node", {}};

private slots:
    void detectsTheCodecsOfThisLibavcodec()
    {
        const EngineDetection d = m_engine.detect();
        QVERIFY(d.available);
        QVERIFY(d.version.startsWith("Lavc"));
        QVERIFY2(d.devices.contains("h264 (libx264)"), qPrintable(d.devices.join(", ")));
        EncodeEngine none("", {});
        QVERIFY(!none.detect().available);
    }

    // By the number in the name, not by text: frame_10 after frame_9; other files left out.
    void framesInFrameOrder()
    {
        const TaskSpec t = spec(assign(
            {"frames/frame_0010.png", "frames/frame_9.png", "frames/frame_0001.jpg", "notes.txt"},
            {}));
        QCOMPARE(
            EncodeEngine::framePaths(t),
            (QStringList{"frames/frame_0001.jpg", "frames/frame_9.png", "frames/frame_0010.png"}));
        // Names without numbers: by path.
        const TaskSpec named = spec(assign({"b/shot.png", "a/shot.png"}, {}));
        QCOMPARE(EncodeEngine::framePaths(named), (QStringList{"a/shot.png", "b/shot.png"}));
    }

    void checks_data()
    {
        QTest::addColumn<QJsonObject>("message");
        QTest::addColumn<QString>("error");
        QTest::newRow("ok") << assign({"frame_0001.png"}, {{"codec", "vp9"}}) << QString();
        QTest::newRow("not an encode task") << assign({"frame_0001.png"}, {}, "model")
                                            << "engine encode does not run 'model' tasks";
        QTest::newRow("unknown codec")
            << assign({"frame_0001.png"}, {{"codec", "mpeg2"}})
            << "task.assign.settings.codec must be one of h264, hevc, av1, vp9";
        QTest::newRow("no frames") << assign({"scene.glb"}, {})
                                   << "the task's input holds no frames (.png, .jpg, .jpeg files)";
    }
    void checks()
    {
        QFETCH(QJsonObject, message);
        QFETCH(QString, error);
        const auto r = m_engine.check(spec(message));
        QCOMPARE(r ? QString() : r.error().message, error);
    }

    void launchWritesTheTaskFile()
    {
        const TaskSpec t = spec(assign({"frames/frame_0002.png", "frames/frame_0001.png"},
                                       {{"codec", "hevc"}, {"fps", 12}, {"output", "take.mp4"}}));
        const auto cpu = m_engine.launch({t, "/w", "/w/input/frames/frame_0002.png", {}, 2});
        QVERIFY(cpu);
        QCOMPARE(cpu->program, QString("/opt/farm/render-node"));
        QCOMPARE(cpu->arguments, (QStringList{"encode", "encode.json"}));
        QCOMPARE(cpu->expectedFrames, 1);
        QVERIFY(cpu->environment.isEmpty());
        QCOMPARE(cpu->files.size(), 1);
        QCOMPARE(cpu->files.first().first, QString("encode.json"));
        const QJsonObject task = QJsonDocument::fromJson(cpu->files.first().second).object();
        QCOMPARE(task.value("frames").toArray(),
                 (QJsonArray{"/w/input/frames/frame_0001.png", "/w/input/frames/frame_0002.png"}));
        QCOMPARE(task.value("output").toString(), QString("/w/take.mp4"));
        QCOMPARE(task.value("gpu").toBool(), false);
        QCOMPARE(task.value("threads").toInt(), 2);
        QCOMPARE(task.value("settings").toObject().value("codec").toString(), QString("hevc"));
        QCOMPARE(task.value("settings").toObject().value("fps").toDouble(), 12.0);
        // A GPU slot: NVENC is tried there, on the slot's own GPU.
        const auto gpu = m_engine.launch({t, "/w", "/w/input/x.png", {0, "GPU-abc"}, 2});
        QVERIFY(gpu);
        QCOMPARE(gpu->environment.value("CUDA_VISIBLE_DEVICES"), QString("GPU-abc"));
        QCOMPARE(QJsonDocument::fromJson(gpu->files.first().second).object().value("gpu").toBool(),
                 true);
    }

    void readsTheChildsLines()
    {
        auto reader = m_engine.reader(spec(assign({"frame_0001.png"}, {})));
        using S = ChildOutputReader::Stream;
        auto progress = reader->translate(childprotocol::progressLine(0.25, 3), S::Stdout);
        QCOMPARE(progress.size(), 1);
        QCOMPARE(progress.first().kind, ChildEvent::Kind::Progress);
        QCOMPARE(progress.first().fraction, 0.25);
        auto video = reader->translate(childprotocol::frameLine(0, "/w/video.mp4"), S::Stdout);
        QCOMPARE(video.first().kind, ChildEvent::Kind::Frame);
        QCOMPARE(video.first().path, QString("/w/video.mp4"));
        auto note =
            reader->translate("encoder libx264 (preset medium, crf 23): a CPU slot", S::Stdout);
        QCOMPARE(note.first().kind, ChildEvent::Kind::Log);
        auto error = reader->translate("error: frame_0002.png is not an image", S::Stderr);
        QCOMPARE(error.first().kind, ChildEvent::Kind::Error);
    }
};

QTEST_MAIN(TestEncodeEngine)
#include "tst_encodeengine.moc"
