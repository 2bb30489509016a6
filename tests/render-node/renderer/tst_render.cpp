// Rendering: real model not blank, bit-exact across thread counts, furnace, framing, fallback.
#include "cpubackend.h"
#include "directlightlanes.h"
#include "gpuinfo.h"
#include "renderer.h"
#include "templatepreset.h"
#include "testmeshes.h"

#include <QScopeGuard>
#include <QTest>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using farm::Result;
using namespace farm::render;

namespace {
const QString kEngine = QStringLiteral(
    "/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb");

bool samePixels(const Framebuffer &a, const Framebuffer &b)
{
    return a.width == b.width && a.height == b.height &&
           std::memcmp(a.pixels.data(), b.pixels.data(), a.pixels.size() * sizeof(Vec3)) == 0;
}

bool sameBits(Vec3 a, Vec3 b)
{
    return std::memcmp(&a, &b, sizeof a) == 0;
}

/// Whether two direct samples add up alike: the same terms to the bit, the same shadow ray.
bool sameDirect(const DirectSample &a, const DirectSample &b)
{
    if (!sameBits(a.before, b.before) || !sameBits(a.after, b.after) ||
        a.needsShadow != b.needsShadow)
        return false;
    if (!a.needsShadow)
        return true;
    return sameBits(a.light, b.light) && a.fromLight == b.fromLight &&
           sameBits(a.shadow.origin, b.shadow.origin) && sameBits(a.shadow.dir, b.shadow.dir) &&
           std::memcmp(&a.shadow.tMax, &b.shadow.tMax, sizeof(float)) == 0;
}
} // namespace

class TestRender : public QObject
{
    Q_OBJECT

private:
    std::optional<Scene> m_engine;

    Framebuffer renderEngine(int threads, uint32_t seed, Device device = Device::Cpu,
                             RenderReport *report = nullptr)
    {
        RenderParams params;
        params.width = 64;
        params.height = 48;
        params.spp = 2;
        params.seed = seed;
        const Camera camera = frameCamera(m_engine->bounds(), CameraRig(), 1, 64, 48, params);
        RenderOptions options;
        options.threads = threads;
        options.device = device;
        Result<Framebuffer> fb = renderFrame(*m_engine, camera, params, options, {}, report);
        if (!fb)
            qFatal("render failed: %s", qPrintable(fb.error().message));
        return std::move(*fb);
    }

private slots:
    void initTestCase()
    {
        Result<Scene> s = Scene::load(kEngine);
        QVERIFY(s.ok());
        m_engine.emplace(std::move(*s));
    }

    void objectIsVisible()
    {
        const Framebuffer fb = renderEngine(2, 1);
        RenderParams params;
        const Camera camera = frameCamera(m_engine->bounds(), CameraRig(), 1, 64, 48, params);
        int object = 0;
        for (int y = 0; y < fb.height; ++y) {
            for (int x = 0; x < fb.width; ++x) {
                const Ray r = camera.generateRay(x + 0.5f, y + 0.5f, 64, 48);
                const Vec3 d = vabs(fb.at(x, y) - skyRadiance(params, r.dir));
                if (maxComponent(d) > 0.05f)
                    ++object;
            }
        }
        const int total = fb.width * fb.height;
        QVERIFY2(
            object > total / 10 && object < total * 95 / 100,
            qPrintable(QStringLiteral("%1 of %2 pixels show the object").arg(object).arg(total)));
        QVERIFY(!toImage(fb).isNull());
    }

    void deterministicAcrossThreads()
    {
        const Framebuffer one = renderEngine(1, 7);
        QVERIFY(samePixels(one, renderEngine(2, 7)));
        QVERIFY(samePixels(one, renderEngine(5, 7)));
        QVERIFY(!samePixels(one, renderEngine(2, 8))); // the seed matters
    }

