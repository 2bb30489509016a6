#pragma once

// Traversal of the 8-wide BVH, compiled twice: by widetraversal.cpp for the baseline x86-64
// (SSE2: each 8-lane step is two 4-lane instructions; plain scalar code elsewhere) and by
// widetraversal_avx2.cpp with -mavx2 (one 8-lane instruction). Every arithmetic step mirrors
// kernel/triangle.h (no FMA: -mavx2 does not enable it), so both give bit-identical hits.
// Everything here has internal linkage: the two compilations never get merged by the linker
// (the kernel functions they call are always inlined).

#include "widebvh.h"

#include <algorithm>
#include <cmath>
#include <new>

#if defined(__AVX2__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace farm::render {

// The entry points of the two compilations (widetraversal.cpp dispatches between them).
Hit intersectClosestWideBase(const WideBvh &bvh, const SceneView &view, const Ray &ray);
bool intersectAnyWideBase(const WideBvh &bvh, const SceneView &view, const Ray &ray);
Hit intersectClosestWideAvx2(const WideBvh &bvh, const SceneView &view, const Ray &ray);
bool intersectAnyWideAvx2(const WideBvh &bvh, const SceneView &view, const Ray &ray);
void intersectClosestWidePacketBase(const WideBvh &bvh, const SceneView &view, const Ray *rays,
                                    int n, Hit *hits);
void intersectAnyWidePacketBase(const WideBvh &bvh, const SceneView &view, const Ray *rays, int n,
                                bool *occluded);
void intersectClosestWidePacketAvx2(const WideBvh &bvh, const SceneView &view, const Ray *rays,
                                    int n, Hit *hits);
void intersectAnyWidePacketAvx2(const WideBvh &bvh, const SceneView &view, const Ray *rays, int n,
                                bool *occluded);

