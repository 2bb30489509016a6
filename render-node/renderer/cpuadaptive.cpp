// The CPU backend with adaptive anti-aliasing (RenderOptions::adaptiveThreshold): a pixel whose
// light is a smooth function over its area (direct light evaluated without noise) needs one
// sample; only edges (outlines, creases, shadow borders, texture detail) need many.
#include "cpubackend.h"
#include "framebuffer.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

namespace farm::render {

bool renderCpuAdaptive(const Scene &scene, const Camera &camera, const RenderParams &params,
                       Framebuffer &out, int threads, const TileProgress &progress,
                       const std::atomic<bool> *cancel, AovBuffers *aovs, float threshold,
                       AdaptiveStats *stats)
{
    const int width = params.width, height = params.height;
    out = Framebuffer(width, height);
    const TileGrid grid(width, height, threads);
    const SceneView view = scene.view();
    const WideTracer tracer{&scene.wideBvh(), view};
    const NocsFrame nocs = nocsFrameFor(scene);
    AovBuffers local;
    AovBuffers &a = aovs ? *aovs : local; // the outline test needs the hits either way
    resetAovs(&a, width, height);
    const ConstantBackground bg = constantBackground(scene.bounds(), camera, params);
    const Vec3 background = bg.radiance * float(params.spp) / float(params.spp);

    // Pass 1: the pixel centre's sample (and its data passes), and its tone-mapped luminance.
    std::vector<float> tone(size_t(width) * size_t(height), toneCurve(luminance(background)));
    int done = 0;
    const int units = 2 * grid.tiles;
    const auto tileDone = [&] {
        ++done;
        if (progress)
            progress(done, units);
    };
    bool finished = grid.run(
        cancel,
        [&](const TileGrid::Rect &r) {
            for (int y = r.y0; y < r.y1; ++y) {
                for (int x = r.x0; x < r.x1; ++x) {
                    const size_t i = size_t(y) * size_t(width) + size_t(x);
                    if (bg.outside(x, y)) {
                        out.pixels[i] = background;
                        continue;
                    }
                    out.pixels[i] =
                        renderPixelWithAov(tracer, view, camera, nocs, params, x, y, a.pixels[i]);
                    tone[i] = toneCurve(luminance(out.pixels[i]));
                }
            }
        },
        tileDone);
    if (!finished)
        return false;

    // Pass 2: pixels whose neighbourhood shows an edge get spp stratified samples instead: the
    // outline (a neighbour hits where this pixel misses or the other way round), or a kink in
    // the tone-mapped luminance along a row, column or diagonal (the second difference; a
    // smooth gradient, where the centre sample is the pixel's mean, has none).
    const auto isEdge = [&](int x, int y) {
        const size_t i = size_t(y) * size_t(width) + size_t(x);
        const bool hit = a.pixels[i].hit;
        const auto at = [&](int dx, int dy) {
            const int nx = std::clamp(x + dx, 0, width - 1), ny = std::clamp(y + dy, 0, height - 1);
            return size_t(ny) * size_t(width) + size_t(nx);
        };
        for (int dy = -1; dy <= 1; ++dy)
            for (int dx = -1; dx <= 1; ++dx)
                if (a.pixels[at(dx, dy)].hit != hit)
                    return true;
        constexpr int kDirections[4][2] = {{1, 0}, {0, 1}, {1, 1}, {1, -1}};
        for (const auto &d : kDirections) {
            const float second = tone[at(d[0], d[1])] + tone[at(-d[0], -d[1])] - 2.f * tone[i];
            if (std::fabs(second) > threshold)
                return true;
        }
        return false;
    };
    // (The test reads `tone` and the hits, never `out`, so edges can be overwritten in place.)
    std::atomic<int> edges{0};
    finished = grid.run(
        cancel,
        [&](const TileGrid::Rect &r) {
            int tileEdges = 0;
            for (int y = r.y0; y < r.y1; ++y)
                for (int x = r.x0; x < r.x1; ++x)
                    if (!bg.outside(x, y) && isEdge(x, y)) {
                        out.at(x, y) = renderPixel(tracer, view, camera, params, x, y);
                        ++tileEdges;
                    }
            edges += tileEdges;
        },
        tileDone);
    if (stats) {
        stats->edgePixels = edges.load();
    }
    return finished;
}

} // namespace farm::render
