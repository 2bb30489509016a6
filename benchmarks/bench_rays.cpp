// Rays per second of our BVH against Intel Embree 3 on the same rays (primary, one-bounce
// diffuse and shadow rays, one thread and all threads), and BVH build times, including a
// ~1M-triangle mesh made by subdividing an occt-misc STL.
// Usage: bench_rays [--quick] [--sse] [model files...]
#include "cpubackend.h"
#include "framing.h"
#include "kernel/integrator.h"
#include "scene.h"

#include <embree3/rtcore.h>

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFileInfo>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

using farm::Result;
using namespace farm::render;

namespace {

struct Model
{
    QString name;
    TriangleMesh mesh;
};

/// Splits every triangle into four at its edge midpoints, `levels` times.
TriangleMesh subdivide(const TriangleMesh &in, int levels)
{
    TriangleMesh m = in;
    for (int l = 0; l < levels; ++l) {
        TriangleMesh out;
        const size_t n = m.triangleCount();
        out.positions.reserve(12 * n);
        auto push = [&](Vec3 a, Vec3 b, Vec3 c) {
            out.positions.insert(out.positions.end(), {a, b, c});
        };
        for (size_t t = 0; t < n; ++t) {
            const Vec3 a = m.positions[3 * t], b = m.positions[3 * t + 1],
                       c = m.positions[3 * t + 2];
            const Vec3 ab = (a + b) * 0.5f, bc = (b + c) * 0.5f, ca = (c + a) * 0.5f;
            push(a, ab, ca);
            push(ab, b, bc);
            push(ca, bc, c);
            push(ab, bc, ca);
        }
        m = std::move(out);
    }
    return m;
}

double seconds(const std::function<void()> &f)
{
    QElapsedTimer t;
    t.start();
    f();
    return double(t.nsecsElapsed()) / 1e9;
}

/// CPU time of the calling thread: on a shared machine a single-threaded loop's CPU time does
/// not count the time other processes had the core, so it varies much less than wall time.
double threadCpuSeconds()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

/// Runs body(begin, end) over [0, count) in chunks on `threads` threads.
void parallelFor(size_t count, int threads, const std::function<void(size_t, size_t)> &body)
{
    constexpr size_t kChunk = 1024;
    std::atomic<size_t> next{0};
    auto work = [&] {
        for (;;) {
            const size_t begin = next.fetch_add(kChunk);
            if (begin >= count)
                return;
            body(begin, std::min(count, begin + kChunk));
        }
    };
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i)
        pool.emplace_back(work);
    work();
    for (auto &t : pool)
        t.join();
}

class EmbreeScene
{
public:
    EmbreeScene(RTCDevice device, const TriangleMesh &mesh)
    {
        m_scene = rtcNewScene(device);
        RTCGeometry geom = rtcNewGeometry(device, RTC_GEOMETRY_TYPE_TRIANGLE);
        const size_t n = mesh.triangleCount();
        auto *v = static_cast<float *>(rtcSetNewGeometryBuffer(
            geom, RTC_BUFFER_TYPE_VERTEX, 0, RTC_FORMAT_FLOAT3, 3 * sizeof(float), 3 * n));
        auto *idx = static_cast<unsigned *>(rtcSetNewGeometryBuffer(
            geom, RTC_BUFFER_TYPE_INDEX, 0, RTC_FORMAT_UINT3, 3 * sizeof(unsigned), n));
        for (size_t i = 0; i < 3 * n; ++i) {
            v[3 * i] = mesh.positions[i].x;
            v[3 * i + 1] = mesh.positions[i].y;
            v[3 * i + 2] = mesh.positions[i].z;
            idx[i] = unsigned(i);
        }
        rtcCommitGeometry(geom);
        rtcAttachGeometry(m_scene, geom);
        rtcReleaseGeometry(geom);
        buildSeconds = seconds([&] { rtcCommitScene(m_scene); });
    }
    ~EmbreeScene() { rtcReleaseScene(m_scene); }

    float closest(const Ray &r) const
    {
        RTCIntersectContext context;
        rtcInitIntersectContext(&context);
        RTCRayHit rh{};
        rh.ray.org_x = r.origin.x;
        rh.ray.org_y = r.origin.y;
        rh.ray.org_z = r.origin.z;
        rh.ray.dir_x = r.dir.x;
        rh.ray.dir_y = r.dir.y;
        rh.ray.dir_z = r.dir.z;
        rh.ray.tnear = 0.f;
        rh.ray.tfar = r.tMax;
        rh.ray.mask = 0xffffffffu;
        rh.hit.geomID = RTC_INVALID_GEOMETRY_ID;
        rtcIntersect1(m_scene, &context, &rh);
        return rh.hit.geomID == RTC_INVALID_GEOMETRY_ID ? -1.f : rh.ray.tfar;
    }

