#include "bundle/sidefiles.h"
#include "client/apiclient.h"
#include "client/bundleuploader.h"
#include "client/syncwait.h"
#include "client/ziplisting.h"
#include "fakefarmserver.h"
#include "testzip.h"

#include <QJsonArray>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace farm;
using farm::client::ApiClient;
using farm::client::waitFor;
using farm::testing::FakeFarmServer;

namespace {

JobInput single(const QString &sha, const QString &name)
{
    JobInput in;
    in.main = name;
    in.files = {{name, sha}};
    return in;
}

bool writeFile(const QString &path, const QByteArray &bytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}

JobSpec specFor(const QString &sha)
{
    JobSpec s;
    s.name = "engine";
    s.input = single(sha, "engine.glb");
    s.frames = "1-6";
    s.chunk = 2;
    return s;
}

const QString kSha = QString(64, 'c');

} // namespace

class TestApiClient : public QObject
{
    Q_OBJECT
private slots:
    void decodesErrorBodies_data()
    {
        QTest::addColumn<int>("status");
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QString>("code");
        QTest::addColumn<QString>("message");
        QTest::newRow("api error")
            << 400 << testing::errorBody("invalid_field", "frames must be 1-100000")
            << "invalid_field"
            << "frames must be 1-100000";
        QTest::newRow("conflict") << 409 << testing::errorBody("conflict", "job is final")
                                  << "conflict"
                                  << "job is final";
        QTest::newRow("plain text") << 502 << QByteArray("bad gateway") << "http_502"
                                    << "server answered HTTP 502: bad gateway";
        QTest::newRow("empty") << 500 << QByteArray() << "http_500"
                               << "server answered HTTP 500";
    }

    void decodesErrorBodies()
    {
        QFETCH(int, status);
        QFETCH(QByteArray, body);
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.intercept = [&](const FakeFarmServer::Request &) {
            return std::optional(FakeFarmServer::Response{status, body});
        };
        ApiClient api(fake.url());
        const auto job = waitFor<Job>([&](auto cb) { api.getJob(3, cb); });
        QVERIFY(!job.ok());
        QTEST(job.error().code, "code");
        QTEST(job.error().message, "message");
    }

