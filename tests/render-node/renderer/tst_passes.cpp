// Data passes: NOCS in [0, 1] and the same for a surface point in any view, mask = depth > 0,
// the files (16-bit PNG, EXR, .npy) hold what the buffers hold.
#include "framing.h"
#include "passes.h"
#include "renderer.h"
#include "templateviews.h"

#include <QFile>
#include <QImage>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>

using farm::Result;
using namespace farm::render;

namespace {
const QString kEngine = QStringLiteral(
    "/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb");
constexpr int kW = 64, kH = 48;
} // namespace

class TestPasses : public QObject
{
    Q_OBJECT

private:
    std::optional<Scene> m_scene;

    Camera cameraFor(int frame)
    {
        CameraRig rig;
        rig.mode = CameraMode::Turntable;
        rig.cycleFirst = 1;
        rig.cycleCount = 8;
        RenderParams p;
        return frameCamera(m_scene->bounds(), rig, frame, kW, kH, p);
    }

private slots:
    void initTestCase()
    {
        Result<Scene> s = Scene::load(kEngine);
        QVERIFY(s.ok());
        m_scene.emplace(std::move(*s));
    }

    void parse()
    {
        QCOMPARE(*parsePasses("rgb"), unsigned(PassRgb));
        QCOMPARE(*parsePasses(" depth , MASK,xyz"), unsigned(PassDepth | PassMask | PassXyz));
        QCOMPARE(*parsePasses("nocs"), unsigned(PassXyz));
        QVERIFY(!parsePasses("rgb,zdepth").ok());
        QVERIFY(!parsePasses("").ok());
    }

    void nocsRangeAndMask()
    {
        const AovBuffers a = renderAovs(*m_scene, cameraFor(1), kW, kH, 2);
        int hits = 0;
        for (const AovSample &s : a.pixels) {
            QCOMPARE(s.hit, s.depth > 0.f); // mask agrees with depth
            if (!s.hit)
                continue;
            ++hits;
            for (int c = 0; c < 3; ++c)
                QVERIFY(s.nocs[c] >= 0.f && s.nocs[c] <= 1.f);
            QVERIFY(std::fabs(length(s.normal) - 1.f) < 1e-3f);
        }
        QVERIFY(hits > kW * kH / 10);
    }

    void fusedWithBeautyPass_data()
    {
        QTest::addColumn<int>("spp");
        QTest::newRow("1 spp: the sample goes through the pixel centre") << 1;
        QTest::newRow("2 spp: the beauty image is unchanged") << 2;
    }

    void fusedWithBeautyPass()
    {
        // RenderOptions::aovs (what the render command uses) gives exactly renderAovs' buffers,
        // whatever the thread count. With more than one sample the beauty image is the one a
        // render without data passes makes; at 1 spp its one sample goes through the pixel
        // centre (sharing the data passes' first hit), the same on any thread count.
        QFETCH(int, spp);
        const Camera camera = cameraFor(3);
        const AovBuffers alone = renderAovs(*m_scene, camera, kW, kH, 2);
        RenderParams params;
        params.width = kW;
        params.height = kH;
        params.spp = spp;
        RenderOptions plain;
        plain.threads = 2;
        const Result<Framebuffer> reference = renderFrame(*m_scene, camera, params, plain);
        QVERIFY(reference.ok());
        std::vector<Vec3> firstFused;
        for (int threads : {1, 3}) {
            AovBuffers fused;
            RenderOptions options;
            options.threads = threads;
            options.aovs = &fused;
            const Result<Framebuffer> fb = renderFrame(*m_scene, camera, params, options);
            QVERIFY(fb.ok());
            QCOMPARE(fused.width, kW);
            QCOMPARE(fused.height, kH);
            QCOMPARE(fused.pixels.size(), alone.pixels.size());
            for (size_t i = 0; i < alone.pixels.size(); ++i) {
                const AovSample &a = alone.pixels[i], &b = fused.pixels[i];
                QCOMPARE(b.hit, a.hit);
                QCOMPARE(b.depth, a.depth);
                for (int c = 0; c < 3; ++c) {
                    QCOMPARE(b.nocs[c], a.nocs[c]);
                    QCOMPARE(b.normal[c], a.normal[c]);
                    QCOMPARE(b.albedo[c], a.albedo[c]);
                }
            }
            const bool sameAsPlain = std::memcmp(fb->pixels.data(), reference->pixels.data(),
                                                 reference->pixels.size() * sizeof(Vec3)) == 0;
            QCOMPARE(sameAsPlain, spp > 1);
            if (firstFused.empty())
                firstFused = fb->pixels;
            else
                QVERIFY(std::memcmp(fb->pixels.data(), firstFused.data(),
                                    firstFused.size() * sizeof(Vec3)) == 0);
        }
    }