    bool occluded(const Ray &r) const
    {
        RTCIntersectContext context;
        rtcInitIntersectContext(&context);
        RTCRay ray{};
        ray.org_x = r.origin.x;
        ray.org_y = r.origin.y;
        ray.org_z = r.origin.z;
        ray.dir_x = r.dir.x;
        ray.dir_y = r.dir.y;
        ray.dir_z = r.dir.z;
        ray.tnear = 0.f;
        ray.tfar = r.tMax;
        ray.mask = 0xffffffffu;
        rtcOccluded1(m_scene, &context, &ray);
        return ray.tfar < 0.f; // Embree sets tfar to -inf on a hit
    }

    double buildSeconds = 0.0;

private:
    RTCScene m_scene = nullptr;
};

struct RaySet
{
    const char *kind;
    std::vector<Ray> rays;
    bool shadow = false; // any hit (our intersectAnyWide, Embree's rtcOccluded1)
};

/// Primary rays through pixel centres of a 3/4 view, one cosine-weighted diffuse bounce from
/// each primary hit, and a shadow ray from each primary hit towards a fixed sun direction
/// (the same rays for both tracers).
std::vector<RaySet> makeRays(const Scene &scene, int width, int height)
{
    RenderParams params;
    const Camera cam = frameCamera(scene.bounds(), CameraRig(), 1, width, height, params);
    RaySet primary{"primary", {}}, diffuse{"diffuse", {}}, shadow{"shadow", {}, true};
    const SceneView view = scene.view();
    const Vec3 sun = normalize(Vec3(-0.4f, 0.8f, 0.45f));
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
            const Ray r = cam.generateRay(x + 0.5f, y + 0.5f, width, height);
            primary.rays.push_back(r);
            const Hit h = intersectClosest(view, r);
            if (!h.valid())
                continue;
            const SurfacePoint s = surfaceAt(view, r, h);
            Rng rng(1, 1, uint32_t(y * width + x), 0);
            Ray d;
            d.origin = s.position + s.geometricNormal * view.epsilon;
            d.dir = sampleCosineHemisphere(s.geometricNormal, rng.uniform(), rng.uniform());
            diffuse.rays.push_back(d);
            Ray toSun; // offset to the side of the surface that faces the sun
            const float side = dot(s.geometricNormal, sun) >= 0.f ? 1.f : -1.f;
            toSun.origin = s.position + s.geometricNormal * (side * view.epsilon);
            toSun.dir = sun;
            shadow.rays.push_back(toSun);
        }
    }
    return {primary, diffuse, shadow};
}

