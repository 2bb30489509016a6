// Job types: schema-driven validation with defaults, the built-in types' rules, compilers and
// JSON-declared types (docs/JOBTYPES.md).
#include "jobtypes/jobtyperegistry.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>

using namespace farm;
using namespace farm::server;

namespace {

const QString kSha = QString(64, 'a');

JobSpec spec(const QString &type, const QString &main, const QJsonObject &settings = {})
{
    JobSpec s;
    s.type = type;
    s.input.main = main;
    s.input.files = {{main, kSha}};
    s.settings = settings;
    return s;
}

// Test declarations are written with single quotes; JSON wants double ones.
QByteArray json(const char *singleQuoted)
{
    return QByteArray(singleQuoted).replace('\'', '"');
}

QJsonObject parse(const char *json)
{
    return QJsonDocument::fromJson(json).object();
}

} // namespace

class TestJobTypes : public QObject
{
    Q_OBJECT
    JobTypeRegistry types = JobTypeRegistry::builtin();

private slots:
    void builtinTypesAreServedWithSchemas()
    {
        QCOMPARE(types.names(),
                 (QStringList{"model", "templates", "blender", "encode", "compose"}));
        for (const JobType &t : types.types()) {
            const QJsonObject j = t.toJson();
            QCOMPARE(j.value("name").toString(), t.name);
            QVERIFY(!j.value("label").toString().isEmpty());
            // encode takes images without claiming the extension (a PNG is mostly a texture).
            QVERIFY(!j.value("extensions").toArray().isEmpty() || t.name == "encode");
            // The built-in schemas pass the same check as declared ones.
            const auto checked = SettingsSchema::fromJson(j.value("schema").toObject());
            QVERIFY2(checked.ok(), qPrintable(checked ? QString() : checked.error().message));
        }
        QCOMPARE(types.find("blender")->engine, QString("blender"));
        QCOMPARE(types.find("model")->engine, QString("farmhand"));
        QVERIFY(!types.find("templates")->frames);
    }

    void modelDefaultsAreFilledIn()
    {
        const auto s = types.validate(spec("model", "engine.glb"));
        QVERIFY(s.ok());
        QCOMPARE(s->settings.value("width").toInt(), 640);
        QCOMPARE(s->settings.value("spp").toInt(), 16);
        QCOMPARE(s->settings.value("passes").toArray(), QJsonArray{"rgb"});
        const QJsonObject camera = s->settings.value("camera").toObject();
        QCOMPARE(camera.value("mode").toString(), QString("still"));
        QCOMPARE(camera.value("projection").toString(), QString("perspective"));
        QVERIFY(!camera.contains("ortho_width")); // hidden for perspective
        // The node's reading of the same settings (as a frame task carries them) agrees.
        const auto render = RenderSettings::fromJson(types.taskSettings(*s, Task{}));
        QVERIFY(render.ok());
        QCOMPARE(render->width, 640);
    }

    void templatesDefaults()
    {
        const auto s = types.validate(spec("templates", "part.stl"));
        QVERIFY(s.ok());
        QCOMPARE(s->settings.value("views").toInt(), kDefaultTemplateViews);
        QCOMPARE(s->settings.value("passes").toArray(), (QJsonArray{"rgb", "mask", "xyz"}));
        QVERIFY(!s->settings.contains("camera"));
        const auto tasks = types.compile(*s);
        QVERIFY(tasks.ok());
        QCOMPARE(tasks->size(), 1);
    }

    void blenderKeepsTheSceneValues()
    {
        const auto s = types.validate(spec("blender", "shot.blend", {{"samples", 8}}));
        QVERIFY(s.ok());
        QCOMPARE(s->settings.value("samples").toInt(), 8);
        QVERIFY(!s->settings.contains("width")); // no default: the scene's own
        QVERIFY(!s->settings.contains("render_engine"));
        QCOMPARE(s->settings.value("format").toString(), QString("PNG"));
        QCOMPARE(s->settings.value("denoise").toBool(), false);
    }

