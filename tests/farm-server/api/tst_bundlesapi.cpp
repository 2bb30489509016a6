// Job inputs as bundles through the REST API: job types served, side files checked before any
// task exists, zip archives unpacked safely (docs/JOBTYPES.md).
#include "api/apiclient.h"

#include "model/job.h"

#include <QDirIterator>
#include <QJsonArray>

#include <algorithm>

#include <zip.h>

using namespace farm;
using namespace farm::server;
using namespace farm::server::test;

namespace {

struct Entry
{
    QString name;
    QByteArray data;
    bool symlink = false;
};

// Writes a zip with libzip, which (unlike the zip tool) stores any name it is given.
QByteArray makeZip(const QString &path, const QList<Entry> &entries)
{
    int err = 0;
    zip_t *z = zip_open(path.toUtf8().constData(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z)
        qFatal("zip_open failed");
    for (const Entry &e : entries) {
        // libzip keeps the buffer until zip_close: hand it a copy it frees.
        void *copy = malloc(size_t(qMax<qsizetype>(e.data.size(), 1)));
        memcpy(copy, e.data.constData(), size_t(e.data.size()));
        zip_source_t *src = zip_source_buffer(z, copy, zip_uint64_t(e.data.size()), 1);
        const zip_int64_t idx =
            zip_file_add(z, e.name.toUtf8().constData(), src, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE);
        if (idx < 0)
            qFatal("zip_file_add failed: %s", zip_strerror(z));
        if (e.symlink)
            zip_file_set_external_attributes(z, zip_uint64_t(idx), 0, ZIP_OPSYS_UNIX,
                                             zip_uint32_t(0120777) << 16);
    }
    if (zip_close(z) != 0)
        qFatal("zip_close failed");
    QFile f(path);
    f.open(QIODevice::ReadOnly);
    return f.readAll();
}

const QByteArray kGltf = R"({"asset": {"version": "2.0"},
    "buffers": [{"uri": "scene.bin", "byteLength": 4}],
    "images": [{"uri": "textures/wood%20grain.png"}, {"uri": "data:image/png;base64,AAAA"}]})";

QJsonObject bundle(const QString &main, const QList<std::pair<QString, QString>> &files)
{
    QJsonArray list;
    for (const auto &[path, sha] : files)
        list.append(QJsonObject{{"path", path}, {"file", sha}});
    return {{"main", main}, {"files", list}};
}

QJsonObject job(const QJsonObject &input, const QString &type = "model")
{
    return {{"type", type},
            {"input", input},
            {"settings", QJsonObject{{"width", 32}, {"height", 24}, {"spp", 1}}}};
}

// Every file under `dir`, relative.
QStringList filesUnder(const QString &dir)
{
    QStringList out;
    QDirIterator it(dir, QDir::Files | QDir::Hidden | QDir::System, QDirIterator::Subdirectories);
    while (it.hasNext())
        out.append(QDir(dir).relativeFilePath(it.next()));
    out.sort();
    return out;
}

} // namespace

Q_DECLARE_METATYPE(Entry)

class TestBundlesApi : public QObject
{
    Q_OBJECT

    std::unique_ptr<TestServer> s;

private slots:
    void init() { s = std::make_unique<TestServer>(); }
    void cleanup() { s.reset(); }

    void jobTypesAreServed()
    {
        const auto r = s->get("/api/v1/job-types");
        QCOMPARE(r.status, 200);
        const QJsonArray types = r.json().value("job_types").toArray();
        QStringList names;
        for (const QJsonValue &t : types)
            names.append(t.toObject().value("name").toString());
        QCOMPARE(names, (QStringList{"model", "templates", "blender", "encode", "compose"}));
        const QJsonObject model = types.first().toObject();
        QVERIFY(model.value("extensions").toArray().contains("gltf"));
        const QJsonObject width = model.value("schema")
                                      .toObject()
                                      .value("properties")
                                      .toObject()
                                      .value("width")
                                      .toObject();
        QCOMPARE(width.value("minimum").toInt(), 16);
        QCOMPARE(width.value("default").toInt(), 640);
        const auto blender = std::find_if(types.begin(), types.end(), [](const QJsonValue &t) {
            return t.toObject().value("name").toString() == QLatin1String("blender");
        });
        QVERIFY(blender != types.end());
        QCOMPARE(blender->toObject().value("extensions").toArray(), QJsonArray{"blend"});
        // Side files: what a type takes beside its main file ("*": anything).
        QCOMPARE(blender->toObject().value("side_extensions").toArray(), QJsonArray{"*"});
        const QJsonArray side = model.value("side_extensions").toArray();
        QVERIFY(side.contains("bin") && side.contains("png") && !side.contains("txt"));
    }