void benchModel(const Model &model, RTCDevice device, int allThreads, int repeats)
{
    // Builds: best of `repeats` each (the machine is shared), ours and Embree's alternately.
    Scene scene;
    double ourBuild = 1e30, sahBuild = 1e30, embreeBuild = 1e30;
    std::unique_ptr<EmbreeScene> embree;
    for (int rep = 0; rep < repeats; ++rep) {
        TriangleMesh input = model.mesh; // copied outside the timing (Embree's buffers are too)
        ourBuild = std::min(ourBuild, seconds([&] {
                                Result<Scene> s = Scene::fromTriangles(std::move(input));
                                if (!s)
                                    qFatal("%s", qPrintable(s.error().message));
                                scene = std::move(*s);
                            }));
        sahBuild = std::min(sahBuild, scene.stats().bvhBuildMs);
        embree.reset(); // one Embree scene at a time
        embree = std::make_unique<EmbreeScene>(device, scene.mesh());
        embreeBuild = std::min(embreeBuild, embree->buildSeconds);
    }
    std::printf("\n%s: %zu triangles\n", qPrintable(model.name), scene.triangleCount());
    std::printf("  BVH build (best of %d): ours %.1f ms (SAH build %.1f ms, %d threads), "
                "embree %.1f ms\n",
                repeats, ourBuild * 1e3, sahBuild, allThreads, embreeBuild * 1e3);

    const std::vector<RaySet> sets = makeRays(scene, 1024, 768);
    const SceneView view = scene.view();
    std::printf("  %-8s %7s %9s %12s %12s %7s %10s %10s\n", "rays", "threads", "count",
                "ours Mray/s", "embree Mray/s", "ratio", "mismatch", "cpu ratio");
    for (const RaySet &set : sets) {
        std::vector<float> ourT(set.rays.size()), embreeT(set.rays.size());
        const std::function<void(size_t, size_t)> oursBody = [&](size_t b, size_t e) {
            if (set.shadow) {
                for (size_t i = b; i < e; ++i)
                    ourT[i] = intersectAnyWide(scene.wideBvh(), view, set.rays[i]) ? 1.f : -1.f;
                return;
            }
            for (size_t i = b; i < e; ++i) {
                const Hit h = intersectClosestWide(scene.wideBvh(), view, set.rays[i]);
                ourT[i] = h.valid() ? h.t : -1.f;
            }
        };
        const std::function<void(size_t, size_t)> embreeBody = [&](size_t b, size_t e) {
            for (size_t i = b; i < e; ++i)
                embreeT[i] = set.shadow ? (embree->occluded(set.rays[i]) ? 1.f : -1.f)
                                        : embree->closest(set.rays[i]);
        };
        for (int threads : {1, allThreads}) {
            // Best of `repeats`, ours and Embree alternately; with one thread also the CPU time
            // of the (calling) thread, which other processes on the machine disturb less.
            double bestOurs = 1e30, bestEmbree = 1e30, cpuOurs = 1e30, cpuEmbree = 1e30;
            auto run = [&](const std::function<void(size_t, size_t)> &body, double &best,
                           double &cpu) {
                const double c0 = threadCpuSeconds();
                best =
                    std::min(best, seconds([&] { parallelFor(set.rays.size(), threads, body); }));
                cpu = std::min(cpu, threadCpuSeconds() - c0);
            };
            for (int rep = 0; rep < repeats; ++rep) {
                run(oursBody, bestOurs, cpuOurs);
                run(embreeBody, bestEmbree, cpuEmbree);
            }
            size_t mismatch = 0;
            for (size_t i = 0; i < set.rays.size(); ++i) {
                const bool a = ourT[i] >= 0.f, b = embreeT[i] >= 0.f;
                if (a != b ||
                    (a && std::fabs(ourT[i] - embreeT[i]) > 1e-3f * std::max(1.f, ourT[i])))
                    ++mismatch;
            }
            const double n = double(set.rays.size());
            const double ours = n / bestOurs / 1e6, theirs = n / bestEmbree / 1e6;
            std::printf("  %-8s %7d %9zu %12.2f %12.2f %7.2f %10zu", set.kind, threads,
                        set.rays.size(), ours, theirs, ours / theirs, mismatch);
            if (threads == 1)
                std::printf(" %10.2f\n", cpuEmbree / cpuOurs);
            else
                std::printf(" %10s\n", "-");
        }
    }
    std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QStringList args = app.arguments().mid(1);
    const bool quick = args.removeAll(QStringLiteral("--quick")) > 0;
    // --sse: the baseline (SSE2) wide traversal even where the CPU has AVX2.
    if (args.removeAll(QStringLiteral("--sse")) > 0)
        setWideIsa(WideIsa::Sse);
    if (args.isEmpty()) {
        args = {
            QStringLiteral(
                "/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb"),
            QStringLiteral("/usr/share/opencascade/data/stl/bearing.stl")};
        if (!quick)
            args.append(
                QStringLiteral("subdivide:/usr/share/opencascade/data/stl/TR12J_OCC64K.stl"));
    }
    const int allThreads = int(std::max(1u, std::thread::hardware_concurrency()));
    RTCDevice device = rtcNewDevice(nullptr);
    std::printf("bench_rays: %d hardware threads, 1024x768 primary rays per model, best of %d, "
                "wide traversal %s\n",
                allThreads, quick ? 1 : 3, wideIsa() == WideIsa::Avx2 ? "AVX2" : "SSE2");
    for (QString path : args) {
        const bool sub = path.startsWith(QStringLiteral("subdivide:"));
        if (sub)
            path = path.mid(10);
        Result<Scene> loaded = Scene::load(path);
        if (!loaded) {
            std::fprintf(stderr, "error: %s\n", qPrintable(loaded.error().message));
            return 3;
        }
        Model m{QFileInfo(path).fileName(), loaded->mesh()};
        if (sub) {
            m.mesh = subdivide(m.mesh, 2);
            m.name += QStringLiteral(" subdivided x16");
        }
        benchModel(m, device, allThreads, quick ? 1 : 3);
    }
    rtcReleaseDevice(device);
    return 0;
}