namespace {

#if defined(__GNUC__)
#define FARM_WIDE_INLINE inline __attribute__((always_inline))
#else
#define FARM_WIDE_INLINE inline
#endif

// Deep enough for any tree the builder makes: depth <= 56 binary levels, so <= 56 wide levels
// each pushing at most 7 entries.
constexpr int kWideStack = 56 * (kWideLanes - 1) + kWideLanes;

struct Entry
{
    uint32_t index; // node, or first packet of a leaf
    uint32_t count; // 0: node; > 0: triangles in the leaf
    float t;
};

#if defined(__AVX2__) || defined(__SSE2__)
#define FARM_WIDE_SIMD 1
#if defined(__AVX2__)
using V = __m256;
constexpr int kW = 8;
FARM_WIDE_INLINE V vload(const float *p)
{
    return _mm256_load_ps(p);
}
FARM_WIDE_INLINE V vset(float x)
{
    return _mm256_set1_ps(x);
}
FARM_WIDE_INLINE V vzero()
{
    return _mm256_setzero_ps();
}
FARM_WIDE_INLINE V vadd(V a, V b)
{
    return _mm256_add_ps(a, b);
}
FARM_WIDE_INLINE V vsub(V a, V b)
{
    return _mm256_sub_ps(a, b);
}
FARM_WIDE_INLINE V vmul(V a, V b)
{
    return _mm256_mul_ps(a, b);
}
FARM_WIDE_INLINE V vdiv(V a, V b)
{
    return _mm256_div_ps(a, b);
}
FARM_WIDE_INLINE V vmin(V a, V b)
{
    return _mm256_min_ps(a, b);
}
FARM_WIDE_INLINE V vmax(V a, V b)
{
    return _mm256_max_ps(a, b);
}
FARM_WIDE_INLINE V vand(V a, V b)
{
    return _mm256_and_ps(a, b);
}
FARM_WIDE_INLINE V vor(V a, V b)
{
    return _mm256_or_ps(a, b);
}
FARM_WIDE_INLINE V vandnot(V a, V b)
{
    return _mm256_andnot_ps(a, b);
}
FARM_WIDE_INLINE V vxor(V a, V b)
{
    return _mm256_xor_ps(a, b);
}
FARM_WIDE_INLINE V vlt(V a, V b)
{
    return _mm256_cmp_ps(a, b, _CMP_LT_OQ);
}
FARM_WIDE_INLINE V vgt(V a, V b)
{
    return _mm256_cmp_ps(a, b, _CMP_GT_OQ);
}
FARM_WIDE_INLINE V vle(V a, V b)
{
    return _mm256_cmp_ps(a, b, _CMP_LE_OQ);
}
FARM_WIDE_INLINE V veq(V a, V b)
{
    return _mm256_cmp_ps(a, b, _CMP_EQ_OQ);
}
FARM_WIDE_INLINE V vneq(V a, V b)
{
    return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ);
}
FARM_WIDE_INLINE int vmask(V a)
{
    return _mm256_movemask_ps(a);
}
FARM_WIDE_INLINE void vstore(float *p, V a)
{
    _mm256_store_ps(p, a);
}
#else
using V = __m128;
constexpr int kW = 4;
FARM_WIDE_INLINE V vload(const float *p)
{
    return _mm_load_ps(p);
}
FARM_WIDE_INLINE V vset(float x)
{
    return _mm_set1_ps(x);
}
FARM_WIDE_INLINE V vzero()
{
    return _mm_setzero_ps();
}
FARM_WIDE_INLINE V vadd(V a, V b)
{
    return _mm_add_ps(a, b);
}
FARM_WIDE_INLINE V vsub(V a, V b)
{
    return _mm_sub_ps(a, b);
}
FARM_WIDE_INLINE V vmul(V a, V b)
{
    return _mm_mul_ps(a, b);
}
FARM_WIDE_INLINE V vdiv(V a, V b)
{
    return _mm_div_ps(a, b);
}
FARM_WIDE_INLINE V vmin(V a, V b)
{
    return _mm_min_ps(a, b);
}
FARM_WIDE_INLINE V vmax(V a, V b)
{
    return _mm_max_ps(a, b);
}
FARM_WIDE_INLINE V vand(V a, V b)
{
    return _mm_and_ps(a, b);
}
FARM_WIDE_INLINE V vor(V a, V b)
{
    return _mm_or_ps(a, b);
}
FARM_WIDE_INLINE V vandnot(V a, V b)
{
    return _mm_andnot_ps(a, b);
}
FARM_WIDE_INLINE V vxor(V a, V b)
{
    return _mm_xor_ps(a, b);
}
FARM_WIDE_INLINE V vlt(V a, V b)
{
    return _mm_cmplt_ps(a, b);
}
FARM_WIDE_INLINE V vgt(V a, V b)
{
    return _mm_cmpgt_ps(a, b);
}
FARM_WIDE_INLINE V vle(V a, V b)
{
    return _mm_cmple_ps(a, b);
}
FARM_WIDE_INLINE V veq(V a, V b)
{
    return _mm_cmpeq_ps(a, b);
}
FARM_WIDE_INLINE V vneq(V a, V b)
{
    return _mm_cmpneq_ps(a, b);
}
FARM_WIDE_INLINE int vmask(V a)
{
    return _mm_movemask_ps(a);
}
FARM_WIDE_INLINE void vstore(float *p, V a)
{
    _mm_store_ps(p, a);
}
#endif

/// The ray broadcast to all lanes once: box slabs (origin, 1/dir) and the triangle test's
/// sheared frame (origin in kx/ky/kz order, shear).
struct WideRay
{
    V ox, oy, oz, ix, iy, iz;
    V okx, oky, okz, sx, sy, sz;
    int nx, ny, nz; // 0: the near plane is lo, 1: it is hi (negative direction)
    int kx, ky, kz;