    void rejects_data()
    {
        QTest::addColumn<QString>("type");
        QTest::addColumn<QString>("main");
        QTest::addColumn<QByteArray>("settings");
        QTest::addColumn<QString>("code");
        QTest::addColumn<QString>("message");
        QTest::newRow("unknown type") << "maya"
                                      << "a.ma" << QByteArray("{}") << "invalid_field"
                                      << "type 'maya' is not a known job type (known: model, "
                                         "templates, blender, encode, compose)";
        QTest::newRow("extension") << "model"
                                   << "shot.blend" << QByteArray("{}") << "invalid_field"
                                   << "model jobs take .glb, .gltf, .obj, .fbx, .dae, .zae, .ply, "
                                      ".stl, .off, .3mf, .3ds, .x, .lwo, .ase, .ac, .ms3d, .x3d, "
                                      ".amf, .ogex files, not 'shot.blend' (type blender takes it)";
        QTest::newRow("no extension") << "blender"
                                      << "README" << QByteArray("{}") << "invalid_field"
                                      << "blender jobs take .blend files, not "
                                         "'README'";
        QTest::newRow("unknown key") << "model"
                                     << "a.glb" << QByteArray(R"({"colour": 1})") << "unknown_field"
                                     << "settings.colour is not a setting of this job type "
                                        "(known: bit_depth, camera, format, height, "
                                        "noise_target, passes, seed, spp, time_limit_s, video, "
                                        "width)";
        QTest::newRow("nested unknown key")
            << "model"
            << "a.glb" << QByteArray(R"({"camera": {"fov": 40}})") << "unknown_field"
            << "settings.camera.fov is not a setting of this job type (known: mode, ortho_width, "
               "projection)";
        QTest::newRow("below minimum")
            << "model"
            << "a.glb" << QByteArray(R"({"width": 5})") << "invalid_field"
            << "settings.width must be between 16 and 8192";
        QTest::newRow("fraction") << "model"
                                  << "a.glb" << QByteArray(R"({"spp": 1.5})") << "invalid_field"
                                  << "settings.spp must be a whole number";
        QTest::newRow("string for number")
            << "model"
            << "a.glb" << QByteArray(R"({"spp": "8"})") << "invalid_field"
            << "settings.spp must be a number";
        QTest::newRow("enum") << "model"
                              << "a.glb" << QByteArray(R"({"bit_depth": 12})") << "invalid_field"
                              << "settings.bit_depth must be one of 8, 16, not '12'";
        QTest::newRow("enum string")
            << "model"
            << "a.glb" << QByteArray(R"({"camera": {"mode": "orbit"}})") << "invalid_field"
            << "settings.camera.mode must be one of still, turntable, not 'orbit'";
        QTest::newRow("array item")
            << "model"
            << "a.glb" << QByteArray(R"({"passes": ["rgb", "beauty"]})") << "invalid_field"
            << "settings.passes may hold rgb, depth, normal, albedo, mask, xyz, instance, "
               "not 'beauty'";
        QTest::newRow("empty array")
            << "model"
            << "a.glb" << QByteArray(R"({"passes": []})") << "invalid_field"
            << "settings.passes must name at least 1 item";
        QTest::newRow("duplicate item")
            << "model"
            << "a.glb" << QByteArray(R"({"passes": ["rgb", "rgb"]})") << "invalid_field"
            << "settings.passes must name each item once";
        QTest::newRow("hidden field")
            << "model"
            << "a.glb" << QByteArray(R"({"camera": {"ortho_width": 3}})") << "invalid_field"
            << "settings.camera.ortho_width applies only when settings.camera.projection is "
               "'orthographic'";
        QTest::newRow("pattern") << "blender"
                                 << "a.blend" << QByteArray(R"({"camera": "cams/main"})")
                                 << "invalid_field"
                                 << "settings.camera 'cams/main' does not match [^/\\\\]{1,63}";
        QTest::newRow("control character")
            << "blender"
            << "a.blend" << QByteArray("{\"camera\": \"a\\u0007\"}") << "invalid_field"
            << "settings.camera must not hold control characters";
        QTest::newRow("boolean") << "blender"
                                 << "a.blend" << QByteArray(R"({"denoise": 1})") << "invalid_field"
                                 << "settings.denoise must be true or false";
    }
    void rejects()
    {
        QFETCH(QString, type);
        QFETCH(QString, main);
        QFETCH(QByteArray, settings);
        QFETCH(QString, code);
        QFETCH(QString, message);
        const auto s = types.validate(spec(type, main, parse(settings.constData())));
        QVERIFY(!s.ok());
        QCOMPARE(s.error().code, code);
        QCOMPARE(s.error().message, message);
    }

