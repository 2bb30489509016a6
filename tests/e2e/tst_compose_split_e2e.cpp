// A long compose job split over two nodes and joined, end to end with the real farm-server and
// two render-node processes on loopback (docs/JOBTYPES.md, "Segments"): a 2-minute video made
// here (320×180 at 30 fps, a sine tone) with a cue across the seam at 60 s, in segments of
// 60 s. Each node makes one segment; the join writes video.mp4, which ffprobe reads as one
// video stream of 3600 frames lasting 120 s whose timestamps step by one frame throughout (no
// frame doubled or missing at the seam, a keyframe there), with the input's audio packet for
// packet; the cue is drawn on both sides of the seam; the completion webhook gives the video's
// duration. A video named by URL is split once the server has fetched it. A truncated input
// fails the split job with a clear message.
#include "farmfixture.h"
#include "fileorigin.h"
#include "hookreceiver.h"
#include "testvideo.h"
#include "video/videodecoder.h"

extern "C" {
#include <libavutil/log.h>
}

#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

using namespace farm;

namespace {

const QByteArray kScenario =
    "{\"version\": \"1.3\", \"cues\": ["
    "{\"start\": 5, \"end\": 8, \"text\": \"Opening\", \"style\": {\"align\": \"bottom\"}},"
    "{\"start\": 59, \"end\": 61, \"text\": \"Across the seam\", \"style\": {\"align\": "
    "\"top\"}},"
    "{\"start\": 100, \"end\": 104, \"text\": \"Closing\", \"style\": {\"align\": \"bottom\"}}]}";

QJsonObject ffprobe(const QStringList &args, QString *error)
{
    QProcess ff;
    ff.start("ffprobe", QStringList{"-v", "error", "-of", "json"} + args);
    if (!ff.waitForFinished(120000) || ff.exitCode() != 0) {
        *error = "ffprobe failed: " + QString::fromUtf8(ff.readAllStandardError());
        return {};
    }
    return QJsonDocument::fromJson(ff.readAllStandardOutput()).object();
}

using testing::FileOrigin;

} // namespace

class TstComposeSplitE2E : public QObject
{
    Q_OBJECT
    FarmFixture farm;
    HookReceiver hooks;
    QTemporaryDir dir;
    QString videoSha, scenarioSha;