    explicit WideRay(const PreparedRay &r)
        : ox(vset(r.origin.x))
        , oy(vset(r.origin.y))
        , oz(vset(r.origin.z))
        , ix(vset(r.invDir.x))
        , iy(vset(r.invDir.y))
        , iz(vset(r.invDir.z))
        , okx(vset(r.origin[r.kx]))
        , oky(vset(r.origin[r.ky]))
        , okz(vset(r.origin[r.kz]))
        , sx(vset(r.sx))
        , sy(vset(r.sy))
        , sz(vset(r.sz))
        , nx(r.invDir.x < 0.f ? 1 : 0)
        , ny(r.invDir.y < 0.f ? 1 : 0)
        , nz(r.invDir.z < 0.f ? 1 : 0)
        , kx(r.kx)
        , ky(r.ky)
        , kz(r.kz)
    {}
};

/// Entry distances of the eight children into tNear; returns the mask of boxes hit.
FARM_WIDE_INLINE int intersectChildren(const WideNode &n, const WideRay &w, float tMax,
                                       float *tNear)
{
    const V grow = vset(1.0000004f); // see intersectBox in kernel/triangle.h
    const V far = vset(tMax);
    int mask = 0;
    for (int h = 0; h < kWideLanes; h += kW) {
        const V nx = vmul(vsub(vload(n.box[w.nx] + h), w.ox), w.ix);
        const V fx = vmul(vsub(vload(n.box[1 - w.nx] + h), w.ox), w.ix);
        const V ny = vmul(vsub(vload(n.box[2 + w.ny] + h), w.oy), w.iy);
        const V fy = vmul(vsub(vload(n.box[3 - w.ny] + h), w.oy), w.iy);
        const V nz = vmul(vsub(vload(n.box[4 + w.nz] + h), w.oz), w.iz);
        const V fz = vmul(vsub(vload(n.box[5 - w.nz] + h), w.oz), w.iz);
        const V tn = vmax(vmax(nx, ny), vmax(nz, vzero()));
        // One growth of the nearest far plane instead of three: rounding is monotonic, so
        // min(a, b) * grow == min(a * grow, b * grow) exactly (a NaN plane drops out of the min,
        // or leaves only tMax: the box is then never culled by it).
        const V tf = vmin(vmul(vmin(vmin(fx, fy), fz), grow), far);
        vstore(tNear + h, tn);
        mask |= vmask(vle(tn, tf)) << h;
    }
    return mask;
}

/// The watertight test on lanes [h, h + kW) of a packet: returns the mask (bit i = lane h + i)
/// of lanes that hit within tMax, their t/b1/b2 stored at [h, h + kW), and through `zero` the
/// lanes with an edge function of exactly zero (re-evaluated by the scalar test, which falls
/// back to double precision there).
FARM_WIDE_INLINE int packetTest(const TrianglePacket &pk, int h, const WideRay &w, float tMax,
                                float *t, float *b1, float *b2, int &zero)
{
    V px[3], py[3], pz[3];
    for (int k = 0; k < 3; ++k) {
        const V ax = vsub(vload(pk.v[k][w.kx] + h), w.okx);
        const V ay = vsub(vload(pk.v[k][w.ky] + h), w.oky);
        pz[k] = vsub(vload(pk.v[k][w.kz] + h), w.okz);
        px[k] = vsub(ax, vmul(w.sx, pz[k]));
        py[k] = vsub(ay, vmul(w.sy, pz[k]));
    }
    const V u = vsub(vmul(px[2], py[1]), vmul(py[2], px[1]));
    const V v = vsub(vmul(px[0], py[2]), vmul(py[0], px[2]));
    const V wv = vsub(vmul(px[1], py[0]), vmul(py[1], px[0]));
    const V z = vzero();
    zero = vmask(vor(vor(veq(u, z), veq(v, z)), veq(wv, z)));
    const V neg = vor(vor(vlt(u, z), vlt(v, z)), vlt(wv, z));
    const V pos = vor(vor(vgt(u, z), vgt(v, z)), vgt(wv, z));
    const V det = vadd(vadd(u, v), wv);
    const V tScaled = vadd(vadd(vmul(u, vmul(w.sz, pz[0])), vmul(v, vmul(w.sz, pz[1]))),
                           vmul(wv, vmul(w.sz, pz[2])));
    const V signBit = vset(-0.f);
    const V signedT = vxor(tScaled, vand(det, signBit));
    const V absDet = vandnot(signBit, det);
    const V tMaxV = vset(tMax);
    V ok = vandnot(vand(neg, pos), vneq(det, z));
    ok = vand(ok, vgt(signedT, z));
    ok = vand(ok, vle(signedT, vmul(tMaxV, absDet)));
    // Most packets miss: skip the division (the slowest step) unless a lane can still hit.
    if (!(vmask(ok) & ~zero))
        return 0;
    const V inv = vdiv(vset(1.f), det);
    const V tv = vmul(tScaled, inv);
    ok = vand(ok, vle(tv, tMaxV));
    const int valid = vmask(ok) & ~zero;
    if (valid) {
        vstore(t + h, tv);
        vstore(b1 + h, vmul(v, inv));
        vstore(b2 + h, vmul(wv, inv));
    }
    return valid;
}

