// glTF alphaMode BLEND: stochastic transparency. A blended surface renders between its opaque
// and its invisible self, its shadows are lighter than an opaque one's, the data passes see it
// only where alpha >= 0.5, and images stay deterministic.
#include "framing.h"
#include "passes.h"
#include "renderer.h"

#include <QTest>

#include <cstring>

using farm::Result;
using namespace farm::render;

namespace {

const QString kClearCoat =
    QStringLiteral("/usr/share/assimp/models/glTF2/ClearCoat-glTF/ClearCoatTest.gltf");

double meanLuminance(const Framebuffer &fb)
{
    double sum = 0.0;
    for (const Vec3 &p : fb.pixels)
        sum += 0.2126 * p.x + 0.7152 * p.y + 0.0722 * p.z;
    return sum / double(fb.pixels.size());
}

Framebuffer render(const Scene &scene, const Camera &camera, RenderParams params, int threads = 2)
{
    RenderOptions options;
    options.threads = threads;
    Result<Framebuffer> fb = renderFrame(scene, camera, params, options);
    return fb.ok() ? std::move(*fb) : Framebuffer();
}

/// A copy of `mesh` whose blended materials are made opaque (`opaque`) or fully transparent.
Result<Scene> variant(const TriangleMesh &mesh, bool opaque)
{
    TriangleMesh copy = mesh;
    for (Material &m : copy.materials) {
        if (!m.alphaBlend)
            continue;
        if (opaque)
            m.alphaBlend = false;
        else
            m.baseAlpha = 0.f;
    }
    return Scene::fromTriangles(std::move(copy), 1);
}

void addQuad(TriangleMesh &m, Vec3 a, Vec3 b, Vec3 c, Vec3 d, uint32_t material, Vec3 albedo)
{
    for (const Vec3 &p : {a, b, c, a, c, d}) {
        m.positions.push_back(p);
        m.albedo.push_back(albedo);
    }
    m.materialIds.push_back(material);
    m.materialIds.push_back(material);
}

/// Material 0 opaque grey, material 1 BLEND with the given alpha.
TriangleMesh twoMaterials(float alpha)
{
    TriangleMesh m;
    m.materials.resize(2);
    m.materials[1].alphaBlend = true;
    m.materials[1].baseAlpha = alpha;
    return m;
}

} // namespace

class TestBlend : public QObject
{
    Q_OBJECT

private:
    std::optional<Scene> m_clearCoat;

private slots:
    void initTestCase()
    {
        Result<Scene> s = Scene::load(kClearCoat);
        QVERIFY2(s.ok(), qPrintable(s.ok() ? QString() : s.error().message));
        m_clearCoat.emplace(std::move(*s));
    }

    void loaderReadsBlend()
    {
        // ClearCoatTest.gltf: only "Partial_Coating" is BLEND (alpha from its base colour
        // texture); the others are opaque.
        int blended = 0;
        for (const Material &m : m_clearCoat->mesh().materials) {
            if (m.alphaBlend) {
                ++blended;
                QVERIFY(m.alphaCutoff < 0.f); // not a mask
                QVERIFY(m.baseColorTexture >= 0);
            }
        }
        QCOMPARE(blended, 1);
        QVERIFY(m_clearCoat->view().alphaBlended);
        QVERIFY(!m_clearCoat->view().alphaMasked);
    }

    void betweenOpaqueAndInvisible()
    {
        // Frame the blended part only; the rest of the scene is the same in all three renders.
        const TriangleMesh &mesh = m_clearCoat->mesh();
        Aabb part;
        for (size_t t = 0; t < mesh.triangleCount(); ++t)
            if (mesh.materials[mesh.materialIds[t]].alphaBlend)
                for (int k = 0; k < 3; ++k)
                    part.grow(mesh.positions[3 * t + k]);
        QVERIFY(part.valid());
        CameraRig rig;
        RenderParams params;
        params.width = 48;
        params.height = 48;
        params.spp = 16;
        const Camera camera = frameCamera(part, rig, 1, params.width, params.height, params);
        Result<Scene> opaque = variant(mesh, true), invisible = variant(mesh, false);
        QVERIFY(opaque.ok() && invisible.ok());
        QVERIFY(!opaque->view().alphaBlended);
        const double b = meanLuminance(render(*m_clearCoat, camera, params));
        const double o = meanLuminance(render(*opaque, camera, params));
        const double i = meanLuminance(render(*invisible, camera, params));
        const QString values =
            QStringLiteral("opaque %1 blend %2 invisible %3").arg(o).arg(b).arg(i);
        qInfo("%s", qPrintable(values));
        QVERIFY2(std::fabs(o - i) > 0.01, qPrintable(values));
        QVERIFY2(b > std::min(o, i) + 0.05 * std::fabs(o - i) &&
                     b < std::max(o, i) - 0.05 * std::fabs(o - i),
                 qPrintable(values));
    }