    void cudaFallsBackToCpu()
    {
        QString why;
        if (cudaUsable(&why))
            QSKIP("a usable GPU is present: the fallback path is not taken");
        QVERIFY(!why.isEmpty());
        QVERIFY(listGpus().isEmpty());
        RenderReport report;
        const Framebuffer fb = renderEngine(2, 3, Device::Cuda, &report);
        QCOMPARE(report.device, Device::Cpu);
        QVERIFY(!report.fallbackReason.isEmpty());
        QVERIFY(samePixels(fb, renderEngine(2, 3)));
    }

    void whiteFurnace()
    {
        // A near-white diffuse convex object under a uniform white sky and no sun: it must look
        // like the sky times its albedo, and nothing may come out brighter than the sky.
        const float albedo = 0.98f;
        Result<Scene> sphere = Scene::fromTriangles(test::icosphere(3).toTriangles(Vec3(albedo)));
        QVERIFY(sphere.ok());
        RenderParams params;
        params.width = 48;
        params.height = 48;
        params.spp = 32;
        params.maxBounces = 16;
        const Camera camera = frameCamera(sphere->bounds(), CameraRig(), 1, 48, 48, params);
        params.sunIrradiance = Vec3(0.f);
        params.skyZenith = params.skyHorizon = params.ground = Vec3(1.f);
        Result<Framebuffer> fb = renderFrame(*sphere, camera, params, RenderOptions());
        QVERIFY(fb.ok());
        // Object pixels are those whose centre ray hits the sphere; the rest show the sky.
        double sum = 0.0, maxValue = 0.0;
        int count = 0;
        for (int y = 0; y < 48; ++y) {
            for (int x = 0; x < 48; ++x) {
                const Vec3 p = fb->at(x, y);
                maxValue = std::max(maxValue, double(maxComponent(p)));
                const Ray r = camera.generateRay(x + 0.5f, y + 0.5f, 48, 48);
                if (intersectClosest(sphere->view(), r).valid()) {
                    sum += (p.x + p.y + p.z) / 3.0;
                    ++count;
                }
            }
        }
        QVERIFY2(count > 48 * 48 / 5, qPrintable(QString::number(count)));
        const double mean = sum / count;
        qInfo("furnace: mean %.4f over %d object pixels, max %.4f", mean, count, maxValue);
        // The coat reflects what the diffuse base loses, so a white object shows the sky times its
        // albedo; GGX single scattering loses a little at roughness 0.5, never adds.
        QVERIFY2(mean / albedo > 0.95 && mean / albedo < 1.01, qPrintable(QString::number(mean)));
        QVERIFY2(maxValue < 1.5, qPrintable(QString::number(maxValue))); // noise, not gain
    }

    void normalMapTiltsTheShadingNormal()
    {
        // A quad in the XY plane facing +Z, tangent +X, with a 1x1 normal map encoding the
        // tangent-space normal (0.6, 0, 0.8): the shading normal becomes (0.6, 0, 0.8).
        TriangleMesh m;
        const Vec3 quad[6] = {{0, 0, 0}, {1, 0, 0}, {1, 1, 0}, {0, 0, 0}, {1, 1, 0}, {0, 1, 0}};
        for (const Vec3 &p : quad) {
            m.positions.push_back(p);
            m.normals.push_back(Vec3(0, 0, 1));
            m.uvs.push_back(p.x);
            m.uvs.push_back(p.y);
            m.tangents.push_back(Vec3(1, 0, 0));
            m.tangentSigns.push_back(1.f);
        }
        m.textures.push_back(Texture{1, 1, {0.8f, 0.5f, 0.9f, 1.f}});
        Material mat;
        mat.normalTexture = 0;
        m.materials.push_back(mat);
        Result<Scene> scene = Scene::fromTriangles(std::move(m));
        QVERIFY(scene.ok());
        const SceneView view = scene->view();
        Ray r;
        r.origin = Vec3(0.3f, 0.6f, 2.f);
        r.dir = Vec3(0, 0, -1);
        const Hit h = intersectClosest(view, r);
        QVERIFY(h.valid());
        const SurfacePoint s = surfaceAt(view, r, h);
        QVERIFY(length(s.geometricNormal - Vec3(0, 0, 1)) < 1e-5f);
        QVERIFY2(length(s.shadingNormal - Vec3(0.6f, 0.f, 0.8f)) < 1e-3f,
                 qPrintable(QStringLiteral("%1 %2 %3")
                                .arg(s.shadingNormal.x)
                                .arg(s.shadingNormal.y)
                                .arg(s.shadingNormal.z)));
    }

