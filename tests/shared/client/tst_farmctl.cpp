// farmctl as scripts use it: the built binary in a QProcess against the fake server.
#include "fakefarmserver.h"
#include "testzip.h"

#include <QDir>
#include <QJsonArray>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace farm;
using farm::testing::FakeFarmServer;

namespace {

struct Outcome
{
    int code = -1;
    QString out, err;
};

} // namespace

class TestFarmctl : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;

    /// Starts farmctl; the fake server keeps answering because the test's event loop runs while
    /// it waits (QProcess::waitForFinished would block it).
    QProcess *start(const FakeFarmServer &fake, const QStringList &args)
    {
        auto *p = new QProcess(this);
        p->start(FARMCTL_PATH, QStringList{"--server", fake.url().toString()} + args);
        return p;
    }

    Outcome finish(QProcess *p)
    {
        if (p->state() != QProcess::NotRunning) {
            QSignalSpy spy(p, &QProcess::finished);
            spy.wait(30000);
        }
        Outcome o{p->exitStatus() == QProcess::NormalExit ? p->exitCode() : -1,
                  QString::fromUtf8(p->readAllStandardOutput()),
                  QString::fromUtf8(p->readAllStandardError())};
        p->deleteLater();
        return o;
    }

    Outcome run(const FakeFarmServer &fake, const QStringList &args)
    {
        return finish(start(fake, args));
    }

    qint64 addJob(FakeFarmServer &fake)
    {
        fake.files.insert(QString(64, 'e'), "x");
        JobSpec spec;
        spec.name = "engine turntable";
        spec.input.main = "engine.glb";
        spec.input.files = {{"engine.glb", QString(64, 'e')}};
        spec.frames = "1-3";
        return fake.addJob(spec).id;
    }

    QString writeModel(const QString &name)
    {
        const QString path = m_dir.filePath(name);
        QDir().mkpath(QFileInfo(path).absolutePath());
        QFile model(path);
        if (!model.open(QIODevice::WriteOnly))
            return {};
        model.write("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n");
        return path;
    }

    static QStringList uploads(const FakeFarmServer &fake)
    {
        return fake.requestLog.filter("/api/v1/uploads");
    }

    /// A copy of a test model folder of Debian's assimp-testmodels, or empty when not installed.
    QString copyModelFolder(const QString &source, const QString &target)
    {
        const QDir from(source);
        if (!from.exists())
            return {};
        QDir().mkpath(target);
        for (const QString &f : from.entryList(QDir::Files))
            QFile::copy(from.filePath(f), QDir(target).filePath(f));
        return target;
    }

