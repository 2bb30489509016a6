// Frames to video end to end, with the real farm-server and render-node binaries on loopback:
// a model job with settings.video ends as an MP4 that ffprobe reads with the asked frame count,
// size, rate and duration; the finished job is encoded again with other settings without
// rendering again; bad input gets clear errors; a GPU slot without NVENC falls back to libx264
// and says why (docs/JOBTYPES.md, "Video").
#include "farmfixture.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

namespace {

const char *kModel =
    "/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb";

QJsonObject modelJob(const QString &sha, const QString &frames, int w, int h,
                     const QJsonObject &video)
{
    return {{"name", "e2e video"},
            {"type", "model"},
            {"input", QJsonObject{{"file", sha}, {"name", "2CylinderEngine.glb"}}},
            {"frames", frames},
            {"chunk", 4},
            {"settings", QJsonObject{{"width", w},
                                     {"height", h},
                                     {"spp", 1},
                                     {"camera", QJsonObject{{"mode", "turntable"}}},
                                     {"video", video}}}};
}

/// What ffprobe says about the video stream and the file.
struct Probe
{
    QString codec, pixFmt, rate;
    int width = 0, height = 0, frames = 0;
    double duration = 0;
    QString error;
};

Probe probe(const QByteArray &bytes)
{
    Probe p;
    QTemporaryDir dir;
    const QString path = dir.filePath("v.mp4");
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size())
        return {.error = "cannot write the video"};
    f.close();
    QProcess ff;
    ff.start("ffprobe", {"-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                         "stream=codec_name,width,height,r_frame_rate,nb_read_frames,pix_fmt",
                         "-show_entries", "format=duration", "-of", "json", path});
    if (!ff.waitForFinished(60000) || ff.exitCode() != 0)
        return {.error = "ffprobe failed: " + QString::fromUtf8(ff.readAllStandardError())};
    const QJsonObject o = QJsonDocument::fromJson(ff.readAllStandardOutput()).object();
    const QJsonObject s = o.value("streams").toArray().first().toObject();
    p.codec = s.value("codec_name").toString();
    p.pixFmt = s.value("pix_fmt").toString();
    p.rate = s.value("r_frame_rate").toString();
    p.width = s.value("width").toInt();
    p.height = s.value("height").toInt();
    p.frames = s.value("nb_read_frames").toString().toInt();
    p.duration = o.value("format").toObject().value("duration").toString().toDouble();
    return p;
}

} // namespace

class TstVideoE2E : public QObject
{
    Q_OBJECT
    FarmFixture farm;
    QString sha;
    qint64 rendered = 0; // the model job whose frames the later tests encode again
    QProcess *cpuNode = nullptr;

