#pragma once

#include "framebuffer.h"
#include "kernel/integrator.h"
#include "passes.h"
#include "scene.h"

#include <atomic>
#include <functional>

namespace farm::render {

/// Called after each finished tile with (units done, units in all); serialized, any thread.
/// Units are tiles, or tiles × samples when rendering in passes.
using TileProgress = std::function<void(int done, int total)>;
/// Called between sample passes with each pixel's radiance summed over its first `samples`.
using PassHook = std::function<void(const Framebuffer &sums, int samples)>;

/// A frame's 32x32 tiles and how many worker threads render them (`threads` <= 0: every core,
/// never more workers than tiles).
struct TileGrid
{
    static constexpr int kTile = 32;
    struct Rect
    {
        int x0, y0, x1, y1;
    };
    int width = 0;
    int height = 0;
    int tilesX = 0;
    int tiles = 0;
    int workers = 1;

    TileGrid(int width, int height, int threads);
    Rect rect(int tile) const;

    /// Renders every tile once on `workers` threads (the calling thread is one of them):
    /// `renderTile` per tile, then `tileDone` under a lock. `onCallingThread` runs on the calling
    /// thread once the other workers have started. Returns false when `cancel` was raised.
    bool run(const std::atomic<bool> *cancel, const std::function<void(const Rect &)> &renderTile,
             const std::function<void()> &tileDone,
             const std::function<void()> &onCallingThread = {}) const;
};

/// Where a frame's camera rays cannot hit anything and all see the same sky: outside the screen
/// rectangle of the scene's bounding box (a pinhole camera with the whole box in front of it),
/// under a sky of one radiance (no environment map, zenith = horizon = ground, as template presets
/// light). Such pixels get that radiance without tracing (what tracing would give them).
struct ConstantBackground
{
    bool active = false;
    TileGrid::Rect inside{0, 0, 0, 0}; // pixels that may see the scene: [x0, x1) x [y0, y1)
    Vec3 radiance;

    bool outside(int x, int y) const
    {
        return active && (x < inside.x0 || x >= inside.x1 || y < inside.y0 || y >= inside.y1);
    }
};
ConstantBackground constantBackground(const Aabb &bounds, const Camera &camera,
                                      const RenderParams &params);

/// When to stop a frame before its `spp` samples (RenderOptions::noiseTarget, timeLimitS). The
/// noise estimate: the samples of each pixel are summed in two halves (even and odd sample
/// numbers), and the RMSE of the whole mean against the true image is estimated as half the RMS
/// difference of the two halves' means (each half has twice the variance of the whole; their
/// difference four times), taken over every pixel and channel after the tone curve (0..1, the
/// values written to an 8-bit image). Made after each sample pass that ends on an even count.
struct NoiseStop
{
    double target = 0.0;     // stop once the estimate is at most this (0: never)
    double timeLimitS = 0.0; // stop once this much time has passed (0: never)
    std::function<void(int samples, double estimate)> onEstimate;
    // Filled in by the renderer:
    int samples = 0;
    double estimate = -1.0;

    bool active() const { return target > 0.0 || timeLimitS > 0.0; }
};

/// What adaptive anti-aliasing did (RenderReport).
struct AdaptiveStats
{
    int edgePixels = 0;     // pixels the neighbourhood test flagged (rendered with all spp)
    int extendedPixels = 0; // edge pixels that took twice spp (kEdgeSpreadForMore)
};

/// Adaptive anti-aliasing of direct-light-only frames (template presets): an edge pixel whose
/// first spp samples' tone-mapped luminance has a standard deviation above this takes spp more
/// (the sampler's first 2 spp samples form a finer net). Where nothing is random but where a
/// sample lands, that spread is the contrast across the pixel's edges, which sets how far the
/// mean of spp samples can be off (docs/TEMPLATES.md, "Clean images at few samples").
inline constexpr float kEdgeSpreadForMore = 0.1f;

/// `sum` plus the radiance of samples s0..s1-1 of pixel (x, y) (pixelSample), added in sample
/// order as renderPixel adds them, a non-finite sample skipped; `odd`, when set, also gets the
/// odd-numbered ones. The samples' camera rays are made up to kPacketRays at a time (with AVX2
/// eight in one go, the same bits) and traced as one packet (intersectClosestWidePacket: the rays
/// of a pixel run close together), then each path goes on alone from its first hit: the same image
/// as pixelSample sample by sample, except where coincident faces tie (see the packet
/// traversal).
Vec3 addPixelSamples(const WideTracer &tracer, const SceneView &view, const Camera &camera,
                     const RenderParams &p, int x, int y, int s0, int s1, Vec3 sum,
                     Vec3 *odd = nullptr);

/// Sizes `aovs` (when set) to the frame, every pixel a miss.
void resetAovs(AovBuffers *aovs, int width, int height);
/// The data passes of tile `r` from its pixel centres (`aovs` already sized by resetAovs).
void fillAovs(const WideTracer &tracer, const SceneView &view, const Camera &camera,
              const NocsFrame &nocs, const TileGrid::Rect &r, AovBuffers &aovs,
              const ConstantBackground &bg = {});

/// Renders the whole frame on `threads` threads (<= 0: every core) over 32x32 tiles, tracing
/// with the scene's wide BVH. Returns false when `cancel` was raised before the frame finished.
/// `aovs`, when set, also gets the first-hit data of every pixel (as renderAovs computes it),
/// each tile right after its beauty pixels while its part of the BVH is in cache.
/// With `onPass` and spp > 1 it renders in sample passes instead (renderCpuInPasses).
bool renderCpu(const Scene &scene, const Camera &camera, const RenderParams &params,
               Framebuffer &out, int threads, const TileProgress &progress = {},
               const std::atomic<bool> *cancel = nullptr, AovBuffers *aovs = nullptr,
               const PassHook &onPass = {}, double passSeconds = 1.0, float adaptiveThreshold = 0.f,
               NoiseStop *stop = nullptr, AdaptiveStats *adaptiveStats = nullptr);

/// Adaptive anti-aliasing (RenderOptions::adaptiveThreshold): one pixel-centre sample with the
/// data passes everywhere, then `params.spp` stratified samples where the neighbourhood shows
/// an edge, and in a direct-light-only frame 2 x spp where those samples spread by more than
/// `spreadForMore` (kEdgeSpreadForMore; infinity: never).
bool renderCpuAdaptive(const Scene &scene, const Camera &camera, const RenderParams &params,
                       Framebuffer &out, int threads, const TileProgress &progress,
                       const std::atomic<bool> *cancel, AovBuffers *aovs, float threshold,
                       AdaptiveStats *stats = nullptr, float spreadForMore = kEdgeSpreadForMore);

/// The same frame, bit for bit, in sample passes over all tiles (nextPassSamples decides their
/// sizes), calling `onPass` between them: a partial image evens out over the frame instead of
/// some tiles being done and others black. `out` holds the running sums until the end.
bool renderCpuInPasses(const Scene &scene, const Camera &camera, const RenderParams &params,
                       Framebuffer &out, int threads, const TileProgress &progress,
                       const std::atomic<bool> *cancel, AovBuffers *aovs, const PassHook &onPass,
                       double passSeconds, NoiseStop *stop = nullptr);

/// Samples of the next pass after `done` of `spp`: 1, 1, 2, 4, ... (each about as long as all
/// before it), but no more than fit in `passSeconds` at the last pass's `secondsPerSample`
/// (0: not timed yet), at least 1, and never past spp.
int nextPassSamples(int done, int previous, double secondsPerSample, double passSeconds, int spp);

} // namespace farm::render