    void emitterSamplingConvergesWithLessNoise()
    {
        // A 4x4 diffuse floor at y = 0 lit only by a 1x1 emissive quad at y = 1 (no sun, black
        // sky): the same mean with and without emitter NEE, and less noise with it.
        TriangleMesh mesh;
        const auto quad = [&mesh](float y, float half, uint32_t material) {
            const Vec3 a(-half, y, -half), b(half, y, -half), c(half, y, half), d(-half, y, half);
            for (const Vec3 &p : {a, b, c, a, c, d})
                mesh.positions.push_back(p);
            mesh.materialIds.push_back(material);
            mesh.materialIds.push_back(material);
        };
        quad(0.f, 2.f, 0);
        quad(1.f, 0.5f, 1);
        Material floor;
        floor.roughness = 1.f;
        Material lamp;
        lamp.emissive = Vec3(4.f, 4.f, 4.f);
        mesh.materials = {floor, lamp};
        Result<Scene> scene = Scene::fromTriangles(std::move(mesh), 1);
        QVERIFY(scene);
        QCOMPARE(scene->view().lightCount, 2u);

        const Camera camera =
            lookAt(Vec3(0.f, 0.6f, 2.5f), Vec3(0.f), Vec3(0.f, 1.f, 0.f), 30.f, 1.f);
        const auto render = [&](bool nee, int spp, uint32_t seed) {
            RenderParams params;
            params.width = params.height = 24;
            params.spp = spp;
            params.seed = seed;
            params.sunIrradiance = params.skyZenith = params.skyHorizon = params.ground = Vec3(0.f);
            params.sampleEmitters = nee;
            RenderOptions options;
            options.threads = 2;
            Result<Framebuffer> fb = renderFrame(*scene, camera, params, options);
            return fb ? *fb : Framebuffer();
        };
        const auto mean = [](const Framebuffer &fb) {
            double sum = 0;
            for (const Vec3 &p : fb.pixels)
                sum += double(p.x + p.y + p.z) / 3.0;
            return sum / double(fb.pixels.size());
        };
        const auto noise = [](const Framebuffer &a, const Framebuffer &b) { // ~ 2 x variance
            double sum = 0;
            for (size_t i = 0; i < a.pixels.size(); ++i) {
                const double d = double(a.pixels[i].y) - double(b.pixels[i].y);
                sum += d * d;
            }
            return sum / double(a.pixels.size());
        };
        const Framebuffer withNee = render(true, 96, 1), without = render(false, 96, 2);
        QVERIFY(!withNee.pixels.empty() && !without.pixels.empty());
        const double m1 = mean(withNee), m2 = mean(without);
        QVERIFY2(m1 > 0.05, qPrintable(QString::number(m1)));
        QVERIFY2(std::abs(m1 - m2) < 0.05 * m2,
                 qPrintable(QStringLiteral("%1 vs %2").arg(m1).arg(m2)));
        const double noiseNee = noise(render(true, 4, 3), render(true, 4, 4));
        const double noiseBsdf = noise(render(false, 4, 3), render(false, 4, 4));
        qInfo("emitters: mean %.4f with NEE, %.4f without; noise %.5f vs %.5f", m1, m2, noiseNee,
              noiseBsdf);
        QVERIFY2(noiseNee < 0.5 * noiseBsdf,
                 qPrintable(QStringLiteral("%1 vs %2").arg(noiseNee).arg(noiseBsdf)));
    }

    void framingKeepsModelInView_data()
    {
        QTest::addColumn<int>("mode");
        QTest::addColumn<int>("frame");
        QTest::newRow("still") << int(CameraMode::Still) << 1;
        for (int f : {1, 7, 13, 19, 24})
            QTest::newRow(qPrintable(QStringLiteral("turntable %1").arg(f)))
                << int(CameraMode::Turntable) << f;
    }