    // Side files: each type names the extensions it takes beside its main file (served as
    // side_extensions); a bundle holding another file is refused, naming it.
    void sideFilesByType_data()
    {
        QTest::addColumn<QString>("type");
        QTest::addColumn<QString>("main");
        QTest::addColumn<QString>("side");
        QTest::addColumn<QString>("refusal"); // empty: taken
        QTest::newRow("gltf buffer") << "model"
                                     << "scene.gltf"
                                     << "scene.bin"
                                     << "";
        QTest::newRow("texture upper case") << "model"
                                            << "a/scene.gltf"
                                            << "tex/Wood.PNG"
                                            << "";
        QTest::newRow("obj material") << "templates"
                                      << "box.obj"
                                      << "box.mtl"
                                      << "";
        QTest::newRow("tga") << "model"
                             << "box.obj"
                             << "maps/d.tga"
                             << "";
        QTest::newRow("notes") << "model"
                               << "scene.gltf"
                               << "notes.txt"
                               << "model jobs take .bin, .mtl, .png, .jpg, .jpeg, .bmp, .gif, "
                                  ".tga, .tif, .tiff, .webp, .exr, .hdr, .ktx, .ktx2, .dds, .psd, "
                                  ".ppm, .pgm, .pbm files beside the main file, not 'notes.txt'";
        QTest::newRow("no extension")
            << "templates"
            << "box.obj"
            << "docs/README"
            << "templates jobs take .bin, .mtl, .png, .jpg, .jpeg, .bmp, .gif, .tga, .tif, "
               ".tiff, .webp, .exr, .hdr, .ktx, .ktx2, .dds, .psd, .ppm, .pgm, .pbm files beside "
               "the main file, not 'docs/README'";
        QTest::newRow("a second model") << "model"
                                        << "a.gltf"
                                        << "b.glb"
                                        << "model jobs take .bin, .mtl, .png, .jpg, .jpeg, .bmp, "
                                           ".gif, .tga, .tif, .tiff, .webp, .exr, .hdr, .ktx, "
                                           ".ktx2, .dds, .psd, .ppm, .pgm, .pbm files beside the "
                                           "main file, not 'b.glb'";
        QTest::newRow("blender any") << "blender"
                                     << "shot.blend"
                                     << "notes.docx"
                                     << "";
        QTest::newRow("blender no extension") << "blender"
                                              << "shot.blend"
                                              << "cache/LICENSE"
                                              << "";
        QTest::newRow("encode frames") << "encode"
                                       << "f/frame_1.png"
                                       << "f/frame_2.jpg"
                                       << "";
        QTest::newRow("encode text") << "encode"
                                     << "f/frame_1.png"
                                     << "f/list.txt"
                                     << "encode jobs take .png, .jpg, .jpeg files beside the "
                                        "main file, not 'f/list.txt'";
        QTest::newRow("compose video") << "compose"
                                       << "cues.json"
                                       << "clip.webm"
                                       << "";
        QTest::newRow("compose font")
            << "compose"
            << "cues.json"
            << "fonts/a.ttf"
            << "compose jobs take .mp4, .m4v, .mov, .mkv, .webm, .avi, .mpg, .mpeg, .ts files "
               "beside the main file, not 'fonts/a.ttf'";
    }
    void sideFilesByType()
    {
        QFETCH(QString, type);
        QFETCH(QString, main);
        QFETCH(QString, side);
        QFETCH(QString, refusal);
        JobSpec s = spec(type, main);
        s.input.files.append({side, QString(64, 'b')});
        const auto v = types.validate(s);
        if (refusal.isEmpty()) {
            QVERIFY2(v.ok(), qPrintable(v ? QString() : v.error().message));
            return;
        }
        QVERIFY(!v.ok());
        QCOMPARE(v.error().code, QString("invalid_field"));
        QCOMPARE(v.error().message, refusal);
    }