#else
struct WideRay // nothing to broadcast without SIMD
{
    explicit WideRay(const PreparedRay &) {}
};
#endif // FARM_WIDE_SIMD

/// Calls visit(slot, t, b1, b2) for each lane of the packets that the ray hits within the
/// current tMax (re-read through `tMax` for every lane, since visiting may shrink it); stops
/// and returns true when visit does.
template<typename Visit>
FARM_WIDE_INLINE bool forEachPacketHit(const WideBvh &bvh, uint32_t first, uint32_t count,
                                       const PreparedRay &r, const WideRay &w, const float &tMax,
                                       Visit &visit)
{
    for (uint32_t p = first, left = count; left > 0; ++p) {
        const TrianglePacket &pk = bvh.packets[p];
        const uint32_t used = left < uint32_t(kWideLanes) ? left : uint32_t(kWideLanes);
        left -= used;
        const int laneMask = int((1u << used) - 1u);
        alignas(32) float t[kWideLanes], b1[kWideLanes], b2[kWideLanes];
        int valid = 0, zero = 0;
#if defined(FARM_WIDE_SIMD)
        for (int h = 0; h < int(used); h += kW) {
            int z = 0;
            valid |= packetTest(pk, h, w, tMax, t, b1, b2, z) << h;
            zero |= z << h;
        }
        valid &= laneMask;
        zero &= laneMask;
        if (!(valid | zero))
            continue;
#else
        (void)w;
        (void)t;
        (void)b1;
        (void)b2;
        zero = laneMask; // no SIMD: every lane takes the scalar path below
#endif
        for (int lanes = valid | zero; lanes; lanes &= lanes - 1) {
            const int lane = __builtin_ctz(unsigned(lanes));
            float lt, lb1, lb2;
            if (zero & (1 << lane)) {
                const Vec3 v0(pk.v[0][0][lane], pk.v[0][1][lane], pk.v[0][2][lane]);
                const Vec3 v1(pk.v[1][0][lane], pk.v[1][1][lane], pk.v[1][2][lane]);
                const Vec3 v2(pk.v[2][0][lane], pk.v[2][1][lane], pk.v[2][2][lane]);
                if (!intersectTriangle(r, v0, v1, v2, tMax, lt, lb1, lb2))
                    continue;
            } else {
                lt = t[lane];
                lb1 = b1[lane];
                lb2 = b2[lane];
                if (lt > tMax) // an earlier lane of this packet got closer
                    continue;
            }
            if (visit(pk.slot[lane], lt, lb1, lb2))
                return true;
        }
    }
    return false;
}

