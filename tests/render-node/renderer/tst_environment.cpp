// Environment maps: importance sampling agrees with pdf(), pdf() integrates to one, .hdr/.exr
// decode, bad files fail clearly, and a white object under a white map renders as the map.
#include "environment.h"
#include "renderer.h"
#include "testmeshes.h"

#include <ImfRgbaFile.h>

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <random>

using farm::Result;
using namespace farm::render;

namespace {

/// 64x32 map: dim sky gradient plus a small, very bright "sun" patch.
Environment makeSunnyMap()
{
    const int w = 64, h = 32;
    std::vector<float> rgb(size_t(w) * h * 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            float v = 0.2f + 0.5f * float(h - y) / h;
            if (x >= 40 && x < 43 && y >= 8 && y < 10)
                v = 500.f;
            for (int c = 0; c < 3; ++c)
                rgb[3 * (size_t(y) * w + x) + c] = v * (c == 2 ? 1.2f : 1.f);
        }
    Result<Environment> env = Environment::fromPixels(w, h, std::move(rgb));
    if (!env)
        qFatal("%s", qPrintable(env.error().message));
    return std::move(*env);
}

bool writeFile(const QString &path, const QByteArray &data)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(data) == data.size();
}

} // namespace

class TestEnvironment : public QObject
{
    Q_OBJECT

private slots:
    void sampleMatchesPdf()
    {
        const Environment env = makeSunnyMap();
        const EnvironmentView v = env.view();
        std::mt19937 g(3);
        std::uniform_real_distribution<float> u(0.f, 1.f);
        int nearSun = 0;
        for (int i = 0; i < 20000; ++i) {
            Vec3 dir;
            float pdf = 0.f;
            QVERIFY(v.sample(u(g), u(g), dir, pdf));
            QVERIFY(std::fabs(length(dir) - 1.f) < 1e-4f);
            QVERIFY(std::fabs(v.pdf(dir) - pdf) <= 1e-4f * pdf);
            float uu, vv;
            v.toUv(dir, uu, vv);
            nearSun += (uu * 64 >= 40 && uu * 64 < 43 && vv * 32 >= 8 && vv * 32 < 10);
        }
        QVERIFY2(nearSun > 10000, qPrintable(QString::number(nearSun))); // the sun dominates
    }

    void pdfIntegratesToOne()
    {
        const Environment env = makeSunnyMap();
        const EnvironmentView v = env.view();
        const int nu = 512, nv = 256;
        double sum = 0.0;
        for (int j = 0; j < nv; ++j)
            for (int i = 0; i < nu; ++i) {
                const float uu = (i + 0.5f) / nu, vv = (j + 0.5f) / nv;
                const double dOmega = (2.0 * M_PI / nu) * (M_PI / nv) * std::sin(M_PI * vv);
                sum += v.pdf(v.fromUv(uu, vv)) * dOmega;
            }
        QVERIFY2(std::fabs(sum - 1.0) < 0.01, qPrintable(QString::number(sum)));
    }

    void whiteFurnace()
    {
        // A constant white map sampled by importance, combined with BSDF sampling by MIS: a
        // near-white object shows the map times its albedo (minus the coat's small loss).
        Result<Environment> env =
            Environment::fromPixels(16, 8, std::vector<float>(16 * 8 * 3, 1.f));
        QVERIFY(env.ok());
        const float albedo = 0.98f;
        Result<Scene> sphere = Scene::fromTriangles(test::icosphere(3).toTriangles(Vec3(albedo)));
        QVERIFY(sphere.ok());
        RenderParams params;
        params.width = params.height = 32;
        params.spp = 32;
        params.maxBounces = 16;
        const Camera camera = frameCamera(sphere->bounds(), CameraRig(), 1, 32, 32, params);
        params.sunIrradiance = Vec3(0.f);
        params.environment = env->view();
        Result<Framebuffer> fb = renderFrame(*sphere, camera, params, RenderOptions());
        QVERIFY(fb.ok());
        double sum = 0.0;
        int count = 0;
        for (int y = 0; y < 32; ++y)
            for (int x = 0; x < 32; ++x) {
                const Ray r = camera.generateRay(x + 0.5f, y + 0.5f, 32, 32);
                if (!intersectClosest(sphere->view(), r).valid())
                    continue; // background (and silhouette pixels mixing both)
                sum += fb->at(x, y).y;
                ++count;
            }
        const double mean = sum / count;
        QVERIFY2(mean / albedo > 0.95 && mean / albedo < 1.01, qPrintable(QString::number(mean)));
    }