    // A side file no job type of this kind takes is refused by name before a job exists, as
    // the clients leave it out of a drop (docs/JOBTYPES.md, "Side files").
    void sideFileTheTypeDoesNotTakeIsRefused()
    {
        const QString gltf = s->upload(kGltf, "scene.gltf");
        const QString bin = s->upload("BIN!", "scene.bin");
        const QString png = s->upload("PNG bytes", "wood grain.png");
        const QString notes = s->upload("remember the milk", "notes.txt");
        auto r = s->post("/api/v1/jobs", job(bundle("scene.gltf", {{"scene.gltf", gltf},
                                                                   {"scene.bin", bin},
                                                                   {"textures/wood grain.png", png},
                                                                   {"docs/notes.txt", notes}})));
        QCOMPARE(r.status, 400);
        QCOMPARE(r.errorCode(), QString("invalid_field"));
        QVERIFY2(r.json().value("error").toObject().value("message").toString().endsWith(
                     "beside the main file, not 'docs/notes.txt'"),
                 r.body);
        QCOMPARE(s->get("/api/v1/jobs").json().value("total").toInt(), 0);

        // The same inside an archive: refused after unpacking, nothing kept.
        QTemporaryDir tmp;
        const QByteArray zip =
            makeZip(tmp.filePath("scene.zip"), {{"shot/scene.gltf", kGltf},
                                                {"shot/scene.bin", "BIN!"},
                                                {"shot/textures/wood grain.png", "PNG bytes"},
                                                {"shot/notes.txt", "remember the milk"}});
        r = s->post("/api/v1/jobs", job(QJsonObject{{"archive", s->upload(zip, "scene.zip")}}));
        QCOMPARE(r.status, 400);
        QVERIFY2(r.body.contains("not 'shot/notes.txt'"), r.body);
        QCOMPARE(s->get("/api/v1/jobs").json().value("total").toInt(), 0);

        // A blender scene takes any side file.
        const QString blend = s->upload("BLENDER-v300", "shot.blend");
        r = s->post("/api/v1/jobs",
                    QJsonObject{{"type", "blender"},
                                {"input", bundle("shot.blend",
                                                 {{"shot.blend", blend}, {"notes.txt", notes}})}});
        QVERIFY2(r.status == 201, r.body);
    }

    void missingSideFileIsNamedBeforeAnyTask()
    {
        const QString gltf = s->upload(kGltf, "scene.gltf");
        const QString bin = s->upload("BIN!", "scene.bin");
        auto r = s->post("/api/v1/jobs",
                         job(bundle("scene.gltf", {{"scene.gltf", gltf}, {"scene.bin", bin}})));
        QCOMPARE(r.status, 400);
        QCOMPARE(r.errorCode(), QString("missing_file"));
        QCOMPARE(r.json().value("error").toObject().value("message").toString(),
                 QString("scene.gltf needs textures/wood grain.png, which was not sent"));
        QCOMPARE(s->get("/api/v1/jobs").json().value("total").toInt(), 0);

        const QString png = s->upload("PNG bytes", "wood grain.png");
        r = s->post("/api/v1/jobs", job(bundle("scene.gltf", {{"scene.gltf", gltf},
                                                              {"scene.bin", bin},
                                                              {"textures/wood grain.png", png}})));
        QCOMPARE(r.status, 201);
        const QJsonObject input = r.json().value("input").toObject();
        QCOMPARE(input.value("main").toString(), QString("scene.gltf"));
        QCOMPARE(input.value("files").toArray().size(), 3);
        // Settings come back with the schema's defaults filled in.
        QCOMPARE(r.json().value("settings").toObject().value("seed").toInt(), 1);
    }