    QJsonArray tasksOf(qint64 job)
    {
        return farm.get(QString("/api/v1/jobs/%1/tasks").arg(job)).json().value("tasks").toArray();
    }
    QStringList outputsOf(qint64 job)
    {
        QStringList names;
        for (const QJsonValue &o : farm.get(QString("/api/v1/jobs/%1/outputs").arg(job))
                                       .json()
                                       .value("outputs")
                                       .toArray())
            names.append(o.toObject().value("name").toString());
        return names;
    }
    QString logOf(qint64 task)
    {
        return QString::fromUtf8(farm.get(QString("/api/v1/tasks/%1/log").arg(task)).body);
    }
    /// The one task of a job that has no frames of its own: its encode task.
    QJsonObject encodeTask(qint64 job)
    {
        for (const QJsonValue &t : tasksOf(job))
            if (t.toObject().value("frames").toString().isEmpty())
                return t.toObject();
        return {};
    }
    FarmFixture::Reply encodeAgain(qint64 job, const QJsonObject &body)
    {
        return farm.post(QString("/api/v1/jobs/%1/encode?wait=true&timeout=240").arg(job),
                         QJsonDocument(body).toJson());
    }

private slots:
    void initTestCase()
    {
        FARM_E2E_REQUIRE(kModel);
        QVERIFY2(!QStandardPaths::findExecutable("ffprobe").isEmpty(),
                 "ffprobe not found: scripts/setup-deps.sh --test installs ffmpeg");
        QVERIFY(farm.startServer());
        cpuNode = farm.startNode("cpu-node");
        QVERIFY(cpuNode);
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 20000));
        sha = farm.upload(readFile(kModel), "2CylinderEngine.glb");
        QVERIFY(!sha.isEmpty());
    }

    void framesBecomeAVideo()
    {
        const qint64 id = farm.submit(
            modelJob(sha, "1-12", 96, 64, {{"enabled", true}, {"fps", 24}, {"crf", 23}}));
        QVERIFY(id);
        const QJsonObject job = farm.waitForJob(id, 300000);
        QCOMPARE(job.value("state").toString(), QString("completed"));
        const QJsonArray tasks = tasksOf(id);
        QCOMPARE(tasks.size(), 4); // three chunks of frames, then the encode
        const QJsonObject encode = encodeTask(id);
        QCOMPARE(encode.value("state").toString(), QString("done"));
        const QString log = logOf(encode.value("id").toInteger());
        QVERIFY2(log.contains("engine encode"), qPrintable(log));
        QVERIFY2(log.contains("encoder libx264 (preset medium, crf 23, 96x64 yuv420p at 24 fps): "
                              "a CPU slot"),
                 qPrintable(log));
        QVERIFY2(log.contains("encoded 12 frames (96x64)"), qPrintable(log));
        const QStringList outputs = outputsOf(id);
        QVERIFY2(outputs.contains("video.mp4"), qPrintable(outputs.join(", ")));
        QVERIFY(outputs.contains("frame_0012.png"));
        const FarmFixture::Reply video =
            farm.get(QString("/api/v1/jobs/%1/outputs/video.mp4").arg(id));
        QCOMPARE(video.status, 200);
        QCOMPARE(video.contentType, QByteArray("video/mp4"));
        const Probe p = probe(video.body);
        QVERIFY2(p.error.isEmpty(), qPrintable(p.error));
        QCOMPARE(p.codec, QString("h264"));
        QCOMPARE(p.width, 96);
        QCOMPARE(p.height, 64);
        QCOMPARE(p.rate, QString("24/1"));
        QCOMPARE(p.frames, 12);
        QVERIFY2(qAbs(p.duration - 0.5) < 0.01, qPrintable(QString::number(p.duration)));
        rendered = id;
    }

    // Encoded again twice with other settings: new encode jobs, the frames not rendered again.
    void encodedAgainWithOtherSettings()
    {
        QVERIFY(rendered);
        const int tasksBefore = int(tasksOf(rendered).size());
        struct Case
        {
            QJsonObject settings;
            QString output, codec, pixFmt, rate;
            double duration;
        };
        const QList<Case> cases{
            {{{"codec", "hevc"}, {"fps", 12}, {"crf", 30}, {"output", "take2.mp4"}},
             "take2.mp4",
             "hevc",
             "yuv420p",
             "12/1",
             1.0},
            {{{"codec", "vp9"}, {"fps", 30}, {"pixel_format", "yuv444p"}, {"bitrate_kbps", 300}},
             "video.mp4",
             "vp9",
             "yuv444p",
             "30/1",
             0.4},
        };
        for (const Case &c : cases) {
            const FarmFixture::Reply r = encodeAgain(rendered, {{"settings", c.settings}});
            QVERIFY2(r.status == 200, r.body.constData());
            const QJsonObject job = r.json();
            QCOMPARE(job.value("type").toString(), QString("encode"));
            QCOMPARE(job.value("state").toString(), QString("completed"));
            const qint64 id = job.value("id").toInteger();
            QCOMPARE(outputsOf(id), QStringList{c.output});
            const Probe p =
                probe(farm.get(QString("/api/v1/jobs/%1/outputs/%2").arg(id).arg(c.output)).body);
            QVERIFY2(p.error.isEmpty(), qPrintable(p.error));
            QCOMPARE(p.codec, c.codec);
            QCOMPARE(p.pixFmt, c.pixFmt);
            QCOMPARE(p.rate, c.rate);
            QCOMPARE(p.frames, 12);
            QCOMPARE(p.width, 96);
            QVERIFY2(qAbs(p.duration - c.duration) < 0.01, qPrintable(QString::number(p.duration)));
        }
        QCOMPARE(int(tasksOf(rendered).size()), tasksBefore);
        QCOMPARE(outputsOf(rendered).count("video.mp4"), 1);
    }

    // 4:2:0 needs even sides: 65x49 frames become a 64x48 video, and the log says so.
    void oddSizeBecomesEven()
    {
        const qint64 id = farm.submit(modelJob(sha, "1-2", 65, 49, {{"enabled", true}}));
        QVERIFY(id);
        QCOMPARE(farm.waitForJob(id, 300000).value("state").toString(), QString("completed"));
        const QString log = logOf(encodeTask(id).value("id").toInteger());
        QVERIFY2(log.contains("65x49 frames are scaled to 64x48: yuv420p needs even sides"),
                 qPrintable(log));
        const Probe p = probe(farm.get(QString("/api/v1/jobs/%1/outputs/video.mp4").arg(id)).body);
        QCOMPARE(p.width, 64);
        QCOMPARE(p.height, 48);
        QCOMPARE(p.frames, 2);
    }

    void badInput()
    {
        QVERIFY(rendered);
        // No such job; an unknown codec; an unknown key.
        QCOMPARE(encodeAgain(999999, {}).status, 404);
        FarmFixture::Reply r =
            encodeAgain(rendered, {{"settings", QJsonObject{{"codec", "mpeg2"}}}});
        QCOMPARE(r.status, 400);
        QVERIFY2(r.body.contains("settings.codec"), r.body.constData());
        r = encodeAgain(rendered, {{"setings", QJsonObject{}}});
        QCOMPARE(r.status, 400);
        r = farm.post(
            "/api/v1/jobs",
            QJsonDocument(modelJob(sha, "1", 64, 64, {{"enabled", true}, {"codec", "mpeg2"}}))
                .toJson());
        QCOMPARE(r.status, 400);
        QVERIFY2(r.body.contains("settings.video.codec"), r.body.constData());
        // A job that is not finished has no frames to encode yet.
        QJsonObject waiting = modelJob(sha, "1", 64, 64, {});
        waiting.insert("requirements", QJsonObject{{"tags", QJsonArray{"no-such-pool"}}});
        const qint64 queued = farm.submit(waiting);
        QVERIFY(queued);
        r = encodeAgain(queued, {});
        QCOMPARE(r.status, 409);
        QVERIFY2(r.body.contains("only a completed job's frames"), r.body.constData());
        QCOMPARE(farm.post(QString("/api/v1/jobs/%1/cancel").arg(queued), {}).status, 200);
        // A job without frames: an encode job's only output is its video.
        const FarmFixture::Reply again = encodeAgain(rendered, {});
        QCOMPARE(again.status, 200);
        r = encodeAgain(again.json().value("id").toInteger(), {});
        QCOMPARE(r.status, 400);
        QVERIFY2(r.body.contains("has no frame images to encode"), r.body.constData());
        // An image sequence of one broken frame: the task fails and says which frame.
        const QString good = farm.upload(
            farm.get(QString("/api/v1/jobs/%1/outputs/frame_0001.png").arg(rendered)).body,
            "frame_0001.png");
        const QString bad = farm.upload("not a PNG at all", "frame_0002.png");
        QVERIFY(!good.isEmpty() && !bad.isEmpty());
        const qint64 broken = farm.submit(
            {{"name", "broken sequence"},
             {"type", "encode"},
             {"input", QJsonObject{{"main", "seq/frame_0001.png"},
                                   {"files", QJsonArray{QJsonObject{{"path", "seq/frame_0001.png"},
                                                                    {"file", good}},
                                                        QJsonObject{{"path", "seq/frame_0002.png"},
                                                                    {"file", bad}}}}}}});
        QVERIFY(broken);
        const QJsonObject failed = farm.waitForJob(broken, 120000);
        QCOMPARE(failed.value("state").toString(), QString("failed"));
        QVERIFY2(failed.value("error").toString().contains("frame_0002.png is not an image"),
                 qPrintable(failed.value("error").toString()));
        QCOMPARE(farm.onlineNodes(), 1); // nothing else harmed
    }

    // A GPU slot tries NVENC first; where it does not open (no NVIDIA driver here) the task
    // falls back to libx264 and its log says why.
    void gpuSlotWithoutNvencFallsBack()
    {
        QVERIFY(rendered);
        farm.killNode(cpuNode);
        QVERIFY(farm.startNode("gpu-node", {"--gpus", "GPU-e2e-declared", "--slots", "0"}));
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 30000));
        const FarmFixture::Reply r = encodeAgain(rendered, {{"settings", QJsonObject{{"fps", 6}}}});
        QVERIFY2(r.status == 200, r.body.constData());
        QCOMPARE(r.json().value("state").toString(), QString("completed"));
        const qint64 id = r.json().value("id").toInteger();
        const QString log = logOf(tasksOf(id).first().toObject().value("id").toInteger());
        QVERIFY2(log.contains("slot 0 (GPU)"), qPrintable(log));
        QVERIFY2(log.contains("CUDA_VISIBLE_DEVICES=GPU-e2e-declared"), qPrintable(log));
        if (!log.contains("encoder h264_nvenc"))
            QVERIFY2(log.contains("encoder libx264") &&
                         log.contains("a GPU slot, but h264_nvenc did not open"),
                     qPrintable(log));
        const Probe p = probe(farm.get(QString("/api/v1/jobs/%1/outputs/video.mp4").arg(id)).body);
        QCOMPARE(p.frames, 12);
        QCOMPARE(p.rate, QString("6/1"));
        QVERIFY(qAbs(p.duration - 2.0) < 0.01);
    }
};

QTEST_MAIN(TstVideoE2E)
#include "tst_video_e2e.moc"
