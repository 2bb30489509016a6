// Video on the server: the `encode` job type and `settings.video` of the frame types, their
// schemas against the node's own reading of the same keys (render-node/video), the encode task
// a compiler adds and the role it runs as (docs/JOBTYPES.md, "Video").
#include "jobtypes/jobtyperegistry.h"
#include "video/videosettings.h"

#include <QJsonArray>
#include <QTest>

using namespace farm;
using namespace farm::server;

namespace {

JobSpec spec(const QString &type, const QString &main, const QJsonObject &settings,
             const QString &frames = "1", int chunk = 1)
{
    JobSpec s;
    s.type = type;
    s.input.main = main;
    s.input.files = {{main, QString(64, 'a')}};
    s.settings = settings;
    s.frames = frames;
    s.chunk = chunk;
    return s;
}

QStringList enumOf(const JobType &t, const QString &key)
{
    QStringList out;
    for (const QJsonValue &v : t.schema.json()
                                   .value("properties")
                                   .toObject()
                                   .value(key)
                                   .toObject()
                                   .value("enum")
                                   .toArray())
        out.append(v.toString());
    return out;
}

} // namespace

class TestEncodeJob : public QObject
{
    Q_OBJECT
    JobTypeRegistry types = JobTypeRegistry::builtin();

private slots:
    // One contract: the schema's enums and defaults are what the node's VideoSettings reads.
    void schemaIsTheNodesSettings()
    {
        const JobType *encode = types.find("encode");
        QVERIFY(encode);
        QCOMPARE(encode->engine, QString("encode"));
        QCOMPARE(enumOf(*encode, "codec"), video::videoCodecNames());
        QCOMPARE(enumOf(*encode, "pixel_format"), video::videoPixelFormats());
        QCOMPARE(enumOf(*encode, "preset"), video::videoPresets());
        const auto filled = encode->schema.apply({});
        QVERIFY(filled);
        QCOMPARE(*filled, video::VideoSettings{}.toJson());
        // The same fields under settings.video of a model job, shown once it is enabled.
        auto model =
            types.validate(spec("model", "m.glb", {{"video", QJsonObject{{"enabled", true}}}}));
        QVERIFY2(model, model ? "" : qPrintable(model.error().message));
        QJsonObject v = model->settings.value("video").toObject();
        QCOMPARE(v.take("enabled"), QJsonValue(true));
        QCOMPARE(v, video::VideoSettings{}.toJson());
        auto off = types.validate(spec("model", "m.glb", {}));
        QVERIFY(off);
        QCOMPARE(off->settings.value("video").toObject(), (QJsonObject{{"enabled", false}}));
        QVERIFY(video::VideoSettings::fromJson(model->settings.value("video").toObject()));
    }

    // With video on, the compiler adds one task without frames after every frame task.
    void encodeTaskWaitsForEveryFrameTask()
    {
        const QJsonObject video{{"enabled", true}, {"codec", "hevc"}, {"fps", 12}};
        auto s = types.validate(spec("model", "m.glb", {{"video", video}}, "1-10", 4));
        QVERIFY(s);
        auto plans = types.compile(*s);
        QVERIFY(plans);
        QCOMPARE(plans->size(), 4);
        QCOMPARE(plans->at(0).frames.toString(), QString("1-4"));
        QVERIFY(plans->at(3).frames.isEmpty());
        QCOMPARE(plans->at(3).after, (QList<int>{0, 1, 2}));
        Task frameTask;
        frameTask.frames = "1-4";
        QVERIFY(!types.taskRole(*s, frameTask));
        QCOMPARE(types.engineFor(*s, frameTask), QString("farmhand"));
        Task encodeTask;
        encodeTask.jobId = 7;
        const auto role = types.taskRole(*s, encodeTask);
        QVERIFY(role);
        QCOMPARE(role->type, QString("encode"));
        QCOMPARE(role->engine, QString("encode"));
        QCOMPARE(role->framesOf, 7);
        QCOMPARE(role->settings.value("codec").toString(), QString("hevc"));
        QVERIFY(!role->settings.contains("enabled"));
        QCOMPARE(types.engineFor(*s, encodeTask), QString("encode"));
        // Without video: the frame tasks only.
        auto plain = types.validate(spec("model", "m.glb", {}, "1-10", 4));
        QCOMPARE(types.compile(*plain)->size(), 3);
        QVERIFY(!types.taskRole(*plain, encodeTask));
    }

    void badVideoSettings_data()
    {
        QTest::addColumn<QString>("type");
        QTest::addColumn<QString>("main");
        QTest::addColumn<QJsonObject>("settings");
        QTest::addColumn<QString>("error");
        QTest::newRow("unknown codec")
            << "model"
            << "m.glb" << QJsonObject{{"video", QJsonObject{{"enabled", true}, {"codec", "mpeg2"}}}}
            << "settings.video.codec";
        QTest::newRow("exr frames")
            << "blender"
            << "s.blend"
            << QJsonObject{{"format", "OPEN_EXR"}, {"video", QJsonObject{{"enabled", true}}}}
            << "settings.video needs PNG or JPEG frames, not format 'OPEN_EXR'";
        QTest::newRow("encode: fps")
            << "encode"
            << "frame_0001.png" << QJsonObject{{"fps", 0}} << "settings.fps";
        QTest::newRow("encode: output")
            << "encode"
            << "frame_0001.png" << QJsonObject{{"output", "../a.mp4"}} << "settings.output";
        QTest::newRow("encode: not an image")
            << "encode"
            << "notes.txt" << QJsonObject{}
            << "encode jobs take .png, .jpg, .jpeg frames, not 'notes.txt'";
    }
    void badVideoSettings()
    {
        QFETCH(QString, type);
        QFETCH(QString, main);
        QFETCH(QJsonObject, settings);
        QFETCH(QString, error);
        auto s = types.validate(spec(type, main, settings));
        QVERIFY(!s);
        QVERIFY2(s.error().message.contains(error), qPrintable(s.error().message));
    }

    // An encode job is one task of the video; no output of it is a frame.
    void encodeJobIsOneTask()
    {
        auto s = types.validate(spec("encode", "frames/frame_0001.png", {{"codec", "vp9"}}));
        QVERIFY(s);
        QCOMPARE(types.compile(*s)->size(), 1);
        QVERIFY(!types.completedFrame("encode", "frame_0001.png"));
        QVERIFY(!types.completedFrame("encode", "video.mp4"));
        QCOMPARE(*types.completedFrame("model", "frame_0001.png"), 1);
    }
};

QTEST_MAIN(TestEncodeJob)
#include "tst_encodejob.moc"
