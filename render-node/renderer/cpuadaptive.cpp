// The CPU backend with adaptive anti-aliasing (RenderOptions::adaptiveThreshold): a pixel whose
// light is a smooth function over its area (direct light evaluated without noise) needs one
// sample; only edges (outlines, creases, shadow borders, texture detail) need many.
#include "cpubackend.h"
#include "directlightlanes.h"
#include "framebuffer.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <new>
#include <vector>

namespace farm::render {

namespace {

bool sameRay(const Ray &a, const Ray &b)
{
    return std::memcmp(&a, &b, sizeof(Ray)) == 0;
}

/// A tracer that answers one camera ray from a packet's results (what the wide BVH answers for
/// it on its own) and traces any other ray itself. (Under directLightOnly settings the point
/// light's shadow rays go as packets too, from the light: directlight.h.)
struct PacketAnswers
{
    const WideTracer *tracer = nullptr;
    const Ray *camera = nullptr;
    const Hit *hit = nullptr;

    Hit closest(const Ray &ray) const
    {
        return sameRay(ray, *camera) ? *hit : tracer->closest(ray);
    }
    bool occluded(const Ray &ray) const { return tracer->occluded(ray); }
};

/// Up to kPacketRays camera rays traced as one packet (trace) and their hits.
struct PacketResult
{
    Ray rays[kPacketRays];
    Hit hits[kPacketRays];

