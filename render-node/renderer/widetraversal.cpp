// Traversal of the 4-wide BVH: SSE box tests for four children, SSE watertight test for four
// triangles. Every arithmetic step mirrors kernel/triangle.h so hits are bit-identical.
#include "widebvh.h"

namespace farm::render {
namespace {

constexpr int kWideStack = 256;

struct Entry
{
    uint32_t index; // node, or first packet of a leaf
    uint32_t count; // 0: node; > 0: packets in the leaf
    float t;
};

/// Calls visit(lane, t, b1, b2) for each lane of the packets that the ray hits within the
/// current tMax (re-read through `tMax` for every lane, since visiting may shrink it).
#if defined(__GNUC__)
#define FARM_INLINE inline __attribute__((always_inline)) // so each target clone gets its own
#else
#define FARM_INLINE inline
#endif

template<typename Visit>
FARM_INLINE bool forEachPacketHit(const WideBvh &bvh, uint32_t first, uint32_t count,
                                  const PreparedRay &r, const float &tMax, Visit &&visit)
{
    for (uint32_t p = first; p < first + count; ++p) {
        const TrianglePacket &pk = bvh.packets[p];
        const int laneMask = (1 << pk.count) - 1;
        float t[4], b1[4], b2[4];
        int valid = 0, zero = 0;
#if defined(__SSE2__)
        const __m128 okx = _mm_set1_ps(r.origin[r.kx]);
        const __m128 oky = _mm_set1_ps(r.origin[r.ky]);
        const __m128 okz = _mm_set1_ps(r.origin[r.kz]);
        const __m128 sx = _mm_set1_ps(r.sx), sy = _mm_set1_ps(r.sy), sz = _mm_set1_ps(r.sz);
        __m128 px[3], py[3], pz[3];
        for (int k = 0; k < 3; ++k) {
            const __m128 ax = _mm_sub_ps(_mm_load_ps(pk.v[k][r.kx]), okx);
            const __m128 ay = _mm_sub_ps(_mm_load_ps(pk.v[k][r.ky]), oky);
            pz[k] = _mm_sub_ps(_mm_load_ps(pk.v[k][r.kz]), okz);
            px[k] = _mm_sub_ps(ax, _mm_mul_ps(sx, pz[k]));
            py[k] = _mm_sub_ps(ay, _mm_mul_ps(sy, pz[k]));
        }
        const __m128 u = _mm_sub_ps(_mm_mul_ps(px[2], py[1]), _mm_mul_ps(py[2], px[1]));
        const __m128 v = _mm_sub_ps(_mm_mul_ps(px[0], py[2]), _mm_mul_ps(py[0], px[2]));
        const __m128 w = _mm_sub_ps(_mm_mul_ps(px[1], py[0]), _mm_mul_ps(py[1], px[0]));
        const __m128 z = _mm_setzero_ps();
        zero = _mm_movemask_ps(_mm_or_ps(_mm_or_ps(_mm_cmpeq_ps(u, z), _mm_cmpeq_ps(v, z)),
                                         _mm_cmpeq_ps(w, z))) &
               laneMask;
        const __m128 neg =
            _mm_or_ps(_mm_or_ps(_mm_cmplt_ps(u, z), _mm_cmplt_ps(v, z)), _mm_cmplt_ps(w, z));
        const __m128 pos =
            _mm_or_ps(_mm_or_ps(_mm_cmpgt_ps(u, z), _mm_cmpgt_ps(v, z)), _mm_cmpgt_ps(w, z));
        const __m128 det = _mm_add_ps(_mm_add_ps(u, v), w);
        const __m128 tScaled = _mm_add_ps(
            _mm_add_ps(_mm_mul_ps(u, _mm_mul_ps(sz, pz[0])), _mm_mul_ps(v, _mm_mul_ps(sz, pz[1]))),
            _mm_mul_ps(w, _mm_mul_ps(sz, pz[2])));
        const __m128 signBit = _mm_set1_ps(-0.f);
        const __m128 signedT = _mm_xor_ps(tScaled, _mm_and_ps(det, signBit));
        const __m128 absDet = _mm_andnot_ps(signBit, det);
        const __m128 tMaxV = _mm_set1_ps(tMax);
        __m128 ok = _mm_andnot_ps(_mm_and_ps(neg, pos), _mm_cmpneq_ps(det, z));
        ok = _mm_and_ps(ok, _mm_cmpgt_ps(signedT, z));
        ok = _mm_and_ps(ok, _mm_cmple_ps(signedT, _mm_mul_ps(tMaxV, absDet)));
        // Most packets miss: skip the division (the slowest step) unless a lane can still hit.
        if (!((_mm_movemask_ps(ok) & laneMask) | zero))
            continue;
        const __m128 inv = _mm_div_ps(_mm_set1_ps(1.f), det);
        const __m128 tv = _mm_mul_ps(tScaled, inv);
        ok = _mm_and_ps(ok, _mm_cmple_ps(tv, tMaxV));
        valid = _mm_movemask_ps(ok) & laneMask & ~zero;
        if (!(valid | zero))
            continue;
        _mm_storeu_ps(t, tv);
        _mm_storeu_ps(b1, _mm_mul_ps(v, inv));
        _mm_storeu_ps(b2, _mm_mul_ps(w, inv));
#else
        zero = laneMask; // no SIMD: every lane takes the scalar path below
#endif
        for (int lane = 0; lane < int(pk.count); ++lane) {
            const int bit = 1 << lane;
            float lt, lb1, lb2;
            if (zero & bit) {
                const Vec3 v0(pk.v[0][0][lane], pk.v[0][1][lane], pk.v[0][2][lane]);
                const Vec3 v1(pk.v[1][0][lane], pk.v[1][1][lane], pk.v[1][2][lane]);
                const Vec3 v2(pk.v[2][0][lane], pk.v[2][1][lane], pk.v[2][2][lane]);
                if (!intersectTriangle(r, v0, v1, v2, tMax, lt, lb1, lb2))
                    continue;
            } else if (valid & bit) {
                lt = t[lane];
                lb1 = b1[lane];
                lb2 = b2[lane];
                if (lt > tMax)
                    continue;
            } else {
                continue;
            }
            if (visit(pk.slot[lane], lt, lb1, lb2))
                return true;
        }
    }
    return false;
}

struct WideRay
{
#if defined(__SSE2__)
    __m128 ox, oy, oz, ix, iy, iz;
#endif
    int nx, ny, nz; // 0: the near plane is lo, 1: it is hi (negative direction)