    QJsonObject composeJob(const QString &video, double segmentSeconds)
    {
        return {
            {"name", "split compose"},
            {"type", "compose"},
            {"input",
             QJsonObject{
                 {"main", "scenario.json"},
                 {"files", QJsonArray{QJsonObject{{"path", "scenario.json"}, {"file", scenarioSha}},
                                      QJsonObject{{"path", "media/clip.mp4"}, {"file", video}}}}}},
            {"settings", QJsonObject{{"preset", "ultrafast"}, {"segment_seconds", segmentSeconds}}},
            {"callback_url", QString("http://127.0.0.1:%1/hook").arg(hooks.port())}};
    }
    QJsonArray tasksOf(qint64 job)
    {
        return farm.get(QString("/api/v1/jobs/%1/tasks").arg(job)).json().value("tasks").toArray();
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
        QVERIFY2(!QStandardPaths::findExecutable("ffprobe").isEmpty(),
                 "ffprobe not found: scripts/setup-deps.sh --test installs ffmpeg");
        QVERIFY(hooks.listen());
        QVERIFY(farm.startServer(
            0, {"--webhook-allow", QString("http://127.0.0.1:%1").arg(hooks.port()),
                "--webhook-secret", "split-secret", "--fetch-allow", "http://127.0.0.1"}));
        QVERIFY(farm.startNode("split-a"));
        QVERIFY(farm.startNode("split-b"));
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 2; }, 20000));
        const QString source = dir.filePath("clip.mp4");
        const QString e = video::testvideo::make(source, 120.0, 320, 180, 30);
        QVERIFY2(e.isEmpty(), qPrintable(e));
        videoSha = farm.upload(readFile(source), "clip.mp4");
        scenarioSha = farm.upload(kScenario, "scenario.json");
        QVERIFY(!videoSha.isEmpty() && !scenarioSha.isEmpty());
    }

    void twoMinutesOverTwoNodes()
    {
        const qint64 id = farm.submit(composeJob(videoSha, 60));
        QVERIFY(id);
        // Two segments and the join after them: task 0 makes the last segment (to the end).
        QJsonArray tasks = tasksOf(id);
        QCOMPARE(tasks.size(), 3);
        QCOMPARE(tasks[0].toObject().value("frames").toString(), QString("2"));
        QCOMPARE(tasks[1].toObject().value("frames").toString(), QString("1"));
        QCOMPARE(tasks[2].toObject().value("frames").toString(), QString());
        const QJsonObject job = farm.waitForJob(id, 600000);
        QCOMPARE(job.value("state").toString(), QString("completed"));
        tasks = tasksOf(id);
        for (const QJsonValue &t : tasks)
            QCOMPARE(t.toObject().value("state").toString(), QString("done"));
        // Each node made one segment.
        const qint64 nodeA = tasks[0].toObject().value("node_id").toInteger();
        const qint64 nodeB = tasks[1].toObject().value("node_id").toInteger();
        QVERIFY(nodeA > 0 && nodeB > 0);
        QVERIFY2(nodeA != nodeB, "both segments ran on one node");
        QVERIFY2(logOf(tasks[1].toObject())
                     .contains("composed 3 cues over 1800 frames of segment 1 (frames 0 to "
                               "1799)"),
                 qPrintable(logOf(tasks[1].toObject())));
        QVERIFY2(logOf(tasks[0].toObject())
                     .contains("composed 3 cues over 1800 frames of segment 2 (frames 1800 to "
                               "3599)"),
                 qPrintable(logOf(tasks[0].toObject())));
        const QString joinLog = logOf(tasks[2].toObject());
        QVERIFY2(joinLog.contains("joined 2 segments (1800 + 1800 frames) without re-encoding: "
                                  "3600 frames, 120.000 s of video, audio copied"),
                 qPrintable(joinLog));

        const FarmFixture::Reply video =
            farm.get(QString("/api/v1/jobs/%1/outputs/video.mp4").arg(id));
        QCOMPARE(video.status, 200);
        const QString path = dir.filePath("joined.mp4");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(video.body);
        f.close();

        // ffprobe: one video stream (and the audio), 3600 frames, 120 s within a frame.
        QString error;
        const QJsonObject streams = ffprobe({"-show_entries", "stream=codec_type", path}, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QStringList types;
        for (const QJsonValue &s : streams.value("streams").toArray())
            types.append(s.toObject().value("codec_type").toString());
        types.sort();
        QCOMPARE(types, QStringList({"audio", "video"}));
        const QJsonObject v = ffprobe({"-select_streams", "v:0", "-count_frames", "-show_entries",
                                       "stream=nb_read_frames,duration", path},
                                      &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        const QJsonObject vs = v.value("streams").toArray().first().toObject();
        QCOMPARE(vs.value("nb_read_frames").toString().toInt(), 3600);
        QVERIFY2(std::abs(vs.value("duration").toString().toDouble() - 120.0) <= 1.0 / 30,
                 qPrintable(vs.value("duration").toString()));
        // Presentation times step by one frame from the first to the last: nothing doubled or
        // missing at the seam, and the seam (frame 1800) is a keyframe.
        const QJsonObject packets = ffprobe(
            {"-select_streams", "v:0", "-show_entries", "packet=pts_time,flags", path}, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QList<QPair<double, bool>> pts;
        for (const QJsonValue &p : packets.value("packets").toArray())
            pts.append({p.toObject().value("pts_time").toString().toDouble(),
                        p.toObject().value("flags").toString().startsWith('K')});
        std::sort(pts.begin(), pts.end());
        QCOMPARE(pts.size(), 3600);
        for (int i = 1; i < pts.size(); ++i)
            QVERIFY2(std::abs(pts[i].first - pts[i - 1].first - 1.0 / 30) < 1e-4,
                     qPrintable(QString("frames %1 and %2: %3 s, %4 s")
                                    .arg(i - 1)
                                    .arg(i)
                                    .arg(pts[i - 1].first)
                                    .arg(pts[i].first)));
        QVERIFY(pts[0].second && pts[1800].second);

        // The audio is the input's, packet for packet.
        const auto in = video::testvideo::audioPackets(dir.filePath("clip.mp4"));
        const auto out = video::testvideo::audioPackets(path);
        QVERIFY(in.size() > 5000);
        QCOMPARE(out.size(), in.size());
        QVERIFY(out == in);

        // The cue at 59-61 s is drawn on both sides of the seam, and not at 58 s or 62 s.
        auto joined = video::VideoDecoder::open(path);
        auto source = video::VideoDecoder::open(dir.filePath("clip.mp4"));
        QVERIFY(joined && source);
        QHash<int, int> changed;
        for (int n = 0; n <= 1860; ++n) {
            auto a = (*joined)->next();
            auto b = (*source)->next();
            QVERIFY(a && b && *a && *b);
            if (n == 1740 || n == 1780 || n == 1820 || n == 1860)
                changed.insert(n, video::testvideo::changedPixels(*a, *b, 0, 0.25));
        }
        QVERIFY2(changed[1780] > 100 && changed[1820] > 100,
                 qPrintable(QString("%1 %2").arg(changed[1780]).arg(changed[1820])));
        QVERIFY2(changed[1740] < 20 && changed[1860] < 20,
                 qPrintable(QString("%1 %2").arg(changed[1740]).arg(changed[1860])));

        // The callback: completion with the video's URL, size and duration.
        QVERIFY(farm.waitUntil([&] { return !hooks.last("job.completed").isEmpty(); }, 30000));
        QJsonObject done;
        for (const QJsonValue &o : hooks.last("job.completed").value("outputs").toArray())
            if (o.toObject().value("name") == "video.mp4")
                done = o.toObject();
        QCOMPARE(done.value("size").toInteger(), qint64(video.body.size()));
        QVERIFY2(std::abs(done.value("duration").toDouble() - 120.0) <= 1.0 / 30,
                 qPrintable(QJsonDocument(done).toJson()));
    }

    void aVideoNamedByUrlIsSplitOnceFetched()
    {
        // 30 s in segments of 10 s: the job is made with one task while the server fetches
        // the video, then split into three segments and the join.
        const QString clip = dir.filePath("byurl.mp4");
        QVERIFY(video::testvideo::make(clip, 30.0, 320, 180, 30).isEmpty());
        FileOrigin origin;
        origin.body = readFile(clip);
        QVERIFY(origin.listen());
        QJsonObject spec = composeJob(QString(), 10);
        const QJsonArray files{
            QJsonObject{{"path", "scenario.json"}, {"file", scenarioSha}},
            QJsonObject{{"path", "media/clip.mp4"}, {"url", origin.url("clip.mp4")}}};
        spec.insert("input", QJsonObject{{"main", "scenario.json"}, {"files", files}});
        const qint64 id = farm.submit(spec);
        QVERIFY(id);
        const QJsonObject job = farm.waitForJob(id, 300000);
        QCOMPARE(job.value("state").toString(), QString("completed"));
        const QJsonArray tasks = tasksOf(id);
        QCOMPARE(tasks.size(), 4);
        const QString joinLog = logOf(tasks[3].toObject());
        QVERIFY2(joinLog.contains("joined 3 segments (300 + 300 + 300 frames) without "
                                  "re-encoding: 900 frames, 30.000 s of video, audio copied"),
                 qPrintable(joinLog));
    }

    void aTruncatedInputFailsClearly()
    {
        // 30 s in segments of 10 s; the file cut at 40 % (its index at the front survives).
        const QString whole = dir.filePath("short.mp4");
        QVERIFY(video::testvideo::make(whole, 30.0, 320, 180, 30).isEmpty());
        const QByteArray bytes = readFile(whole);
        const QString cut = farm.upload(bytes.left(bytes.size() * 4 / 10), "cut.mp4");
        QVERIFY(!cut.isEmpty());
        const qint64 id = farm.submit(composeJob(cut, 10));
        QVERIFY(id);
        QCOMPARE(tasksOf(id).size(), 4); // three segments and the join
        const QJsonObject job = farm.waitForJob(id, 300000);
        QCOMPARE(job.value("state").toString(), QString("failed"));
        const QString message = job.value("error").toString();
        QVERIFY2(message.contains("clip.mp4") &&
                     (message.contains("truncated") || message.contains("damaged")),
                 qPrintable(message));
        // The nodes are still there.
        QCOMPARE(farm.onlineNodes(), 2);
    }
};

QTEST_GUILESS_MAIN(TstComposeSplitE2E)
#include "tst_compose_split_e2e.moc"