    void trace(const WideTracer &tracer, int n)
    {
        intersectClosestWidePacket(*tracer.bvh, tracer.view, rays, n, hits);
    }
    PacketAnswers answers(const WideTracer &tracer, int s) const
    {
        return PacketAnswers{&tracer, &rays[s], &hits[s]};
    }
};

/// An edge pixel of a direct-light-only frame: its spp samples (as pixelSample makes them, box
/// filter) traced as one packet, their shadow rays from the light as another; then, when their
/// tone-mapped luminance spreads by more than `spreadForMore`, the sampler's next spp samples
/// the same way. Sets `*extended` when it took them.
/// What renderEdgePixelDirect works in, made once per tile (every entry it reads it writes first).
struct EdgeScratch
{
    PacketResult r;
    DirectSample d[kPacketRays];
    SurfacePoint surfaces[kPacketRays];
    bool blocked[kPacketRays];
};

Vec3 renderEdgePixelDirect(const WideTracer &tracer, const SceneView &view, const Camera &camera,
                           const RenderParams &p, int x, int y, float spreadForMore, bool *extended,
                           EdgeScratch &scratch)
{
    const uint32_t pixel = uint32_t(y) * uint32_t(p.width) + uint32_t(x);
    // The camera jitter of each sample as PixelSampler(seed, frame, pixel, sample).get2D gives it
    // (the camera slot is below every slot count), the pixel's hashing done once.
    const uint32_t cameraKey =
        PixelSampler::slotKey(PixelSampler::pixelKey(p.seed, p.frame, pixel), kSlotCamera);
    Vec3 sum(0.f);
    float toneSum = 0.f, toneSquares = 0.f;
    const auto samples = [&](int first, int count) {
        PacketResult &r = scratch.r;
        DirectSample *d = scratch.d;
        bool *blocked = scratch.blocked;
        float sx[kPacketRays], sy[kPacketRays];
        for (int s = 0; s < count; ++s) {
            float jx, jy;
            PixelSampler::slot2D(cameraKey, uint32_t(first + s), jx, jy);
            sx[s] = float(x) + jx;
            sy[s] = float(y) + jy;
        }
        cameraRays(camera, sx, sy, count, p.width, p.height, r.rays);
        r.trace(tracer, count);
        directSamples(view, p, r.rays, r.hits, count, true, scratch.surfaces, d);
        traceShadows(tracer, d, count, blocked);
        for (int s = 0; s < count; ++s) {
            const Vec3 l = d[s].radiance(blocked[s]);
            if (!isFinite(l)) // as renderPixel
                continue;
            sum += l;
            const float t = toneCurve(luminance(l));
            toneSum += t;
            toneSquares += t * t;
        }
    };
    const int n = p.spp;
    samples(0, n);
    const float mean = toneSum / float(n);
    const float variance = std::max(0.f, toneSquares / float(n) - mean * mean);
    *extended = variance > spreadForMore * spreadForMore;
    if (!*extended)
        return sum / float(n);
    samples(n, n);
    return sum / float(2 * n);
}

/// renderPixel with the pixel's camera rays traced as one packet (an edge pixel's rays run close
/// together). The same image (see intersectClosestWidePacket for the one exception).
Vec3 renderPixelPacket(const WideTracer &tracer, const SceneView &view, const Camera &camera,
                       const RenderParams &p, int x, int y)
{
    const int n = p.spp;
    if (n < 2 || n > kPacketRays || !p.lowDiscrepancy)
        return renderPixel(tracer, view, camera, p, x, y);
    // The samplers and camera rays as pixelSample makes them (box filter), kept for tracing.
    const uint32_t pixel = uint32_t(y) * uint32_t(p.width) + uint32_t(x);
    alignas(PixelSampler) unsigned char storage[kPacketRays][sizeof(PixelSampler)];
    PacketResult r;
    for (int s = 0; s < n; ++s) {
        auto *sampler = new (storage[s]) PixelSampler(
            p.seed, p.frame, pixel, uint32_t(s), vertexSlot(kLowDiscrepancyDepth, kSlotSkyLight));
        float jx, jy;
        sampler->get2D(kSlotCamera, jx, jy);
        r.rays[s] = camera.generateRay(float(x) + jx, float(y) + jy, p.width, p.height);
    }
    r.trace(tracer, n);
    Vec3 sum(0.f);
    for (int s = 0; s < n; ++s) {
        auto &sampler = *reinterpret_cast<PixelSampler *>(storage[s]);
        const Vec3 l = traceRadiance(r.answers(tracer, s), view, p, r.rays[s], sampler, &r.hits[s]);
        if (isFinite(l)) // as renderPixel
            sum += l;
    }
    return sum / float(p.spp);
}

} // namespace

bool renderCpuAdaptive(const Scene &scene, const Camera &camera, const RenderParams &params,
                       Framebuffer &out, int threads, const TileProgress &progress,
                       const std::atomic<bool> *cancel, AovBuffers *aovs, float threshold,
                       AdaptiveStats *stats, float spreadForMore)
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
    const bool direct = directLightOnly(params, view);
    std::vector<float> tone(size_t(width) * size_t(height), toneCurve(luminance(background)));
    std::vector<uint8_t> hits(size_t(width) * size_t(height), 0); // a.pixels[i].hit, compact
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
            // 4 x 4 pixels at a time: their centre rays as one packet (renderPixelWithAov then
            // gets the hits instead of tracing).
            for (int by = r.y0; by < r.y1; by += 4) {
                for (int bx = r.x0; bx < r.x1; bx += 4) {
                    PacketResult packet;
                    int px[kPacketRays], py[kPacketRays], n = 0;
                    float sx[kPacketRays], sy[kPacketRays];
                    for (int y = by; y < std::min(by + 4, r.y1); ++y) {
                        for (int x = bx; x < std::min(bx + 4, r.x1); ++x) {
                            if (bg.outside(x, y)) {
                                out.pixels[size_t(y) * size_t(width) + size_t(x)] = background;
                                continue;
                            }
                            sx[n] = float(x) + 0.5f; // the pixel centre, as renderPixelWithAov
                            sy[n] = float(y) + 0.5f;
                            px[n] = x;
                            py[n++] = y;
                        }
                    }
                    cameraRays(camera, sx, sy, n, width, height, packet.rays);
                    packet.trace(tracer, n);
                    if (direct) {
                        // renderPixelWithAov's image and data passes, the shadow rays from the
                        // light as one packet.
                        DirectSample d[kPacketRays];
                        SurfacePoint s[kPacketRays];
                        bool blocked[kPacketRays];
                        // One surfaceAt for both (no BLEND surface to see through).
                        directSamples(view, params, packet.rays, packet.hits, n, true, s, d);
                        for (int k = 0; k < n; ++k) {
                            const size_t i = size_t(py[k]) * size_t(width) + size_t(px[k]);
                            const Hit &hit = packet.hits[k];
                            a.pixels[i] = hit.valid() ? aovFromSurface(view, camera, nocs,
                                                                       packet.rays[k], hit, s[k])
                                                      : AovSample();
                        }
                        traceShadows(tracer, d, n, blocked);
                        for (int k = 0; k < n; ++k) {
                            const size_t i = size_t(py[k]) * size_t(width) + size_t(px[k]);
                            const Vec3 l = d[k].radiance(blocked[k]);
                            out.pixels[i] = isFinite(l) ? l : Vec3(0.f);
                            tone[i] = toneCurve(luminance(out.pixels[i]));
                            hits[i] = a.pixels[i].hit;
                        }
                        continue;
                    }
                    for (int k = 0; k < n; ++k) {
                        const size_t i = size_t(py[k]) * size_t(width) + size_t(px[k]);
                        out.pixels[i] = renderPixelWithAov(packet.answers(tracer, k), view, camera,
                                                           nocs, params, px[k], py[k], a.pixels[i]);
                        tone[i] = toneCurve(luminance(out.pixels[i]));
                        hits[i] = a.pixels[i].hit;
                    }
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
        const uint8_t hit = hits[i];
        if (x > 0 && x < width - 1 && y > 0 && y < height - 1) { // no neighbour off the frame
            const size_t w = size_t(width);
            const uint8_t *row = &hits[i - w - 1];
            if ((row[0] ^ hit) | (row[1] ^ hit) | (row[2] ^ hit) | (row[w] ^ hit) |
                (row[w + 2] ^ hit) | (row[2 * w] ^ hit) | (row[2 * w + 1] ^ hit) |
                (row[2 * w + 2] ^ hit))
                return true;
            const float *t = &tone[i];
            const size_t offsets[4] = {1, w, w + 1, w - 1}; // kDirections below, in order
            for (const size_t o : offsets) {
                const float second = t[o] + *(t - o) - 2.f * t[0];
                if (std::fabs(second) > threshold)
                    return true;
            }
            return false;
        }
        const auto at = [&](int dx, int dy) {
            const int nx = std::clamp(x + dx, 0, width - 1), ny = std::clamp(y + dy, 0, height - 1);
            return size_t(ny) * size_t(width) + size_t(nx);
        };
        for (int dy = -1; dy <= 1; ++dy)
            for (int dx = -1; dx <= 1; ++dx)
                if (hits[at(dx, dy)] != hit)
                    return true;
        constexpr int kDirections[4][2] = {{1, 0}, {0, 1}, {1, 1}, {1, -1}};
        for (const auto &d : kDirections) {
            const float second = tone[at(d[0], d[1])] + tone[at(-d[0], -d[1])] - 2.f * tone[i];
            if (std::fabs(second) > threshold)
                return true;
        }
        return false;
    };
    // (The test reads `tone` and `hits`, never `out`, so edges can be overwritten in place.)
    const bool directPackets =
        direct && params.lowDiscrepancy && params.spp >= 2 && params.spp <= kPacketRays;
    std::atomic<int> edges{0}, extendedEdges{0};
    finished = grid.run(
        cancel,
        [&](const TileGrid::Rect &r) {
            int tileEdges = 0, tileExtended = 0;
            EdgeScratch scratch;
            for (int y = r.y0; y < r.y1; ++y)
                for (int x = r.x0; x < r.x1; ++x) {
                    if (bg.outside(x, y) || !isEdge(x, y))
                        continue;
                    ++tileEdges;
                    if (directPackets) {
                        bool extended = false;
                        out.at(x, y) = renderEdgePixelDirect(tracer, view, camera, params, x, y,
                                                             spreadForMore, &extended, scratch);
                        tileExtended += extended;
                    } else {
                        out.at(x, y) = renderPixelPacket(tracer, view, camera, params, x, y);
                    }
                }
            edges += tileEdges;
            extendedEdges += tileExtended;
        },
        tileDone);
    if (stats) {
        stats->edgePixels = edges.load();
        stats->extendedPixels = extendedEdges.load();
    }
    return finished;
}

} // namespace farm::render