    explicit WideRay(const PreparedRay &r)
    {
#if defined(__SSE2__)
        ox = _mm_set1_ps(r.origin.x);
        oy = _mm_set1_ps(r.origin.y);
        oz = _mm_set1_ps(r.origin.z);
        ix = _mm_set1_ps(r.invDir.x);
        iy = _mm_set1_ps(r.invDir.y);
        iz = _mm_set1_ps(r.invDir.z);
#endif
        nx = r.invDir.x < 0.f ? 1 : 0;
        ny = r.invDir.y < 0.f ? 1 : 0;
        nz = r.invDir.z < 0.f ? 1 : 0;
    }
};

/// Entry distances of the four children into tNear; returns the mask of boxes hit.
FARM_INLINE int intersectChildren(const WideNode &n, const WideRay &w, const PreparedRay &r,
                                  float tMax, float tNear[4])
{
#if defined(__SSE2__)
    (void)r;
    const __m128 grow = _mm_set1_ps(1.0000004f); // see intersectBox in kernel/triangle.h
    const __m128 nx = _mm_mul_ps(_mm_sub_ps(_mm_load_ps(n.box[w.nx]), w.ox), w.ix);
    const __m128 fx =
        _mm_mul_ps(_mm_mul_ps(_mm_sub_ps(_mm_load_ps(n.box[1 - w.nx]), w.ox), w.ix), grow);
    const __m128 ny = _mm_mul_ps(_mm_sub_ps(_mm_load_ps(n.box[2 + w.ny]), w.oy), w.iy);
    const __m128 fy =
        _mm_mul_ps(_mm_mul_ps(_mm_sub_ps(_mm_load_ps(n.box[3 - w.ny]), w.oy), w.iy), grow);
    const __m128 nz = _mm_mul_ps(_mm_sub_ps(_mm_load_ps(n.box[4 + w.nz]), w.oz), w.iz);
    const __m128 fz =
        _mm_mul_ps(_mm_mul_ps(_mm_sub_ps(_mm_load_ps(n.box[5 - w.nz]), w.oz), w.iz), grow);
    const __m128 tn = _mm_max_ps(_mm_max_ps(nx, ny), _mm_max_ps(nz, _mm_setzero_ps()));
    const __m128 tf = _mm_min_ps(_mm_min_ps(fx, fy), _mm_min_ps(fz, _mm_set1_ps(tMax)));
    _mm_storeu_ps(tNear, tn);
    return _mm_movemask_ps(_mm_cmple_ps(tn, tf));
#else
    (void)w;
    int mask = 0;
    for (int i = 0; i < 4; ++i) {
        const float lo[3] = {n.box[0][i], n.box[2][i], n.box[4][i]};
        const float hi[3] = {n.box[1][i], n.box[3][i], n.box[5][i]};
        if (!(lo[0] <= hi[0]))
            continue; // empty slot
        tNear[i] = intersectBox(r, lo, hi, tMax);
        if (tNear[i] >= 0.f)
            mask |= 1 << i;
    }
    return mask;
#endif
}

/// Shared traversal: visit(slot, t, b1, b2) returns true to stop (any-hit). Ordered visits
/// children nearest first (closest hit); unordered tests leaves as soon as their box is hit and
/// skips the sorting (shadow rays only need some hit).
template<bool Ordered, typename Visit>
FARM_INLINE bool traverse(const WideBvh &bvh, const PreparedRay &r, const float &tMax,
                          Visit &&visit)
{
    if (bvh.nodes.empty())
        return false;
    const WideRay w(r);
    Entry stack[kWideStack];
    int top = 0;
    Entry e{0, 0, 0.f};
    for (;;) {
        // The nearest child hit by the previous node is visited next without a stack round trip.
        bool descend = false;
        if (e.t > tMax) {
            // a closer hit was found since this entry was pushed
        } else if (e.count > 0) {
            if (forEachPacketHit(bvh, e.index, e.count, r, tMax, visit))
                return true;
        } else {
            const WideNode &n = bvh.nodes[e.index];
            float tNear[4];
            int mask = intersectChildren(n, w, r, tMax, tNear);
            Entry hits[4];
            int k = 0;
            while (mask) {
                const int i = __builtin_ctz(unsigned(mask));
                mask &= mask - 1;
                if (n.child[i] == WideNode::kEmpty)
                    continue;
                const Entry h{n.child[i], n.count[i], tNear[i]};
                if constexpr (!Ordered) {
                    if (h.count > 0) {
                        if (forEachPacketHit(bvh, h.index, h.count, r, tMax, visit))
                            return true;
                    } else {
                        hits[k++] = h; // interior: unsorted, the last one is visited next
                    }
                    continue;
                }
                int j = k++;
                for (; j > 0 && hits[j - 1].t < h.t; --j) // far to near: the nearest is last
                    hits[j] = hits[j - 1];
                hits[j] = h;
            }
            if (k > 0) {
                for (int j = 0; j < k - 1 && top < kWideStack; ++j)
                    stack[top++] = hits[j];
                e = hits[k - 1];
                descend = true;
            }
        }
        if (!descend) {
            if (top == 0)
                break;
            e = stack[--top];
        }
    }
    return false;
}

} // namespace

// x86-64 builds get an AVX2 copy of both traversals (three-operand VEX encoding; the kernel's
// 4-wide arithmetic is unchanged and "avx2" does not enable FMA, so hits stay bit-identical),
// picked at load time by the CPU: no -march flag, the binary still runs on any x86-64.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define FARM_WIDE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FARM_WIDE_CLONES
#endif

/// Closest hit skipping alpha-masked cut-outs (any-hit test per candidate); kept out of line so
/// the common unmasked traversal below compiles exactly as before.
static __attribute__((noinline)) Hit intersectClosestMasked(const WideBvh &bvh,
                                                            const SceneView &view, const Ray &ray)
{
    Hit hit;
    hit.t = ray.tMax;
    const PreparedRay r(ray);
    traverse<true>(bvh, r, hit.t, [&](uint32_t slot, float t, float b1, float b2) {
        if (t == hit.t && hit.valid() && view.primIds[slot] > view.primIds[hit.prim])
            return false;
        if (alphaCutOut(view, slot, b1, b2))
            return false;
        hit = Hit{t, b1, b2, slot};
        return false;
    });
    return hit;
}

static __attribute__((noinline)) bool intersectAnyMasked(const WideBvh &bvh, const SceneView &view,
                                                         const Ray &ray)
{
    const PreparedRay r(ray);
    const float tMax = ray.tMax;
    return traverse<false>(bvh, r, tMax, [&view](uint32_t slot, float, float b1, float b2) {
        return !alphaCutOut(view, slot, b1, b2); // a cut-out hit does not block the ray
    });
}

FARM_WIDE_CLONES Hit intersectClosestWide(const WideBvh &bvh, const SceneView &view, const Ray &ray)
{
    if (view.alphaMasked)
        return intersectClosestMasked(bvh, view, ray);
    Hit hit;
    hit.t = ray.tMax;
    const PreparedRay r(ray);
    traverse<true>(bvh, r, hit.t, [&](uint32_t slot, float t, float b1, float b2) {
        if (t == hit.t && hit.valid() && view.primIds[slot] > view.primIds[hit.prim])
            return false;
        hit = Hit{t, b1, b2, slot};
        return false;
    });
    return hit;
}

FARM_WIDE_CLONES bool intersectAnyWide(const WideBvh &bvh, const SceneView &view, const Ray &ray)
{
    if (view.alphaMasked)
        return intersectAnyMasked(bvh, view, ray);
    const PreparedRay r(ray);
    const float tMax = ray.tMax;
    return traverse<false>(bvh, r, tMax, [](uint32_t, float, float, float) { return true; });
}

} // namespace farm::render
