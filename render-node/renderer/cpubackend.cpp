#include "cpubackend.h"

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

namespace farm::render {

bool renderCpu(const Scene &scene, const Camera &camera, const RenderParams &params,
               Framebuffer &out, int threads, const TileProgress &progress,
               const std::atomic<bool> *cancel, AovBuffers *aovs)
{
    constexpr int kTile = 32;
    out = Framebuffer(params.width, params.height);
    const int tilesX = (params.width + kTile - 1) / kTile;
    const int tilesY = (params.height + kTile - 1) / kTile;
    const int total = tilesX * tilesY;
    const int hw = int(std::max(1u, std::thread::hardware_concurrency()));
    const int workers = std::clamp(threads > 0 ? threads : hw, 1, total);

    const SceneView view = scene.view();
    const WideTracer tracer{&scene.wideBvh(), view};
    const NocsFrame nocs = nocsFrameFor(scene);
    if (aovs) {
        aovs->width = params.width;
        aovs->height = params.height;
        aovs->pixels.assign(size_t(params.width) * size_t(params.height), AovSample());
    }
    std::atomic<int> nextTile{0};
    std::atomic<bool> canceled{false};
    int done = 0;
    std::mutex progressMutex;

    auto work = [&] {
        for (;;) {
            if (cancel && cancel->load(std::memory_order_relaxed)) {
                canceled = true;
                return;
            }
            const int tile = nextTile.fetch_add(1);
            if (tile >= total)
                return;
            const int x0 = (tile % tilesX) * kTile;
            const int y0 = (tile / tilesX) * kTile;
            const int x1 = std::min(x0 + kTile, params.width);
            const int y1 = std::min(y0 + kTile, params.height);
            for (int y = y0; y < y1; ++y)
                for (int x = x0; x < x1; ++x)
                    out.at(x, y) = renderPixel(tracer, view, camera, params, x, y);
            if (aovs)
                for (int y = y0; y < y1; ++y)
                    for (int x = x0; x < x1; ++x)
                        aovs->pixels[size_t(y) * size_t(params.width) + size_t(x)] = computeAov(
                            tracer, view, camera, nocs, params.width, params.height, x, y);
            std::lock_guard lock(progressMutex);
            ++done;
            if (progress)
                progress(done, total);
        }
    };

    std::vector<std::thread> pool;
    pool.reserve(size_t(workers - 1));
    for (int i = 1; i < workers; ++i)
        pool.emplace_back(work);
    work();
    for (std::thread &t : pool)
        t.join();
    return !canceled.load();
}

} // namespace farm::render
