// The `compose` job type on the server: its schema against the node's own reading of the same
// keys (render-node/video/composer.h), the bundle it takes (a scenario and at most one video),
// the scenario checked at submit (checkInput) and its single task (docs/JOBTYPES.md, "compose").
#include "jobtypes/jobtyperegistry.h"
#include "video/composer.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>

using namespace farm;
using namespace farm::server;

namespace {

JobSpec spec(const QStringList &files, const QJsonObject &settings = {})
{
    JobSpec s;
    s.type = "compose";
    s.input.main = files.first();
    for (const QString &f : files)
        s.input.files.append({f, QString(64, 'a')});
    s.settings = settings;
    return s;
}

// A reader of bundle files that serves one scenario text as every file.
JobType::ReadInput serving(const QByteArray &scenario)
{
    return [scenario](const QString &, qint64 max) -> std::optional<QByteArray> {
        if (scenario.size() > max)
            return std::nullopt;
        return scenario;
    };
}

const QByteArray kGood = "{\"version\": \"1.3\", \"cues\": [{\"start\": 0, \"end\": 5, \"text\": "
                         "\"Hello World\", \"style\": {\"color\": \"#FFFFFF\"}}]}";

} // namespace

class TestComposeJob : public QObject
{
    Q_OBJECT
    JobTypeRegistry types = JobTypeRegistry::builtin();

private slots:
    // One contract: every key the schema fills in is one the node reads, with the same defaults.
    void schemaIsTheNodesSettings()
    {
        const JobType *compose = types.find("compose");
        QVERIFY(compose);
        QCOMPARE(compose->engine, QString("compose"));
        QCOMPARE(compose->extensions, QStringList{"json"});
        QVERIFY(!compose->frames);
        const auto filled = compose->schema.apply({});
        QVERIFY(filled);
        const auto node = video::ComposeSettings::fromJson(*filled);
        QVERIFY2(node.ok(), node.ok() ? "" : qPrintable(node.error().message));
        const video::ComposeSettings defaults;
        QCOMPARE(node->width, defaults.width);
        QCOMPARE(node->height, defaults.height);
        QCOMPARE(node->fps, defaults.fps);
        QCOMPARE(node->duration, defaults.duration);
        QCOMPARE(node->background, defaults.background);
        QVERIFY(!node->backgroundTo);
        QCOMPARE(node->video.codec, defaults.video.codec);
        QCOMPARE(node->video.crf, defaults.video.crf);
        QCOMPARE(node->video.preset, defaults.video.preset);
        QCOMPARE(node->video.output, defaults.video.output);
        QCOMPARE(node->segmentSeconds, defaults.segmentSeconds);
        QCOMPARE(filled->keys().size(), 14);
        // A gradient as the form sends it.
        auto grad = compose->schema.apply(
            {{"background", "#102030"}, {"background_to", "#FFFFFF"}, {"width", 320}});
        QVERIFY(grad);
        const auto g = video::ComposeSettings::fromJson(*grad);
        QVERIFY(g && g->backgroundTo && g->backgroundTo->r == 255 && g->width == 320);
    }

    void takesAScenarioAndOneVideo()
    {
        auto valid = types.validate(spec({"scenario.json", "clip.mp4"}));
        QVERIFY2(valid.ok(), valid.ok() ? "" : qPrintable(valid.error().message));
        QVERIFY(types.checkInput(*valid, serving(kGood)).ok());
        const auto tasks = types.compile(*valid);
        QVERIFY(tasks);
        QCOMPARE(tasks->size(), 1);
        QVERIFY(tasks->first().after.isEmpty());
        // Its one output is a video, not a frame.
        QVERIFY(!types.completedFrame("compose", "video.mp4"));
        QVERIFY(!types.completedFrame("compose", "frame_0001.png"));
        // Without a video: a background.
        QVERIFY(types.validate(spec({"cards/scenario.json"})).ok());
    }