    void sideExtensionsAreServed()
    {
        const QJsonObject model = types.find("model")->toJson();
        const QJsonArray side = model.value("side_extensions").toArray();
        for (const char *e : {"bin", "mtl", "png", "jpg", "jpeg", "tga", "ktx2", "exr"})
            QVERIFY2(side.contains(QLatin1String(e)), e);
        QCOMPARE(types.find("templates")->toJson().value("side_extensions").toArray(), side);
        QCOMPARE(types.find("blender")->toJson().value("side_extensions").toArray(),
                 QJsonArray{"*"});
        QCOMPARE(types.find("encode")->toJson().value("side_extensions").toArray(),
                 (QJsonArray{"png", "jpg", "jpeg"}));
        QVERIFY(types.find("compose")->toJson().value("side_extensions").toArray().contains("mp4"));
        for (const JobType &t : types.types())
            for (const QString &e : t.sideExtensions)
                QVERIFY2(e == "*" || (e == e.toLower() && !e.contains('.')), qPrintable(e));
    }

    void framesDoNotApplyToTemplates()
    {
        JobSpec s = spec("templates", "a.glb");
        s.frames = "1-3";
        QVERIFY(types.validate(s).error().message.contains("frames does not apply"));
        s.frames = "1";
        s.chunk = 2;
        QVERIFY(types.validate(s).error().message.contains("chunk does not apply"));
    }

    void orthographicWidthWhenVisible()
    {
        const auto s = types.validate(
            spec("model", "a.glb",
                 parse(R"({"camera": {"projection": "orthographic", "ortho_width": 2.5}})")));
        QVERIFY(s.ok());
        QCOMPARE(s->settings.value("camera").toObject().value("ortho_width").toDouble(), 2.5);
        QCOMPARE(RenderSettings::fromJson(types.taskSettings(*s, Task{}))->orthoWidth, 2.5);
    }

    void compilesChunksAndFindsFrames()
    {
        JobSpec s = spec("model", "a.glb");
        s.frames = "1-10";
        s.chunk = 4;
        const auto tasks = types.compile(*types.validate(s));
        QVERIFY(tasks.ok());
        QCOMPARE(tasks->size(), 3);
        QCOMPARE(tasks->at(2).frames.toString(), QString("9-10"));
        QCOMPARE(types.completedFrame("model", "frame_0007.png"), std::optional<int>(7));
        QCOMPARE(types.completedFrame("blender", "frame_0012.exr"), std::optional<int>(12));
        QCOMPARE(types.completedFrame("model", "frame_0007_depth.png"), std::nullopt);
        QCOMPARE(types.completedFrame("templates", "rgb_3.png"), std::nullopt);
        QCOMPARE(types.completedFrame("nope", "frame_0001.png"), std::nullopt);
    }