    void framingKeepsModelInView()
    {
        QFETCH(int, mode);
        QFETCH(int, frame);
        CameraRig rig;
        rig.mode = CameraMode(mode);
        rig.cycleFirst = 1;
        rig.cycleCount = 24;
        RenderParams params;
        const Aabb b = m_engine->bounds();
        const Camera c = frameCamera(b, rig, frame, 320, 180, params);
        float widest = 0.f;
        for (int i = 0; i < 8; ++i) {
            const Vec3 corner((i & 1) ? b.hi.x : b.lo.x, (i & 2) ? b.hi.y : b.lo.y,
                              (i & 4) ? b.hi.z : b.lo.z);
            const Vec3 d = corner - c.position;
            const float depth = -dot(d, c.w);
            QVERIFY(depth > 0.f);
            const float sx = dot(d, c.u) / depth / (c.tanHalfFovY * c.aspect);
            const float sy = dot(d, c.v) / depth / c.tanHalfFovY;
            QVERIFY(std::fabs(sx) <= 1.f && std::fabs(sy) <= 1.f);
            widest = std::max({widest, std::fabs(sx), std::fabs(sy)});
        }
        QVERIFY2(widest > 0.6f, "the model should fill a good part of the view");
        QVERIFY(dot(params.sunDirection, params.up) > 0.5f); // key light from above
    }

    void turntableAngle()
    {
        CameraRig rig;
        rig.mode = CameraMode::Turntable;
        rig.cycleFirst = 10;
        rig.cycleCount = 40;
        const float a0 = cameraAzimuthDegrees(rig, 10);
        QCOMPARE(cameraAzimuthDegrees(rig, 20), a0 + 90.f);
        QCOMPARE(cameraAzimuthDegrees(rig, 30), a0 + 180.f);
        QCOMPARE(cameraAzimuthDegrees(rig, 50), a0); // a full turn later
        rig.mode = CameraMode::Still;
        QCOMPARE(cameraAzimuthDegrees(rig, 20), a0);
    }

    void invalidRequests_data()
    {
        QTest::addColumn<int>("width");
        QTest::addColumn<int>("height");
        QTest::addColumn<int>("spp");
        QTest::newRow("zero width") << 0 << 10 << 1;
        QTest::newRow("huge") << 9000 << 10 << 1;
        QTest::newRow("zero spp") << 10 << 10 << 0;
        QTest::newRow("too many spp") << 10 << 10 << 5000;
    }

    void invalidRequests()
    {
        QFETCH(int, width);
        QFETCH(int, height);
        QFETCH(int, spp);
        RenderParams params;
        params.width = width;
        params.height = height;
        params.spp = spp;
        Result<Framebuffer> fb = renderFrame(*m_engine, Camera(), params, RenderOptions());
        QVERIFY(!fb.ok());
        QCOMPARE(fb.error().code, QStringLiteral("invalid_argument"));
    }

    void directLightMatchesTraceRadiance_data()
    {
        QTest::addColumn<int>("view");
        QTest::addColumn<bool>("sideLight");
        for (int view : {0, 20, 36}) {
            QTest::addRow("view %d, preset light", view) << view << false;
            QTest::addRow("view %d, light from the side", view) << view << true;
        }
    }

