// Orthographic cameras: parallel rays, auto-framing of the box, renders of real models through
// the library and the render command (--ortho, --ortho-width, glTF orthographic cameras).
#include "clirun.h"
#include "framing.h"
#include "passes.h"
#include "rendercli.h"

#include <QImage>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

using farm::Result;
using namespace farm::render;
using namespace farm::test;

namespace {

constexpr int kW = 64, kH = 48;

Vec3 corner(const Aabb &b, int i)
{
    return Vec3((i & 1) ? b.hi.x : b.lo.x, (i & 2) ? b.hi.y : b.lo.y, (i & 4) ? b.hi.z : b.lo.z);
}

/// Largest |offset| / half-size over the box corners, across and up the view.
float cornerReach(const Aabb &b, const Camera &c)
{
    float reach = 0.f;
    for (int i = 0; i < 8; ++i) {
        const Vec3 d = corner(b, i) - c.position;
        reach = std::max(reach, std::fabs(dot(d, c.u)) / (c.orthoHalfHeight * c.aspect));
        reach = std::max(reach, std::fabs(dot(d, c.v)) / c.orthoHalfHeight);
    }
    return reach;
}

int maskCount(const QImage &mask)
{
    int n = 0;
    for (int y = 0; y < mask.height(); ++y)
        for (int x = 0; x < mask.width(); ++x)
            n += qGray(mask.pixel(x, y)) > 0 ? 1 : 0;
    return n;
}

} // namespace

class TestOrthographic : public QObject
{
    Q_OBJECT

private:
    std::optional<Scene> m_engine;

private slots:
    void initTestCase()
    {
        Result<Scene> s = Scene::load(kEngine);
        QVERIFY(s.ok());
        m_engine.emplace(std::move(*s));
    }

    void raysAreParallel()
    {
        const Camera c = [] {
            Camera c = lookAt(Vec3(3.f, 2.f, 5.f), Vec3(0.f), Vec3(0.f, 1.f, 0.f), 40.f, 2.f);
            c.orthoHalfHeight = 1.5f;
            return c;
        }();
        QVERIFY(c.orthographic());
        const Ray centre = c.generateRay(100.f, 50.f, 200, 100);
        QVERIFY(length(centre.origin - c.position) < 1e-5f);
        for (const auto &[sx, sy] : {std::pair{0.f, 0.f}, {200.f, 100.f}, {37.5f, 80.25f}}) {
            const Ray r = c.generateRay(sx, sy, 200, 100);
            QVERIFY(length(r.dir - (-c.w)) < 1e-6f); // one direction for every pixel
            const Vec3 offset = r.origin - c.position;
            QVERIFY(std::fabs(dot(offset, c.w)) < 1e-5f); // origins on the camera plane
            // Film position (sx, sy) maps linearly onto the 2 * 1.5 * 2 by 2 * 1.5 view.
            QVERIFY(std::fabs(dot(offset, c.u) - (2.f * sx / 200.f - 1.f) * 3.f) < 1e-5f);
            QVERIFY(std::fabs(dot(offset, c.v) - (1.f - 2.f * sy / 100.f) * 1.5f) < 1e-5f);
        }
        // The pinhole camera is unchanged: rays diverge from one origin.
        Camera pinhole = c;
        pinhole.orthoHalfHeight = 0.f;
        const Ray a = pinhole.generateRay(0.f, 0.f, 200, 100);
        const Ray b = pinhole.generateRay(200.f, 100.f, 200, 100);
        QVERIFY(length(a.origin - pinhole.position) == 0.f);
        QVERIFY(dot(a.dir, b.dir) < 0.99f);
    }