    void shadowsLighten()
    {
        // A camera between a 20x20 ground (y = 0) and a 20x20 blended roof (y = 1) looks down:
        // the sun and the sky reach the ground through the roof only.
        auto scene = [](float alpha, bool blend) {
            TriangleMesh m = twoMaterials(alpha);
            m.materials[1].alphaBlend = blend;
            addQuad(m, Vec3(-10, 0, -10), Vec3(-10, 0, 10), Vec3(10, 0, 10), Vec3(10, 0, -10), 0,
                    Vec3(0.7f));
            addQuad(m, Vec3(-10, 1, -10), Vec3(-10, 1, 10), Vec3(10, 1, 10), Vec3(10, 1, -10), 1,
                    Vec3(0.7f));
            return Scene::fromTriangles(std::move(m), 1);
        };
        RenderParams params;
        params.width = 32;
        params.height = 32;
        params.spp = 16;
        params.sunDirection = normalize(Vec3(0.3f, 1.f, 0.2f));
        const Camera camera =
            lookAt(Vec3(0.f, 0.5f, 0.f), Vec3(0.f), Vec3(0.f, 0.f, -1.f), 60.f, 1.f);
        Result<Scene> opaque = scene(0.5f, false), half = scene(0.5f, true),
                      clear = scene(0.f, true);
        QVERIFY(opaque.ok() && half.ok() && clear.ok());
        const double o = meanLuminance(render(*opaque, camera, params));
        const double h = meanLuminance(render(*half, camera, params));
        const double c = meanLuminance(render(*clear, camera, params));
        const QString values = QStringLiteral("opaque %1 half %2 clear %3").arg(o).arg(h).arg(c);
        qInfo("%s", qPrintable(values));
        QVERIFY2(o < h && h < c, qPrintable(values));
        // The sun is most of the light: half of it gets through a roof of alpha 0.5.
        QVERIFY2(h - o > 0.2 * (c - o) && c - h > 0.2 * (c - o), qPrintable(values));
    }

    void dataPassesThreshold()
    {
        // A blended 2x2 quad at z = 0 in front of an opaque 4x4 quad at z = -1, camera at z = 5:
        // the depth and mask passes see the front quad only where alpha >= 0.5.
        for (const float alpha : {0.3f, 0.7f}) {
            TriangleMesh m = twoMaterials(alpha);
            addQuad(m, Vec3(-1, -1, 0), Vec3(1, -1, 0), Vec3(1, 1, 0), Vec3(-1, 1, 0), 1,
                    Vec3(0.7f));
            addQuad(m, Vec3(-2, -2, -1), Vec3(2, -2, -1), Vec3(2, 2, -1), Vec3(-2, 2, -1), 0,
                    Vec3(0.7f));
            Result<Scene> scene = Scene::fromTriangles(std::move(m), 1);
            QVERIFY(scene.ok());
            const Camera camera = lookAt(Vec3(0, 0, 5), Vec3(0.f), Vec3(0, 1, 0), 20.f, 1.f);
            const AovBuffers a = renderAovs(*scene, camera, 16, 16, 1);
            const AovSample &centre = a.pixels[8 * 16 + 8];
            QVERIFY(centre.hit);
            QVERIFY2(std::fabs(centre.depth - (alpha >= 0.5f ? 5.f : 6.f)) < 1e-3f,
                     qPrintable(QString::number(centre.depth)));
        }
    }

    void deterministic()
    {
        // Same seed, same image on any thread count (the pass-through draws come from the
        // pixel sample's own random stream).
        RenderParams params;
        params.width = 40;
        params.height = 30;
        params.spp = 2;
        CameraRig rig;
        const Camera camera =
            frameCamera(m_clearCoat->bounds(), rig, 1, params.width, params.height, params);
        const Framebuffer one = render(*m_clearCoat, camera, params, 1);
        const Framebuffer two = render(*m_clearCoat, camera, params, 2);
        QCOMPARE(one.pixels.size(), size_t(40 * 30));
        QVERIFY(std::memcmp(one.pixels.data(), two.pixels.data(),
                            one.pixels.size() * sizeof(Vec3)) == 0);
        params.seed = 2;
        const Framebuffer other = render(*m_clearCoat, camera, params, 2);
        QVERIFY(std::memcmp(one.pixels.data(), other.pixels.data(),
                            one.pixels.size() * sizeof(Vec3)) != 0);
    }
};

QTEST_GUILESS_MAIN(TestBlend)
#include "tst_blend.moc"