    void objNeedsItsMaterialAndTextures()
    {
        const QString obj =
            s->upload("mtllib crate.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "crate.obj");
        const QString mtl = s->upload("newmtl wood\nmap_Kd -s 1 1 1 tex/crate.png\n", "crate.mtl");
        auto r = s->post("/api/v1/jobs", job(bundle("crate.obj", {{"crate.obj", obj}})));
        QCOMPARE(r.status, 400);
        QVERIFY2(r.body.contains("crate.obj needs crate.mtl, which was not sent"), r.body);
        r = s->post("/api/v1/jobs",
                    job(bundle("crate.obj", {{"crate.obj", obj}, {"crate.mtl", mtl}})));
        QCOMPARE(r.status, 400);
        QVERIFY2(r.body.contains("crate.mtl needs tex/crate.png, which was not sent"), r.body);
    }

    void archiveIsUnpackedIntoABundle()
    {
        QTemporaryDir tmp;
        const QByteArray zip =
            makeZip(tmp.filePath("scene.zip"), {{"shot/scene.gltf", kGltf},
                                                {"shot/scene.bin", "BIN!"},
                                                {"shot/textures/wood grain.png", "PNG bytes"},
                                                {"__MACOSX/shot/._scene.gltf", "resource fork"},
                                                {"shot/.DS_Store", "finder"}});
        const QString sha = s->upload(zip, "scene.zip");
        const auto r = s->post("/api/v1/jobs", job(QJsonObject{{"archive", sha}}));
        QVERIFY2(r.status == 201, r.body);
        const QJsonObject created = r.json();
        QCOMPARE(created.value("name").toString(), QString("scene.gltf"));
        const QJsonObject input = created.value("input").toObject();
        QCOMPARE(input.value("main").toString(), QString("shot/scene.gltf"));
        QStringList paths;
        for (const QJsonValue &f : input.value("files").toArray())
            paths.append(f.toObject().value("path").toString());
        paths.sort();
        QCOMPARE(paths, (QStringList{"shot/scene.bin", "shot/scene.gltf",
                                     "shot/textures/wood grain.png"}));
        // Each entry is a file of the store, fetchable by its hash like any upload.
        for (const QJsonValue &f : input.value("files").toArray()) {
            const QString file = f.toObject().value("file").toString();
            QCOMPARE(s->request("HEAD", "/api/v1/files/" + file).status, 200);
        }
        // The temporary folder keeps nothing of the unpacking.
        QVERIFY(filesUnder(s->dataDir() + "/uploads").isEmpty());
    }

    void hostileArchives_data()
    {
        QTest::addColumn<QList<Entry>>("entries");
        QTest::addColumn<QString>("main");
        QTest::addColumn<QString>("mentions");
        const QByteArray gltf = R"({"asset": {"version": "2.0"}})";
        QTest::newRow("parent path") << QList<Entry>{{"scene.gltf", gltf}, {"../evil.txt", "x"}}
                                     << QString() << "../evil.txt";
        QTest::newRow("absolute path")
            << QList<Entry>{{"scene.gltf", gltf}, {"/tmp/farm-evil.txt", "x"}} << QString()
            << "/tmp/farm-evil.txt";
        QTest::newRow("symlink") << QList<Entry>{{"scene.gltf", gltf},
                                                 {"link", "/etc/passwd", true}}
                                 << QString() << "link";
        QTest::newRow("zip bomb") << QList<Entry>{{"scene.gltf", gltf},
                                                  {"zeros.bin", QByteArray(64 << 20, '\0')}}
                                  << QString() << "zeros.bin";
        QTest::newRow("two main files")
            << QList<Entry>{{"a.gltf", gltf}, {"b.glb", "glb"}} << QString() << "a.gltf, b.glb";
        QTest::newRow("no main file")
            << QList<Entry>{{"readme.txt", "hi"}} << QString() << "no file a model job takes";
        QTest::newRow("main not there") << QList<Entry>{{"a.gltf", gltf}} << "b.gltf"
                                        << "input.main 'b.gltf' is not in the archive";
    }
    void hostileArchives()
    {
        QFETCH(QList<Entry>, entries);
        QFETCH(QString, main);
        QFETCH(QString, mentions);
        QTemporaryDir tmp;
        const QString sha = s->upload(makeZip(tmp.filePath("x.zip"), entries), "x.zip");
        const QStringList before = filesUnder(s->dataDir());
        QJsonObject input{{"archive", sha}};
        if (!main.isEmpty())
            input.insert("main", main);
        const auto r = s->post("/api/v1/jobs", job(input));
        QCOMPARE(r.status, 400);
        QVERIFY2(r.body.contains(mentions.toUtf8()), r.body);
        QCOMPARE(s->get("/api/v1/jobs").json().value("total").toInt(), 0);
        QVERIFY(!QFile::exists("/tmp/farm-evil.txt"));
        QVERIFY(!QFile::exists(s->dataDir() + "/../evil.txt"));
        QVERIFY(filesUnder(s->dataDir() + "/uploads").isEmpty());
        if (QTest::currentDataTag() != QLatin1String("two main files") &&
            QTest::currentDataTag() != QLatin1String("no main file") &&
            QTest::currentDataTag() != QLatin1String("main not there"))
            QCOMPARE(filesUnder(s->dataDir()), before); // nothing of a refused archive is kept
        QCOMPARE(s->get("/health").status, 200);
    }

    void tooManyEntries()
    {
        QList<Entry> entries{{"scene.gltf", R"({"asset": {"version": "2.0"}})"}};
        for (int i = 0; i < 100000; ++i)
            entries.append({QString("t/%1").arg(i), QByteArray()});
        QTemporaryDir tmp;
        const QString sha = s->upload(makeZip(tmp.filePath("many.zip"), entries), "many.zip");
        const auto r = s->post("/api/v1/jobs", job(QJsonObject{{"archive", sha}}));
        QCOMPARE(r.status, 400);
        QCOMPARE(r.errorCode(), QString("invalid_archive"));
        QVERIFY(filesUnder(s->dataDir() + "/uploads").isEmpty());
        QCOMPARE(s->get("/health").status, 200);
    }

    void notAZip()
    {
        const QString sha = s->upload("this is not a zip", "fake.zip");
        const auto r = s->post("/api/v1/jobs", job(QJsonObject{{"archive", sha}}));
        QCOMPARE(r.status, 400);
        QCOMPARE(r.errorCode(), QString("invalid_archive"));
    }

    void unknownArchiveIsRefusedBeforeUnpacking()
    {
        const auto r = s->post("/api/v1/jobs", job(QJsonObject{{"archive", QString(64, 'c')}}));
        QCOMPARE(r.status, 400);
        QVERIFY(r.body.contains("input.archive"));
    }
};

QTEST_MAIN(TestBundlesApi)
#include "tst_bundlesapi.moc"
