// Side files of real models laid out as job bundles: every file read stays inside the bundle
// root, references are found where farm::bundle's server check finds them (escaping or absolute
// ones by file name beside the referencing file or at the root, percent-encoded glTF URIs, MTL
// textures beside their .mtl). Tiny renders check which texture's colour shows.
#include "clirun.h"
#include "renderer.h"
#include "renderoptions.h"

#include <QCommandLineParser>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

using farm::Result;
using namespace farm::render;
using namespace farm::test;

namespace {

const QString kBoxDir = QStringLiteral("/usr/share/assimp/models/glTF2/BoxTextured-glTF/");
const QString kSpiderDir = QStringLiteral("/usr/share/assimp/models/OBJ/");

bool writeFile(const QString &path, const QByteArray &data)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(data) == data.size();
}

bool copyFile(const QString &from, const QString &to)
{
    QDir().mkpath(QFileInfo(to).absolutePath());
    return QFile::copy(from, to);
}

/// A 16×16 PNG of one colour: which texture was read shows as that colour in the render.
bool solidPng(const QString &path, QColor colour)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QImage image(16, 16, QImage::Format_RGB32);
    image.fill(colour);
    return image.save(path, "PNG");
}

/// BoxTextured.gltf written to `path` with its buffer and image URIs replaced.
bool writeBox(const QString &path, const QString &bufferUri, const QString &imageUri)
{
    QFile in(kBoxDir + "BoxTextured.gltf");
    if (!in.open(QIODevice::ReadOnly))
        return false;
    QJsonObject gltf = QJsonDocument::fromJson(in.readAll()).object();
    QJsonArray buffers = gltf.value("buffers").toArray();
    QJsonObject buffer = buffers.at(0).toObject();
    buffer.insert("uri", bufferUri);
    buffers.replace(0, buffer);
    gltf.insert("buffers", buffers);
    gltf.insert("images", QJsonArray{QJsonObject{{"uri", imageUri}}});
    return writeFile(path, QJsonDocument(gltf).toJson());
}

/// spider.obj and its .mtl with the mtllib line and every map_Kd replaced.
bool writeSpider(const QString &objPath, const QString &mtllib, const QString &mtlPath,
                 const QString &mapKd)
{
    QFile obj(kSpiderDir + "spider.obj");
    QFile mtl(kSpiderDir + "spider.mtl");
    if (!obj.open(QIODevice::ReadOnly) || !mtl.open(QIODevice::ReadOnly))
        return false;
    QByteArray objText = obj.readAll();
    objText.replace("mtllib spider.mtl", "mtllib " + mtllib.toUtf8());
    QByteArray mtlText;
    for (const QByteArray &line : mtl.readAll().split('\n'))
        mtlText += (line.startsWith("map_Kd") ? "map_Kd " + mapKd.toUtf8() : line) + '\n';
    return writeFile(objPath, objText) && (mtlPath.isEmpty() || writeFile(mtlPath, mtlText));
}

struct Colours
{
    int red = 0;
    int green = 0;
    int pixels = 0;
};

bool clearly(float a, float b, float c)
{
    return a > 0.05f && a > 3.f * b && a > 3.f * c;
}

/// Renders 32×24 at 4 spp from the default still camera and counts clearly red and clearly
/// green pixels (the sky is bluish white and an untextured material grey).
Colours render(const Scene &scene)
{
    RenderParams params;
    params.width = 32;
    params.height = 24;
    params.spp = 4;
    const Camera camera = frameCamera(scene.bounds(), CameraRig(), 1, 32, 24, params);
    RenderOptions options;
    options.threads = 2;
    Result<Framebuffer> fb = renderFrame(scene, camera, params, options);
    if (!fb)
        qFatal("render failed: %s", qPrintable(fb.error().message));
    Colours c;
    for (int y = 0; y < fb->height; ++y) {
        for (int x = 0; x < fb->width; ++x) {
            const Vec3 p = fb->at(x, y);
            c.red += clearly(p.x, p.y, p.z) ? 1 : 0;
            c.green += clearly(p.y, p.x, p.z) ? 1 : 0;
            ++c.pixels;
        }
    }
    return c;
}

QString describe(const Result<Scene> &scene)
{
    if (!scene.ok())
        return scene.error().message;
    return scene->stats().warnings.join(QLatin1String(" | "));
}

} // namespace