    void nocsAgreesAcrossViews()
    {
        // A surface point seen in view 1 and visible from view 2 has the same NOCS there.
        const Camera a = cameraFor(1), b = cameraFor(2);
        const AovBuffers aovA = renderAovs(*m_scene, a, kW, kH, 2);
        const SceneView view = m_scene->view();
        const NocsFrame nocs = nocsFrameFor(*m_scene);
        int compared = 0;
        for (int y = 0; y < kH; ++y) {
            for (int x = 0; x < kW; ++x) {
                const AovSample &s = aovA.pixels[size_t(y * kW + x)];
                if (!s.hit)
                    continue;
                const Ray r = a.generateRay(x + 0.5f, y + 0.5f, kW, kH);
                const Vec3 p = r.origin + r.dir * (s.depth / dot(r.dir, -a.w));
                Ray toP;
                toP.origin = b.position;
                const float dist = length(p - b.position);
                toP.dir = (p - b.position) / dist;
                const Hit h = intersectClosest(view, toP);
                if (!h.valid() || std::fabs(h.t - dist) > 1e-4f * dist)
                    continue; // hidden in view 2
                const SurfacePoint sp = surfaceAt(view, toP, h);
                const Vec3 other = nocs.map(sp.position);
                QVERIFY(length(other - s.nocs) < 1e-3f);
                ++compared;
            }
        }
        QVERIFY2(compared > 100, qPrintable(QString::number(compared)));
    }

    void templateViewsCoverTheSphere()
    {
        // 42 directions: unit length, spread out (no two closer than 15 degrees), and each
        // camera sees every bounding box corner.
        const int n = 42;
        for (int i = 0; i < n; ++i) {
            const Vec3 d = templateDirection(i, n);
            QVERIFY(std::fabs(length(d) - 1.f) < 1e-5f);
            for (int j = 0; j < i; ++j)
                QVERIFY(dot(d, templateDirection(j, n)) < std::cos(15.f * kPi / 180.f));
            RenderParams p;
            const Camera c = templateCamera(m_scene->bounds(), i, n, 640, 480, p);
            const Aabb b = m_scene->bounds();
            for (int k = 0; k < 8; ++k) {
                const Vec3 corner((k & 1) ? b.hi.x : b.lo.x, (k & 2) ? b.hi.y : b.lo.y,
                                  (k & 4) ? b.hi.z : b.lo.z);
                const Vec3 v = corner - c.position;
                const float depth = -dot(v, c.w);
                QVERIFY(depth > 0.f);
                QVERIFY(std::fabs(dot(v, c.u) / depth) <= c.tanHalfFovY * c.aspect);
                QVERIFY(std::fabs(dot(v, c.v) / depth) <= c.tanHalfFovY);
            }
            QVERIFY(dot(p.sunDirection, c.w) > 0.f); // the sun is on the camera side
        }
    }

    void filesHoldTheBuffers()
    {
        QTemporaryDir dir;
        const AovBuffers a = renderAovs(*m_scene, cameraFor(1), kW, kH, 2);
        const QString rgb = dir.filePath("frame_0001.png");
        const float maxDepth = [&] {
            float m = 0.f;
            for (const AovSample &s : a.pixels)
                m = std::max(m, s.depth);
            return m;
        }();
        const double scale = 60000.0 / maxDepth;
        Result<QList<QPair<QString, QString>>> written =
            writePasses(a, PassDepth | PassNormal | PassAlbedo | PassMask | PassXyz, rgb, scale);
        QVERIFY(written.ok());
        QCOMPARE(written->size(), 7);
        for (const auto &[pass, path] : *written)
            QVERIFY2(QFile::exists(path), qPrintable(path));

        const QImage mask(dir.filePath("frame_0001_mask.png"));
        const QImage depth(dir.filePath("frame_0001_depth.png"));
        QCOMPARE(depth.format(), QImage::Format_Grayscale16);
        for (int y = 0; y < kH; ++y) {
            for (int x = 0; x < kW; ++x) {
                const AovSample &s = a.pixels[size_t(y * kW + x)];
                QCOMPARE(qGray(mask.pixel(x, y)) == 255, s.hit);
                uint16_t d;
                std::memcpy(&d, depth.constScanLine(y) + 2 * x, 2);
                QCOMPARE(int(d), s.hit ? int(std::lround(s.depth * scale)) : 0);
            }
        }

        QFile npy(dir.filePath("frame_0001_xyz.npy"));
        QVERIFY(npy.open(QIODevice::ReadOnly));
        const QByteArray data = npy.readAll();
        QVERIFY(data.startsWith(QByteArray("\x93NUMPY\x01\x00", 8)));
        const int headerLen = uchar(data[8]) | (uchar(data[9]) << 8);
        QCOMPARE((10 + headerLen) % 64, 0);
        QVERIFY(data.mid(10, headerLen).contains("'shape': (48, 64, 3)"));
        QCOMPARE(data.size(), 10 + headerLen + kW * kH * 3 * 4);
        const float *xyz = reinterpret_cast<const float *>(data.constData() + 10 + headerLen);
        for (int i = 0; i < kW * kH; ++i) {
            const AovSample &s = a.pixels[size_t(i)];
            QCOMPARE(xyz[3 * i], s.hit ? s.nocs.x : 0.f);
            QCOMPARE(xyz[3 * i + 2], s.hit ? s.nocs.z : 0.f);
        }
        QFile exr(dir.filePath("frame_0001_depth.exr"));
        QVERIFY(exr.open(QIODevice::ReadOnly));
        QCOMPARE(exr.read(4), QByteArray("\x76\x2f\x31\x01", 4)); // OpenEXR magic
    }
};

QTEST_GUILESS_MAIN(TestPasses)
#include "tst_passes.moc"