    void directLightMatchesTraceRadiance()
    {
        // The template presets' direct-light path (directlight.h) at every pixel centre of a
        // sam6d view: with the shadow ray from the surface it is traceRadiance bit for bit; with
        // the ray from the light (as renderCpuAdaptive traces it) only pixels whose shadow ray
        // grazes an occluder's edge may differ, and 4 x 4 pixels' rays as one packet answer as
        // each ray on its own. A light from the side casts long shadows across the engine.
        QFETCH(int, view);
        QFETCH(bool, sideLight);
        const int w = 160, h = 120;
        RenderParams params;
        params.width = w;
        params.height = h;
        params.maxBounces = 0;
        const Camera camera = sam6dCamera(m_engine->bounds(), view, w, h, params);
        if (sideLight)
            params.pointLightPosition =
                camera.position + camera.u * (3.f * length(camera.position));
        const SceneView sv = m_engine->view();
        QVERIFY(directLightOnly(params, sv));
        const WideTracer tracer{&m_engine->wideBvh(), sv};
        int hits = 0, lightSide = 0, blocked = 0, differ = 0;
        for (int by = 0; by < h; by += 4) {
            for (int bx = 0; bx < w; bx += 4) {
                DirectSample d[kPacketRays];
                bool single[kPacketRays];
                int n = 0;
                for (int y = by; y < by + 4; ++y) {
                    for (int x = bx; x < bx + 4; ++x, ++n) {
                        const Ray ray = camera.generateRay(float(x) + 0.5f, float(y) + 0.5f, w, h);
                        const Hit hit = tracer.closest(ray);
                        PixelSampler sampler(params.seed, params.frame, uint32_t(y * w + x), 0u);
                        const Vec3 ref = traceRadiance(tracer, sv, params, ray, sampler, &hit);
                        const DirectSample surface = directSample(sv, params, ray, hit, false);
                        QVERIFY(!surface.fromLight);
                        const Vec3 l = surface.radiance(surface.needsShadow &&
                                                        tracer.occluded(surface.shadow));
                        QVERIFY2(std::memcmp(&l, &ref, sizeof l) == 0,
                                 qPrintable(QStringLiteral("pixel %1, %2").arg(x).arg(y)));
                        d[n] = directSample(sv, params, ray, hit, true);
                        single[n] = d[n].needsShadow && tracer.occluded(d[n].shadow);
                        const Vec3 fromLight = d[n].radiance(single[n]);
                        hits += hit.valid();
                        lightSide += d[n].fromLight;
                        blocked += single[n];
                        differ += std::memcmp(&fromLight, &ref, sizeof ref) != 0;
                    }
                }
                bool packet[kPacketRays];
                traceShadows(tracer, d, n, packet);
                for (int k = 0; k < n; ++k)
                    QCOMPARE(packet[k], single[k]);
            }
        }
        qInfo("view %d: %d hits, %d shadow rays from the light, %d blocked, %d pixels differ", view,
              hits, lightSide, blocked, differ);
        QVERIFY(hits > 2000);
        QVERIFY(lightSide > hits / 2);
        if (sideLight)
            QVERIFY(blocked > 200);
        QVERIFY2(differ <= hits / 500, qPrintable(QString::number(differ)));
    }

    void strongEdgesTakeTwiceTheSamples()
    {
        // Adaptive anti-aliasing of a sam6d view: edge pixels whose 16 samples spread by more
        // than kEdgeSpreadForMore take 16 more. Only those pixels change, and the frame comes
        // closer to a 256-sample reference of the same view.
        const int w = 160, h = 120;
        RenderParams params;
        params.width = w;
        params.height = h;
        params.maxBounces = 0;
        params.spp = 16;
        const Camera camera = sam6dCamera(m_engine->bounds(), 20, w, h, params);
        QVERIFY(directLightOnly(params, m_engine->view()));
        Framebuffer once, twice, reference;
        AdaptiveStats onceStats, twiceStats;
        QVERIFY(renderCpuAdaptive(*m_engine, camera, params, once, 2, {}, nullptr, nullptr,
                                  kSam6dEdgeThreshold, &onceStats,
                                  std::numeric_limits<float>::infinity()));
        QVERIFY(renderCpuAdaptive(*m_engine, camera, params, twice, 2, {}, nullptr, nullptr,
                                  kSam6dEdgeThreshold, &twiceStats));
        RenderParams uniform = params;
        uniform.spp = 256;
        QVERIFY(renderCpu(*m_engine, camera, uniform, reference, 2));

        QCOMPARE(onceStats.extendedPixels, 0);
        QCOMPARE(twiceStats.edgePixels, onceStats.edgePixels);
        QVERIFY(twiceStats.extendedPixels > 100);
        QVERIFY(twiceStats.extendedPixels < twiceStats.edgePixels);
        int changed = 0;
        double errorOnce = 0, errorTwice = 0;
        for (size_t i = 0; i < reference.pixels.size(); ++i) {
            changed += std::memcmp(&once.pixels[i], &twice.pixels[i], sizeof(Vec3)) != 0;
            for (int c = 0; c < 3; ++c) {
                const float ref = toneCurve(reference.pixels[i][c]);
                errorOnce += std::pow(toneCurve(once.pixels[i][c]) - ref, 2);
                errorTwice += std::pow(toneCurve(twice.pixels[i][c]) - ref, 2);
            }
        }
        qInfo("%d edge pixels, %d took 32 samples; squared error against 256 spp %.4f -> %.4f",
              twiceStats.edgePixels, twiceStats.extendedPixels, errorOnce, errorTwice);
        QVERIFY(changed <= twiceStats.extendedPixels);
        QVERIFY(changed >= twiceStats.extendedPixels * 9 / 10);
        QVERIFY2(errorTwice < 0.85 * errorOnce,
                 qPrintable(QString::number(errorTwice / errorOnce)));
    }