    void radianceHdr()
    {
        QTemporaryDir dir;
        // Flat (uncompressed) 4x2 and run-length encoded 8x1 scanlines; RGBE (128, 64, 32, 129)
        // is (1, 0.5, 0.25).
        QByteArray flat("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 4\n");
        for (int i = 0; i < 8; ++i)
            flat.append(QByteArray::fromHex("80402081"));
        QVERIFY(writeFile(dir.filePath("flat.hdr"), flat));
        QByteArray rle("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 1 +X 8\n");
        rle.append(QByteArray::fromHex("02020008"));
        rle.append(QByteArray::fromHex("8880"));               // R: run of 8 x 128
        rle.append(QByteArray::fromHex("8840"));               // G: run of 8 x 64
        rle.append(QByteArray::fromHex("082020202020202020")); // B: 8 literals
        rle.append(QByteArray::fromHex("8881"));               // E: run of 8 x 129
        QVERIFY(writeFile(dir.filePath("rle.hdr"), rle));
        for (const char *name : {"flat.hdr", "rle.hdr"}) {
            Result<Environment> env = Environment::load(dir.filePath(name));
            QVERIFY2(env.ok(), env.ok() ? "" : qPrintable(env.error().message));
            const Vec3 c = env->view().texel(1, 0);
            QCOMPARE(c.x, 1.f);
            QCOMPARE(c.y, 0.5f);
            QCOMPARE(c.z, 0.25f);
        }
    }

    void openExr()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("env.exr");
        {
            std::vector<Imf::Rgba> px(8 * 4, Imf::Rgba(2.f, 1.f, 0.5f, 1.f));
            Imf::RgbaOutputFile out(QFile::encodeName(path).constData(), 8, 4, Imf::WRITE_RGBA);
            out.setFrameBuffer(px.data(), 1, 8);
            out.writePixels(4);
        }
        Result<Environment> env = Environment::load(path, 0.5f);
        QVERIFY(env.ok());
        QCOMPARE(env->width(), 8);
        QCOMPARE(env->view().radiance(Vec3(0.f, 1.f, 0.f)).x, 1.f); // 2 x intensity 0.5
    }

    void badFiles_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QByteArray>("data");
        QTest::addColumn<QString>("code");
        QTest::newRow("garbage hdr") << "a.hdr" << QByteArray(300, 'x') << "bad_environment";
        QTest::newRow("truncated hdr")
            << "b.hdr" << QByteArray("#?RADIANCE\n\n-Y 4 +X 4\n\x01\x02") << "bad_environment";
        QTest::newRow("garbage exr") << "c.exr" << QByteArray(300, 'y') << "bad_environment";
        QTest::newRow("png") << "d.png" << QByteArray("\x89PNG") << "bad_environment";
        QTest::newRow("missing") << "" << QByteArray() << "io_error";
    }

    void badFiles()
    {
        QFETCH(QString, name);
        QFETCH(QByteArray, data);
        QFETCH(QString, code);
        QTemporaryDir dir;
        const QString path = dir.filePath(name.isEmpty() ? QStringLiteral("none.hdr") : name);
        if (!name.isEmpty())
            QVERIFY(writeFile(path, data));
        Result<Environment> env = Environment::load(path);
        QVERIFY(!env.ok());
        QCOMPARE(env.error().code, code);
    }
};

QTEST_GUILESS_MAIN(TestEnvironment)
#include "tst_environment.moc"
