#include "cpubackend.h"

#include <algorithm>
#include <mutex>
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

void fillAovs(const WideTracer &tracer, const SceneView &view, const Camera &camera,
              const NocsFrame &nocs, const TileGrid::Rect &r, AovBuffers &aovs)
{
    for (int y = r.y0; y < r.y1; ++y)
        for (int x = r.x0; x < r.x1; ++x)
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
               double passSeconds)
{
    if (onPass && params.spp > 1)
        return renderCpuInPasses(scene, camera, params, out, threads, progress, cancel, aovs,
                                 onPass, passSeconds);
    out = Framebuffer(params.width, params.height);
    const TileGrid grid(params.width, params.height, threads);

    const SceneView view = scene.view();
    const WideTracer tracer{&scene.wideBvh(), view};
    const NocsFrame nocs = nocsFrameFor(scene);
    resetAovs(aovs, params.width, params.height);
    int done = 0;
    return grid.run(
        cancel,
        [&](const TileGrid::Rect &r) {
            const size_t width = size_t(params.width);
            if (aovs && params.spp == 1) {
                for (int y = r.y0; y < r.y1; ++y)
                    for (int x = r.x0; x < r.x1; ++x)
                        out.at(x, y) =
                            renderPixelWithAov(tracer, view, camera, nocs, params, x, y,
                                               aovs->pixels[size_t(y) * width + size_t(x)]);
                return;
            }
            for (int y = r.y0; y < r.y1; ++y)
                for (int x = r.x0; x < r.x1; ++x)
                    out.at(x, y) = renderPixel(tracer, view, camera, params, x, y);
            if (aovs)
                fillAovs(tracer, view, camera, nocs, r, *aovs);
        },
        [&] {
            ++done;
            if (progress)
                progress(done, grid.tiles);
        });
}

} // namespace farm::render