    void declaredTypesLoadFromAFolder()
    {
        QTemporaryDir dir;
        QFile f(dir.filePath("testonly.json"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({"name": "testonly", "label": "Test only", "engine": "farmhand",
                    "extensions": ["GLB"], "frames": true, "compile": "chunks",
                    "schema": {"type": "object", "order": ["flavour", "strength"],
                               "properties": {
                                 "flavour": {"type": "string", "enum": ["salty", "sweet"],
                                             "default": "sweet"},
                                 "strength": {"type": "integer", "minimum": 1, "maximum": 5,
                                              "default": 3}}}})");
        f.close();
        JobTypeRegistry r = JobTypeRegistry::builtin();
        const auto n = r.loadDirectory(dir.path());
        QVERIFY2(n.ok(), qPrintable(n ? QString() : n.error().message));
        QCOMPARE(*n, 1);
        const auto s = r.validate(spec("testonly", "a.glb", parse(R"({"strength": 5})")));
        QVERIFY(s.ok());
        QCOMPARE(s->settings, parse(R"({"flavour": "sweet", "strength": 5})"));
        QCOMPARE(r.validate(spec("testonly", "a.glb", parse(R"({"strength": 6})"))).error().message,
                 QString("settings.strength must be between 1 and 5"));
        JobSpec chunks = *s;
        chunks.frames = "1-5";
        chunks.chunk = 2;
        QCOMPARE(r.compile(chunks)->size(), 3);
        QVERIFY(!r.loadDirectory(dir.path()).ok()); // the same name twice
        // Declared without side_extensions: any side file, as before the field existed.
        QCOMPARE(r.find("testonly")->sideExtensions, QStringList{"*"});
        JobSpec withNotes = spec("testonly", "a.glb");
        withNotes.input.files.append({"notes.txt", kSha});
        QVERIFY(r.validate(withNotes).ok());
    }

    void declaredSideExtensions()
    {
        QTemporaryDir dir;
        QFile f(dir.filePath("withside.json"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(json("{'name': 'withside', 'engine': 'farmhand', 'extensions': ['obj'], "
                     "'side_extensions': ['MTL', 'png'], "
                     "'schema': {'type': 'object', 'properties': {}}}"));
        f.close();
        JobTypeRegistry r;
        QVERIFY(r.loadDirectory(dir.path()).ok());
        QCOMPARE(r.find("withside")->toJson().value("side_extensions").toArray(),
                 (QJsonArray{"mtl", "png"}));
        JobSpec s = spec("withside", "a.obj");
        s.input.files.append({"a.mtl", kSha});
        QVERIFY(r.validate(s).ok());
        s.input.files.append({"a.jpg", kSha});
        QCOMPARE(r.validate(s).error().message,
                 QString("withside jobs take .mtl, .png files beside the main file, not 'a.jpg'"));
        // An empty list: the main file travels alone.
        QFile g(dir.filePath("withside.json"));
        QVERIFY(g.open(QIODevice::WriteOnly | QIODevice::Truncate));
        g.write(json("{'name': 'alone', 'engine': 'farmhand', 'extensions': ['obj'], "
                     "'side_extensions': [], 'schema': {'type': 'object', 'properties': {}}}"));
        g.close();
        JobTypeRegistry alone;
        QVERIFY(alone.loadDirectory(dir.path()).ok());
        JobSpec a = spec("alone", "a.obj");
        QVERIFY(alone.validate(a).ok());
        a.input.files.append({"a.mtl", kSha});
        QCOMPARE(alone.validate(a).error().message,
                 QString("alone jobs take their main file alone; 'a.mtl' cannot travel with it"));
    }

    void badDeclarations_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("message");
        QTest::newRow("not json") << QByteArray("{") << "JSON";
        QTest::newRow("bad name") << json("{'name': 'Bad Name', 'engine': 'farmhand', 'schema': "
                                          "{'type': 'object', 'properties': {}}}")
                                  << "not a job type name";
        QTest::newRow("no engine")
            << json("{'name': 'x', 'schema': {'type': 'object', 'properties': {}}}") << "engine";
        QTest::newRow("unknown field type")
            << json("{'name': 'x', 'engine': 'e', 'schema': {'type': 'object', 'properties': {'a': "
                    "{'type': 'colour'}}}}")
            << "schema.a: type must be one of";
        QTest::newRow("default out of range")
            << json("{'name': 'x', 'engine': 'e', 'schema': {'type': 'object', 'properties': { "
                    "'a': {'type': 'integer', 'minimum': 1, 'maximum': 5, 'default': 9}}}}")
            << "schema.a.default must be between 1 and 5";
        QTest::newRow("bad pattern")
            << json("{'name': 'x', 'engine': 'e', 'schema': {'type': 'object', 'properties': {'a': "
                    "{'type': 'string', 'pattern': '('}}}}")
            << "not a valid regular expression";
        QTest::newRow("side extension with a dot")
            << json("{'name': 'x', 'engine': 'e', 'side_extensions': ['.png'], "
                    "'schema': {'type': 'object', 'properties': {}}}")
            << "side_extensions: '.png' is not an extension";
        QTest::newRow("any among others")
            << json("{'name': 'x', 'engine': 'e', 'side_extensions': ['png', '*'], "
                    "'schema': {'type': 'object', 'properties': {}}}")
            << "stands alone";
        QTest::newRow("side extensions not a list")
            << json("{'name': 'x', 'engine': 'e', 'side_extensions': 'png', "
                    "'schema': {'type': 'object', 'properties': {}}}")
            << "side_extensions";
        QTest::newRow("bad compile") << json("{'name': 'x', 'engine': 'e', 'compile': 'magic', "
                                             "'schema': {'type': 'object', 'properties': {}}}")
                                     << "compile must be";
    }
    void badDeclarations()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, message);
        QTemporaryDir dir;
        QFile f(dir.filePath("bad.json"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(json);
        f.close();
        JobTypeRegistry r;
        const auto n = r.loadDirectory(dir.path());
        QVERIFY(!n.ok());
        QVERIFY2(n.error().message.contains(message), qPrintable(n.error().message));
        QVERIFY(n.error().message.contains("bad.json"));
    }
};

QTEST_GUILESS_MAIN(TestJobTypes)
#include "tst_jobtypes.moc"