    void framingFitsTheBox_data()
    {
        QTest::addColumn<int>("mode");
        QTest::addColumn<int>("width");
        QTest::addColumn<int>("height");
        QTest::newRow("still 4:3") << int(CameraMode::Still) << 640 << 480;
        QTest::newRow("still tall") << int(CameraMode::Still) << 200 << 600;
        QTest::newRow("turntable") << int(CameraMode::Turntable) << 640 << 360;
    }
    void framingFitsTheBox()
    {
        QFETCH(int, mode);
        QFETCH(int, width);
        QFETCH(int, height);
        CameraRig rig;
        rig.mode = CameraMode(mode);
        rig.orthographic = true;
        rig.cycleFirst = 1;
        rig.cycleCount = 12;
        const Aabb box = m_engine->bounds();
        float tightest = 0.f, half = -1.f;
        for (int frame = 1; frame <= (rig.mode == CameraMode::Turntable ? 12 : 1); ++frame) {
            RenderParams p;
            const Camera c = frameCamera(box, rig, frame, width, height, p);
            QVERIFY(c.orthographic());
            if (half < 0.f)
                half = c.orthoHalfHeight;
            QCOMPARE(c.orthoHalfHeight, half); // one view size for the whole turn
            // Every corner inside the view shrunk by the margin, the camera plane outside the
            // model, looking at the box centre.
            const float reach = cornerReach(box, c);
            QVERIFY2(reach <= 1.f / rig.margin + 1e-5f, qPrintable(QString::number(reach)));
            tightest = std::max(tightest, reach);
            for (int i = 0; i < 8; ++i)
                QVERIFY(dot(corner(box, i) - c.position, -c.w) > 0.f);
            QVERIFY(length(cross(box.center() - c.position, c.w)) < 1e-3f * length(box.extent()));
        }
        // ... and tight: a still view's outermost corner touches that margin; a turntable's
        // size is the largest over 48 angles of the turn, which the frames do not all hit.
        const float slack = rig.mode == CameraMode::Turntable ? 0.03f : 1e-4f;
        QVERIFY2(std::fabs(tightest - 1.f / rig.margin) < slack,
                 qPrintable(QString::number(tightest)));

        // An explicit width is used as given.
        rig.orthoWidth = 123.f;
        RenderParams p;
        const Camera c = frameCamera(box, rig, 1, width, height, p);
        QVERIFY(std::fabs(2.f * c.orthoHalfHeight * c.aspect - 123.f) < 1e-3f);
    }

    void depthPassOfAnOrthographicView()
    {
        // Depth = distance along the view axis, so the point a pixel shows lies at its film
        // position pushed `depth` along -w; its NOCS (an independent pass) gives the same point.
        CameraRig rig;
        rig.orthographic = true;
        RenderParams p;
        const Camera c = frameCamera(m_engine->bounds(), rig, 1, kW, kH, p);
        const AovBuffers a = renderAovs(*m_engine, c, kW, kH, 2);
        const NocsFrame nocs = nocsFrameFor(*m_engine);
        const float size = 1.f / nocs.invSize;
        int hits = 0;
        float minDepth = kInfinity, maxDepth = 0.f;
        for (int y = 0; y < kH; ++y) {
            for (int x = 0; x < kW; ++x) {
                const AovSample &s = a.pixels[size_t(y * kW + x)];
                if (!s.hit) {
                    QCOMPARE(s.depth, 0.f);
                    continue;
                }
                ++hits;
                QVERIFY(s.depth > 0.f);
                minDepth = std::min(minDepth, s.depth);
                maxDepth = std::max(maxDepth, s.depth);
                const Ray r = c.generateRay(x + 0.5f, y + 0.5f, kW, kH);
                const Vec3 fromDepth = r.origin - c.w * s.depth;
                const Vec3 fromNocs = (s.nocs - Vec3(0.5f)) * size + nocs.center;
                QVERIFY2(length(fromDepth - fromNocs) < 1e-3f * size,
                         qPrintable(QStringLiteral("pixel %1,%2").arg(x).arg(y)));
            }
        }
        QVERIFY2(hits > kW * kH / 10 && hits < kW * kH, qPrintable(QString::number(hits)));
        QVERIFY(maxDepth > minDepth); // a real 3D object, not a flat card
    }

