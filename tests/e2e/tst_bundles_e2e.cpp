// Artists' real files through the real binaries: a glTF with its .bin and texture, an OBJ with
// its .mtl and texture, a .zip of a folder, server-declared job types, and hostile bundles.
#include "farmfixture.h"
#include "testzip.h"

#include <QDir>
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>
#include <QtTest>

namespace {

const char *kBoxTextured = "/usr/share/assimp/models/glTF2/BoxTextured-glTF";

struct Run
{
    int code = -1;
    QString out, err;
};

Run farmctl(const QString &server, const QStringList &args, int timeoutMs = 120000)
{
    QProcess p;
    p.start(FarmFixture::binary("shared/farmctl/farmctl"), QStringList{"--server", server} + args);
    if (!p.waitForFinished(timeoutMs))
        p.kill();
    p.waitForFinished(2000);
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
            QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

bool writeFile(const QString &path, const QByteArray &bytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}

/// A unit cube with texture coordinates whose material's map_Kd is `texture`.
QByteArray cubeObj()
{
    QByteArray obj = "mtllib materials/cube.mtl\n";
    const char *v[] = {"-1 -1 -1", "1 -1 -1", "1 1 -1", "-1 1 -1",
                       "-1 -1 1",  "1 -1 1",  "1 1 1",  "-1 1 1"};
    for (const char *p : v)
        obj += QByteArray("v ") + p + '\n';
    obj += "vt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nusemtl painted\n";
    const int faces[6][4] = {{1, 2, 3, 4}, {5, 8, 7, 6}, {1, 5, 6, 2},
                             {2, 6, 7, 3}, {3, 7, 8, 4}, {5, 1, 4, 8}};
    for (const auto &f : faces)
        obj += QString("f %1/1 %2/2 %3/3 %4/4\n").arg(f[0]).arg(f[1]).arg(f[2]).arg(f[3]).toUtf8();
    return obj;
}

const char *kTestOnlyType = R"({"name": "testonly", "label": "Test only", "engine": "farmhand",
  "extensions": ["glb"], "frames": true, "compile": "chunks",
  "schema": {"type": "object", "order": ["flavour", "strength"],
             "properties": {"flavour": {"type": "string", "enum": ["salty", "sweet"],
                                        "default": "sweet"},
                            "strength": {"type": "integer", "minimum": 1, "maximum": 5,
                                         "default": 3}}}})";

} // namespace

class TestBundlesEndToEnd : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;

    /// Renders `path` (a file, folder or .zip) with farmctl through a one-node farm and returns
    /// the first frame.
    QImage render(FarmFixture &farm, const QString &path, const QStringList &extra = {})
    {
        const Run submit = farmctl(farm.serverUrl(),
                                   QStringList{"submit", path, "--size", "64x48", "--spp", "4",
                                               "--wait", "--timeout", "180"} +
                                       extra,
                                   200000);
        if (submit.code != 0) {
            qWarning("farmctl submit %s: %s", qPrintable(path), qPrintable(submit.err));
            return {};
        }
        const qint64 job = submit.out.trimmed().toLongLong();
        const QTemporaryDir out;
        const Run download =
            farmctl(farm.serverUrl(), {"download", QString::number(job), out.path()});
        if (download.code != 0)
            return {};
        return QImage(QDir(out.path()).filePath("frame_0001.png"));
    }

    QString boxWithTexture(const QString &dir, const QColor &colour)
    {
        const QDir from(kBoxTextured);
        QDir().mkpath(dir);
        for (const QString &f : from.entryList(QDir::Files))
            QFile::copy(from.filePath(f), QDir(dir).filePath(f));
        QFile::remove(dir + "/CesiumLogoFlat.png");
        return writeSolidPng(dir + "/CesiumLogoFlat.png", colour) ? dir : QString();
    }