    void refusesBadBundlesAndSettings_data()
    {
        QTest::addColumn<QStringList>("files");
        QTest::addColumn<QByteArray>("settings");
        QTest::addColumn<QString>("message");
        QTest::newRow("video as main") << QStringList{"clip.mp4"} << QByteArray("{}")
                                       << "compose jobs take .json files, not 'clip.mp4'";
        QTest::newRow("two videos") << QStringList{"s.json", "a.mp4", "b.mov"} << QByteArray("{}")
                                    << "compose jobs take one video, not 2 (a.mp4, b.mov)";
        QTest::newRow("other file") << QStringList{"s.json", "logo.png"} << QByteArray("{}")
                                    << "files beside the main file, not 'logo.png'";
        QTest::newRow("fps") << QStringList{"s.json"} << QByteArray("{\"fps\": 500}")
                             << "settings.fps";
        QTest::newRow("colour") << QStringList{"s.json"} << QByteArray("{\"background\": \"red\"}")
                                << "settings.background";
        QTest::newRow("unknown") << QStringList{"s.json"} << QByteArray("{\"colour\": 1}")
                                 << "settings.colour";
        QTest::newRow("segment name")
            << QStringList{"s.json"} << QByteArray("{\"output\": \"segment_0002.mp4\"}")
            << "settings.output 'segment_0002.mp4' is the name of a segment";
        QTest::newRow("segment length")
            << QStringList{"s.json"} << QByteArray("{\"segment_seconds\": 0.5}")
            << "settings.segment_seconds must be 0 (never split) or at least 1";
    }
    void refusesBadBundlesAndSettings()
    {
        QFETCH(QStringList, files);
        QFETCH(QByteArray, settings);
        QFETCH(QString, message);
        const auto r = types.validate(spec(files, QJsonDocument::fromJson(settings).object()));
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.contains(message), qPrintable(r.error().message));
    }

    // A job longer than a segment: the last segment first (to the input's end), the others,
    // then the join after all of them; each task's role tells the node which part it makes,
    // in settings the node reads.
    void splitsALongJobIntoSegments()
    {
        auto valid =
            types.validate(spec({"scenario.json"}, {{"duration", 150}, {"segment_seconds", 60}}));
        QVERIFY(valid);
        const auto noFile = [](const QString &) { return QString(); };
        const auto tasks = types.compile(*valid, noFile);
        QVERIFY(tasks);
        QCOMPARE(tasks->size(), 4);
        QCOMPARE((*tasks)[0].frames.toString(), QString("3"));
        QCOMPARE((*tasks)[1].frames.toString(), QString("1"));
        QCOMPARE((*tasks)[2].frames.toString(), QString("2"));
        QVERIFY((*tasks)[3].frames.isEmpty());
        QCOMPARE((*tasks)[3].after, QList<int>({0, 1, 2}));
        for (int i = 0; i < 3; ++i)
            QVERIFY((*tasks)[i].after.isEmpty());

        const auto roleOf = [&](int index) {
            Task t;
            t.index = index;
            t.frames = (*tasks)[index].frames.toString();
            return types.taskRole(*valid, t);
        };
        const auto last = roleOf(0);
        QVERIFY(last);
        QCOMPARE(last->engine, QString("compose"));
        auto node = video::ComposeSettings::fromJson(last->settings);
        QVERIFY2(node, node ? "" : qPrintable(node.error().message));
        QCOMPARE(node->segmentNumber, 3);
        QVERIFY(node->segmentToEnd);
        QCOMPARE(node->outputName(), QString("segment_0003.mp4"));
        node = video::ComposeSettings::fromJson(roleOf(1)->settings);
        QVERIFY(node && node->segmentNumber == 1 && !node->segmentToEnd);
        const auto join = roleOf(3);
        QVERIFY(join);
        node = video::ComposeSettings::fromJson(join->settings);
        QVERIFY(node && node->join && node->segmentNumber == 0);
        QCOMPARE(node->outputName(), QString("video.mp4"));
        QVERIFY(join->outputs.match("segment_0002.mp4").hasMatch());
        QVERIFY(!join->outputs.match("video.mp4").hasMatch());
        QCOMPARE(join->outputFolder, QString("_segments"));

        // Up to one segment long, or segment_seconds 0: one task, no role.
        for (const QJsonObject &settings :
             {QJsonObject{{"duration", 60}},
              QJsonObject{{"duration", 150}, {"segment_seconds", 0}}}) {
            auto one = types.validate(spec({"scenario.json"}, settings));
            QVERIFY(one);
            const auto plans = types.compile(*one, noFile);
            QVERIFY(plans && plans->size() == 1);
            Task t;
            t.frames = "1";
            QVERIFY(!types.taskRole(*one, t));
        }
        // Too many segments for the video: 400.
        auto many =
            types.validate(spec({"scenario.json"}, {{"duration", 80000}, {"segment_seconds", 10}}));
        QVERIFY(many);
        const auto r = types.compile(*many, noFile);
        QVERIFY(!r);
        QVERIFY2(r.error().message.contains("makes 8000 segments, more than 1000"),
                 qPrintable(r.error().message));
    }

    // Narration is mixed over the whole video in one task: a narrated card that would be split
    // is refused at submit; the same card unnarrated splits, and a short narrated one does not.
    void refusesANarratedCardThatWouldBeSplit()
    {
        QTemporaryDir dir;
        const auto cardFile = [&](bool narrated) {
            QJsonObject card{{"version", "1.3"}, {"template", "question_card"},
                             {"question", "Q?"}, {"answers", QJsonArray{"a", "b", "c", "d"}},
                             {"correct", 2},     {"countdown", 20},
                             {"reveal", 10},     {"narration", narrated}};
            const QString path = dir.filePath(narrated ? "narrated.json" : "plain.json");
            QFile f(path);
            f.open(QIODevice::WriteOnly);
            f.write(QJsonDocument(card).toJson());
            return path;
        };
        const QString narrated = cardFile(true), plain = cardFile(false);
        auto valid = types.validate(spec({"card.json"}, {{"segment_seconds", 10}}));
        QVERIFY(valid);
        const auto r = types.compile(*valid, [&](const QString &) { return narrated; });
        QVERIFY(!r);
        QCOMPARE(r.error().message,
                 QString("a narrated question card is made in one task, but this 31.5 s video "
                         "would be split into segments of 10 s: set settings.segment_seconds to "
                         "0 (or above 31.5)"));
        const auto split = types.compile(*valid, [&](const QString &) { return plain; });
        QVERIFY(split && split->size() == 5);
        auto whole = types.validate(spec({"card.json"}, {{"segment_seconds", 60}}));
        const auto one = types.compile(*whole, [&](const QString &) { return narrated; });
        QVERIFY(one && one->size() == 1);
    }

    void checksTheScenarioAtSubmit_data()
    {
        QTest::addColumn<QByteArray>("scenario");
        QTest::addColumn<QString>("message");
        QTest::newRow("not json") << QByteArray("not json")
                                  << "scenario.json: the scenario is not a JSON object";
        QTest::newRow("end before start")
            << QByteArray("{\"version\": \"1.3\", \"cues\": [{\"start\": 3, \"end\": 1, "
                          "\"text\": \"x\"}]}")
            << "scenario.json: cues[0] ends (1 s) before it starts (3 s)";
        QTest::newRow("overlap") << QByteArray("{\"version\": \"1.3\", \"cues\": [{\"start\": 0, "
                                               "\"end\": 3, \"text\": \"a\"}, {\"start\": 2, "
                                               "\"end\": 4, \"text\": \"b\"}]}")
                                 << "overlaps cues[0]";
        QTest::newRow("nothing") << QByteArray("{\"version\": \"1.3\", \"cues\": []}")
                                 << "nothing to compose";
        QTest::newRow("too large")
            << QByteArray(kMaxScenarioBytes + 1, ' ') << "cannot read it (over 8 MiB?)";
    }
    void checksTheScenarioAtSubmit()
    {
        QFETCH(QByteArray, scenario);
        QFETCH(QString, message);
        auto valid = types.validate(spec({"scenario.json"}));
        QVERIFY(valid);
        const auto r = types.checkInput(*valid, serving(scenario));
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, QString("invalid_scenario"));
        QVERIFY2(r.error().message.contains(message), qPrintable(r.error().message));
    }
};

QTEST_GUILESS_MAIN(TestComposeJob)
#include "tst_composejob.moc"
