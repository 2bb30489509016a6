// Rays per second of the path tracer's ray kinds on the CPU (one thread, best of N runs, the
// thread's CPU time): a frame's camera rays one by one and as a pixel's packets of 16, and from
// their first hits the sun's shadow rays, cosine-distributed sky shadow rays and diffuse bounce
// rays (closest hits). Prints a checksum of the answers, so two builds can be seen to agree.
// Usage: bench_pathrays [--runs N] [--size WxH] model...
#include "cpubackend.h"
#include "framing.h"
#include "kernel/integrator.h"
#include "scene.h"

#include <QCoreApplication>
#include <QStringList>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <vector>

using farm::Result;
using namespace farm::render;

namespace {

double threadCpuSeconds()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

double best(int runs, const std::function<void()> &f)
{
    double b = 1e30;
    for (int i = 0; i < runs; ++i) {
        const double t0 = threadCpuSeconds();
        f();
        b = std::min(b, threadCpuSeconds() - t0);
    }
    return b;
}

constexpr int kSpp = 16; // camera rays per pixel: one packet

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments().mid(1);
    int runs = 5, width = 160, height = 120;
    QStringList models;
    for (int i = 0; i < args.size(); ++i) {
        if (args[i] == "--runs" && i + 1 < args.size())
            runs = std::max(1, args[++i].toInt());
        else if (args[i] == "--size" && i + 1 < args.size()) {
            const QStringList wh = args[++i].split('x');
            width = std::max(1, wh.value(0).toInt());
            height = std::max(1, wh.value(1).toInt());
        } else
            models.append(args[i]);
    }
    if (models.isEmpty()) {
        std::fprintf(stderr, "usage: bench_pathrays [--runs N] [--size WxH] model...\n");
        return 2;
    }
    std::printf("bench_pathrays: %dx%d pixels x %d camera rays, 1 thread, best of %d runs, "
                "wide traversal %s\n",
                width, height, kSpp, runs, wideIsa() == WideIsa::Avx2 ? "AVX2" : "SSE2");
    for (const QString &path : models) {
        Result<Scene> loaded = Scene::load(path);
        if (!loaded) {
            std::fprintf(stderr, "%s: %s\n", qPrintable(path), qPrintable(loaded.error().message));
            return 1;
        }
        const Scene &scene = *loaded;
        RenderParams p;
        p.width = width;
        p.height = height;
        p.pixelFilter = PixelFilter::BlackmanHarris;
        const Camera camera = frameCamera(scene.bounds(), CameraRig(), 1, width, height, p);
        const SceneView view = scene.view();
        const WideTracer tracer{&scene.wideBvh(), view};

        std::vector<Ray> cameraRays;
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < width; ++x)
                for (int s = 0; s < kSpp; ++s) {
                    PixelSampler sampler =
                        pixelSampler(p, uint32_t(y) * uint32_t(width) + uint32_t(x), s);
                    cameraRays.push_back(pixelSampleRay(camera, p, x, y, sampler));
                }
        std::vector<Ray> sunRays, skyRays, bounceRays;
        Rng rng(7, 1, 0, 0);
        for (const Ray &ray : cameraRays) {
            const Hit hit = tracer.closest(ray);
            if (!hit.valid())
                continue;
            const SurfacePoint s = surfaceAt(view, ray, hit);
            const Vec3 origin = s.position + s.geometricNormal * view.epsilon;
            if (dot(s.geometricNormal, p.sunDirection) > 0.f)
                sunRays.push_back(Ray{origin, p.sunDirection, kInfinity});
            const Frame frame(s.shadingNormal);
            for (std::vector<Ray> *set : {&skyRays, &bounceRays}) {
                const Vec3 d = frame.toWorld(Bsdf::cosineDirection(rng.uniform(), rng.uniform()));
                if (dot(d, s.geometricNormal) > 0.f)
                    set->push_back(Ray{origin, d, kInfinity});
            }
        }

        std::printf("\n%s: %u triangles\n", qPrintable(path), view.triangleCount);
        std::printf("  %-16s %9s %10s %14s\n", "rays", "count", "Mray/s", "checksum");
        const auto closestSet = [&](const char *name, const std::vector<Ray> &rays) {
            double sum = 0.0;
            const double t = best(runs, [&] {
                sum = 0.0;
                for (const Ray &r : rays) {
                    const Hit h = tracer.closest(r);
                    sum += h.valid() ? double(h.t) + double(h.prim) : -1.0;
                }
            });
            std::printf("  %-16s %9zu %10.2f %14.6g\n", name, rays.size(),
                        double(rays.size()) / t / 1e6, sum);
        };
        const auto anySet = [&](const char *name, const std::vector<Ray> &rays) {
            size_t blocked = 0;
            const double t = best(runs, [&] {
                blocked = 0;
                for (const Ray &r : rays)
                    blocked += tracer.occluded(r) ? 1 : 0;
            });
            std::printf("  %-16s %9zu %10.2f %14zu\n", name, rays.size(),
                        double(rays.size()) / t / 1e6, blocked);
        };
        closestSet("camera", cameraRays);
        {
            std::vector<Hit> hits(cameraRays.size());
            const double t = best(runs, [&] {
                for (size_t i = 0; i < cameraRays.size(); i += kSpp)
                    intersectClosestWidePacket(*tracer.bvh, view, cameraRays.data() + i, kSpp,
                                               hits.data() + i);
            });
            double sum = 0.0;
            for (const Hit &h : hits)
                sum += h.valid() ? double(h.t) + double(h.prim) : -1.0;
            std::printf("  %-16s %9zu %10.2f %14.6g\n", "camera packets", cameraRays.size(),
                        double(cameraRays.size()) / t / 1e6, sum);
        }
        anySet("sun shadow", sunRays);
        anySet("sky shadow", skyRays);
        closestSet("diffuse bounce", bounceRays);
    }
    return 0;
}
