// glTF alphaMode MASK: cut-out texels are skipped by closest-hit and shadow (any-hit) rays, on
// the binary BVH (the GPU's traversal) and the CPU's 4-wide BVH alike.
#include "kernel/sceneview.h"
#include "scene.h"
#include "widebvh.h"

#include <QBuffer>
#include <QFile>
#include <QImage>
#include <QTemporaryDir>
#include <QTest>

using namespace farm::render;
using farm::Result;

namespace {

/// A 2x2 quad at z = 0 (u = (x + 1) / 2) textured with an 8x8 image whose left half is opaque
/// and right half fully transparent, in front of an untextured 4x4 quad at z = -1.
QString writeModel(const QString &dir, const QString &alphaMode)
{
    QImage image(8, 8, QImage::Format_RGBA8888);
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x)
            image.setPixelColor(x, y, QColor(200, 100, 50, x < 4 ? 255 : 0));
    QByteArray png;
    QBuffer buffer(&png);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, "PNG");

    const float front[12] = {-1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 1, 0};
    const float uvs[8] = {0, 0, 1, 0, 1, 1, 0, 1};
    const float back[12] = {-2, -2, -1, 2, -2, -1, 2, 2, -1, -2, 2, -1};
    const quint16 indices[6] = {0, 1, 2, 0, 2, 3};
    QByteArray bin(reinterpret_cast<const char *>(front), sizeof(front));
    bin.append(reinterpret_cast<const char *>(uvs), sizeof(uvs));
    bin.append(reinterpret_cast<const char *>(back), sizeof(back));
    bin.append(reinterpret_cast<const char *>(indices), sizeof(indices));

    const QString gltf = QStringLiteral(
                             R"({"asset":{"version":"2.0"},"scene":0,"scenes":[{"nodes":[0,1]}],
"nodes":[{"mesh":0},{"mesh":1}],
"meshes":[{"primitives":[{"attributes":{"POSITION":0,"TEXCOORD_0":1},"indices":3,"material":0}]},
{"primitives":[{"attributes":{"POSITION":2},"indices":3,"material":1}]}],
"materials":[{"pbrMetallicRoughness":{"baseColorTexture":{"index":0}},"alphaMode":"%1",
"alphaCutoff":0.5},{"pbrMetallicRoughness":{}}],
"textures":[{"source":0}],"images":[{"uri":"data:image/png;base64,%2"}],
"buffers":[{"byteLength":140,"uri":"data:application/octet-stream;base64,%3"}],
"bufferViews":[{"buffer":0,"byteOffset":0,"byteLength":48},{"buffer":0,"byteOffset":48,
"byteLength":32},{"buffer":0,"byteOffset":80,"byteLength":48},{"buffer":0,"byteOffset":128,
"byteLength":12}],
"accessors":[{"bufferView":0,"componentType":5126,"count":4,"type":"VEC3","min":[-1,-1,0],
"max":[1,1,0]},{"bufferView":1,"componentType":5126,"count":4,"type":"VEC2"},
{"bufferView":2,"componentType":5126,"count":4,"type":"VEC3","min":[-2,-2,-1],"max":[2,2,-1]},
{"bufferView":3,"componentType":5123,"count":6,"type":"SCALAR"}]})")
                             .arg(alphaMode, QString::fromLatin1(png.toBase64()),
                                  QString::fromLatin1(bin.toBase64()));
    const QString path = dir + QStringLiteral("/quad_%1.gltf").arg(alphaMode);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return {};
    file.write(gltf.toUtf8());
    return path;
}

Ray downZ(float x, float y, float tMax = kInfinity)
{
    Ray ray;
    ray.origin = Vec3(x, y, 5.f);
    ray.dir = Vec3(0.f, 0.f, -1.f);
    ray.tMax = tMax;
    return ray;
}

} // namespace

class TestAlphaMask : public QObject
{
    Q_OBJECT

private slots:
    void maskSkipsTransparentHits()
    {
        QTemporaryDir dir;
        Result<Scene> scene = Scene::load(writeModel(dir.path(), "MASK"));
        QVERIFY2(scene, scene ? "" : qPrintable(scene.error().message));
        const SceneView view = scene->view();
        QVERIFY(view.alphaMasked);
        QCOMPARE(scene->stats().textures, size_t(1));
        for (const float y : {-0.6f, 0.1f, 0.7f}) {
            // Opaque half: the front quad (t = 5) hides the back one and casts a shadow.
            const Hit left = intersectClosest(view, downZ(-0.5f, y));
            QVERIFY(left.valid());
            QCOMPARE(left.t, 5.f);
            const Hit leftWide = intersectClosestWide(scene->wideBvh(), view, downZ(-0.5f, y));
            QCOMPARE(leftWide.t, left.t);
            QCOMPARE(leftWide.prim, left.prim);
            QVERIFY(intersectAny(view, downZ(-0.5f, y, 5.5f)));
            QVERIFY(intersectAnyWide(scene->wideBvh(), view, downZ(-0.5f, y, 5.5f)));
            // Transparent half: the ray goes through to the back quad (t = 6), no shadow.
            const Hit right = intersectClosest(view, downZ(0.5f, y));
            QVERIFY(right.valid());
            QCOMPARE(right.t, 6.f);
            const Hit rightWide = intersectClosestWide(scene->wideBvh(), view, downZ(0.5f, y));
            QCOMPARE(rightWide.t, right.t);
            QCOMPARE(rightWide.prim, right.prim);
            QVERIFY(!intersectAny(view, downZ(0.5f, y, 5.5f)));
            QVERIFY(!intersectAnyWide(scene->wideBvh(), view, downZ(0.5f, y, 5.5f)));
            QVERIFY(intersectAnyWide(scene->wideBvh(), view, downZ(0.5f, y, 6.5f)));
        }
    }

    void opaqueModeKeepsEveryHit()
    {
        QTemporaryDir dir;
        Result<Scene> scene = Scene::load(writeModel(dir.path(), "OPAQUE"));
        QVERIFY2(scene, scene ? "" : qPrintable(scene.error().message));
        const SceneView view = scene->view();
        QVERIFY(!view.alphaMasked);
        QCOMPARE(intersectClosest(view, downZ(0.5f, 0.1f)).t, 5.f);
        QCOMPARE(intersectClosestWide(scene->wideBvh(), view, downZ(0.5f, 0.1f)).t, 5.f);
        QVERIFY(intersectAnyWide(scene->wideBvh(), view, downZ(0.5f, 0.1f, 5.5f)));
    }
};

QTEST_GUILESS_MAIN(TestAlphaMask)
#include "tst_alphamask.moc"