    void directSamplesInLanesMatchOneByOne_data()
    {
        QTest::addColumn<int>("isa");
        QTest::newRow("sse, four lanes") << int(WideIsa::Sse);
        QTest::newRow("avx2, eight lanes") << int(WideIsa::Avx2);
    }

    void directSamplesInLanesMatchOneByOne()
    {
        QFETCH(int, isa);
        if (!wideIsaSupported(WideIsa(isa)))
            QSKIP("the CPU lacks AVX2");
        const WideIsa before = wideIsa();
        setWideIsa(WideIsa(isa));
        const auto restore = qScopeGuard([before] { setWideIsa(before); });
        // directSamples (directlightlanes.h: four samples side by side in SSE lanes) gives each
        // sample what directSample gives it on its own, to the bit: the jittered camera samples
        // of sam6d views of the engine, then surfaces made up at random (normals any way round,
        // colours, metallic and roughness outside their ranges, emission, back-facing rays), with
        // the light near (shadow rays from the light), far (from the surface) or off.
        const SceneView sv = m_engine->view();
        const WideTracer tracer{&m_engine->wideBvh(), sv};
        const int w = 80, h = 60;
        int samples = 0, shadowed = 0, fromLight = 0;
        for (int run = 0; run < 6; ++run) {
            const int view = (run / 2) * 18; // 0, 18, 36, each with the preset's light, then
            RenderParams params;             // with a light from the side
            params.width = w;
            params.height = h;
            params.maxBounces = 0;
            const Camera camera = sam6dCamera(m_engine->bounds(), view, w, h, params);
            if (run % 2)
                params.pointLightPosition =
                    camera.position + camera.u * (3.f * length(camera.position));
            QVERIFY(directLightOnly(params, sv));
            std::mt19937 rng{uint32_t(run)};
            std::uniform_real_distribution<float> u(0.f, 1.f);
            for (int first = 0; first < w * h; first += kPacketRays) {
                Ray rays[kPacketRays];
                Hit hits[kPacketRays];
                for (int k = 0; k < kPacketRays; ++k) {
                    const int pixel = (first + k) % (w * h);
                    rays[k] = camera.generateRay(float(pixel % w) + u(rng),
                                                 float(pixel / w) + u(rng), w, h);
                    hits[k] = tracer.closest(rays[k]);
                }
                for (bool lightSide : {true, false}) {
                    const int n = 1 + first / kPacketRays % kPacketRays; // 1 to 16 samples
                    DirectSample lanes[kPacketRays];
                    SurfacePoint surfaces[kPacketRays];
                    directSamples(sv, params, rays, hits, n, lightSide, surfaces, lanes);
                    for (int k = 0; k < n; ++k) {
                        const DirectSample one =
                            directSample(sv, params, rays[k], hits[k], lightSide);
                        QVERIFY2(
                            sameDirect(lanes[k], one),
                            qPrintable(
                                QStringLiteral("view %1, sample %2").arg(view).arg(first + k)));
                        if (hits[k].valid()) { // the surfaces too (the data passes take them)
                            const SurfacePoint a = surfaceAt(sv, rays[k], hits[k]);
                            const SurfacePoint &b = surfaces[k];
                            QVERIFY(sameBits(a.position, b.position) &&
                                    sameBits(a.geometricNormal, b.geometricNormal) &&
                                    sameBits(a.shadingNormal, b.shadingNormal) &&
                                    sameBits(a.albedo, b.albedo) &&
                                    sameBits(a.emission, b.emission) && a.metallic == b.metallic &&
                                    a.roughness == b.roughness);
                        }
                        samples += hits[k].valid();
                        shadowed += one.needsShadow;
                        fromLight += one.fromLight;
                    }
                }
            }
        }
        qInfo("engine: %d hits, %d lit, %d shadow rays from the light", samples, shadowed,
              fromLight);
        QVERIFY(samples > 3000);
        QVERIFY(shadowed > samples / 4 && shadowed < samples);
        QVERIFY(fromLight > samples / 8);

        std::mt19937 rng(7);
        std::uniform_real_distribution<float> u(-1.f, 1.f);
        const auto direction = [&] {
            for (;;) {
                const Vec3 v(u(rng), u(rng), u(rng));
                if (dot(v, v) > 1e-4f && dot(v, v) <= 1.f)
                    return normalize(v);
            }
        };
        RenderParams params;
        params.maxBounces = 0;
        sam6dCamera(m_engine->bounds(), 5, 64, 48, params); // the preset's light and sky
        const Vec3 presetLight = params.pointLightPosition;
        int lit = 0, unlit = 0;
        for (int round = 0; round < 3000; ++round) {
            const int n = 1 + round % kPacketRays;
            Ray rays[kPacketRays];
            SurfacePoint s[kPacketRays];
            int index[kPacketRays];
            for (int k = 0; k < n; ++k) {
                s[k].position = m_engine->bounds().center() + direction() * (10.f * u(rng));
                s[k].geometricNormal = direction();
                s[k].shadingNormal = k % 5 == 0 ? Vec3(0.f, 0.f, k % 2 ? 1.f : -1.f) : direction();
                s[k].albedo =
                    Vec3(0.5f + 0.7f * u(rng), 0.5f + 0.7f * u(rng), 0.5f + 0.7f * u(rng));
                s[k].metallic = 0.5f + 0.6f * u(rng);
                s[k].roughness = 0.5f + 0.6f * u(rng);
                s[k].emission = k % 7 == 0 ? Vec3(0.2f, 0.f, 0.1f) : Vec3(0.f);
                rays[k] = Ray{Vec3(0.f), direction(), kInfinity};
                index[k] = n - 1 - k; // any order
            }
            RenderParams p = params;
            if (round % 3 == 1) // far away: shadow rays from the surface
                p.pointLightPosition = presetLight * 1e4f;
            if (round % 11 == 5)
                p.pointLightIntensity = Vec3(0.f);
            const bool lightSide = round % 2 == 0;
            DirectSample lanes[kPacketRays];
            directSamples(sv, p, rays, s, index, n, lightSide, lanes);
            for (int k = 0; k < n; ++k) {
                const DirectSample one = directSample(sv, p, rays[k], s[k], lightSide);
                QVERIFY2(sameDirect(lanes[k], one),
                         qPrintable(QStringLiteral("round %1, sample %2").arg(round).arg(k)));
                (one.needsShadow ? lit : unlit) += 1;
            }
        }
        qInfo("made up: %d lit, %d unlit", lit, unlit);
        QVERIFY(lit > 3000 && unlit > 3000);

        // The edge pixels' camera samples: the jitter from the pixel's slot key, the rays in
        // lanes, as PixelSampler and generateRay make them one by one.
        for (int view : {0, 41}) {
            RenderParams cp;
            const Camera camera = sam6dCamera(m_engine->bounds(), view, 640, 480, cp);
            for (uint32_t pixel : {0u, 1u, 12345u, 307199u}) {
                const int x = int(pixel % 640), y = int(pixel / 640);
                const uint32_t key = PixelSampler::slotKey(
                    PixelSampler::pixelKey(cp.seed, uint32_t(view), pixel), kSlotCamera);
                float sx[kPacketRays], sy[kPacketRays];
                for (int first : {0, 16, 1008}) {
                    Ray expected[kPacketRays];
                    for (int k = 0; k < kPacketRays; ++k) {
                        PixelSampler sampler(cp.seed, uint32_t(view), pixel, uint32_t(first + k),
                                             vertexSlot(kLowDiscrepancyDepth, kSlotSkyLight));
                        float jx, jy, u, v;
                        sampler.get2D(kSlotCamera, jx, jy);
                        PixelSampler::slot2D(key, uint32_t(first + k), u, v);
                        QCOMPARE(u, jx);
                        QCOMPARE(v, jy);
                        sx[k] = float(x) + jx;
                        sy[k] = float(y) + jy;
                        expected[k] = camera.generateRay(sx[k], sy[k], 640, 480);
                    }
                    for (int n : {1, 5, 16}) {
                        Ray lanes[kPacketRays];
                        cameraRays(camera, sx, sy, n, 640, 480, lanes);
                        for (int k = 0; k < n; ++k)
                            QVERIFY(sameBits(lanes[k].origin, expected[k].origin) &&
                                    sameBits(lanes[k].dir, expected[k].dir) &&
                                    lanes[k].tMax == expected[k].tMax);
                    }
                }
            }
        }
    }

