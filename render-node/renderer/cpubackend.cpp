#include "cpubackend.h"

#include "directlightlanes.h"

#include <algorithm>
#include <cmath>
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#endif
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

namespace {

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define FARM_CAMERA_AVX2 1
#define FARM_AVX2 __attribute__((target("avx2")))
FARM_AVX2 inline __m256i mulBy(__m256i a, uint32_t c)
{
    return _mm256_mullo_epi32(a, _mm256_set1_epi32(int(c)));
}
FARM_AVX2 inline __m256i xorMulBy(__m256i a, uint32_t c)
{
    return _mm256_xor_si256(a, mulBy(a, c));
}
FARM_AVX2 inline __m256i xorShiftedMasked(__m256i b, int shift, uint32_t mask)
{
    return _mm256_xor_si256(b, _mm256_and_si256(_mm256_sll_epi32(b, _mm_cvtsi32_si128(shift)),
                                                _mm256_set1_epi32(int(mask))));
}
/// toUnitFloat on eight lanes.
FARM_AVX2 inline __m256 unitFloats(__m256i bits)
{
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(bits, 8)),
                         _mm256_set1_ps(1.f / 16777216.f));
}
/// filterSamplePosition on one axis for eight lanes.
FARM_AVX2 inline __m256 filmCoords(const RenderParams &p, __m256 u, int pixelCoord)
{
    const __m256 one = _mm256_set1_ps(1.f), two = _mm256_set1_ps(2.f);
    const __m256 base = _mm256_set1_ps(float(pixelCoord));
    if (p.pixelFilter != PixelFilter::BlackmanHarris)
        return _mm256_add_ps(base, u);
    // blackmanHarrisOffset(u)
    const __m256 low = _mm256_cmp_ps(u, _mm256_set1_ps(0.5f), _CMP_LT_OQ);
    const __m256 w = _mm256_blendv_ps(_mm256_sub_ps(_mm256_mul_ps(two, u), one),
                                      _mm256_sub_ps(one, _mm256_mul_ps(two, u)), low);
    const __m256 t = _mm256_mul_ps(w, _mm256_set1_ps(float(kBhTableSize)));
    __m256i i = _mm256_cvttps_epi32(t);
    i = _mm256_min_epi32(_mm256_max_epi32(i, _mm256_setzero_si256()),
                         _mm256_set1_epi32(kBhTableSize - 1));
    const __m256 f = _mm256_sub_ps(t, _mm256_cvtepi32_ps(i));
    const __m256 t0 = _mm256_i32gather_ps(kBhInverseCdf, i, 4);
    const __m256 t1 = _mm256_i32gather_ps(kBhInverseCdf + 1, i, 4);
    const __m256 r = _mm256_add_ps(t0, _mm256_mul_ps(_mm256_sub_ps(t1, t0), f));
    const __m256 offset = _mm256_blendv_ps(r, _mm256_xor_ps(r, _mm256_set1_ps(-0.f)), low);
    return _mm256_add_ps(_mm256_add_ps(base, _mm256_set1_ps(0.5f)),
                         _mm256_mul_ps(_mm256_set1_ps(p.filterRadius), offset));
}
/// pixelSampleRay for eight consecutive samples first..first+7 of one pixel at once (AVX2, no
/// FMA): PixelSampler's camera slot, the pixel filter's offsets and Camera::generateRay's
/// perspective ray, each lane with the scalar code's operations in its order (integer hashes
/// wrap alike; add, mul, div and sqrt round alike), so the rays are the same bits
/// (tst_progressive checks it against pixelSample for both instruction sets). Perspective
/// cameras only.
FARM_AVX2 void cameraRays8(const Camera &camera, const RenderParams &p, int x, int y,
                           uint32_t pixel, int first, Ray *rays)
{
    // The slot's key, and so the scramble's seed and the shift words, is the pixel's.
    const uint32_t key = pixelSampler(p, pixel, first).slotKeyFor(kSlotCamera);
    alignas(32) uint32_t reversed[8];
    for (int k = 0; k < 8; ++k)
        reversed[k] = reverseBits32(uint32_t(first + k));
    // scrambleLowToHigh(reversed, key): the van der Corput values
    __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i *>(reversed));
    v = _mm256_add_epi32(v, _mm256_set1_epi32(int(key)));
    v = xorMulBy(v, 0x2c1b3c6cu);
    v = mulBy(v, (key ^ 0x7feb352du) | 1u);
    v = xorMulBy(v, 0x8e5a4d2au);
    v = _mm256_add_epi32(v, _mm256_set1_epi32(int(key >> 11u)));
    v = xorMulBy(v, 0x5bd1e994u);
    v = mulBy(v, 0x846ca68bu);
    // sobolDim1FromVdc(v)
    __m256i b = xorShiftedMasked(v, 1, 0xaaaaaaaau);
    b = xorShiftedMasked(b, 2, 0xccccccccu);
    b = xorShiftedMasked(b, 4, 0xf0f0f0f0u);
    b = xorShiftedMasked(b, 8, 0xff00ff00u);
    b = xorShiftedMasked(b, 16, 0xffff0000u);
    const __m256 ju = unitFloats(_mm256_xor_si256(v, _mm256_set1_epi32(int(key * 0x2545f491u))));
    const __m256 jv =
        unitFloats(_mm256_xor_si256(b, _mm256_set1_epi32(int(key * 0x6c8e9cf5u + 0xb5297a4du))));
    alignas(32) float xs[8], ys[8];
    _mm256_store_ps(xs, filmCoords(p, ju, x));
    _mm256_store_ps(ys, filmCoords(p, jv, y));
    cameraRays(camera, xs, ys, 8, p.width, p.height, rays); // Camera::generateRay in lanes
}
#endif

} // namespace

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
#if defined(FARM_CAMERA_AVX2)
    const bool simdRays = wideIsa() == WideIsa::Avx2 && !camera.orthographic();
#endif
    Ray rays[kPacketRays];
    Hit hits[kPacketRays];
    for (int first = s0; first < s1; first += kPacketRays) {
        const int n = std::min(kPacketRays, s1 - first);
        int k = 0;
#if defined(FARM_CAMERA_AVX2)
        if (simdRays)
            for (; k + 8 <= n; k += 8)
                cameraRays8(camera, p, x, y, pixel, first + k, rays + k);
#endif
        for (; k < n; ++k) {
            PixelSampler sampler = pixelSampler(p, pixel, first + k);
            rays[k] = pixelSampleRay(camera, p, x, y, sampler);
        }
        intersectClosestWidePacket(*tracer.bvh, view, rays, n, hits);
        for (k = 0; k < n; ++k) {
            if (!hits[k].valid()) { // traceRadiance's answer to a miss, without its call
                add(first + k, skyRadiance(p, rays[k].dir));
                continue;
            }
            // A sampler made afresh is the one that made the camera ray: its camera slot is a
            // pure function of (seed, frame, pixel, sample) and changes no state.
            PixelSampler sampler = pixelSampler(p, pixel, first + k);
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