private slots:
    void submitTemplatesAndPasses()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        const QString model = writeModel("part.obj");

        const Outcome templates =
            run(fake, {"submit", model, "--type", "templates", "--views", "42", "--passes",
                       "rgb,mask,xyz,depth", "--bit-depth", "16", "--size", "160x120"});
        QVERIFY2(templates.code == 0, qPrintable(templates.err));
        QCOMPARE(templates.out, QString("1\n"));
        const JobSpec &tpl = fake.jobs[1].spec;
        QCOMPARE(tpl.type, QString("templates"));
        QCOMPARE(tpl.settings, (QJsonObject{{"views", 42},
                                            {"passes", QJsonArray{"rgb", "mask", "xyz", "depth"}},
                                            {"bit_depth", 16},
                                            {"width", 160},
                                            {"height", 120}}));
        QCOMPARE(tpl.frames, QString("1"));
        // status lists the settings in the type's schema order.
        const Outcome status = run(fake, {"status", "1"});
        QVERIFY2(
            status.out.contains("settings  views = 42\n            width = 160\n"
                                "            height = 120\n            passes = rgb, mask, xyz, "
                                "depth\n            bit_depth = 16\n"),
            qPrintable(status.out));
        const Outcome passes = run(fake, {"submit", model, "--passes", "rgb,depth,mask"});
        QVERIFY2(passes.code == 0, qPrintable(passes.err));
        QCOMPARE(fake.jobs[2].spec.type, QString("model")); // the first type taking .obj
        // Only what was asked for is sent: the server fills in the schema's defaults.
        QCOMPARE(fake.jobs[2].spec.settings,
                 (QJsonObject{{"passes", QJsonArray{"rgb", "depth", "mask"}}}));

        const Outcome ortho = run(fake, {"submit", model, "--ortho"});
        QVERIFY2(ortho.code == 0, qPrintable(ortho.err));
        QCOMPARE(fake.jobs[3].spec.settings.value("camera").toObject(),
                 (QJsonObject{{"projection", "orthographic"}}));
        const Outcome orthoWidth =
            run(fake, {"submit", model, "--ortho-width", "2.5", "--turntable"});
        QVERIFY2(orthoWidth.code == 0, qPrintable(orthoWidth.err));
        QCOMPARE(fake.jobs[4].spec.settings.value("camera").toObject(),
                 (QJsonObject{
                     {"projection", "orthographic"}, {"ortho_width", 2.5}, {"mode", "turntable"}}));

        const Outcome badWidth = run(fake, {"submit", model, "--ortho-width", "-1"});
        QCOMPARE(badWidth.code, 64);
        QVERIFY2(badWidth.err.contains("settings.camera.ortho_width must be between 0 and"),
                 qPrintable(badWidth.err));
        const Outcome notNumber = run(fake, {"submit", model, "--ortho-width", "wide"});
        QCOMPARE(notNumber.code, 64);
        QVERIFY2(notNumber.err.contains("--ortho-width: settings.camera.ortho_width must be a "
                                        "number, not 'wide'"),
                 qPrintable(notNumber.err));
        // The templates type has no camera in its schema.
        const Outcome orthoTemplates =
            run(fake, {"submit", model, "--type", "templates", "--ortho"});
        QCOMPARE(orthoTemplates.code, 64);
        QVERIFY2(orthoTemplates.err.contains(
                     "--ortho sets camera.projection, which job type 'templates' does not have"),
                 qPrintable(orthoTemplates.err));
        const Outcome framesTemplates =
            run(fake, {"submit", model, "--type", "templates", "--frames", "1-4"});
        QCOMPARE(framesTemplates.code, 64);
        QVERIFY2(framesTemplates.err.contains("renders no frames"),
                 qPrintable(framesTemplates.err));
        QCOMPARE(fake.jobs.size(), 4); // the refused ones created nothing
    }

    void submitSetsSettingsFromTheSchema()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        // A type this farmctl has no code for: only its schema says what its settings are.
        fake.jobTypes.append(QJsonObject{
            {"name", "testonly"},
            {"label", "Test only"},
            {"engine", "farmhand"},
            {"extensions", QJsonArray{"glb"}},
            {"frames", true},
            {"schema",
             QJsonObject{
                 {"type", "object"},
                 {"order", QJsonArray{"flavour", "strength"}},
                 {"properties",
                  QJsonObject{{"flavour", QJsonObject{{"type", "string"},
                                                      {"enum", QJsonArray{"salty", "sweet"}},
                                                      {"default", "sweet"}}},
                              {"strength", QJsonObject{{"type", "integer"},
                                                       {"minimum", 1},
                                                       {"maximum", 5},
                                                       {"default", 3},
                                                       {"description", "How strong"}}}}}}}});
        const QString glb = writeModel("cube.glb");
        const Outcome ok = run(fake, {"submit", glb, "--type", "testonly", "--set", "flavour=salty",
                                      "--set", "strength=5", "--frames", "1-2"});
        QVERIFY2(ok.code == 0, qPrintable(ok.err));
        QCOMPARE(fake.jobs[1].spec.type, QString("testonly"));
        QCOMPARE(fake.jobs[1].spec.settings, (QJsonObject{{"flavour", "salty"}, {"strength", 5}}));

        const Outcome tooStrong =
            run(fake, {"submit", glb, "--type", "testonly", "--set", "strength=6"});
        QCOMPARE(tooStrong.code, 64);
        QVERIFY2(tooStrong.err.contains("settings.strength must be between 1 and 5"),
                 qPrintable(tooStrong.err));
        const Outcome notAFlavour =
            run(fake, {"submit", glb, "--type", "testonly", "--set", "flavour=sour"});
        QVERIFY2(notAFlavour.err.contains("must be one of salty, sweet, not 'sour'"),
                 qPrintable(notAFlavour.err));
        // Dotted keys reach nested objects; values are typed by the schema.
        const Outcome nested =
            run(fake, {"submit", glb, "--set", "camera.mode=turntable", "--set", "spp=8", "--set",
                       "passes=rgb, depth", "--frames", "1-3"});
        QVERIFY2(nested.code == 0, qPrintable(nested.err));
        QCOMPARE(fake.jobs[2].spec.type, QString("model")); // the server lists model first
        QCOMPARE(fake.jobs[2].spec.settings,
                 (QJsonObject{{"camera", QJsonObject{{"mode", "turntable"}}},
                              {"spp", 8},
                              {"passes", QJsonArray{"rgb", "depth"}}}));
        const Outcome unknown = run(fake, {"submit", glb, "--set", "camera.zoom=2"});
        QCOMPARE(unknown.code, 64);
        QVERIFY2(unknown.err.contains("settings.camera.zoom is not a setting of job type 'model'"),
                 qPrintable(unknown.err));
        const Outcome noType = run(fake, {"submit", glb, "--type", "houdini"});
        QCOMPARE(noType.code, 64);
        QVERIFY2(noType.err.contains("no job type 'houdini' (it has: model, templates, blender, "
                                     "encode, compose, testonly)"),
                 qPrintable(noType.err));
        const Outcome wrongFile = run(fake, {"submit", glb, "--type", "blender"});
        QVERIFY2(wrongFile.err.contains("job type 'blender' takes .blend files, not cube.glb"),
                 qPrintable(wrongFile.err));
        QCOMPARE(fake.jobs.size(), 2);

        // farmctl types: the list, and one type's settings with their limits.
        const Outcome types = run(fake, {"types"});
        QCOMPARE(types.code, 0);
        QVERIFY(types.out.startsWith("NAME "));
        QVERIFY2(
            types.out.contains(QRegularExpression("testonly +Test only +farmhand +yes +\\.glb")),
            qPrintable(types.out));
        QVERIFY(types.out.contains(
            QRegularExpression("blender +Blender scene +blender +yes +\\.blend")));
        const Outcome one = run(fake, {"types", "testonly"});
        QCOMPARE(one.code, 0);
        QVERIFY2(one.out.contains(
                     QRegularExpression("flavour +string, one of salty, sweet, default sweet")),
                 qPrintable(one.out));
        QVERIFY(
            one.out.contains(QRegularExpression("strength +integer 1..5, default 3 +How strong")));
        const Outcome verbose = run(fake, {"types", "--verbose"});
        QVERIFY(verbose.out.contains(QRegularExpression("camera.mode +string, one of still, "
                                                        "turntable, default still")));
        QVERIFY(verbose.out.contains(QRegularExpression("samples +integer 1..65536, optional")));
        QCOMPARE(run(fake, {"types", "nope"}).code, 1);
    }

    void submitBundles()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        const QString box = copyModelFolder("/usr/share/assimp/models/glTF2/BoxTextured-glTF",
                                            m_dir.filePath("bundles/box"));
        if (box.isEmpty())
            QSKIP("assimp-testmodels is not installed");

        // A file: its side files come along with their relative paths.
        const Outcome file = run(fake, {"submit", box + "/BoxTextured.gltf", "--spp", "4"});
        QVERIFY2(file.code == 0, qPrintable(file.err));
        const JobInput in = fake.jobs[1].spec.input;
        QCOMPARE(in.main, QString("BoxTextured.gltf"));
        QStringList paths;
        for (const BundleFile &f : in.files) {
            paths.append(f.path);
            QVERIFY(fake.files.contains(f.file));
        }
        QCOMPARE(paths,
                 (QStringList{"BoxTextured.gltf", "BoxTextured0.bin", "CesiumLogoFlat.png"}));
        QCOMPARE(fake.jobs[1].spec.name, QString("BoxTextured.gltf"));

        // The same folder: the one glTF is the main file; nothing new to upload.
        fake.putChunks.clear();
        const Outcome folder = run(fake, {"submit", box});
        QVERIFY2(folder.code == 0, qPrintable(folder.err));
        QCOMPARE(fake.jobs[2].spec.input.main, QString("BoxTextured.gltf"));
        QCOMPARE(fake.jobs[2].spec.input.files.size(), 3);
        QVERIFY(fake.putChunks.isEmpty());

        // Two candidates: listed, then chosen with --main.
        QVERIFY(QFile::copy(box + "/BoxTextured.gltf", box + "/Other.gltf"));
        const Outcome ambiguous = run(fake, {"submit", box});
        QCOMPARE(ambiguous.code, 64);
        QVERIFY2(ambiguous.err.contains("BoxTextured.gltf, Other.gltf") &&
                     ambiguous.err.contains("--main"),
                 qPrintable(ambiguous.err));
        const Outcome chosen = run(fake, {"submit", box, "--main", "Other.gltf"});
        QVERIFY2(chosen.code == 0, qPrintable(chosen.err));
        QCOMPARE(fake.jobs[3].spec.input.main, QString("Other.gltf"));
        // The other glTF is no side file of a model job (side_extensions): left out, named.
        QCOMPARE(fake.jobs[3].spec.input.files.size(), 3);
        QVERIFY2(chosen.err.contains("left out, not uploaded: model jobs do not take "
                                     "BoxTextured.gltf beside Other.gltf"),
                 qPrintable(chosen.err));

        // A missing side file is named before anything is uploaded.
        QVERIFY(QFile::remove(box + "/CesiumLogoFlat.png"));
        fake.requestLog.clear();
        const Outcome missing = run(fake, {"submit", box + "/BoxTextured.gltf"});
        QCOMPARE(missing.code, 1);
        QVERIFY2(missing.err.contains("BoxTextured.gltf needs CesiumLogoFlat.png") &&
                     missing.err.contains("nothing was uploaded"),
                 qPrintable(missing.err));
        const Outcome missingInFolder = run(fake, {"submit", box, "--main", "Other.gltf"});
        QCOMPARE(missingInFolder.code, 1);
        QVERIFY2(missingInFolder.err.contains("Other.gltf needs CesiumLogoFlat.png, which is not "
                                              "in the folder"),
                 qPrintable(missingInFolder.err));
        QVERIFY(uploads(fake).isEmpty());
        QCOMPARE(fake.jobs.size(), 3);

        // A .zip travels as one file; its main file is found from the entries' names.
        QFile zip(m_dir.filePath("bundles/box.zip"));
        QVERIFY(zip.open(QIODevice::WriteOnly));
        zip.write(testing::makeZip({{"box/box.gltf", "{}"}, {"box/box.bin", "bin"}}));
        zip.close();
        const Outcome archive = run(fake, {"submit", zip.fileName(), "--name", "zipped"});
        QVERIFY2(archive.code == 0, qPrintable(archive.err));
        const JobSpec zipped = fake.jobs[4].spec;
        QCOMPARE(zipped.name, QString("zipped"));
        QCOMPARE(zipped.input.main, QString("box/box.gltf"));
        QVERIFY(fake.files.contains(zipped.input.archive));
        QVERIFY(zipped.input.files.isEmpty());
        const Outcome notInZip = run(fake, {"submit", zip.fileName(), "--main", "x.gltf"});
        QCOMPARE(notInZip.code, 64);
        QVERIFY2(notInZip.err.contains("holds no file x.gltf"), qPrintable(notInZip.err));
    }

    void submitLeavesOutSideFilesTheTypeRefuses()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        // A compose folder: the scenario, its video, and files compose jobs do not take
        // (side_extensions of the served type: videos only).
        const QString folder = m_dir.filePath("sides/compose");
        QVERIFY(QDir().mkpath(folder + "/notes"));
        const auto put = [&](const QString &name, const QByteArray &bytes) {
            QFile f(folder + "/" + name);
            return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
        };
        QVERIFY(put("cues.json", R"({"version": "1.3", "cues": []})"));
        QVERIFY(put("clip.mp4", "not really a video, but the client does not look"));
        QVERIFY(put("notes/todo.txt", "unique text of the left-out notes file"));
        QVERIFY(put("cover.png", "unique bytes of the left-out picture"));
        const Outcome out = run(fake, {"submit", folder, "--type", "compose"});
        QVERIFY2(out.code == 0, qPrintable(out.err));
        QVERIFY2(out.err.contains("left out, not uploaded: compose jobs do not take "
                                  "cover.png, notes/todo.txt beside cues.json (they take .mp4, "),
                 qPrintable(out.err));
        const JobInput in = fake.jobs.last().spec.input;
        QCOMPARE(in.main, QString("cues.json"));
        QStringList paths;
        for (const BundleFile &f : in.files)
            paths.append(f.path);
        paths.sort();
        QCOMPARE(paths, (QStringList{"clip.mp4", "cues.json"}));
        // Never sent: the server holds neither file's bytes.
        for (const QByteArray &bytes : fake.files)
            QVERIFY(!bytes.startsWith("unique"));

        // A picture beside a model (model jobs take .png): nothing left out.
        const QString model = writeModel("sides/model/scene.obj");
        QVERIFY(QFile::copy(folder + "/cover.png", m_dir.filePath("sides/model/cover.png")));
        const Outcome kept = run(fake, {"submit", QFileInfo(model).absolutePath(), "--type",
                                        "model", "--main", "scene.obj"});
        QVERIFY2(kept.code == 0, qPrintable(kept.err));
        QVERIFY2(!kept.err.contains("left out"), qPrintable(kept.err));
        QCOMPARE(fake.jobs.last().spec.input.files.size(), 2);
    }

    void submitWaitDownload()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.chunkSize = 1024;
        QFile model(m_dir.filePath("spin/cube.obj"));
        QDir().mkpath(m_dir.filePath("spin"));
        QVERIFY(model.open(QIODevice::WriteOnly));
        for (int i = 0; i < 400; ++i)
            model.write(QString("v %1 %2 %3\n").arg(i).arg(i * 2).arg(i * 3).toUtf8());
        model.close();
        QVERIFY(model.size() > 3 * 1024);

        const Outcome submit = run(fake, {"submit", model.fileName(), "--frames", "1-4", "--chunk",
                                          "2", "--turntable", "--size", "320x240", "--spp", "4",
                                          "--priority", "70", "--name", "cube spin"});
        QVERIFY2(submit.code == 0, qPrintable(submit.err));
        QCOMPARE(submit.out, QString("1\n"));
        QVERIFY(fake.jobs.contains(1));
        const JobSpec &spec = fake.jobs[1].spec;
        QCOMPARE(spec.name, QString("cube spin"));
        QCOMPARE(spec.frames, QString("1-4"));
        QCOMPARE(spec.chunk, 2);
        QCOMPARE(spec.priority, 70);
        QCOMPARE(spec.settings, (QJsonObject{{"camera", QJsonObject{{"mode", "turntable"}}},
                                             {"width", 320},
                                             {"height", 240},
                                             {"spp", 4}}));
        QCOMPARE(spec.input.main, QString("cube.obj"));
        QCOMPARE(spec.input.files.size(), 1);
        QVERIFY(fake.files.contains(spec.input.files.first().file));
        QVERIFY(fake.putChunks.size() >= 4); // really chunked

        QSignalSpy subscribed(&fake, &FakeFarmServer::eventClientConnected);
        QProcess *wait = start(fake, {"wait", "1", "--timeout", "60"});
        QVERIFY(subscribed.wait(10000));
        fake.setJobState(1, JobState::Active, 0.5);
        fake.completeJob(1, QByteArray("\x89PNG fake frame", 15));
        const Outcome waited = finish(wait);
        QVERIFY2(waited.code == 0, qPrintable(waited.err));
        QVERIFY(waited.err.contains("job 1 completed"));

        const QString outDir = m_dir.filePath("out/frames");
        const Outcome download = run(fake, {"download", "1", outDir});
        QVERIFY2(download.code == 0, qPrintable(download.err));
        QCOMPARE(download.out, QString("4\n"));
        const QStringList files = QDir(outDir).entryList(QDir::Files, QDir::Name);
        QCOMPARE(files, (QStringList{"frame_0001.png", "frame_0002.png", "frame_0003.png",
                                     "frame_0004.png"}));
        QFile frame(QDir(outDir).filePath("frame_0003.png"));
        QVERIFY(frame.open(QIODevice::ReadOnly));
        QCOMPARE(frame.readAll(), QByteArray("\x89PNG fake frame", 15));
    }

    void waitReportsFailure()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        const qint64 id = addJob(fake);
        QSignalSpy subscribed(&fake, &FakeFarmServer::eventClientConnected);
        QProcess *wait = start(fake, {"wait", QString::number(id)});
        QVERIFY(subscribed.wait(10000));
        fake.setJobState(id, JobState::Failed, 0.3, "model has no triangles");
        const Outcome o = finish(wait);
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.endsWith("error: job 1 failed: model has no triangles\n"),
                 qPrintable(o.err));
    }

    void waitPollsWithoutWebSocket()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.acceptWebSockets = false;
        const qint64 id = addJob(fake);
        QProcess *wait = start(fake, {"wait", QString::number(id), "--timeout", "60"});
        const QString get = QString("GET /api/v1/jobs/%1").arg(id);
        // The first GET comes at start; later ones only from the 1 s poll.
        QTRY_VERIFY_WITH_TIMEOUT(fake.requestLog.count(get) >= 3, 15000);
        fake.completeJob(id, "png");
        const Outcome o = finish(wait);
        QVERIFY2(o.code == 0, qPrintable(o.err));
    }

    void waitTimesOut()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        const qint64 id = addJob(fake);
        const Outcome o = run(fake, {"wait", QString::number(id), "--timeout", "1"});
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains("error: timed out after 1 s waiting for job 1 (still queued)"),
                 qPrintable(o.err));
    }

    void readableErrors()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        const Outcome missing = run(fake, {"status", "42"});
        QCOMPARE(missing.code, 1);
        QCOMPARE(missing.err, QString("error: job 42 not found\n"));
        QVERIFY(missing.out.isEmpty());

        const Outcome usage = run(fake, {"status", "abc"});
        QVERIFY(usage.code != 0);
        QCOMPARE(usage.err, QString("error: JOB must be a positive number, not 'abc'\n"));

        const QString model = writeModel("errors/part.obj");
        fake.requestLog.clear();
        const Outcome turntableTemplates =
            run(fake, {"submit", model, "--type", "templates", "--turntable"});
        QCOMPARE(turntableTemplates.code, 64);
        QVERIFY2(turntableTemplates.err.contains("--turntable sets camera.mode"),
                 qPrintable(turntableTemplates.err));
        const Outcome badPass = run(fake, {"submit", model, "--passes", "rgb,uv"});
        QCOMPARE(badPass.code, 64);
        QVERIFY2(badPass.err.contains("'uv'"), qPrintable(badPass.err));
        const Outcome badViews =
            run(fake, {"submit", model, "--type", "templates", "--views", "0"});
        QCOMPARE(badViews.code, 64);
        QVERIFY2(badViews.err.contains("settings.views must be between 1 and 10000"),
                 qPrintable(badViews.err));
        const Outcome viewsOnModel = run(fake, {"submit", model, "--views", "5"});
        QCOMPARE(viewsOnModel.code, 64);
        QVERIFY2(viewsOnModel.err.contains("--views sets views, which job type 'model' does not "
                                           "have"),
                 qPrintable(viewsOnModel.err));
        const Outcome badSpec = run(fake, {"submit", model, "--spp", "0"});
        QCOMPARE(badSpec.code, 64);
        QVERIFY2(badSpec.err.contains("settings.spp must be between 1 and 4096"),
                 qPrintable(badSpec.err));
        const Outcome badSize = run(fake, {"submit", model, "--size", "big"});
        QVERIFY2(badSize.err.contains("--size must look like 1280x720"), qPrintable(badSize.err));
        const Outcome noType = run(fake, {"submit", FARMCTL_PATH});
        QCOMPARE(noType.code, 64);
        QVERIFY2(noType.err.contains("no job type takes farmctl"), qPrintable(noType.err));
        QVERIFY(uploads(fake).isEmpty()); // all refused before uploading anything

        quint16 port = 0;
        {
            FakeFarmServer gone;
            QVERIFY(gone.listen());
            port = gone.url().port();
        }
        QProcess p;
        p.start(FARMCTL_PATH, {"--server", QString("http://127.0.0.1:%1").arg(port), "jobs"});
        QVERIFY(p.waitForFinished(30000)); // no fake to serve here
        QCOMPARE(p.exitCode(), 1);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.startsWith("error: cannot reach server") && err.count('\n') == 1,
                 qPrintable(err));
    }

    void showsJobsOfUnknownTypes()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        addJob(fake);
        JobSpec odd;
        odd.name = "flip sim";
        odd.type = "houdini_sim"; // no type of this client, nor of the fake's list
        odd.input.main = "sim/flip.hip";
        odd.input.files = {{"sim/flip.hip", QString(64, 'a')}, {"sim/tex.png", QString(64, 'b')}};
        odd.settings = {
            {"solver", "flip"}, {"substeps", 4}, {"cache", QJsonObject{{"format", "vdb"}}}};
        const qint64 id = fake.addJob(odd).id;
        const Outcome jobs = run(fake, {"jobs"});
        QCOMPARE(jobs.code, 0);
        QVERIFY2(jobs.out.contains(QRegularExpression(" 2  houdini_sim +queued .*flip sim")),
                 qPrintable(jobs.out));
        QVERIFY(jobs.out.contains("engine turntable"));
        const Outcome status = run(fake, {"status", QString::number(id)});
        QCOMPARE(status.code, 0);
        QVERIFY2(status.out.contains("type      houdini_sim, priority 50"), qPrintable(status.out));
        QVERIFY(status.out.contains("input     sim/flip.hip and 1 side files"));
        QVERIFY(status.out.contains("sim/tex.png"));
        QVERIFY(status.out.contains("settings  cache.format = vdb\n"));
        QVERIFY(status.out.contains("          solver = flip\n"));
        QVERIFY(status.out.contains("          substeps = 4\n"));
    }

    void statusJobsNodesCancelLog()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        const qint64 id = addJob(fake);
        Node n;
        n.id = 2;
        n.caps.name = "ws-lab-3";
        n.caps.cores = 16;
        n.caps.ramMb = 65536;
        n.caps.gpus.append({"RTX A6000", "GPU-9", 49140, "8.6", "550.54"});
        n.state = NodeState::Busy;
        n.running = {100};
        fake.nodes.append(n);
        fake.logs.insert(100, "frame 1 done");

        const Outcome status = run(fake, {"status", QString::number(id)});
        QCOMPARE(status.code, 0);
        QVERIFY2(status.out.startsWith("job 1: engine turntable\n"), qPrintable(status.out));
        QVERIFY(status.out.contains("state     queued"));
        QVERIFY(status.out.contains("3 total: 3 queued"));
        const Outcome json = run(fake, {"status", QString::number(id), "--json"});
        QCOMPARE(QJsonDocument::fromJson(json.out.toUtf8()).object().value("id").toInt(), 1);

        const Outcome jobs = run(fake, {"jobs", "--state", "queued", "--limit", "5"});
        QCOMPARE(jobs.code, 0);
        QVERIFY(jobs.out.startsWith("ID  TYPE   STATE "));
        QVERIFY(jobs.out.contains("engine turntable"));
        QVERIFY(fake.requestLog.last().contains("state=queued&limit=5"));
        QVERIFY(run(fake, {"jobs", "--state", "sleeping"}).code != 0);

        const Outcome nodes = run(fake, {"nodes"});
        QCOMPARE(nodes.code, 0);
        QVERIFY(nodes.out.contains("ws-lab-3"));
        QVERIFY(nodes.out.contains("RTX A6000"));
        QVERIFY(nodes.out.contains("64.0 GiB"));

        const Outcome log = run(fake, {"log", "100"});
        QCOMPARE(log.out, QString("frame 1 done\n"));

        const Outcome cancel = run(fake, {"cancel", QString::number(id)});
        QCOMPARE(cancel.code, 0);
        QCOMPARE(cancel.out, QString("job 1 canceled\n"));
        QVERIFY(fake.jobs[id].state == JobState::Canceled);
        const Outcome again = run(fake, {"cancel", QString::number(id)});
        QCOMPARE(again.code, 1);
        QCOMPARE(again.err, QString("error: job 1 is already canceled\n"));
    }
};

QTEST_GUILESS_MAIN(TestFarmctl)
#include "tst_farmctl.moc"