#if !defined(FARM_WIDE_SIMD)
int intersectChildren(const WideNode &n, const PreparedRay &r, float tMax, float *tNear)
{
    int mask = 0;
    for (int i = 0; i < kWideLanes; ++i) {
        const float lo[3] = {n.box[0][i], n.box[2][i], n.box[4][i]};
        const float hi[3] = {n.box[1][i], n.box[3][i], n.box[5][i]};
        if (!(lo[0] <= hi[0]))
            continue; // empty slot
        tNear[i] = intersectBox(r, lo, hi, tMax);
        if (tNear[i] >= 0.f)
            mask |= 1 << i;
    }
    return mask;
}
#endif

/// Shared traversal: visit(slot, t, b1, b2) returns true to stop (any-hit). Ordered visits
/// children nearest first (closest hit); unordered tests leaves as soon as their box is hit and
/// skips the sorting (shadow rays only need some hit).
template<bool Ordered, typename Visit>
FARM_WIDE_INLINE bool traverse(const WideBvh &bvh, const PreparedRay &r, const float &tMax,
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
            if (forEachPacketHit(bvh, e.index, e.count, r, w, tMax, visit))
                return true;
        } else {
            const WideNode &n = bvh.nodes[e.index];
            // The child indices sit on the node's last cache line, read only once the box test
            // is done: fetch it now, alongside the boxes, instead of after them.
            __builtin_prefetch(n.child);
            alignas(32) float tNear[kWideLanes];
#if defined(FARM_WIDE_SIMD)
            int mask = intersectChildren(n, w, tMax, tNear);
#else
            int mask = intersectChildren(n, r, tMax, tNear);
#endif
            if constexpr (Ordered) {
                if (mask && !(mask & (mask - 1))) { // one child hit: straight to it
                    const int i = __builtin_ctz(unsigned(mask));
                    if (n.child[i] != WideNode::kEmpty) {
                        e = Entry{n.child[i], n.count[i], tNear[i]};
                        descend = true;
                    }
                } else {
                    // Sorted onto the stack far to near; the nearest comes straight back off.
                    const int base = top;
                    while (mask) {
                        const int i = __builtin_ctz(unsigned(mask));
                        mask &= mask - 1;
                        if (n.child[i] == WideNode::kEmpty)
                            continue;
                        const Entry c{n.child[i], n.count[i], tNear[i]};
                        if (top == kWideStack) // deeper than any tree the builder makes
                            break;
                        int j = top++;
                        for (; j > base && stack[j - 1].t < c.t; --j)
                            stack[j] = stack[j - 1];
                        stack[j] = c;
                    }
                    if (top > base) {
                        e = stack[--top];
                        descend = true;
                    }
                }
            } else {
                // Leaves are tested as soon as their box is hit; interior children are pushed
                // unsorted and the last one is visited next.
                const int base = top;
                while (mask) {
                    const int i = __builtin_ctz(unsigned(mask));
                    mask &= mask - 1;
                    if (n.child[i] == WideNode::kEmpty)
                        continue;
                    const Entry c{n.child[i], n.count[i], tNear[i]};
                    if (c.count > 0) {
                        if (forEachPacketHit(bvh, c.index, c.count, r, w, tMax, visit))
                            return true;
                    } else if (top < kWideStack) {
                        stack[top++] = c;
                    }
                }
                if (top > base) {
                    e = stack[--top];
                    descend = true;
                }
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

/// Closest hit; equal distances resolve to the lower original triangle index (as the kernel).
template<bool Masked>
FARM_WIDE_INLINE Hit closestHit(const WideBvh &bvh, const SceneView &view, const Ray &ray)
{
    Hit hit;
    hit.t = ray.tMax;
    const PreparedRay r(ray);
    traverse<true>(bvh, r, hit.t, [&](uint32_t slot, float t, float b1, float b2) {
        if (t == hit.t && hit.valid() && view.primIds[slot] > view.primIds[hit.prim])
            return false;
        if constexpr (Masked) {
            if (alphaCutOut(view, slot, b1, b2))
                return false;
        }
        hit = Hit{t, b1, b2, slot};
        return false;
    });
    return hit;
}

template<bool Masked>
FARM_WIDE_INLINE bool anyHit(const WideBvh &bvh, const SceneView &view, const Ray &ray)
{
    const PreparedRay r(ray);
    const float tMax = ray.tMax;
    return traverse<false>(bvh, r, tMax, [&view](uint32_t slot, float, float b1, float b2) {
        if constexpr (Masked)
            return !alphaCutOut(view, slot, b1, b2); // a cut-out hit does not block the ray
        (void)view;
        (void)slot;
        (void)b1;
        (void)b2;
        return true;
    });
}

/// Masked traversals are separate out-of-line functions so the common one compiles as if
/// there were no alpha masks.
__attribute__((noinline)) Hit closestMasked(const WideBvh &bvh, const SceneView &view,
                                            const Ray &ray)
{
    return closestHit<true>(bvh, view, ray);
}

__attribute__((noinline)) bool anyMasked(const WideBvh &bvh, const SceneView &view, const Ray &ray)
{
    return anyHit<true>(bvh, view, ray);
}

FARM_WIDE_INLINE Hit closestEntry(const WideBvh &bvh, const SceneView &view, const Ray &ray)
{
    if (view.alphaMasked)
        return closestMasked(bvh, view, ray);
    return closestHit<false>(bvh, view, ray);
}

FARM_WIDE_INLINE bool anyEntry(const WideBvh &bvh, const SceneView &view, const Ray &ray)
{
    if (view.alphaMasked)
        return anyMasked(bvh, view, ray);
    return anyHit<false>(bvh, view, ray);
}

#if defined(FARM_WIDE_SIMD)
/// The bounds of a packet's rays per axis, broadcast: origin (lo, hi) and 1/dir (lo, hi), every
/// ray's 1/dir finite and of one sign per axis (`neg`: negative, the near plane is hi).
struct PacketFrustum
{
    V olo[3], ohi[3], ilo[3], ihi[3];
    int neg[3];
};

/// For the eight children: a lower bound of any packet ray's entry distance into tNear, and the
/// mask of boxes that some ray may hit within tMax. Per axis, a ray's plane distance is
/// (plane - o) * inv, rounded; rounding is monotonic, so over the packet's origins and 1/dir it
/// is bounded exactly by the four corner products, and every box a ray's own test
/// (intersectChildren) accepts is in the mask.
FARM_WIDE_INLINE int frustumChildren(const WideNode &n, const PacketFrustum &f, float tMax,
                                     float *tNear)
{
    const V grow = vset(1.0000004f);
    const V far = vset(tMax);
    int mask = 0;
    for (int h = 0; h < kWideLanes; h += kW) {
        V tn = vzero();
        V tf = vset(kInfinity);
        for (int a = 0; a < 3; ++a) {
            const V nearPlane = vload(n.box[2 * a + f.neg[a]] + h);
            const V farPlane = vload(n.box[2 * a + 1 - f.neg[a]] + h);
            const V n0 = vsub(nearPlane, f.ohi[a]), n1 = vsub(nearPlane, f.olo[a]);
            const V f0 = vsub(farPlane, f.ohi[a]), f1 = vsub(farPlane, f.olo[a]);
            const V nearLo = vmin(vmin(vmul(n0, f.ilo[a]), vmul(n0, f.ihi[a])),
                                  vmin(vmul(n1, f.ilo[a]), vmul(n1, f.ihi[a])));
            const V farHi = vmax(vmax(vmul(f0, f.ilo[a]), vmul(f0, f.ihi[a])),
                                 vmax(vmul(f1, f.ilo[a]), vmul(f1, f.ihi[a])));
            tn = vmax(tn, nearLo);
            tf = vmin(tf, farHi);
        }
        tf = vmin(vmul(tf, grow), far);
        vstore(tNear + h, tn);
        mask |= vmask(vle(tn, tf)) << h;
    }
    return mask;
}

/// A packet's rays prepared once (constructed in place: PreparedRay and WideRay have no default
/// constructor).
struct PacketRays
{
    alignas(PreparedRay) unsigned char prepared[kPacketRays][sizeof(PreparedRay)];
    alignas(WideRay) unsigned char wide[kPacketRays][sizeof(WideRay)];
    const PreparedRay &r(int i) const
    {
        return *reinterpret_cast<const PreparedRay *>(prepared[i]);
    }
    const WideRay &w(int i) const { return *reinterpret_cast<const WideRay *>(wide[i]); }
};

/// Sets up the packet; false when its rays cannot share a frustum (a direction component of
/// zero or of both signs on one axis): then each ray is traced on its own.
FARM_WIDE_INLINE bool preparePacket(const Ray *rays, int n, PacketRays &pr, PacketFrustum &f)
{
    float olo[3], ohi[3], ilo[3], ihi[3];
    f.neg[0] = f.neg[1] = f.neg[2] = 0;
    for (int i = 0; i < n; ++i) {
        const PreparedRay *r = new (pr.prepared[i]) PreparedRay(rays[i]);
        new (pr.wide[i]) WideRay(*r);
        for (int a = 0; a < 3; ++a) {
            const float o = r->origin[a], inv = r->invDir[a];
            if (!(std::fabs(inv) < kInfinity) || !(std::fabs(o) < kInfinity))
                return false;
            if (i == 0) {
                olo[a] = ohi[a] = o;
                ilo[a] = ihi[a] = inv;
                f.neg[a] = inv < 0.f ? 1 : 0;
                continue;
            }
            if ((inv < 0.f ? 1 : 0) != f.neg[a])
                return false;
            olo[a] = std::min(olo[a], o);
            ohi[a] = std::max(ohi[a], o);
            ilo[a] = std::min(ilo[a], inv);
            ihi[a] = std::max(ihi[a], inv);
        }
    }
    for (int a = 0; a < 3; ++a) {
        f.olo[a] = vset(olo[a]);
        f.ohi[a] = vset(ohi[a]);
        f.ilo[a] = vset(ilo[a]);
        f.ihi[a] = vset(ihi[a]);
    }
    return true;
}

/// One traversal for the whole packet: interior nodes are tested once against the packet's
/// bounds (frustumChildren), nearest first; at a node with leaf children each ray still active
/// tests the eight boxes itself (intersectChildren, its own tMax) and then the leaves it hits,
/// so the triangles a ray tests are the ones its own traversal could test. Closest: every ray
/// keeps its nearest hit (ties to the lower triangle index), the same as closestHit. Any:
/// a ray leaves the packet at its first hit.
template<bool Any>
FARM_WIDE_INLINE void packetTraverse(const WideBvh &bvh, const SceneView &view,
                                     const PacketRays &pr, const PacketFrustum &f, int n, Hit *hits,
                                     bool *occluded)
{
    float tMax[kPacketRays];
    unsigned active = (1u << n) - 1u;
    for (int i = 0; i < n; ++i) {
        tMax[i] = pr.r(i).tMax;
        if constexpr (!Any)
            hits[i] = Hit{tMax[i], 0.f, 0.f, 0xffffffffu};
        else
            occluded[i] = false;
    }
    if (bvh.nodes.empty())
        return;
    const auto packetTMax = [&] {
        float m = 0.f;
        for (unsigned a = active; a; a &= a - 1)
            m = std::max(m, tMax[__builtin_ctz(a)]);
        return m;
    };
    float maxT = packetTMax();
    Entry stack[kWideStack];
    int top = 0;
    stack[top++] = Entry{0, 0, 0.f};
    while (top > 0 && active) {
        const Entry e = stack[--top];
        if (e.t > maxT)
            continue;
        const WideNode &node = bvh.nodes[e.index];
        __builtin_prefetch(node.child);
        alignas(32) float tNear[kWideLanes];
        const int mask = frustumChildren(node, f, maxT, tNear);
        int leaves = 0, inner = 0;
        for (int m = mask; m; m &= m - 1) {
            const int c = __builtin_ctz(unsigned(m));
            if (node.child[c] == WideNode::kEmpty)
                continue;
            (node.count[c] > 0 ? leaves : inner) |= 1 << c;
        }
        if (leaves) {
            // Leaves nearest first (by the packet's bound), so the rays' tMax shrinks early.
            int order[kWideLanes], count = 0;
            for (int m = leaves; m; m &= m - 1) {
                const int c = __builtin_ctz(unsigned(m));
                int j = count++;
                for (; j > 0 && tNear[order[j - 1]] > tNear[c]; --j)
                    order[j] = order[j - 1];
                order[j] = c;
            }
            for (unsigned a = active; a; a &= a - 1) {
                const int i = __builtin_ctz(a);
                if (tNear[order[0]] > tMax[i]) // a hit nearer than any of the leaves
                    continue;
                alignas(32) float rayNear[kWideLanes];
                const int own = intersectChildren(node, pr.w(i), tMax[i], rayNear) & leaves;
                if (!own)
                    continue;
                for (int k = 0; k < count; ++k) {
                    const int c = order[k];
                    if (!(own & (1 << c)) || rayNear[c] > tMax[i])
                        continue;
                    if constexpr (Any) {
                        bool blocked = false;
                        auto visit = [&blocked](uint32_t, float, float, float) {
                            blocked = true;
                            return true;
                        };
                        forEachPacketHit(bvh, node.child[c], node.count[c], pr.r(i), pr.w(i),
                                         tMax[i], visit);
                        if (blocked) {
                            occluded[i] = true;
                            active &= ~(1u << i);
                            break;
                        }
                    } else {
                        Hit &hit = hits[i];
                        auto visit = [&](uint32_t slot, float t, float b1, float b2) {
                            if (t == hit.t && hit.valid() &&
                                view.primIds[slot] > view.primIds[hit.prim])
                                return false;
                            hit = Hit{t, b1, b2, slot};
                            tMax[i] = t;
                            return false;
                        };
                        forEachPacketHit(bvh, node.child[c], node.count[c], pr.r(i), pr.w(i),
                                         tMax[i], visit);
                    }
                }
            }
            maxT = packetTMax();
        }
        // Interior children onto the stack far to near (the nearest is popped next).
        const int base = top;
        for (int m = inner; m; m &= m - 1) {
            const int c = __builtin_ctz(unsigned(m));
            if (tNear[c] > maxT || top == kWideStack)
                continue;
            const Entry child{node.child[c], 0, tNear[c]};
            int j = top++;
            for (; j > base && stack[j - 1].t < child.t; --j)
                stack[j] = stack[j - 1];
            stack[j] = child;
        }
    }
}
#endif // FARM_WIDE_SIMD

FARM_WIDE_INLINE void closestPacketEntry(const WideBvh &bvh, const SceneView &view, const Ray *rays,
                                         int n, Hit *hits)
{
#if defined(FARM_WIDE_SIMD)
    if (!view.alphaMasked && n > 1 && n <= kPacketRays) {
        PacketRays pr;
        PacketFrustum f;
        if (preparePacket(rays, n, pr, f)) {
            packetTraverse<false>(bvh, view, pr, f, n, hits, nullptr);
            return;
        }
    }
#endif
    for (int i = 0; i < n; ++i)
        hits[i] = closestEntry(bvh, view, rays[i]);
}

FARM_WIDE_INLINE void anyPacketEntry(const WideBvh &bvh, const SceneView &view, const Ray *rays,
                                     int n, bool *occluded)
{
#if defined(FARM_WIDE_SIMD)
    if (!view.alphaMasked && n > 1 && n <= kPacketRays) {
        PacketRays pr;
        PacketFrustum f;
        if (preparePacket(rays, n, pr, f)) {
            packetTraverse<true>(bvh, view, pr, f, n, nullptr, occluded);
            return;
        }
    }
#endif
    for (int i = 0; i < n; ++i)
        occluded[i] = anyEntry(bvh, view, rays[i]);
}

} // namespace
} // namespace farm::render
