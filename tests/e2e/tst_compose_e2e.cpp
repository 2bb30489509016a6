// Timed text over video end to end, with the real farm-server and render-node binaries on
// loopback: an uploaded video (made here with libav, with a sine tone) and a scenario of three
// cues become an MP4 with the cues drawn and the audio kept; the job's callback_url hears of
// its completion with the video's URL, size and duration; a bad scenario is refused at submit, a
// file that is not a video fails its task with a clear message, an unknown font falls back and says
// so in the task log (docs/JOBTYPES.md, "compose").
#include "farmfixture.h"
#include "hookreceiver.h"
#include "testvideo.h"
#include "video/videodecoder.h"

extern "C" {
#include <libavutil/log.h>
}

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

using namespace farm;

namespace {

const QByteArray kScenario =
    "{\"version\": \"1.3\", \"cues\": ["
    "{\"start\": 0.5, \"end\": 1.5, \"text\": \"Hello World\", \"style\": {\"align\": \"top\"}},"
    "{\"start\": 1.5, \"end\": 2.5, \"text\": \"Second cue\", \"style\": {\"align\": \"bottom\","
    " \"box\": true}},"
    "{\"start\": 2.5, \"end\": 3.5, \"text\": \"한국어 자막\", \"style\": {\"align\": \"center\","
    " \"font\": \"No Such Font 123\"}}]}";

} // namespace

class TstComposeE2E : public QObject
{
    Q_OBJECT
    FarmFixture farm;
    HookReceiver hooks;
    QTemporaryDir dir;
    QString videoSha, scenarioSha;