    void renderCommand()
    {
        QTemporaryDir dir;
        const QStringList common{kEngine, "--size",   "64x48",         "--spp",
                                 "2",     "--passes", "rgb,mask,depth"};
        const Run fit = runCli(common + QStringList{"-o", dir.filePath("fit.png"), "--ortho"});
        QVERIFY2(fit.exitCode == 0, qPrintable(fit.err));
        const QImage rgb(dir.filePath("fit.png")), mask(dir.filePath("fit_mask.png"));
        const QImage depth(dir.filePath("fit_depth.png"));
        QVERIFY(!rgb.isNull() && !mask.isNull() && !depth.isNull());
        // Not blank: the model covers part of the frame and shades it unevenly.
        const int covered = maskCount(mask);
        QVERIFY2(covered > 64 * 48 / 10 && covered < 64 * 48, qPrintable(QString::number(covered)));
        int minGrey = 255, maxGrey = 0;
        for (int y = 0; y < 48; ++y) {
            for (int x = 0; x < 64; ++x) {
                const bool object = qGray(mask.pixel(x, y)) > 0;
                const int z = depth.pixelColor(x, y).red();
                QCOMPARE(z > 0, object); // the depth pass agrees with the mask
                if (object) {
                    minGrey = std::min(minGrey, qGray(rgb.pixel(x, y)));
                    maxGrey = std::max(maxGrey, qGray(rgb.pixel(x, y)));
                }
            }
        }
        QVERIFY2(maxGrey - minGrey > 40,
                 qPrintable(QStringLiteral("%1..%2").arg(minGrey).arg(maxGrey)));
        // A view twice as wide as the fitted one shows the model at half the size.
        CameraRig rig;
        rig.orthographic = true;
        RenderParams p;
        const Camera fitted = frameCamera(m_engine->bounds(), rig, 1, 64, 48, p);
        const float width = 2.f * fitted.orthoHalfHeight * fitted.aspect;
        const Run wide =
            runCli(common + QStringList{"-o", dir.filePath("wide.png"), "--ortho-width",
                                        QString::number(double(2.f * width), 'g', 9)});
        QVERIFY2(wide.exitCode == 0, qPrintable(wide.err));
        const int wideCovered = maskCount(QImage(dir.filePath("wide_mask.png")));
        QVERIFY2(wideCovered > covered / 6 && wideCovered < covered / 3,
                 qPrintable(QStringLiteral("%1 vs %2").arg(wideCovered).arg(covered)));
    }

    void badArguments_data()
    {
        QTest::addColumn<QStringList>("extra");
        QTest::newRow("width zero") << QStringList{"-o", "o.png", "--ortho-width", "0"};
        QTest::newRow("width text") << QStringList{"-o", "o.png", "--ortho-width", "wide"};
        QTest::newRow("width nan") << QStringList{"-o", "o.png", "--ortho-width", "nan"};
        QTest::newRow("with views") << QStringList{"-o", "views", "--ortho", "--views", "3"};
        QTest::newRow("with fov") << QStringList{"-o", "o.png", "--ortho", "--fov", "30"};
        QTest::newRow("with file camera")
            << QStringList{"-o", "o.png", "--ortho", "--camera-from-file"};
    }
    void badArguments()
    {
        QFETCH(QStringList, extra);
        QTemporaryDir dir;
        extra[1] = dir.filePath(extra[1]);
        const Run r = runCli(QStringList{kBox} + extra);
        QCOMPARE(r.exitCode, int(CliBadArguments));
        QVERIFY2(r.err.startsWith("error: ") && r.err.contains("ortho"), qPrintable(r.err));
    }

    void cameraFromGltf()
    {
        // Cameras.gltf camera 1: orthographic, xmag = ymag = 1 (half sizes), at (0.5, 0.5, 3)
        // looking down -Z at a unit square (0..1 in x) tilted 45 degrees about X. Assimp 5.2
        // reports only mOrthographicWidth = xmag; ymag is read from the JSON. A 64x64 image
        // spans 2 units, so the square is 32 pixels wide, centred on column 32 (x = 0.5).
        const QString cameras =
            QStringLiteral("/usr/share/assimp/models/glTF2/cameras/Cameras.gltf");
        Result<Scene> scene = Scene::load(cameras);
        QVERIFY(scene.ok());
        QCOMPARE(scene->cameras().size(), size_t(2));
        QCOMPARE(scene->cameras()[0].orthoHalfHeight, 0.f);
        QCOMPARE(scene->cameras()[1].orthoHalfHeight, 1.f);
        QTemporaryDir dir;
        const Run r = runCli({cameras, "--camera-from-file", "1", "-o", dir.filePath("o.png"),
                              "--size", "64x64", "--spp", "1", "--passes", "rgb,mask"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(linesStartingWith(r.out, "camera 1: eye 0.5 0.5 3 target 0.5 0.5 2 ").size(), 1);
        const QImage mask(dir.filePath("o_mask.png"));
        int left = 64, right = -1;
        for (int y = 0; y < 64; ++y)
            for (int x = 0; x < 64; ++x)
                if (qGray(mask.pixel(x, y)) > 0) {
                    left = std::min(left, x);
                    right = std::max(right, x);
                }
        QVERIFY2(left >= 15 && left <= 17 && right >= 46 && right <= 48,
                 qPrintable(QStringLiteral("%1..%2").arg(left).arg(right)));
    }
};

QTEST_GUILESS_MAIN(TestOrthographic)
#include "tst_orthographic.moc"