    void notFoundFromServerRoute()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        ApiClient api(fake.url());
        const auto job = waitFor<Job>([&](auto cb) { api.getJob(999, cb); });
        QVERIFY(!job.ok());
        QCOMPARE(job.error().code, QString("not_found"));
        QCOMPARE(job.error().message, QString("job 999 not found"));
    }

    void unreachableServer()
    {
        quint16 port = 0;
        {
            FakeFarmServer gone;
            QVERIFY(gone.listen());
            port = gone.url().port();
        }
        ApiClient api(QUrl(QString("http://127.0.0.1:%1").arg(port)));
        const auto status = waitFor<client::ServerStatus>([&](auto cb) { api.status(cb); });
        QVERIFY(!status.ok());
        QCOMPARE(status.error().code, QString("unreachable"));
        QVERIFY(status.error().message.contains("cannot reach server"));
    }

    void parsesServerUrls()
    {
        QVERIFY(ApiClient::parseServerUrl("http://farm:8420").ok());
        QVERIFY(ApiClient::parseServerUrl("https://farm.example.org/prefix").ok());
        QVERIFY(!ApiClient::parseServerUrl("ftp://farm").ok());
        QVERIFY(!ApiClient::parseServerUrl("").ok());
    }

    void createListAndFilterJobsWithToken()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.files.insert(kSha, "x");
        ApiClient api(fake.url());
        api.setToken("s3cret");
        const auto created = waitFor<Job>([&](auto cb) { api.createJob(specFor(kSha), cb); });
        QVERIFY2(created.ok(), qPrintable(created.ok() ? "" : created.error().message));
        QCOMPARE(created->id, qint64(1));
        QCOMPARE(created->tasks.total, 3);
        QCOMPARE(fake.lastAuthorization, QByteArray("Bearer s3cret"));
        fake.setJobState(1, JobState::Active, 0.5);
        QVERIFY(waitFor<Job>([&](auto cb) { api.createJob(specFor(kSha), cb); }).ok());

        client::JobQuery q;
        q.states = {"active"};
        q.limit = 10;
        const auto page = waitFor<client::JobPage>([&](auto cb) { api.listJobs(q, cb); });
        QVERIFY(page.ok());
        QCOMPARE(page->total, qint64(1));
        QVERIFY(page->jobs.first().state == JobState::Active);
        QVERIFY2(fake.requestLog.last().contains("state=active&limit=10&offset=0"),
                 qPrintable(fake.requestLog.last()));

        const auto all = waitFor<client::JobPage>([&](auto cb) { api.listJobs({}, cb); });
        QCOMPARE(all->jobs.size(), 2);
        QCOMPARE(all->jobs.first().id, qint64(2)); // newest first

        const auto bad =
            waitFor<Job>([&](auto cb) { api.createJob(specFor(QString(64, 'd')), cb); });
        QVERIFY(!bad.ok());
        QCOMPARE(bad.error().code, QString("invalid_field"));
    }

    void tasksOutputsAndDownload()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.files.insert(kSha, "x");
        const qint64 id = fake.addJob(specFor(kSha)).id;
        QByteArray frame(300 * 1024, 'p');
        frame[0] = 'P';
        fake.completeJob(id, frame);
        ApiClient api(fake.url());

        const auto tasks = waitFor<QList<Task>>([&](auto cb) { api.jobTasks(id, cb); });
        QVERIFY(tasks.ok());
        QCOMPARE(tasks->size(), 3);
        QCOMPARE(tasks->at(1).frames, QString("3-4"));
        QVERIFY(tasks->at(1).state == TaskState::Done);

        const auto outputs =
            waitFor<QList<client::OutputInfo>>([&](auto cb) { api.jobOutputs(id, cb); });
        QVERIFY(outputs.ok());
        QCOMPARE(outputs->size(), 6);
        QCOMPARE(outputs->at(0).name, QString("frame_0001.png"));
        QCOMPARE(outputs->at(0).frame, 1);
        QCOMPARE(outputs->at(0).size, qint64(frame.size()));

        QTemporaryDir dir;
        const QString target = dir.filePath("f1.png");
        qint64 lastProgress = 0;
        const auto n = waitFor<qint64>([&](auto cb) {
            api.downloadOutput(id, "frame_0001.png", target, cb,
                               [&](qint64 done, qint64) { lastProgress = done; });
        });
        QVERIFY2(n.ok(), qPrintable(n.ok() ? "" : n.error().message));
        QCOMPARE(*n, qint64(frame.size()));
        QCOMPARE(lastProgress, qint64(frame.size()));
        QFile f(target);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), frame);
        QVERIFY(!QFile::exists(target + ".part"));

        const QString missing = dir.filePath("missing.png");
        const auto err = waitFor<qint64>(
            [&](auto cb) { api.downloadOutput(id, "frame_0099.png", missing, cb); });
        QVERIFY(!err.ok());
        QCOMPARE(err.error().code, QString("not_found"));
        QVERIFY(!QFile::exists(missing));
        QVERIFY(!QFile::exists(missing + ".part"));
        const auto traversal =
            waitFor<qint64>([&](auto cb) { api.downloadOutput(id, "../etc", missing, cb); });
        QCOMPARE(traversal.error().code, QString("invalid_field"));
    }

    void statusNodesLogAndCancel()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.files.insert(kSha, "x");
        Node n;
        n.id = 4;
        n.caps.name = "ws-lab-3";
        n.caps.cores = 16;
        n.caps.gpus.append({"RTX 4090", "GPU-1", 24576, "8.9", "550"});
        n.state = NodeState::Busy;
        n.running = {101};
        fake.nodes.append(n);
        fake.logs.insert(101, "rendering frame 1\n");
        const qint64 id = fake.addJob(specFor(kSha)).id;
        ApiClient api(fake.url());

        const auto status = waitFor<client::ServerStatus>([&](auto cb) { api.status(cb); });
        QVERIFY(status.ok());
        QCOMPARE(status->protocol, 1);
        QCOMPARE(status->nodesOnline, qint64(1));
        const auto nodes = waitFor<QList<Node>>([&](auto cb) { api.nodes(cb); });
        QVERIFY(nodes.ok());
        QCOMPARE(nodes->first().caps.gpus.first().name, QString("RTX 4090"));
        QCOMPARE(nodes->first().running, QList<qint64>{101});
        const auto log = waitFor<QString>([&](auto cb) { api.taskLog(101, cb); });
        QCOMPARE(*log, QString("rendering frame 1\n"));
        const auto canceled = waitFor<Job>([&](auto cb) { api.cancelJob(id, cb); });
        QVERIFY(canceled->state == JobState::Canceled);
        const auto again = waitFor<Job>([&](auto cb) { api.cancelJob(id, cb); });
        QCOMPARE(again.error().code, QString("conflict"));
    }

    void jobTypesFromServer()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.jobTypes.append(QJsonObject{
            {"name", "testonly"},
            {"label", "Test only"},
            {"engine", "farmhand"},
            {"extensions", QJsonArray{"GLB"}},
            {"frames", false},
            {"schema", QJsonObject{{"type", "object"}, {"properties", QJsonObject{}}}}});
        fake.jobTypes.append(QJsonObject{{"name", "Not A Name"}}); // skipped, not fatal
        ApiClient api(fake.url());
        const auto types = waitFor<QList<client::JobTypeInfo>>([&](auto cb) { api.jobTypes(cb); });
        QVERIFY2(types.ok(), qPrintable(types.ok() ? "" : types.error().message));
        QCOMPARE(types->size(), 6); // the five built in (jobtypes.json), then testonly
        const client::JobTypeInfo *model = client::findJobType(*types, "model");
        QVERIFY(model);
        QVERIFY(model->frames);
        QVERIFY(model->takes("Scene.GLTF"));
        QCOMPARE(client::settings::fieldAt(model->schema, "width").value("minimum").toInt(), 16);
        QCOMPARE(client::settings::fieldAt(model->schema, "camera.mode").value("enum").toArray(),
                 (QJsonArray{"still", "turntable"}));
        const client::JobTypeInfo *test = client::findJobType(*types, "testonly");
        QVERIFY(test && !test->frames);
        QCOMPARE(test->extensions, QStringList{"glb"});
        QVERIFY(test->takes("x.glb") && !test->takes("x.obj"));
        // The first type that takes an extension is the server's first.
        QCOMPARE(client::jobTypesFor(*types, "a.obj").first()->name, QString("model"));
        QCOMPARE(client::jobTypesFor(*types, "a.blend").first()->name, QString("blender"));
        QVERIFY(client::jobTypesFor(*types, "a.txt").isEmpty());

        fake.intercept = [](const FakeFarmServer::Request &) {
            return std::optional(FakeFarmServer::Response{200, "{\"jobs\": []}"});
        };
        const auto bad = waitFor<QList<client::JobTypeInfo>>([&](auto cb) { api.jobTypes(cb); });
        QVERIFY(!bad.ok());
        QCOMPARE(bad.error().code, QString("bad_response"));
    }

    void settingValues_data()
    {
        QTest::addColumn<QJsonObject>("field");
        QTest::addColumn<QString>("text");
        QTest::addColumn<QJsonValue>("value");
        QTest::addColumn<QString>("error"); // a part of the message; empty: accepted
        const QJsonObject width{{"type", "integer"}, {"minimum", 16}, {"maximum", 8192}};
        const QJsonObject mode{{"type", "string"}, {"enum", QJsonArray{"still", "turntable"}}};
        const QJsonObject passes{
            {"type", "array"},
            {"items", QJsonObject{{"type", "string"}, {"enum", QJsonArray{"rgb", "depth"}}}},
            {"minItems", 1},
            {"uniqueItems", true}};
        const QJsonObject camera{{"type", "string"}, {"pattern", "[^/]{1,8}"}, {"maxLength", 8}};
        QTest::newRow("integer") << width << "640" << QJsonValue(640) << "";
        QTest::newRow("integer low") << width << "8" << QJsonValue(8) << "between 16 and 8192";
        QTest::newRow("integer text") << width << "big" << QJsonValue() << "whole number";
        QTest::newRow("number") << QJsonObject{{"type", "number"}, {"minimum", 0}} << "2.5"
                                << QJsonValue(2.5) << "";
        QTest::newRow("number low") << QJsonObject{{"type", "number"}, {"minimum", 0}} << "-1"
                                    << QJsonValue(-1.0) << "at least 0";
        QTest::newRow("boolean") << QJsonObject{{"type", "boolean"}} << "yes" << QJsonValue(true)
                                 << "";
        QTest::newRow("boolean bad")
            << QJsonObject{{"type", "boolean"}} << "maybe" << QJsonValue() << "true or false";
        QTest::newRow("enum") << mode << "turntable" << QJsonValue("turntable") << "";
        QTest::newRow("enum bad") << mode << "spin" << QJsonValue("spin")
                                  << "one of still, turntable";
        QTest::newRow("array") << passes << "rgb, depth" << QJsonValue(QJsonArray{"rgb", "depth"})
                               << "";
        QTest::newRow("array item")
            << passes << "rgb,uv" << QJsonValue(QJsonArray{"rgb", "uv"}) << "'uv'";
        QTest::newRow("array twice")
            << passes << "rgb,rgb" << QJsonValue(QJsonArray{"rgb", "rgb"}) << "once";
        QTest::newRow("array empty") << passes << "" << QJsonValue(QJsonArray{}) << "at least 1";
        QTest::newRow("pattern") << camera << "Cam" << QJsonValue("Cam") << "";
        QTest::newRow("pattern bad") << camera << "a/b" << QJsonValue("a/b") << "does not match";
        QTest::newRow("too long") << camera << "Camera.001" << QJsonValue("Camera.001")
                                  << "at most 8 characters";
    }

    void settingValues()
    {
        QFETCH(QJsonObject, field);
        QFETCH(QString, text);
        QFETCH(QJsonValue, value);
        QFETCH(QString, error);
        const auto parsed = client::settings::parseValue(field, text, "settings.x");
        if (value.isNull()) {
            QVERIFY(!parsed.ok());
            QVERIFY2(parsed.error().message.contains(error), qPrintable(parsed.error().message));
            return;
        }
        QVERIFY(parsed.ok());
        QCOMPARE(*parsed, value);
        const auto checked = client::settings::checkValue(field, *parsed, "settings.x");
        QCOMPARE(checked.ok(), error.isEmpty());
        if (!checked.ok())
            QVERIFY2(checked.error().message.startsWith("settings.x ") &&
                         checked.error().message.contains(error),
                     qPrintable(checked.error().message));
    }

    void settingsHelpers()
    {
        FakeFarmServer fake;
        const QJsonObject schema =
            client::findJobType(*client::decodeJobTypes(QJsonObject{{"job_types", fake.jobTypes}}),
                                "model")
                ->schema;
        QJsonObject values;
        client::settings::insertAt(values, "camera.mode", "turntable");
        client::settings::insertAt(values, "camera.projection", "orthographic");
        client::settings::insertAt(values, "width", 64);
        QVERIFY(client::settings::containsAt(values, "camera.mode"));
        QVERIFY(!client::settings::containsAt(values, "camera.ortho_width"));
        QVERIFY(client::settings::checkSettings(schema, values).ok());
        client::settings::insertAt(values, "camera.zoom", 2);
        const auto unknown = client::settings::checkSettings(schema, values);
        QVERIFY(!unknown.ok());
        QVERIFY2(unknown.error().message.startsWith("settings.camera.zoom is not a setting"),
                 qPrintable(unknown.error().message));
        // Rows in the schema's order, unknown keys (a newer server's) after them.
        QJsonObject shown{{"spp", 4},
                          {"width", 64},
                          {"zebra", true},
                          {"camera", QJsonObject{{"mode", "still"}}},
                          {"passes", QJsonArray{"rgb", "depth"}}};
        const auto rows = client::settings::flatten(shown, schema);
        QCOMPARE(rows.size(), 5);
        QCOMPARE(rows[0], (QPair<QString, QString>{"width", "64"}));
        QCOMPARE(rows[1], (QPair<QString, QString>{"spp", "4"}));
        QCOMPARE(rows[2], (QPair<QString, QString>{"camera.mode", "still"}));
        QCOMPARE(rows[3], (QPair<QString, QString>{"passes", "rgb, depth"}));
        QCOMPARE(rows[4], (QPair<QString, QString>{"zebra", "true"}));
        QCOMPARE(client::settings::describeField(client::settings::fieldAt(schema, "width")),
                 QString("integer 16..8192, default 640"));
    }

    void uploadsBundleOncePerFile()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.chunkSize = 1024;
        QTemporaryDir dir;
        const QByteArray texture(5000, 't');
        QVERIFY(writeFile(dir.filePath("scene.gltf"), "{\"asset\": {}}"));
        QVERIFY(writeFile(dir.filePath("textures/wood.png"), texture));
        QVERIFY(writeFile(dir.filePath("textures/wood copy.png"), texture)); // same bytes
        client::BundleSource source;
        source.root = dir.path();
        source.main = "scene.gltf";
        source.files = {"scene.gltf", "textures/wood.png", "textures/wood copy.png"};
        QCOMPARE(source.totalBytes(), qint64(13 + 10000));

        ApiClient api(fake.url());
        client::BundleUploader uploader(&api);
        qint64 lastDone = 0, lastTotal = 0;
        bool monotonic = true;
        connect(&uploader, &client::BundleUploader::progress,
                [&](qint64 done, qint64 total, const QString &) {
                    monotonic = monotonic && done >= lastDone;
                    lastDone = done;
                    lastTotal = total;
                });
        const auto input = waitFor<JobInput>([&](auto cb) {
            connect(&uploader, &client::BundleUploader::finished,
                    [cb](const JobInput &in) { cb(in); });
            connect(&uploader, &client::BundleUploader::failed,
                    [cb](const QString &, const Error &e) { cb(e); });
            uploader.start(source);
        });
        QVERIFY2(input.ok(), qPrintable(input.ok() ? "" : input.error().message));
        QVERIFY(monotonic);
        QCOMPARE(lastDone, source.totalBytes());
        QCOMPARE(lastTotal, source.totalBytes());
        QCOMPARE(input->main, QString("scene.gltf"));
        QCOMPARE(input->files.size(), 3);
        QCOMPARE(input->files[1].path, QString("textures/wood.png"));
        QCOMPARE(input->files[1].file, input->files[2].file);
        QCOMPARE(fake.files.size(), 2);         // the same bytes went up once
        QCOMPARE(fake.putChunks.size(), 1 + 5); // scene.gltf: 1 chunk, the texture: 5
        // What the server receives.
        JobSpec spec = specFor(QString());
        spec.input = *input;
        spec.frames = "1";
        const auto job = waitFor<Job>([&](auto cb) { api.createJob(spec, cb); });
        QVERIFY2(job.ok(), qPrintable(job.ok() ? "" : job.error().message));
        QCOMPARE(job->spec.input, *input);

        // A path the server would refuse never starts an upload.
        fake.requestLog.clear();
        source.files.append("../outside.png");
        const auto refused = waitFor<JobInput>([&](auto cb) {
            client::BundleUploader second(&api);
            connect(&second, &client::BundleUploader::failed,
                    [cb](const QString &, const Error &e) { cb(e); });
            second.start(source);
        });
        QVERIFY(!refused.ok());
        QVERIFY2(refused.error().message.contains("../outside.png"),
                 qPrintable(refused.error().message));
        QVERIFY(fake.requestLog.isEmpty());
    }

    void uploadsArchiveAsOneFile()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        QTemporaryDir dir;
        const QByteArray zip = testing::makeZip({{"box/box.gltf", "{}"},
                                                 {"box/box.bin", QByteArray(100, 'b')},
                                                 {"__MACOSX/box/._box.gltf", "x"},
                                                 {"box/", {}},
                                                 {"box/tex.png", QByteArray(3000, 'p'), true}});
        QVERIFY(writeFile(dir.filePath("box.zip"), zip));
        const auto names = client::zipEntryNames(dir.filePath("box.zip"));
        QVERIFY(names.ok());
        QCOMPARE(*names, (QStringList{"box/box.gltf", "box/box.bin", "box/tex.png"}));
        QCOMPARE(client::mainCandidates(*names, {"gltf", "glb"}), QStringList{"box/box.gltf"});
        QVERIFY(writeFile(dir.filePath("broken.zip"), "PK no zip"));
        QCOMPARE(client::zipEntryNames(dir.filePath("broken.zip")).error().code,
                 QString("invalid_archive"));

        ApiClient api(fake.url());
        client::BundleUploader uploader(&api);
        const auto input = waitFor<JobInput>([&](auto cb) {
            connect(&uploader, &client::BundleUploader::finished,
                    [cb](const JobInput &in) { cb(in); });
            connect(&uploader, &client::BundleUploader::failed,
                    [cb](const QString &, const Error &e) { cb(e); });
            uploader.start(
                client::BundleSource::fromArchive(dir.filePath("box.zip"), "box/box.gltf"));
        });
        QVERIFY(input.ok());
        QVERIFY(input->files.isEmpty());
        QCOMPARE(fake.files.value(input->archive), zip);
        QCOMPARE(input->toJson(),
                 (QJsonObject{{"archive", input->archive}, {"main", "box/box.gltf"}}));
    }

    void jobListKeepsJobsItCannotFullyRead()
    {
        Job known;
        known.id = 1;
        known.spec = specFor(kSha);
        QJsonObject odd = known.toJson();
        odd.insert("id", 2);
        odd.insert("type", "houdini_sim");
        odd.insert("settings", QJsonObject{{"solver", "flip"}, {"substeps", 4}});
        odd.insert("input", QJsonObject{{"main", "sim.hip"}, {"files", "not a list"}});
        odd.insert("explain", "added by a newer server");
        QJsonObject future = known.toJson();
        future.insert("id", 3);
        future.insert("state", "hibernating"); // a state this client has no name for
        const auto page = client::decodeJobPage(
            {{"jobs", QJsonArray{known.toJson(), odd, future}}, {"total", 3}});
        QVERIFY(page.ok());
        QCOMPARE(page->jobs.size(), 2);
        QCOMPARE(page->skipped, 1);
        QCOMPARE(page->jobs[1].spec.type, QString("houdini_sim"));
        QCOMPARE(page->jobs[1].spec.settings.value("solver").toString(), QString("flip"));
        QCOMPARE(page->jobs[1].spec.input.mainName(), QString("sim.hip"));
    }

    void decodeJobIgnoresUnknownKeys()
    {
        Job j;
        j.id = 5;
        j.spec = specFor(kSha);
        QJsonObject o = j.toJson();
        o.insert("explain", "waiting for a GPU node");
        const auto decoded = client::decodeJob(o);
        QVERIFY(decoded.ok());
        QCOMPARE(decoded->id, qint64(5));
        o.remove("id");
        QVERIFY(!client::decodeJob(o).ok());
    }
};

QTEST_GUILESS_MAIN(TestApiClient)
#include "tst_apiclient.moc"