    QJsonObject composeJob(const QString &scenario, const QString &video,
                           const QJsonObject &settings = {{"preset", "ultrafast"}})
    {
        QJsonArray files{QJsonObject{{"path", "scenario.json"}, {"file", scenario}}};
        if (!video.isEmpty())
            files.append(QJsonObject{{"path", "media/clip.mp4"}, {"file", video}});
        return {{"name", "e2e compose"},
                {"type", "compose"},
                {"input", QJsonObject{{"main", "scenario.json"}, {"files", files}}},
                {"settings", settings}};
    }
    QJsonObject onlyTask(qint64 job)
    {
        const QJsonArray tasks =
            farm.get(QString("/api/v1/jobs/%1/tasks").arg(job)).json().value("tasks").toArray();
        return tasks.size() == 1 ? tasks.first().toObject() : QJsonObject();
    }
    QString logOf(const QJsonObject &task)
    {
        return QString::fromUtf8(
            farm.get(QString("/api/v1/tasks/%1/log").arg(task.value("id").toInteger())).body);
    }

private slots:
    void initTestCase()
    {
        av_log_set_level(AV_LOG_QUIET);
        QVERIFY2(QFile::exists(FarmFixture::binary("farm-server/farm-server")),
                 "farm-server not built");
        QVERIFY2(QFile::exists(FarmFixture::binary("render-node/render-node")),
                 "render-node not built");
        QVERIFY(hooks.listen());
        QVERIFY(farm.startServer(
            0, {"--webhook-allow", QString("http://127.0.0.1:%1").arg(hooks.port()),
                "--webhook-secret", "e2e-secret", "--fetch-allow", "http://127.0.0.1"}));
        QVERIFY(farm.startNode("compose-node"));
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 20000));
        const QString source = dir.filePath("clip.mp4");
        const QString e = video::testvideo::make(source, 4.0, 320, 180, 30);
        QVERIFY2(e.isEmpty(), qPrintable(e));
        videoSha = farm.upload(readFile(source), "clip.mp4");
        scenarioSha = farm.upload(kScenario, "scenario.json");
        QVERIFY(!videoSha.isEmpty() && !scenarioSha.isEmpty());
    }

    void composesAnUploadedVideo()
    {
        QJsonObject spec = composeJob(scenarioSha, videoSha);
        const QString hook = QString("http://127.0.0.1:%1/hook").arg(hooks.port());
        spec.insert("callback_url", hook);
        const qint64 id = farm.submit(spec);
        QVERIFY(id);
        const QJsonObject job = farm.waitForJob(id, 300000);
        QCOMPARE(job.value("state").toString(), QString("completed"));
        const QJsonObject task = onlyTask(id);
        QCOMPARE(task.value("state").toString(), QString("done"));
        const QString log = logOf(task);
        QVERIFY2(log.contains("engine compose"), qPrintable(log));
        QVERIFY2(log.contains("encoder libx264 (preset ultrafast, crf 23, 320x180 yuv420p at 30 "
                              "fps)"),
                 qPrintable(log));
        QVERIFY2(log.contains("font 'No Such Font 123' is not installed on this node: its cues "
                              "use 'Noto Sans CJK KR' instead"),
                 qPrintable(log));
        QVERIFY2(log.contains("composed 3 cues over 120 frames (320x180 at 30 fps, 4.000 s of "
                              "video, audio copied)"),
                 qPrintable(log));

        const FarmFixture::Reply video =
            farm.get(QString("/api/v1/jobs/%1/outputs/video.mp4").arg(id));
        QCOMPARE(video.status, 200);
        QCOMPARE(video.contentType, QByteArray("video/mp4"));
        const QString path = dir.filePath("composed.mp4");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(video.body);
        f.close();
        auto composed = video::VideoDecoder::open(path);
        auto source = video::VideoDecoder::open(dir.filePath("clip.mp4"));
        QVERIFY(composed && source);
        QVERIFY((*composed)->info().hasAudio);
        QCOMPARE((*composed)->info().width, 320);
        // The top cue (0.5-1.5 s) is drawn at 1 s and not at 2 s: rows 0-40 against the source.
        int changedAt1 = 0, changedAt2 = 0, frames = 0;
        for (int n = 0;; ++n) {
            auto a = (*composed)->next();
            auto b = (*source)->next();
            QVERIFY(a && b);
            if (!*a || !*b) {
                QVERIFY(!*a && !*b);
                break;
            }
            ++frames;
            if (n != 30 && n != 60)
                continue;
            int changed = 0;
            for (int y = 0; y < 40; ++y)
                for (int x = 0; x < 320; ++x)
                    changed += std::abs(int((*a)->data[0][y * (*a)->linesize[0] + x]) -
                                        int((*b)->data[0][y * (*b)->linesize[0] + x])) > 48;
            (n == 30 ? changedAt1 : changedAt2) = changed;
        }
        QCOMPARE(frames, 120);
        QVERIFY2(changedAt1 > 100, qPrintable(QString::number(changedAt1)));
        QVERIFY2(changedAt2 < 20, qPrintable(QString::number(changedAt2)));

        // The callback: completion with the video's URL, size and duration.
        QVERIFY(farm.waitUntil(
            [&] {
                for (const QJsonObject &c : hooks.calls)
                    if (c.value("event") == "job.completed")
                        return true;
                return false;
            },
            30000));
        QJsonObject done;
        for (const QJsonObject &c : hooks.calls)
            if (c.value("event") == "job.completed")
                done = c;
        QCOMPARE(done.value("job").toObject().value("id").toInteger(), id);
        const QJsonObject out = done.value("outputs").toArray().first().toObject();
        QCOMPARE(out.value("name").toString(), QString("video.mp4"));
        QCOMPARE(out.value("size").toInteger(), qint64(video.body.size()));
        QCOMPARE(out.value("duration").toDouble(), 4.0); // read from the video by the server
        QVERIFY2(out.value("url").toString().endsWith(
                     QString("/api/v1/jobs/%1/outputs/video.mp4").arg(id)),
                 qPrintable(out.value("url").toString()));
    }

    void backgroundWithoutAVideo()
    {
        const qint64 id = farm.submit(composeJob(
            scenarioSha, QString(),
            {{"preset", "ultrafast"}, {"width", 160}, {"height", 90}, {"background", "#203040"}}));
        QVERIFY(id);
        const QJsonObject job = farm.waitForJob(id, 120000);
        QCOMPARE(job.value("state").toString(), QString("completed"));
        const QString log = logOf(onlyTask(id));
        // The last cue ends at 3.5 s: 105 frames at 30 fps, no audio.
        QVERIFY2(log.contains("composed 3 cues over 105 frames (160x90 at 30 fps, 3.500 s of "
                              "video)"),
                 qPrintable(log));
    }

    void badScenarioIsRefusedAtSubmit()
    {
        const QString bad = farm.upload("{\"version\": \"1.3\", \"cues\": [{\"start\": 4, "
                                        "\"end\": 2, \"text\": \"backwards\"}]}",
                                        "bad.json");
        QVERIFY(!bad.isEmpty());
        const FarmFixture::Reply r =
            farm.post("/api/v1/jobs", QJsonDocument(composeJob(bad, videoSha)).toJson());
        QCOMPARE(r.status, 400);
        const QJsonObject error = r.json().value("error").toObject();
        QCOMPARE(error.value("code").toString(), QString("invalid_scenario"));
        QCOMPARE(error.value("message").toString(),
                 QString("scenario.json: cues[0] ends (2 s) before it starts (4 s)"));
    }

    // The video named by URL (an origin on loopback in this process serves it), a narrated
    // question card over it: the server fetches the file, the node speaks the card over the
    // video's own audio.
    void narratedCardOverAVideoNamedByUrl()
    {
        QTcpServer origin;
        QVERIFY(origin.listen(QHostAddress::LocalHost, 0));
        const QByteArray clip = readFile(dir.filePath("clip.mp4"));
        connect(&origin, &QTcpServer::newConnection, this, [&] {
            while (QTcpSocket *s = origin.nextPendingConnection())
                connect(s, &QTcpSocket::readyRead, s, [s, clip] {
                    if (!s->readAll().contains("GET /clip.mp4 "))
                        return;
                    s->write("HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: " +
                             QByteArray::number(clip.size()) + "\r\nConnection: close\r\n\r\n" +
                             clip);
                    s->disconnectFromHost();
                });
        });
        const QString card = farm.upload(
            R"({"version": "1.3", "template": "question_card", "question": "Capital of Korea?",
                "answers": ["Busan", "Seoul", "Incheon", "Daegu"], "correct": 1,
                "countdown": 1, "reveal": 1, "narration": true})",
            "card.json");
        QVERIFY(!card.isEmpty());
        const QString url = QString("http://127.0.0.1:%1/clip.mp4").arg(origin.serverPort());
        const QJsonArray files{QJsonObject{{"path", "card.json"}, {"file", card}},
                               QJsonObject{{"path", "clip.mp4"}, {"url", url}}};
        const qint64 id =
            farm.submit({{"name", "narrated by url"},
                         {"type", "compose"},
                         {"input", QJsonObject{{"main", "card.json"}, {"files", files}}},
                         {"settings", QJsonObject{{"preset", "ultrafast"}}}});
        QVERIFY(id);
        const QJsonObject job = farm.waitForJob(id, 300000);
        QCOMPARE(job.value("state").toString(), QString("completed"));
        const QJsonObject fetched =
            job.value("input").toObject().value("files").toArray()[1].toObject();
        QCOMPARE(fetched.value("file").toString(),
                 QString(QCryptographicHash::hash(clip, QCryptographicHash::Sha256).toHex()));
        QCOMPARE(fetched.value("url").toString(), url);
        const QString log = logOf(onlyTask(id));
        QVERIFY2(log.contains("narration mixed over clip.mp4's audio"), qPrintable(log));
        QVERIFY2(log.contains("narration (espeak-ng, voice en, 160 words a minute): "
                              "'Capital of Korea?' 0.00-"),
                 qPrintable(log));
        QVERIFY2(log.contains("s of video, narrated)"), qPrintable(log));
        const QString path = dir.filePath("narrated.mp4");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(farm.get(QString("/api/v1/jobs/%1/outputs/video.mp4").arg(id)).body);
        f.close();
        auto composed = video::VideoDecoder::open(path);
        QVERIFY(composed);
        QVERIFY((*composed)->info().hasAudio);
    }

    void notAVideoFailsItsTaskClearly()
    {
        const QString text = farm.upload("these are notes, not a video\n", "clip.mp4");
        const qint64 id = farm.submit(composeJob(scenarioSha, text));
        QVERIFY(id);
        const QJsonObject job = farm.waitForJob(id, 120000);
        QCOMPARE(job.value("state").toString(), QString("failed"));
        QVERIFY2(job.value("error").toString().contains("clip.mp4 is not a media file FFmpeg "
                                                        "reads"),
                 qPrintable(job.value("error").toString()));
        // The input cannot change, so the job fails after one attempt, not three
        // (errc::InvalidInput is not retried).
        const QJsonArray tasks =
            farm.get(QString("/api/v1/jobs/%1/tasks").arg(id)).json().value("tasks").toArray();
        QCOMPARE(tasks.size(), 1);
        QCOMPARE(tasks[0].toObject().value("attempts").toInt(), 1);
        QVERIFY2(job.value("error").toString().contains("not retried (invalid_input"),
                 qPrintable(job.value("error").toString()));
        // The node is still there for the next job.
        QCOMPARE(farm.onlineNodes(), 1);
    }
};

QTEST_MAIN(TstComposeE2E)
#include "tst_compose_e2e.moc"