class TestBundlePaths : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString m_root;    // the bundle root of each case: <tmp>/<case>/input
    QString m_outside; // beside the root: a node's other files

    /// A fresh layout for one case: input/ (the bundle) and outside/ holding a green PNG and a
    /// copy of the box's buffer, both readable by the renderer's process.
    void freshLayout(const QString &name)
    {
        const QString base = m_dir.filePath(name);
        m_root = base + "/input";
        m_outside = base + "/outside";
        QVERIFY(QDir().mkpath(m_root));
        QVERIFY(solidPng(m_outside + "/secret.png", Qt::green));
        QVERIFY(copyFile(kBoxDir + "BoxTextured0.bin", m_outside + "/x.bin"));
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        if (!QFile::exists(kBoxDir + "BoxTextured.gltf") ||
            !QFile::exists(kSpiderDir + "spider.obj"))
            QSKIP("assimp-testmodels is not installed");
    }

    void textureInBundleIsRed()
    {
        // The control: the texture beside the model is read and red shows.
        freshLayout("control");
        QVERIFY(writeBox(m_root + "/box.gltf", "BoxTextured0.bin", "red.png"));
        QVERIFY(copyFile(kBoxDir + "BoxTextured0.bin", m_root + "/BoxTextured0.bin"));
        QVERIFY(solidPng(m_root + "/red.png", Qt::red));
        Result<Scene> scene = Scene::load(m_root + "/box.gltf", m_root);
        QVERIFY2(scene.ok() && scene->stats().warnings.isEmpty(), qPrintable(describe(scene)));
        QCOMPARE(scene->stats().textures, size_t(1));
        const Colours c = render(*scene);
        QVERIFY2(c.red > c.pixels / 5 && c.green == 0,
                 qPrintable(QStringLiteral("red %1 green %2").arg(c.red).arg(c.green)));
    }

    void textureOutsideIsNotRead_data()
    {
        QTest::addColumn<QString>("uri");
        QTest::addColumn<bool>("symlink");
        QTest::newRow("escaping") << "../outside/secret.png" << false;
        QTest::newRow("absolute") << "" << false; // the absolute path of outside/secret.png
        QTest::newRow("symlink in the root") << "link.png" << true;
        QTest::newRow("escaping, encoded") << "%2E%2E/outside/secret.png" << false;
    }

    void textureOutsideIsNotRead()
    {
        QFETCH(QString, uri);
        QFETCH(bool, symlink);
        freshLayout(QStringLiteral("outside-%1").arg(QTest::currentDataTag()));
        if (uri.isEmpty())
            uri = m_outside + "/secret.png";
        if (symlink)
            QVERIFY(QFile::link(m_outside + "/secret.png", m_root + "/link.png"));
        QVERIFY(writeBox(m_root + "/box.gltf", "BoxTextured0.bin", uri));
        QVERIFY(copyFile(kBoxDir + "BoxTextured0.bin", m_root + "/BoxTextured0.bin"));
        Result<Scene> scene = Scene::load(m_root + "/box.gltf", m_root);
        QVERIFY2(scene.ok(), qPrintable(describe(scene)));
        QCOMPARE(scene->stats().textures, size_t(0));
        QCOMPARE(
            scene->stats().warnings,
            QStringList{QStringLiteral("texture %1 is outside the bundle; not read").arg(uri)});
        const Colours c = render(*scene);
        QCOMPARE(c.green, 0);
        QCOMPARE(c.red, 0);
    }

    void bufferOutsideIsNotRead()
    {
        // The escaping buffer exists (outside/x.bin): the import fails as if it were missing,
        // and the error names it.
        freshLayout("buffer-outside");
        QVERIFY(writeBox(m_root + "/box.gltf", "../outside/x.bin", "red.png"));
        QVERIFY(solidPng(m_root + "/red.png", Qt::red));
        Result<Scene> scene = Scene::load(m_root + "/box.gltf", m_root);
        QVERIFY(!scene.ok());
        QCOMPARE(scene.error().code, QStringLiteral("bad_model"));
        QVERIFY2(scene.error().message.contains("../outside/x.bin is outside the bundle; not read"),
                 qPrintable(scene.error().message));

        // The same model with an absolute buffer path: not read either.
        QVERIFY(writeBox(m_root + "/box.gltf", m_outside + "/x.bin", "red.png"));
        Result<Scene> absolute = Scene::load(m_root + "/box.gltf", m_root);
        QVERIFY2(!absolute.ok(), qPrintable(describe(absolute)));
    }

    void foundByName_data()
    {
        // Where the bundle holds a file that an absolute or escaping reference names: beside
        // the referencing file (models/) or at the root, as farm::bundle::missingFiles accepts.
        QTest::addColumn<QString>("bufferUri");
        QTest::addColumn<QString>("imageUri");
        QTest::addColumn<QString>("bufferAt");
        QTest::addColumn<QString>("imageAt");
        QTest::newRow("escaping, beside") << "../../bin/BoxTextured0.bin"
                                          << "../../tex/wood.png"
                                          << "models/BoxTextured0.bin"
                                          << "models/wood.png";
        QTest::newRow("windows, root") << "C:\\Users\\a\\BoxTextured0.bin"
                                       << "C:\\Users\\a\\wood.png"
                                       << "BoxTextured0.bin"
                                       << "wood.png";
        QTest::newRow("unix, root") << "/home/a/BoxTextured0.bin"
                                    << "/home/a/wood.png"
                                    << "BoxTextured0.bin"
                                    << "wood.png";
        QTest::newRow("unix, beside") << "/home/a/BoxTextured0.bin"
                                      << "/home/a/wood.png"
                                      << "models/BoxTextured0.bin"
                                      << "models/wood.png";
        QTest::newRow("escaping past the root, root") << "../../../../bin/BoxTextured0.bin"
                                                      << "../../../../tex/wood.png"
                                                      << "BoxTextured0.bin"
                                                      << "wood.png";
    }

    void foundByName()
    {
        QFETCH(QString, bufferUri);
        QFETCH(QString, imageUri);
        QFETCH(QString, bufferAt);
        QFETCH(QString, imageAt);
        freshLayout(QStringLiteral("by-name-%1").arg(QTest::currentDataTag()));
        // A green file where the escaping reference points outside the root must lose.
        QVERIFY(solidPng(
            m_dir.filePath(QStringLiteral("by-name-%1/tex/wood.png").arg(QTest::currentDataTag())),
            Qt::green));
        QVERIFY(writeBox(m_root + "/models/box.gltf", bufferUri, imageUri));
        QVERIFY(copyFile(kBoxDir + "BoxTextured0.bin", m_root + "/" + bufferAt));
        QVERIFY(solidPng(m_root + "/" + imageAt, Qt::red));
        Result<Scene> scene = Scene::load(m_root + "/models/box.gltf", m_root);
        QVERIFY2(scene.ok() && scene->stats().warnings.isEmpty(), qPrintable(describe(scene)));
        QCOMPARE(scene->stats().textures, size_t(1));
        const Colours c = render(*scene);
        QVERIFY2(c.red > c.pixels / 5 && c.green == 0,
                 qPrintable(QStringLiteral("red %1 green %2").arg(c.red).arg(c.green)));
    }

    void percentEncodedUris()
    {
        // glTF URIs are URIs: "Box%20Textured0.bin" is the file "Box Textured0.bin".
        freshLayout("encoded");
        QVERIFY(writeBox(m_root + "/box.gltf", "Box%20Textured0.bin", "Cesium%20Logo.png"));
        QVERIFY(copyFile(kBoxDir + "BoxTextured0.bin", m_root + "/Box Textured0.bin"));
        QVERIFY(solidPng(m_root + "/Cesium Logo.png", Qt::red));
        Result<Scene> scene = Scene::load(m_root + "/box.gltf", m_root);
        QVERIFY2(scene.ok() && scene->stats().warnings.isEmpty(), qPrintable(describe(scene)));
        QCOMPARE(scene->stats().textures, size_t(1));
        QVERIFY(render(*scene).red > 768 / 5);

        // In a subfolder, with a UTF-8 name.
        QVERIFY(writeBox(m_root + "/box.gltf", "Box%20Textured0.bin", "t%C3%A9x/r%20ed.png"));
        QVERIFY(solidPng(m_root + QStringLiteral("/t\u00e9x/r ed.png"), Qt::red));
        Result<Scene> sub = Scene::load(m_root + "/box.gltf", m_root);
        QVERIFY2(sub.ok() && sub->stats().warnings.isEmpty(), qPrintable(describe(sub)));
        QCOMPARE(sub->stats().textures, size_t(1));
    }

    void rootAboveTheModel()
    {
        // input/models/box.gltf uses input/textures/red.png: read with the bundle root, outside
        // the default root (the model's own folder).
        freshLayout("root-above");
        QVERIFY(writeBox(m_root + "/models/box.gltf", "BoxTextured0.bin", "../textures/red.png"));
        QVERIFY(copyFile(kBoxDir + "BoxTextured0.bin", m_root + "/models/BoxTextured0.bin"));
        QVERIFY(solidPng(m_root + "/textures/red.png", Qt::red));
        Result<Scene> scene = Scene::load(m_root + "/models/box.gltf", m_root);
        QVERIFY2(scene.ok() && scene->stats().warnings.isEmpty(), qPrintable(describe(scene)));
        QVERIFY(render(*scene).red > 768 / 5);

        Result<Scene> confined = Scene::load(m_root + "/models/box.gltf");
        QVERIFY(confined.ok());
        QCOMPARE(confined->stats().warnings,
                 QStringList{"texture ../textures/red.png is outside the bundle; not read"});
        QCOMPARE(render(*confined).red, 0);

        // A model outside its root is refused, and so is a root that is no folder.
        Result<Scene> outsideRoot = Scene::load(m_root + "/models/box.gltf", m_outside);
        QVERIFY(!outsideRoot.ok());
        QCOMPARE(outsideRoot.error().code, QStringLiteral("io_error"));
        Result<Scene> noRoot = Scene::load(m_root + "/models/box.gltf", m_root + "/nope");
        QVERIFY(!noRoot.ok());
        QCOMPARE(noRoot.error().code, QStringLiteral("io_error"));
    }

    void mtlTexturesBesideTheirMtl()
    {
        // spider.obj at the root, its .mtl in mats/ naming tex.png, which lies in mats/ only.
        freshLayout("mtl-subfolder");
        QVERIFY(writeSpider(m_root + "/spider.obj", "mats/spider.mtl", m_root + "/mats/spider.mtl",
                            "tex.png"));
        QVERIFY(solidPng(m_root + "/mats/tex.png", Qt::red));
        Result<Scene> scene = Scene::load(m_root + "/spider.obj", m_root);
        QVERIFY2(scene.ok() && scene->stats().warnings.isEmpty(), qPrintable(describe(scene)));
        QCOMPARE(scene->stats().textures, size_t(1));
        const Colours c = render(*scene);
        QVERIFY2(c.red > c.pixels / 32 && c.green == 0, // 49 of 768 here
                 qPrintable(QStringLiteral("red %1 green %2").arg(c.red).arg(c.green)));

        // With a tex.png beside the OBJ too, that one wins (the OBJ's folder is tried first, as
        // before): green.
        QVERIFY(solidPng(m_root + "/tex.png", Qt::green));
        Result<Scene> both = Scene::load(m_root + "/spider.obj", m_root);
        QVERIFY(both.ok());
        QVERIFY(render(*both).green > 0);
    }

    void mtlOutsideIsNotRead()
    {
        // An mtllib escaping the root names a material file whose texture is green: neither is
        // read, and the warning names the .mtl.
        freshLayout("mtl-outside");
        QVERIFY(writeSpider(m_root + "/spider.obj", "../outside/evil.mtl", m_outside + "/evil.mtl",
                            m_outside + "/secret.png"));
        Result<Scene> scene = Scene::load(m_root + "/spider.obj", m_root);
        QVERIFY2(scene.ok(), qPrintable(describe(scene)));
        QVERIFY2(scene->stats().warnings.contains(
                     "file ../outside/evil.mtl is outside the bundle; not read"),
                 qPrintable(describe(scene)));
        QCOMPARE(scene->stats().textures, size_t(0));
        QCOMPARE(render(*scene).green, 0);
    }

    void rootOption()
    {
        const auto read = [](const QStringList &args, CliOptions &o) {
            QCommandLineParser parser;
            addRenderOptions(parser);
            if (!parser.parse(QStringList{"render", "m.glb", "-o", "x.png"} + args))
                return parser.errorText();
            return readOptions(parser, o);
        };
        CliOptions o;
        QCOMPARE(read({"--root", m_dir.path()}, o), QString());
        QCOMPARE(o.root, m_dir.path());
        CliOptions none;
        QCOMPARE(read({}, none), QString());
        QVERIFY(none.root.isEmpty());
        CliOptions bad;
        QVERIFY(read({"--root", m_dir.filePath("no")}, bad).contains("--root"));
    }

    void cliDoesNotReadOutside()
    {
        // `render model.gltf` without --root: the model's folder is the root; the warning line
        // names the escaping texture and its green does not show in the written PNG. A root
        // that is no folder is a bad argument.
        freshLayout("cli");
        QVERIFY(writeBox(m_root + "/box.gltf", "BoxTextured0.bin", "../outside/secret.png"));
        QVERIFY(copyFile(kBoxDir + "BoxTextured0.bin", m_root + "/BoxTextured0.bin"));
        const QString out = m_dir.filePath("cli/out.png");
        const Run r = runCli(
            {m_root + "/box.gltf", "-o", out, "--size", "32x24", "--spp", "2", "--threads", "2"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains("warning: texture ../outside/secret.png is outside the bundle; "
                                "not read"),
                 qPrintable(r.out.join('\n')));
        const QImage image(out);
        QCOMPARE(image.size(), QSize(32, 24));
        for (int y = 0; y < image.height(); ++y)
            for (int x = 0; x < image.width(); ++x) {
                const QColor p = image.pixelColor(x, y);
                QVERIFY(!(p.green() > 60 && p.green() > 2 * p.red() && p.green() > 2 * p.blue()));
            }
        const Run bad = runCli({m_root + "/box.gltf", "-o", out, "--root", m_root + "/nope"});
        QCOMPARE(bad.exitCode, 2);
    }
};

QTEST_GUILESS_MAIN(TestBundlePaths)
#include "tst_bundlepaths.moc"
