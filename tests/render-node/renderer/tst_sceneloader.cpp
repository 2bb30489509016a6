// Scene loading through Assimp: real files of several formats, colours, and garbage input.
#include "scene.h"

#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <random>

using farm::Result;
using namespace farm::render;

namespace {
const QString kModels = QStringLiteral("/usr/share/assimp/models/");

Vec3 averageAlbedo(const Scene &s)
{
    Vec3 sum(0.f);
    for (const Vec3 &c : s.mesh().albedo)
        sum += c;
    return sum / float(s.mesh().albedo.size());
}

bool writeFile(const QString &path, const QByteArray &data)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(data) == data.size();
}
} // namespace

class TestSceneLoader : public QObject
{
    Q_OBJECT

private slots:
    void realFiles_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<int>("minTriangles");
        QTest::newRow("glb") << kModels + "glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb"
                             << 100000;
        QTest::newRow("gltf+bin") << kModels + "glTF2/BoxTextured-glTF/BoxTextured.gltf" << 12;
        QTest::newRow("gltf embedded")
            << kModels + "glTF2/BoxTextured-glTF-Embedded/BoxTextured.gltf" << 12;
        QTest::newRow("obj+mtl") << kModels + "OBJ/spider.obj" << 500;
        QTest::newRow("ply ascii") << kModels + "PLY/cube.ply" << 12;
        QTest::newRow("ply binary") << kModels + "PLY/Wuson.ply" << 1000;
        QTest::newRow("stl ascii") << kModels + "STL/Spider_ascii.stl" << 500;
        QTest::newRow("stl binary") << kModels + "STL/Spider_binary.stl" << 500;
        QTest::newRow("stl occt") << QStringLiteral("/usr/share/opencascade/data/stl/bearing.stl")
                                  << 20000;
        QTest::newRow("off") << kModels + "OFF/Cube.off" << 12;
        QTest::newRow("fbx") << kModels + "FBX/box.fbx" << 12;
        QTest::newRow("dae") << kModels + "Collada/duck.dae" << 1000;
    }

    void realFiles()
    {
        QFETCH(QString, path);
        QFETCH(int, minTriangles);
        if (!QFile::exists(path))
            QSKIP(qPrintable(QStringLiteral("%1 is not installed").arg(path)));
        Result<Scene> scene = Scene::load(path);
        QVERIFY2(scene.ok(), scene.ok() ? "" : qPrintable(scene.error().message));
        QVERIFY2(scene->triangleCount() >= size_t(minTriangles),
                 qPrintable(QString::number(scene->triangleCount())));
        QVERIFY(scene->bounds().valid());
        QVERIFY(length(scene->bounds().extent()) > 0.f);
        QCOMPARE(scene->mesh().normals.size(), scene->mesh().positions.size());
        for (const Vec3 &n : scene->mesh().normals)
            QVERIFY(std::fabs(length(n) - 1.f) < 1e-3f);
        QVERIFY(scene->stats().meshes >= 1);
        QVERIFY(!scene->nodes().empty());
    }

    void mtlDiffuseColour()
    {
        QTemporaryDir dir;
        QVERIFY(writeFile(dir.filePath("tri.mtl"), "newmtl orange\nKd 0.8 0.3 0.1\n"));
        QVERIFY(writeFile(dir.filePath("tri.obj"), "mtllib tri.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\n"
                                                   "usemtl orange\nf 1 2 3\n"));
        Result<Scene> scene = Scene::load(dir.filePath("tri.obj"));
        QVERIFY(scene.ok());
        const Vec3 c = averageAlbedo(*scene);
        QVERIFY(std::fabs(c.x - 0.8f) < 1e-3f && std::fabs(c.y - 0.3f) < 1e-3f &&
                std::fabs(c.z - 0.1f) < 1e-3f);
    }

    void gltfBaseColour()
    {
        // The engine's materials are mostly white and cyan: not the 0.7 grey fallback.
        Result<Scene> scene =
            Scene::load(kModels + "glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb");
        QVERIFY(scene.ok());
        bool coloured = false;
        for (const Vec3 &c : scene->mesh().albedo)
            coloured = coloured || (c.x < 0.5f && c.z > 0.6f);
        QVERIFY(coloured);
    }

    void textures()
    {
        for (const QString &path : {kModels + "glTF2/BoxTextured-glTF-Binary/BoxTextured.glb",
                                    kModels + "glTF2/BoxTextured-glTF/BoxTextured.gltf",
                                    kModels + "glTF2/BoxTextured-glTF-Embedded/BoxTextured.gltf"}) {
            Result<Scene> scene = Scene::load(path);
            QVERIFY2(scene.ok(), qPrintable(path));
            QCOMPARE(scene->stats().textures, size_t(1));
            QVERIFY(scene->stats().warnings.isEmpty());
            const TriangleMesh &m = scene->mesh();
            QCOMPARE(m.uvs.size(), 2 * m.positions.size());
            bool textured = false;
            for (const Material &mat : m.materials)
                textured = textured || mat.baseColorTexture == 0;
            QVERIFY(textured);
            const Texture &t = m.textures.front();
            QVERIFY(t.width > 0 && t.height > 0);
            QCOMPARE(t.texels.size(), size_t(t.width) * size_t(t.height) * 4);
            for (float v : t.texels)
                QVERIFY(v >= 0.f && v <= 1.f);
        }
    }

    void tgaTexture_data()
    {
        QTest::addColumn<QString>("file");
        QTest::newRow("dae beside its texture") << kModels + "Collada/duck.dae";
        // Zipped COLLADA: the .dae and its texture in one archive (the model type takes .zae).
        QTest::newRow("zae") << kModels + "Collada/duck.zae";
    }
    void tgaTexture()
    {
        // The Collada duck's texture is a TGA (Qt reads it with qt6-image-formats-plugins): it
        // loads, and its texels are the duck's yellow, not the material colour.
        QFETCH(QString, file);
        Result<Scene> scene = Scene::load(file);
        QVERIFY2(scene.ok(), scene.ok() ? "" : qPrintable(scene.error().message));
        QCOMPARE(scene->stats().textures, size_t(1));
        QVERIFY2(scene->stats().warnings.isEmpty(), qPrintable(scene->stats().warnings.join("; ")));
        const Texture &t = scene->mesh().textures.front();
        double r = 0, g = 0, b = 0;
        for (size_t i = 0; i + 3 < t.texels.size(); i += 4) {
            r += t.texels[i];
            g += t.texels[i + 1];
            b += t.texels[i + 2];
        }
        QVERIFY2(r > 2 * b && g > 2 * b,
                 qPrintable(QString("r %1 g %2 b %3").arg(r).arg(g).arg(b)));
    }

    void normalMapsAndTangents()
    {
        Result<Scene> scene = Scene::load(kModels + "glTF2/ClearCoat-glTF/ClearCoatTest.gltf");
        QVERIFY2(scene.ok(), scene.ok() ? "" : qPrintable(scene.error().message));
        const TriangleMesh &m = scene->mesh();
        bool normalMapped = false;
        for (const Material &mat : m.materials)
            normalMapped = normalMapped || mat.normalTexture >= 0;
        QVERIFY(normalMapped);
        QCOMPARE(m.tangents.size(), m.positions.size());
        QCOMPARE(m.tangentSigns.size(), m.positions.size());
    }

    void missingTextureIsAWarning()
    {
        // The .gltf and its .bin without the PNG: the box still loads, untextured, with a warning.
        QTemporaryDir dir;
        const QString src = kModels + "glTF2/BoxTextured-glTF/";
        QVERIFY(QFile::copy(src + "BoxTextured.gltf", dir.filePath("BoxTextured.gltf")));
        QVERIFY(QFile::copy(src + "BoxTextured0.bin", dir.filePath("BoxTextured0.bin")));
        Result<Scene> scene = Scene::load(dir.filePath("BoxTextured.gltf"));
        QVERIFY2(scene.ok(), scene.ok() ? "" : qPrintable(scene.error().message));
        QCOMPARE(scene->stats().textures, size_t(0));
        QCOMPARE(scene->stats().warnings.size(), 1);
        QVERIFY(scene->stats().warnings.first().contains("CesiumLogoFlat.png"));
        for (const Material &mat : scene->mesh().materials)
            QCOMPARE(mat.baseColorTexture, -1);
    }

    void pbrFactors()
    {
        QTemporaryDir dir;
        // A minimal glTF with one triangle and explicit metallic/roughness/emissive factors.
        const QByteArray bin = QByteArray::fromHex("000000000000000000000000"
                                                   "0000803f0000000000000000"
                                                   "000000000000803f00000000");
        const QByteArray gltf =
            "{\"asset\":{\"version\":\"2.0\"},\"scenes\":[{\"nodes\":[0]}],"
            "\"nodes\":[{\"mesh\":0}],\"meshes\":[{\"primitives\":[{\"attributes\":"
            "{\"POSITION\":0},\"material\":0}]}],\"materials\":[{\"pbrMetallicRoughness\":"
            "{\"baseColorFactor\":[0.2,0.4,0.6,1],\"metallicFactor\":0.75,"
            "\"roughnessFactor\":0.25},\"emissiveFactor\":[1,0.5,0]}],\"buffers\":[{\"uri\":"
            "\"data:application/octet-stream;base64," +
            bin.toBase64() +
            "\",\"byteLength\":36}],\"bufferViews\":[{\"buffer\":0,\"byteLength\":36}],"
            "\"accessors\":[{\"bufferView\":0,\"componentType\":5126,\"count\":3,"
            "\"type\":\"VEC3\",\"min\":[0,0,0],\"max\":[1,1,0]}]}";
        QVERIFY(writeFile(dir.filePath("tri.gltf"), gltf));
        Result<Scene> scene = Scene::load(dir.filePath("tri.gltf"));
        QVERIFY2(scene.ok(), scene.ok() ? "" : qPrintable(scene.error().message));
        QCOMPARE(scene->triangleCount(), size_t(1));
        const Material &m = scene->mesh().materials.at(scene->mesh().materialIds.at(0));
        QCOMPARE(m.metallic, 0.75f);
        QCOMPARE(m.roughness, 0.25f);
        QCOMPARE(m.emissive.x, 1.f);
        QCOMPARE(m.emissive.y, 0.5f);
        const Vec3 c = averageAlbedo(*scene);
        QVERIFY(std::fabs(c.x - 0.2f) < 1e-4f && std::fabs(c.z - 0.6f) < 1e-4f);
    }

    void vertexColours()
    {
        Result<Scene> scene = Scene::load(kModels + "PLY/float-color.ply");
        QVERIFY(scene.ok());
        const Vec3 c = averageAlbedo(*scene);
        QVERIFY2(c.z > 0.3f && c.x < 0.01f && c.y < 0.01f,
                 qPrintable(QStringLiteral("%1 %2 %3").arg(c.x).arg(c.y).arg(c.z)));
    }

    void garbage_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("bytes");
        for (const char *ext :
             {"glb", "gltf", "obj", "stl", "ply", "fbx", "off", "dae", "3ds", "bin"}) {
            QTest::newRow(ext) << QStringLiteral("junk.%1").arg(ext) << 4096;
            QTest::newRow(qPrintable(QStringLiteral("%1 empty").arg(ext)))
                << QStringLiteral("empty.%1").arg(ext) << 0;
        }
    }

    void garbage()
    {
        QFETCH(QString, name);
        QFETCH(int, bytes);
        QTemporaryDir dir;
        std::mt19937 g(qHash(name));
        QByteArray data(bytes, Qt::Uninitialized);
        for (char &c : data)
            c = char(g() & 0xff);
        QVERIFY(writeFile(dir.filePath(name), data));
        Result<Scene> scene = Scene::load(dir.filePath(name));
        QVERIFY(!scene.ok());
        QCOMPARE(scene.error().code, QStringLiteral("bad_model"));
        QVERIFY(scene.error().message.contains(name));
    }

    void gltf1IsNamed()
    {
        // Debian's Assimp reads glTF 2.0 only: a glTF 1.0 file is refused with what to do.
        const QString path = kModels + "glTF/BoxTextured-glTF-Binary/BoxTextured.glb";
        if (!QFile::exists(path))
            QSKIP("assimp-testmodels is not installed");
        Result<Scene> scene = Scene::load(path);
        QVERIFY(!scene.ok());
        QCOMPARE(scene.error().code, QStringLiteral("bad_model"));
        QVERIFY2(scene.error().message.contains("glTF 1.0") &&
                     scene.error().message.contains("glTF 2.0"),
                 qPrintable(scene.error().message));
    }

    void corruptedRealFiles_data()
    {
        QTest::addColumn<QString>("path");
        QTest::newRow("ply") << kModels + "PLY/Wuson.ply";
        QTest::newRow("glb") << kModels + "glTF2/BoxTextured-glTF-Binary/BoxTextured.glb";
        QTest::newRow("obj") << kModels + "OBJ/spider.obj";
        QTest::newRow("stl") << kModels + "STL/Spider_binary.stl";
        QTest::newRow("off") << kModels + "OFF/Wuson.off";
    }

    void corruptedRealFiles()
    {
        // Truncated and bit-flipped copies of real files: a clear error or a scene, never a
        // crash (Debian's Assimp aborts on some of these unless its assert handler is replaced).
        QFETCH(QString, path);
        QFile in(path);
        QVERIFY(in.open(QIODevice::ReadOnly));
        const QByteArray original = in.readAll();
        QTemporaryDir dir;
        const QString target = dir.filePath(QStringLiteral("corrupt.") + QFileInfo(path).suffix());
        int failures = 0;
        for (int variant = 0; variant < 24; ++variant) {
            QByteArray data = original;
            std::mt19937 g{uint32_t(variant)};
            if (variant < 4) {
                data.truncate(data.size() * (variant + 1) / 5);
            } else {
                for (int k = 0; k < 8 * variant; ++k)
                    data[qsizetype(g() % uint32_t(data.size()))] = char(g() & 0xff);
            }
            QVERIFY(writeFile(target, data));
            Result<Scene> scene = Scene::load(target);
            if (!scene.ok()) {
                ++failures;
                QCOMPARE(scene.error().code, QStringLiteral("bad_model"));
            } else {
                QVERIFY(scene->triangleCount() > 0);
            }
        }
        qInfo("%d of 24 corrupted copies were rejected", failures);
    }

    void noTriangles_data()
    {
        QTest::addColumn<QString>("path");
        QTest::newRow("obj points") << kModels + "OBJ/testpoints.obj";
        QTest::newRow("ply points") << kModels + "PLY/points.ply";
        QTest::newRow("obj lines") << kModels + "OBJ/testline.obj";
    }

    void noTriangles()
    {
        QFETCH(QString, path);
        Result<Scene> scene = Scene::load(path);
        QVERIFY(!scene.ok());
        QCOMPARE(scene.error().code, QStringLiteral("bad_model"));
    }

    void missingFile()
    {
        QTemporaryDir dir;
        Result<Scene> scene = Scene::load(dir.filePath("nope.glb"));
        QVERIFY(!scene.ok());
        QCOMPARE(scene.error().code, QStringLiteral("io_error"));
        Result<Scene> directory = Scene::load(dir.path());
        QVERIFY(!directory.ok());
    }

    // Largest angle (degrees) between a triangle corner's normal and its face's normal, and
    // how many corners are smoothed by more than a degree.
    static std::pair<double, int> cornerDeviation(const Scene &scene)
    {
        const SceneView view = scene.view();
        double worst = 0.0;
        int smoothed = 0;
        for (size_t t = 0; t < scene.stats().triangles; ++t) {
            const Vec3 *v = view.positions + 3 * t;
            const Vec3 face = normalize(cross(v[1] - v[0], v[2] - v[0]));
            for (int k = 0; k < 3; ++k) {
                const double c =
                    std::clamp(double(std::fabs(dot(face, view.normals[3 * t + k]))), -1.0, 1.0);
                const double deg = std::acos(c) * 180.0 / M_PI;
                worst = std::max(worst, deg);
                smoothed += deg > 1.0 ? 1 : 0;
            }
        }
        return {worst, smoothed};
    }

    void creaseAngleKeepsHardEdges()
    {
        // A box without normals (PLY): every corner keeps its face's normal.
        Result<Scene> box = Scene::load(kModels + "PLY/cube.ply");
        QVERIFY(box.ok());
        QVERIFY2(cornerDeviation(*box).first < 0.01,
                 qPrintable(QString::number(cornerDeviation(*box).first)));

        // A CAD part (occt-misc's bearing, a tessellated STEP export) as an OBJ without `vn`:
        // normals are averaged only over faces within the crease angle of each other, so no
        // corner leans more than that from its face (Assimp's default averaged across the
        // part's 90-degree edges: corners 45 degrees off), while the tessellated cylinders
        // stay smooth.
        Result<Scene> stl =
            Scene::load(QStringLiteral("/usr/share/opencascade/data/stl/bearing.stl"));
        QVERIFY(stl.ok());
        QTemporaryDir dir;
        QFile obj(dir.filePath("bearing.obj"));
        QVERIFY(obj.open(QIODevice::WriteOnly));
        QByteArray text;
        const SceneView sv = stl->view();
        const size_t n = stl->stats().triangles;
        for (size_t i = 0; i < 3 * n; ++i)
            text += QByteArray("v ") + QByteArray::number(sv.positions[i].x, 'g', 9) + ' ' +
                    QByteArray::number(sv.positions[i].y, 'g', 9) + ' ' +
                    QByteArray::number(sv.positions[i].z, 'g', 9) + '\n';
        for (size_t t = 0; t < n; ++t)
            text += "f " + QByteArray::number(qulonglong(3 * t + 1)) + ' ' +
                    QByteArray::number(qulonglong(3 * t + 2)) + ' ' +
                    QByteArray::number(qulonglong(3 * t + 3)) + '\n';
        obj.write(text);
        obj.close();
        Result<Scene> part = Scene::load(obj.fileName());
        QVERIFY(part.ok());
        QCOMPARE(part->stats().triangles, n);
        const auto [worst, smoothed] = cornerDeviation(*part);
        QVERIFY2(worst <= double(kCreaseAngleDegrees) + 0.5, qPrintable(QString::number(worst)));
        QVERIFY2(smoothed > int(n / 4), qPrintable(QString::number(smoothed)));
    }
};

QTEST_GUILESS_MAIN(TestSceneLoader)
#include "tst_sceneloader.moc"
