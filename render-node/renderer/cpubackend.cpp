#include "cpubackend.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

namespace farm::render {

TileGrid::TileGrid(int w, int h, int threads)
    : width(w)
    , height(h)
    , tilesX((w + kTile - 1) / kTile)
    , tiles(tilesX * ((h + kTile - 1) / kTile))
{
    const int hw = int(std::max(1u, std::thread::hardware_concurrency()));
    workers = std::clamp(threads > 0 ? threads : hw, 1, std::max(1, tiles));
}

TileGrid::Rect TileGrid::rect(int tile) const
{
    const int x0 = (tile % tilesX) * kTile;
    const int y0 = (tile / tilesX) * kTile;
    return {x0, y0, std::min(x0 + kTile, width), std::min(y0 + kTile, height)};
}

bool TileGrid::run(const std::atomic<bool> *cancel,
                   const std::function<void(const Rect &)> &renderTile,
                   const std::function<void()> &tileDone,
                   const std::function<void()> &onCallingThread) const
{
    std::atomic<int> nextTile{0};
    std::atomic<bool> canceled{false};
    std::mutex doneMutex;
    auto work = [&] {
        for (;;) {
            if (cancel && cancel->load(std::memory_order_relaxed)) {
                canceled = true;
                return;
            }
            const int tile = nextTile.fetch_add(1);
            if (tile >= tiles)
                return;
            renderTile(rect(tile));
            std::lock_guard lock(doneMutex);
            tileDone();
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(size_t(workers - 1));
    for (int i = 1; i < workers; ++i)
        pool.emplace_back(work);
    if (onCallingThread)
        onCallingThread();
    work();
    for (std::thread &t : pool)
        t.join();
    return !canceled.load();
}

ConstantBackground constantBackground(const Aabb &bounds, const Camera &camera,
                                      const RenderParams &p)
{
    ConstantBackground bg;
    const bool uniformSky = !p.environment.valid() && p.skyZenith.x == p.skyHorizon.x &&
                            p.skyZenith.y == p.skyHorizon.y && p.skyZenith.z == p.skyHorizon.z &&
                            p.skyZenith.x == p.ground.x && p.skyZenith.y == p.ground.y &&
                            p.skyZenith.z == p.ground.z;
    if (!uniformSky || camera.orthographic() || !bounds.valid())
        return bg;
    float x0 = kInfinity, x1 = -kInfinity, y0 = kInfinity, y1 = -kInfinity;
    for (int i = 0; i < 8; ++i) {
        const Vec3 corner((i & 1) ? bounds.hi.x : bounds.lo.x, (i & 2) ? bounds.hi.y : bounds.lo.y,
                          (i & 4) ? bounds.hi.z : bounds.lo.z);
        const Vec3 d = corner - camera.position;
        const float z = -dot(d, camera.w);
        if (!(z > 1e-6f * (length(d) + 1e-30f))) // a corner beside or behind the camera
            return bg;
        const float sx = (dot(d, camera.u) / z / (camera.tanHalfFovY * camera.aspect) + 1.f) *
                         0.5f * float(p.width);
        const float sy = (1.f - dot(d, camera.v) / z / camera.tanHalfFovY) * 0.5f * float(p.height);
        x0 = std::min(x0, sx);
        x1 = std::max(x1, sx);
        y0 = std::min(y0, sy);
        y1 = std::max(y1, sy);
    }
    if (!(std::isfinite(x0) && std::isfinite(x1) && std::isfinite(y0) && std::isfinite(y1)))
        return bg;
    // Two pixels of margin for the rounding of the projection and of the rays, and the pixel
    // filter's reach beyond its pixel (samples up to filterRadius from the centre).
    const int m = 2 + (p.pixelFilter == PixelFilter::Box ? 0 : int(std::ceil(p.filterRadius)));
    const auto clampTo = [](float v, int hi) { return int(std::clamp(v, -1.f, float(hi) + 1.f)); };
    bg.inside = {std::max(0, clampTo(std::floor(x0), p.width) - m),
                 std::max(0, clampTo(std::floor(y0), p.height) - m),
                 std::min(p.width, clampTo(std::ceil(x1), p.width) + m),
                 std::min(p.height, clampTo(std::ceil(y1), p.height) + m)};
    bg.radiance = p.skyZenith;
    bg.active = true;
    return bg;
}

Vec3 addPixelSamples(const WideTracer &tracer, const SceneView &view, const Camera &camera,
                     const RenderParams &p, int x, int y, int s0, int s1, Vec3 sum, Vec3 *odd)
{
    const auto add = [&](int s, Vec3 l) {
        if (!isFinite(l)) // one bad sample must not poison the pixel
            return;
        sum += l;
        if (odd && (s & 1))
            *odd += l;
    };
    if (!p.lowDiscrepancy) {
        for (int s = s0; s < s1; ++s)
            add(s, pixelSample(tracer, view, camera, p, x, y, s));
        return sum;
    }
    const uint32_t pixel = uint32_t(y) * uint32_t(p.width) + uint32_t(x);
    alignas(PixelSampler) unsigned char storage[kPacketRays][sizeof(PixelSampler)];
    Ray rays[kPacketRays];
    Hit hits[kPacketRays];
    for (int first = s0; first < s1; first += kPacketRays) {
        const int n = std::min(kPacketRays, s1 - first);
        for (int k = 0; k < n; ++k) {
            auto *sampler = new (storage[k]) PixelSampler(pixelSampler(p, pixel, first + k));
            rays[k] = pixelSampleRay(camera, p, x, y, *sampler);
        }
        intersectClosestWidePacket(*tracer.bvh, view, rays, n, hits);
        for (int k = 0; k < n; ++k) {
            if (!hits[k].valid()) { // traceRadiance's answer to a miss, without its call
                add(first + k, skyRadiance(p, rays[k].dir));
                continue;
            }
            auto &sampler = *reinterpret_cast<PixelSampler *>(storage[k]);
            add(first + k, traceRadiance(tracer, view, p, rays[k], sampler, &hits[k]));
        }
    }
    return sum;
}

void fillAovs(const WideTracer &tracer, const SceneView &view, const Camera &camera,
              const NocsFrame &nocs, const TileGrid::Rect &r, AovBuffers &aovs,
              const ConstantBackground &bg)
{
    for (int y = r.y0; y < r.y1; ++y)
        for (int x = r.x0; x < r.x1; ++x)
            if (!bg.outside(x, y)) // outside: stays the background resetAovs left
                aovs.pixels[size_t(y) * size_t(aovs.width) + size_t(x)] =
                    computeAov(tracer, view, camera, nocs, aovs.width, aovs.height, x, y);
}

void resetAovs(AovBuffers *aovs, int width, int height)
{
    if (!aovs)
        return;
    aovs->width = width;
    aovs->height = height;
    aovs->pixels.assign(size_t(width) * size_t(height), AovSample());
}

bool renderCpu(const Scene &scene, const Camera &camera, const RenderParams &params,
               Framebuffer &out, int threads, const TileProgress &progress,
               const std::atomic<bool> *cancel, AovBuffers *aovs, const PassHook &onPass,
               double passSeconds, float adaptiveThreshold, NoiseStop *stop,
               AdaptiveStats *adaptiveStats)
{
    if (stop && stop->active() && params.spp > 1)
        return renderCpuInPasses(scene, camera, params, out, threads, progress, cancel, aovs,
                                 onPass, passSeconds, stop);
    if (adaptiveThreshold > 0.f && params.spp > 1)
        return renderCpuAdaptive(scene, camera, params, out, threads, progress, cancel, aovs,
                                 adaptiveThreshold, adaptiveStats);
    if (onPass && params.spp > 1)
        return renderCpuInPasses(scene, camera, params, out, threads, progress, cancel, aovs,
                                 onPass, passSeconds);
    out = Framebuffer(params.width, params.height);
    const TileGrid grid(params.width, params.height, threads);

    const SceneView view = scene.view();
    const WideTracer tracer{&scene.wideBvh(), view};
    const NocsFrame nocs = nocsFrameFor(scene);
    resetAovs(aovs, params.width, params.height);
    const ConstantBackground bg = constantBackground(scene.bounds(), camera, params);
    // What renderPixel's sum of spp equal samples divided by spp gives (renderCpuInPasses too).
    const Vec3 background = bg.radiance * float(params.spp) / float(params.spp);
    int done = 0;
    return grid.run(
        cancel,
        [&](const TileGrid::Rect &r) {
            const size_t width = size_t(params.width);
            if (aovs && params.spp == 1) {
                for (int y = r.y0; y < r.y1; ++y)
                    for (int x = r.x0; x < r.x1; ++x)
                        out.at(x, y) =
                            bg.outside(x, y)
                                ? background
                                : renderPixelWithAov(tracer, view, camera, nocs, params, x, y,
                                                     aovs->pixels[size_t(y) * width + size_t(x)]);
                return;
            }
            for (int y = r.y0; y < r.y1; ++y)
                for (int x = r.x0; x < r.x1; ++x)
                    out.at(x, y) = bg.outside(x, y)
                                       ? background
                                       : addPixelSamples(tracer, view, camera, params, x, y, 0,
                                                         params.spp, Vec3(0.f)) /
                                             float(params.spp);
            if (aovs)
                fillAovs(tracer, view, camera, nocs, r, *aovs, bg);
        },
        [&] {
            ++done;
            if (progress)
                progress(done, grid.tiles);
        });
}

} // namespace farm::render