    void toImageEncodesInLanesAsOneByOne()
    {
        // toImage encodes a row's channels four at a time (framebuffer.cpp); a 1 x 1 frame's three
        // channels go one by one. Every value gives the same byte either way: tone-curve knees,
        // negatives, zeros of both signs, huge and infinite values (white: they used to read
        // outside the sRGB table), NaN (black).
        std::mt19937 rng{3};
        std::uniform_real_distribution<float> u(0.f, 1.f);
        const float special[] = {0.f,
                                 -0.f,
                                 -1.f,
                                 1e-9f,
                                 0.5f,
                                 1.f,
                                 4.f,
                                 1e30f,
                                 kInfinity,
                                 std::numeric_limits<float>::infinity(),
                                 -std::numeric_limits<float>::infinity(),
                                 std::numeric_limits<float>::quiet_NaN()};
        Framebuffer fb(7, 300); // 21 channels a row: lanes and a tail
        int k = 0;
        for (Vec3 &p : fb.pixels) {
            for (int c = 0; c < 3; ++c, ++k)
                p[c] = k < 3 * 40 ? special[k % std::size(special)]
                                  : std::exp2(24.f * u(rng) - 16.f) * (k % 9 == 0 ? -1.f : 1.f);
        }
        const QImage image = toImage(fb);
        const uchar *first = image.constScanLine(0); // the special values
        QCOMPARE(int(first[0]), 0);                  // 0
        QCOMPARE(int(first[3 * 2 + 1]), 255);        // 1e30 (channel 7)
        QCOMPARE(int(first[3 * 2 + 2]), 255);        // kInfinity
        QCOMPARE(int(first[3 * 3]), 255);            // infinity
        QCOMPARE(int(first[3 * 3 + 1]), 0);          // -infinity
        QCOMPARE(int(first[3 * 3 + 2]), 0);          // NaN
        for (int y = 0; y < fb.height; ++y) {
            for (int x = 0; x < fb.width; ++x) {
                Framebuffer one(1, 1);
                one.pixels[0] = fb.at(x, y);
                const QImage single = toImage(one);
                QVERIFY2(std::memcmp(image.constScanLine(y) + 3 * x, single.constScanLine(0), 3) ==
                             0,
                         qPrintable(QStringLiteral("pixel %1, %2").arg(x).arg(y)));
            }
        }
    }

    void cancel()
    {
        std::atomic<bool> stop{true};
        RenderOptions options;
        options.cancel = &stop;
        RenderParams params;
        params.width = 32;
        params.height = 32;
        Result<Framebuffer> fb = renderFrame(*m_engine, Camera(), params, options);
        QVERIFY(!fb.ok());
        QCOMPARE(fb.error().code, QStringLiteral("canceled"));
    }
};

QTEST_GUILESS_MAIN(TestRender)
#include "tst_render.moc"