private slots:
    void initTestCase()
    {
        FARM_E2E_REQUIRE(QString(kBoxTextured) + "/BoxTextured.gltf");
        QVERIFY2(QFile::exists(FarmFixture::binary("shared/farmctl/farmctl")), "farmctl not built");
    }

    // The fake server of the client tests serves a fixed copy of the job types: it must be what
    // the real server serves, or the client tests test a different contract.
    void fakeServersJobTypesAreTheRealOnes()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        const FarmFixture::Reply reply = farm.get("/api/v1/job-types");
        QCOMPARE(reply.status, 200);
        const QJsonArray fixed = QJsonDocument::fromJson(readFile(FAKE_JOB_TYPES_JSON))
                                     .object()
                                     .value("job_types")
                                     .toArray();
        QVERIFY(!fixed.isEmpty());
        QVERIFY2(reply.json().value("job_types").toArray() == fixed,
                 "tests/shared/client/jobtypes.json differs from GET /api/v1/job-types: copy the "
                 "real answer there");
    }

    void texturedModelsRenderWithTheirTextures()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        QVERIFY(farm.startNode("bundles"));
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 20000));

        // glTF: scene.gltf + .bin + a PNG texture replaced by pure red.
        const QString box = boxWithTexture(m_dir.filePath("gltf"), Qt::red);
        QVERIFY(!box.isEmpty());
        const QImage gltf = render(farm, box + "/BoxTextured.gltf");
        QVERIFY2(!gltf.isNull(), qPrintable(farm.serverLog().right(2000)));
        QCOMPARE(gltf.size(), QSize(64, 48));
        const double red = dominantShare(gltf, 0);
        qInfo("glTF: red covers %.3f of the frame, green %.3f", red, dominantShare(gltf, 1));
        QVERIFY2(red > 0.08, qPrintable(QString("red covers %1 of the frame").arg(red)));
        QVERIFY(dominantShare(gltf, 2) < 0.02); // the background is no texture colour

        // OBJ + MTL (in a subfolder) + texture (in another): pure green.
        const QString obj = m_dir.filePath("obj");
        QVERIFY(writeFile(obj + "/cube.obj", cubeObj()));
        QVERIFY(writeFile(obj + "/materials/cube.mtl",
                          "newmtl painted\nKd 1 1 1\nmap_Kd ../textures/paint.png\n"));
        QVERIFY(writeSolidPng(obj + "/textures/paint.png", Qt::green));
        const QImage cube = render(farm, obj + "/cube.obj");
        QVERIFY(!cube.isNull());
        const double green = dominantShare(cube, 1);
        qInfo("OBJ: green covers %.3f of the frame, red %.3f", green, dominantShare(cube, 0));
        QVERIFY2(green > 0.08, qPrintable(QString("green covers %1 of the frame").arg(green)));
        QVERIFY(dominantShare(cube, 0) < 0.01);

        // A .zip of the glTF folder, the texture blue this time.
        const QString blueBox = boxWithTexture(m_dir.filePath("zipped"), Qt::blue);
        QList<farm::testing::ZipEntry> entries;
        for (const QString &f : QDir(blueBox).entryList(QDir::Files))
            entries.append({"box/" + f, readFile(blueBox + '/' + f), true});
        QVERIFY(writeFile(m_dir.filePath("box.zip"), farm::testing::makeZip(entries)));
        const QImage zipped = render(farm, m_dir.filePath("box.zip"));
        QVERIFY(!zipped.isNull());
        const double blue = dominantShare(zipped, 2);
        qInfo("zip: blue covers %.3f of the frame", blue);
        QVERIFY2(blue > 0.08, qPrintable(QString("blue covers %1 of the frame").arg(blue)));
        const Run jobs = farmctl(farm.serverUrl(), {"jobs"});
        QCOMPARE(jobs.out.count("completed"), 3);
    }

    void declaredJobTypesAreListedAndTaken()
    {
        const QString types = m_dir.filePath("types");
        QVERIFY(writeFile(types + "/testonly.json", kTestOnlyType));
        QProcess server;
        server.setProcessChannelMode(QProcess::MergedChannels);
        server.start(FarmFixture::binary("farm-server/farm-server"),
                     {"--port", "0", "--bind", "127.0.0.1", "--data", m_dir.filePath("typesdata"),
                      "--job-types", types});
        QString log;
        static const QRegularExpression ready(R"(listening on (http://[^\s]+:\d+))");
        QString url;
        for (int i = 0; i < 100 && url.isEmpty(); ++i) {
            server.waitForReadyRead(200);
            log += QString::fromUtf8(server.readAll());
            url = ready.match(log).captured(1);
        }
        QVERIFY2(!url.isEmpty(), qPrintable(log));

        const Run list = farmctl(url, {"types"});
        QCOMPARE(list.code, 0);
        QVERIFY2(
            list.out.contains(QRegularExpression("testonly +Test only +farmhand +yes +\\.glb")),
            qPrintable(list.out));
        const Run one = farmctl(url, {"types", "testonly"});
        QVERIFY2(one.out.contains(QRegularExpression("strength +integer 1..5, default 3")),
                 qPrintable(one.out));

        const QString glb = "/usr/share/assimp/models/glTF2/BoxTextured-glTF-Binary/"
                            "BoxTextured.glb";
        QVERIFY(QFile::exists(glb));
        const Run submit = farmctl(url, {"submit", glb, "--type", "testonly", "--set",
                                         "flavour=salty", "--set", "strength=4"});
        QVERIFY2(submit.code == 0, qPrintable(submit.err));
        const Run refused =
            farmctl(url, {"submit", glb, "--type", "testonly", "--set", "strength=9"});
        QCOMPARE(refused.code, 64);
        QVERIFY2(refused.err.contains("settings.strength must be between 1 and 5"),
                 qPrintable(refused.err));
        const Run jobs = farmctl(url, {"jobs"});
        QCOMPARE(jobs.code, 0);
        QVERIFY2(jobs.out.contains(QRegularExpression(" 1  testonly +queued")),
                 qPrintable(jobs.out));
        const Run status = farmctl(url, {"status", "1"});
        QVERIFY2(status.out.contains("flavour = salty") && status.out.contains("strength = 4"),
                 qPrintable(status.out));
        server.terminate();
        server.waitForFinished(10000);
    }

    void hostileBundlesGetAClearRefusal()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        const QString gltf =
            farm.upload(readFile(QString(kBoxTextured) + "/BoxTextured.gltf"), "BoxTextured.gltf");
        const QString bin =
            farm.upload(readFile(QString(kBoxTextured) + "/BoxTextured0.bin"), "BoxTextured0.bin");
        QVERIFY(!gltf.isEmpty() && !bin.isEmpty());
        auto job = [](const QJsonObject &input) {
            return QJsonDocument(QJsonObject{{"type", "model"}, {"input", input}}).toJson();
        };
        auto bundle = [](const QString &main, const QList<QPair<QString, QString>> &files) {
            QJsonArray list;
            for (const auto &[path, sha] : files)
                list.append(QJsonObject{{"path", path}, {"file", sha}});
            return QJsonObject{{"main", main}, {"files", list}};
        };
        struct Case
        {
            const char *what;
            QByteArray body;
            const char *message; // a part of the error message
            const char *code = nullptr;
        };
        QList<Case> cases{
            {"escaping path",
             job(bundle("BoxTextured.gltf",
                        {{"BoxTextured.gltf", gltf}, {"../BoxTextured0.bin", bin}})),
             "../BoxTextured0.bin"},
            {"absolute path",
             job(bundle("/tmp/BoxTextured.gltf", {{"/tmp/BoxTextured.gltf", gltf}})),
             "/tmp/BoxTextured.gltf"},
            {"missing side file",
             job(bundle("BoxTextured.gltf",
                        {{"BoxTextured.gltf", gltf}, {"BoxTextured0.bin", bin}})),
             "BoxTextured.gltf needs CesiumLogoFlat.png, which was not sent"},
        };
        const QString bomb =
            farm.upload(farm::testing::makeZip(
                            {{"scene.gltf", readFile(QString(kBoxTextured) + "/BoxTextured.gltf")},
                             {"zeros.bin", QByteArray(8 * 1024 * 1024, '\0'), true}}),
                        "bomb.zip");
        const QString link =
            farm.upload(farm::testing::makeZip(
                            {{"scene.gltf", readFile(QString(kBoxTextured) + "/BoxTextured.gltf")},
                             {"BoxTextured0.bin", "/etc/passwd", false, true}}),
                        "link.zip");
        QVERIFY(!bomb.isEmpty() && !link.isEmpty());
        cases.append({"zip bomb", job({{"archive", bomb}}), "", "invalid_archive"});
        cases.append({"zip with a symlink", job({{"archive", link}}), "", "invalid_archive"});
        for (const Case &c : std::as_const(cases)) {
            const FarmFixture::Reply r = farm.post("/api/v1/jobs", c.body);
            QVERIFY2(r.status >= 400 && r.status < 500,
                     qPrintable(QString("%1: %2 %3").arg(c.what).arg(r.status).arg(r.body)));
            const QString message = r.json().value("error").toObject().value("message").toString();
            QVERIFY2(!message.isEmpty() && message.contains(QLatin1String(c.message)),
                     qPrintable(QString("%1: %2").arg(c.what, message)));
            if (c.code)
                QCOMPARE(r.json().value("error").toObject().value("code").toString(),
                         QString(c.code));
        }
        // farmctl says the same before uploading anything.
        const QString gap = m_dir.filePath("gap");
        QVERIFY(writeFile(gap + "/BoxTextured.gltf",
                          readFile(QString(kBoxTextured) + "/BoxTextured.gltf")));
        QVERIFY(writeFile(gap + "/BoxTextured0.bin",
                          readFile(QString(kBoxTextured) + "/BoxTextured0.bin")));
        const Run missing = farmctl(farm.serverUrl(), {"submit", gap + "/BoxTextured.gltf"});
        QCOMPARE(missing.code, 1);
        QVERIFY2(missing.err.contains("BoxTextured.gltf needs CesiumLogoFlat.png"),
                 qPrintable(missing.err));

        // The server keeps serving: nothing was created, and a sound bundle still is.
        QCOMPARE(farm.get("/health").status, 200);
        QCOMPARE(farm.get("/api/v1/jobs").json().value("total").toInt(), 0);
        const QString png = farm.upload(readFile(QString(kBoxTextured) + "/CesiumLogoFlat.png"),
                                        "CesiumLogoFlat.png");
        const FarmFixture::Reply ok = farm.post(
            "/api/v1/jobs", job(bundle("BoxTextured.gltf", {{"BoxTextured.gltf", gltf},
                                                            {"BoxTextured0.bin", bin},
                                                            {"CesiumLogoFlat.png", png}})));
        QVERIFY2(ok.status == 201, ok.body.constData());
    }
};

QTEST_GUILESS_MAIN(TestBundlesEndToEnd)
#include "tst_bundles_e2e.moc"
