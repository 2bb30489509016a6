#pragma once

// The lanes of directlightlanes.h, written once for any lane type F and compiled twice: by
// directlightlanes.cpp with SSE (F4, four lanes) and by directlightlanes_avx2.cpp with -mavx2
// (F8, eight lanes). Each lane does the scalar code's operations in the same order (no FMA; the
// vector add, sub, mul, div and sqrt round as the scalar ones do, min/max pick as minf/maxf do,
// compares answer as the scalar compares), so every lane gives directSample's result bit for bit.
// Everything here has internal linkage: the two compilations never get merged by the linker (the
// kernel functions they call are always inlined).

#include "directlight.h"

#if defined(__AVX2__)
#include <immintrin.h>
#else
#include <emmintrin.h>
#endif

namespace farm::render {
namespace {

struct F4
{
    static constexpr int kWidth = 4;
    __m128 v;
    static F4 all(float f) { return {_mm_set1_ps(f)}; }
    static F4 load(const float *p) { return {_mm_load_ps(p)}; }
    void store(float *p) const { _mm_store_ps(p, v); }
};
inline F4 operator+(F4 a, F4 b)
{
    return {_mm_add_ps(a.v, b.v)};
}
inline F4 operator-(F4 a, F4 b)
{
    return {_mm_sub_ps(a.v, b.v)};
}
inline F4 operator*(F4 a, F4 b)
{
    return {_mm_mul_ps(a.v, b.v)};
}
inline F4 operator/(F4 a, F4 b)
{
    return {_mm_div_ps(a.v, b.v)};
}
inline F4 operator-(F4 a) // exact, as the scalar negation
{
    return {_mm_xor_ps(a.v, _mm_set1_ps(-0.f))};
}
inline F4 sqrt(F4 a)
{
    return {_mm_sqrt_ps(a.v)};
}
inline F4 minf(F4 a, F4 b) // a < b ? a : b
{
    return {_mm_min_ps(a.v, b.v)};
}
inline F4 maxf(F4 a, F4 b) // a > b ? a : b
{
    return {_mm_max_ps(a.v, b.v)};
}
inline F4 copySignOfOne(F4 a) // copysignf(1, a)
{
    return {_mm_or_ps(_mm_and_ps(a.v, _mm_set1_ps(-0.f)), _mm_set1_ps(1.f))};
}
inline F4 greater(F4 a, F4 b) // a > b: all ones or zero
{
    return {_mm_cmpgt_ps(a.v, b.v)};
}
inline F4 less(F4 a, F4 b)
{
    return {_mm_cmplt_ps(a.v, b.v)};
}
inline F4 greaterEqual(F4 a, F4 b)
{
    return {_mm_cmpge_ps(a.v, b.v)};
}
inline F4 notLessEqual(F4 a, F4 b) // !(a <= b): true for NaN as the scalar test
{
    return {_mm_cmpnle_ps(a.v, b.v)};
}
inline F4 both(F4 a, F4 b)
{
    return {_mm_and_ps(a.v, b.v)};
}
inline F4 select(F4 mask, F4 a, F4 b) // mask ? a : b
{
    return {_mm_or_ps(_mm_and_ps(mask.v, a.v), _mm_andnot_ps(mask.v, b.v))};
}
inline int bits(F4 mask)
{
    return _mm_movemask_ps(mask.v);
}

#if defined(__AVX2__)
struct F8
{
    static constexpr int kWidth = 8;
    __m256 v;
    static F8 all(float f) { return {_mm256_set1_ps(f)}; }
    static F8 load(const float *p) { return {_mm256_load_ps(p)}; }
    void store(float *p) const { _mm256_store_ps(p, v); }
};
inline F8 operator+(F8 a, F8 b)
{
    return {_mm256_add_ps(a.v, b.v)};
}
inline F8 operator-(F8 a, F8 b)
{
    return {_mm256_sub_ps(a.v, b.v)};
}
inline F8 operator*(F8 a, F8 b)
{
    return {_mm256_mul_ps(a.v, b.v)};
}
inline F8 operator/(F8 a, F8 b)
{
    return {_mm256_div_ps(a.v, b.v)};
}
inline F8 operator-(F8 a)
{
    return {_mm256_xor_ps(a.v, _mm256_set1_ps(-0.f))};
}
inline F8 sqrt(F8 a)
{
    return {_mm256_sqrt_ps(a.v)};
}
inline F8 minf(F8 a, F8 b)
{
    return {_mm256_min_ps(a.v, b.v)};
}
inline F8 maxf(F8 a, F8 b)
{
    return {_mm256_max_ps(a.v, b.v)};
}
inline F8 copySignOfOne(F8 a)
{
    return {_mm256_or_ps(_mm256_and_ps(a.v, _mm256_set1_ps(-0.f)), _mm256_set1_ps(1.f))};
}
inline F8 greater(F8 a, F8 b)
{
    return {_mm256_cmp_ps(a.v, b.v, _CMP_GT_OQ)};
}
inline F8 less(F8 a, F8 b)
{
    return {_mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ)};
}
inline F8 greaterEqual(F8 a, F8 b)
{
    return {_mm256_cmp_ps(a.v, b.v, _CMP_GE_OQ)};
}
inline F8 notLessEqual(F8 a, F8 b)
{
    return {_mm256_cmp_ps(a.v, b.v, _CMP_NLE_UQ)};
}
inline F8 both(F8 a, F8 b)
{
    return {_mm256_and_ps(a.v, b.v)};
}
inline F8 select(F8 mask, F8 a, F8 b)
{
    return {_mm256_blendv_ps(b.v, a.v, mask.v)};
}
inline int bits(F8 mask)
{
    return _mm256_movemask_ps(mask.v);
}
#endif

template<class F> F c(float f)
{
    return F::all(f);
}
template<class F> F clampLanes(F v, F lo, F hi)
{
    return minf(maxf(v, lo), hi);
}

template<class F> struct V3
{
    F x, y, z;
    static V3 all(Vec3 v) { return {c<F>(v.x), c<F>(v.y), c<F>(v.z)}; }
    V3 operator-() const { return {-x, -y, -z}; }
};
template<class F> V3<F> operator+(V3<F> a, V3<F> b)
{
    return {a.x + b.x, a.y + b.y, a.z + b.z};
}
template<class F> V3<F> operator-(V3<F> a, V3<F> b)
{
    return {a.x - b.x, a.y - b.y, a.z - b.z};
}
template<class F> V3<F> operator*(V3<F> a, V3<F> b)
{
    return {a.x * b.x, a.y * b.y, a.z * b.z};
}
template<class F> V3<F> operator*(V3<F> a, F s)
{
    return {a.x * s, a.y * s, a.z * s};
}
template<class F> F dot(V3<F> a, V3<F> b)
{
    return a.x * b.x + a.y * b.y + a.z * b.z;
}
template<class F> V3<F> select(F mask, V3<F> a, V3<F> b)
{
    return {select(mask, a.x, b.x), select(mask, a.y, b.y), select(mask, a.z, b.z)};
}
template<class F> V3<F> lerp(V3<F> a, V3<F> b, F t) // a * (1 - t) + b * t
{
    return a * (c<F>(1.f) - t) + b * t;
}
template<class F> V3<F> normalize(V3<F> a) // len > 0 ? a * (1 / len) : (0, 0, 1)
{
    const F len = sqrt(dot(a, a));
    return select(greater(len, c<F>(0.f)), a * (c<F>(1.f) / len), V3<F>::all(Vec3(0.f, 0.f, 1.f)));
}

/// Lanes written one value at a time and read as vectors (spare lanes repeat the first).
template<class F, int N> struct Columns
{
    alignas(32) float v[N][F::kWidth];
    F at(int i) const { return F::load(v[i]); }
    V3<F> at3(int i) const { return {at(i), at(i + 1), at(i + 2)}; }
    void set3(int i, int k, Vec3 a)
    {
        v[i][k] = a.x;
        v[i + 1][k] = a.y;
        v[i + 2][k] = a.z;
    }
};

/// The lanes of a vector, to read one at a time.
template<class F> struct Lanes3
{
    alignas(32) float x[F::kWidth], y[F::kWidth], z[F::kWidth];
    explicit Lanes3(V3<F> v)
    {
        v.x.store(x);
        v.y.store(y);
        v.z.store(z);
    }
    Vec3 operator[](int k) const { return Vec3(x[k], y[k], z[k]); }
};

/// Bsdf's constructor and bindOutgoing (the parts evalLocal reads), per lane.
template<class F> struct BsdfLanes
{
    using V = V3<F>;
    V t, b, n; // Frame
    V f0, diffuse;
    F alpha2;
    V wo;
    F valid; // Outgoing::valid
    F lambdaO, coat;

    static F fifth(F cosT) // (m m)(m m) m of m = clamp(1 - cos, 0, 1)
    {
        const F m = clampLanes(c<F>(1.f) - cosT, c<F>(0.f), c<F>(1.f));
        return (m * m) * (m * m) * m;
    }
    F lambda(F cosT) const
    {
        const F c2 = maxf(cosT * cosT, c<F>(1e-12f));
        const F tan2 = (c<F>(1.f) - c2) / c2;
        return c<F>(0.5f) * (sqrt(c<F>(1.f) + alpha2 * tan2) - c<F>(1.f));
    }
    V toLocal(V v) const { return {dot(v, t), dot(v, b), dot(v, n)}; }

    BsdfLanes(V baseColor, F metallic, F roughness, V normal, V woWorld)
    {
        // orthonormalBasis
        n = normal;
        const F sign = copySignOfOne(n.z);
        const F a = c<F>(-1.f) / (sign + n.z);
        const F cc = n.x * n.y * a;
        t = {c<F>(1.f) + sign * n.x * n.x * a, sign * cc, -sign * n.x};
        b = {cc, sign + n.y * n.y * a, -n.y};
        const V base = {clampLanes(baseColor.x, c<F>(0.f), c<F>(1.f)),
                        clampLanes(baseColor.y, c<F>(0.f), c<F>(1.f)),
                        clampLanes(baseColor.z, c<F>(0.f), c<F>(1.f))};
        const F m = clampLanes(metallic, c<F>(0.f), c<F>(1.f));
        const F r = clampLanes(roughness, c<F>(0.03f), c<F>(1.f));
        const F alpha = r * r;
        alpha2 = alpha * alpha;
        f0 = lerp(V::all(Vec3(0.04f)), base, m);
        constexpr float kAverageCoat = 0.04f + 0.96f / 21.f; // as Bsdf's
        diffuse = base * ((c<F>(1.f) - m) / c<F>(kPi * (1.f - kAverageCoat)));
        // bindOutgoing
        wo = toLocal(woWorld);
        valid = notLessEqual(wo.z, c<F>(0.f));
        lambdaO = lambda(wo.z);
        coat = c<F>(1.f) - (c<F>(0.04f) + c<F>(0.96f) * fifth(wo.z));
    }

    /// evalLocal(o, wi, nullptr): zero where !valid or wi.z <= 0.
    V evalLocal(V wi) const
    {
        return evalLocal(wi, lambda(wi.z), c<F>(1.f) - (c<F>(0.04f) + c<F>(0.96f) * fifth(wi.z)));
    }
    /// The same with lambda(wi.z) and 1 - dielectricFresnel(wi.z) given (for fixed directions).
    V evalLocal(V wi, F lambdaI, F transmitI) const
    {
        const F ok = both(valid, notLessEqual(wi.z, c<F>(0.f)));
        const V h = normalize(wo + wi);
        const F voh = dot(wo, h);
        const F dd = h.z * h.z * (alpha2 - c<F>(1.f)) + c<F>(1.f);
        const F d = alpha2 / (c<F>(kPi) * dd * dd);
        const F vis = c<F>(1.f) / ((c<F>(1.f) + lambdaO + lambdaI) * (c<F>(4.f) * wo.z * wi.z));
        const F m5 = fifth(maxf(voh, c<F>(0.f)));
        const V f = f0 + (V::all(Vec3(1.f)) - f0) * m5;
        const F in = coat * transmitI;
        const V r = (diffuse * in + f * (d * vis)) * wi.z;
        return select(ok, r, V::all(Vec3(0.f)));
    }
};

/// The ambient sky term's fixed directions (ambientSkyLight) with what evalLocal computes of
/// them alone: tan^2 of their angle (lambda's), the coat's transmission 1 - F, and pi / cos.
struct AmbientDirections
{
    static constexpr int kCount = kAmbientGrid * kAmbientGrid;
    Vec3 wi[kCount];
    float tan2[kCount], transmit[kCount], weight[kCount];
    int count = 0;

    AmbientDirections()
    {
        for (int i = 0; i < kAmbientGrid; ++i) {
            for (int j = 0; j < kAmbientGrid; ++j) {
                const Vec3 w = Bsdf::cosineDirection((float(i) + 0.5f) / float(kAmbientGrid),
                                                     (float(j) + 0.5f) / float(kAmbientGrid));
                if (!(w.z > 0.f)) // ambientSkyLight skips it
                    continue;
                const float c2 = ::farm::render::maxf(w.z * w.z, 1e-12f); // as Bsdf::lambda
                const float m = ::farm::render::clampf(1.f - w.z, 0.f, 1.f);
                wi[count] = w;
                tan2[count] = (1.f - c2) / c2;
                transmit[count] = 1.f - (0.04f + 0.96f * ((m * m) * (m * m) * m));
                weight[count] = kPi / w.z;
                ++count;
            }
        }
    }
};

/// SurfacePoint in lanes (what the shading reads of it).
template<class F> struct SurfaceLanes
{
    static constexpr int W = F::kWidth;
    using V = V3<F>;
    V position, ng, ns, albedo;
    F metallic, roughness;

    /// From surfaceAt's answers s[index[0..m)].
    SurfaceLanes(const SurfacePoint *s, const int *index, int m)
    {
        Columns<F, 14> col;
        for (int k = 0; k < W; ++k) {
            const SurfacePoint &p = s[index[k < m ? k : 0]];
            col.set3(0, k, p.position);
            col.set3(3, k, p.geometricNormal);
            col.set3(6, k, p.shadingNormal);
            col.set3(9, k, p.albedo);
            col.v[12][k] = p.metallic;
            col.v[13][k] = p.roughness;
        }
        position = col.at3(0);
        ng = col.at3(3);
        ns = col.at3(6);
        albedo = col.at3(9);
        metallic = col.at(12);
        roughness = col.at(13);
    }

    /// surfaceAt of hits[index[0..m)] (rays `dir` in lanes) for a scene without textures, also
    /// written to s[index[k]].
    SurfaceLanes(const SceneView &scene, const Hit *hits, V dir, const int *index, int m,
                 SurfacePoint *s)
    {
        Columns<F, 31> col;
        for (int k = 0; k < W; ++k) {
            const Hit &hit = hits[index[k < m ? k : 0]];
            const size_t base = 3 * size_t(hit.prim);
            for (int j = 0; j < 3; ++j) {
                col.set3(3 * j, k, scene.positions[base + size_t(j)]);
                col.set3(9 + 3 * j, k, scene.normals[base + size_t(j)]);
                col.set3(18 + 3 * j, k, scene.albedo[base + size_t(j)]);
            }
            col.v[27][k] = hit.b1;
            col.v[28][k] = hit.b2;
            const uint32_t id = scene.materialIds ? scene.materialIds[hit.prim] : 0u;
            const bool known = scene.materials && id < scene.materialCount;
            col.v[29][k] = known ? scene.materials[id].metallic : SurfacePoint().metallic;
            col.v[30][k] = known ? scene.materials[id].roughness : SurfacePoint().roughness;
        }
        const F b1 = col.at(27), b2 = col.at(28);
        const F b0 = c<F>(1.f) - b1 - b2;
        const auto interpolate = [&](int i) {
            return col.at3(i) * b0 + col.at3(i + 3) * b1 + col.at3(i + 6) * b2;
        };
        position = interpolate(0);
        const V v0 = col.at3(0), e1 = col.at3(3) - v0, e2 = col.at3(6) - v0;
        V g = normalize(
            V{e1.y * e2.z - e1.z * e2.y, e1.z * e2.x - e1.x * e2.z, e1.x * e2.y - e1.y * e2.x});
        V n = interpolate(9);
        n = select(greater(dot(n, n), c<F>(1e-12f)), normalize(n), g);
        albedo = interpolate(18);
        // Two-sided: face both normals towards the viewer (as surfaceAt).
        g = select(greater(dot(g, dir), c<F>(0.f)), -g, g);
        n = select(less(dot(n, g), c<F>(0.f)), -n, n);
        n = select(greaterEqual(dot(n, dir), c<F>(0.f)), g, n);
        ng = g;
        ns = n;
        metallic = col.at(29);
        roughness = col.at(30);
        const Lanes3<F> pos(position), gn(ng), sn(ns), alb(albedo);
        for (int k = 0; k < m; ++k) {
            SurfacePoint &p = s[index[k]];
            p = SurfacePoint();
            const uint32_t prim = hits[index[k]].prim;
            const uint32_t id = scene.materialIds ? scene.materialIds[prim] : 0u;
            if (scene.materials && id < scene.materialCount) {
                const Material &mat = scene.materials[id];
                p.metallic = mat.metallic;
                p.roughness = mat.roughness;
                p.emission = mat.emissive;
            }
            p.position = pos[k];
            p.geometricNormal = gn[k];
            p.shadingNormal = sn[k];
            p.albedo = alb[k];
        }
    }
};

template<class F> V3<F> loadDirections(const Ray *rays, const int *index, int m)
{
    Columns<F, 3> col;
    for (int k = 0; k < F::kWidth; ++k)
        col.set3(0, k, rays[index[k < m ? k : 0]].dir);
    return col.at3(0);
}

/// directSample of samples index[0..m) (m <= the lane count), all hits: `surface` their
/// surfaces in lanes, s[index[k]] the same as SurfacePoint (for the emission).
template<class F>
void shadeLanes(const SceneView &scene, const RenderParams &p, V3<F> dir,
                const SurfaceLanes<F> &surface, const SurfacePoint *s, const int *index, int m,
                bool lightSide, DirectSample *out)
{
    using V = V3<F>;
    const V ng = surface.ng, ns = surface.ns;
    const BsdfLanes<F> bsdf(surface.albedo, surface.metallic, surface.roughness, ns, -dir);
    const V origin = surface.position + ng * c<F>(scene.epsilon);

    // viewPointLight
    alignas(32) float dist[F::kWidth], dist2[F::kWidth];
    V toLightDir = V::all(Vec3(0.f)), light = V::all(Vec3(0.f));
    int needsShadow = 0;
    if (maxComponent(p.pointLightIntensity) > 0.f) {
        const V toLight = V::all(p.pointLightPosition) - origin;
        const F d2 = dot(toLight, toLight);
        const F d = sqrt(d2);
        toLightDir = toLight * (c<F>(1.f) / d);
        const V f = bsdf.evalLocal(bsdf.toLocal(toLightDir));
        const F lit = both(both(greater(d2, c<F>(0.f)), greater(dot(ng, toLightDir), c<F>(0.f))),
                           greater(maxf(f.x, maxf(f.y, f.z)), c<F>(0.f)));
        needsShadow = bits(lit);
        light = f * V::all(p.pointLightIntensity) * (c<F>(1.f) / d2);
        d.store(dist);
        d2.store(dist2);
    }

    // skyRadiance(p, shading normal), then ambientSkyLight
    const F h = dot(ns, V::all(p.up));
    const V below = lerp(V::all(p.skyHorizon), V::all(p.ground), minf(c<F>(1.f), -h * c<F>(4.f)));
    const V above = lerp(V::all(p.skyHorizon), V::all(p.skyZenith), sqrt(h));
    const V sky = select(greater(c<F>(0.f), h), below, above);
    static const AmbientDirections ambient;
    V sum = V::all(Vec3(0.f));
    for (int k = 0; k < ambient.count; ++k) {
        const F lambdaI =
            c<F>(0.5f) * (sqrt(c<F>(1.f) + bsdf.alpha2 * c<F>(ambient.tan2[k])) - c<F>(1.f));
        sum = sum + bsdf.evalLocal(V::all(ambient.wi[k]), lambdaI, c<F>(ambient.transmit[k])) *
                        c<F>(ambient.weight[k]);
    }
    const V after = sum * sky * c<F>(1.f / float(kAmbientGrid * kAmbientGrid));

    const Lanes3<F> afterLanes(after), lightLanes(light), dirLanes(toLightDir), originLanes(origin);
    for (int k = 0; k < m; ++k) {
        const SurfacePoint &sp = s[index[k]];
        DirectSample &d = out[index[k]];
        d = DirectSample();
        if (maxComponent(sp.emission) > 0.f)
            d.before = sp.emission;
        d.after = afterLanes[k];
        if (!(needsShadow >> k & 1))
            continue;
        d.light = lightLanes[k];
        d.needsShadow = true;
        const Vec3 toLight = dirLanes[k];
        d.fromLight = lightSide && shadowRayFromLight(p.pointLightPosition, toLight, dist[k],
                                                      scene.epsilon, d.shadow);
        if (!d.fromLight) {
            PointLightView l;
            l.dir = toLight;
            l.dist = dist[k];
            l.dist2 = dist2[k];
            d.shadow = l.shadowRay(originLanes[k]);
        }
    }
}

/// Camera::generateRay(sx[i], sy[i], width, height) for i < n, a pinhole camera.
template<class F>
void cameraRaysIn(const Camera &camera, const float *sx, const float *sy, int n, int width,
                  int height, Ray *out)
{
    using V = V3<F>;
    const V u = V::all(camera.u), v = V::all(camera.v), w = V::all(camera.w);
    for (int k = 0; k < n; k += F::kWidth) {
        const int m = n - k < F::kWidth ? n - k : F::kWidth;
        Columns<F, 2> col;
        for (int i = 0; i < F::kWidth; ++i) {
            col.v[0][i] = sx[k + (i < m ? i : 0)];
            col.v[1][i] = sy[k + (i < m ? i : 0)];
        }
        const F fx = c<F>(2.f) * col.at(0) / c<F>(float(width)) - c<F>(1.f);
        const F fy = c<F>(1.f) - c<F>(2.f) * col.at(1) / c<F>(float(height));
        const Lanes3<F> dir(normalize(u * (fx * c<F>(camera.tanHalfFovY) * c<F>(camera.aspect)) +
                                      v * (fy * c<F>(camera.tanHalfFovY)) - w));
        for (int i = 0; i < m; ++i)
            out[k + i] = Ray{camera.position, dir[i], kInfinity};
    }
}

/// directSamples (directlightlanes.h) over index[0..m), the lanes' width at a time.
template<class F>
void directSamplesIn(const SceneView &scene, const RenderParams &p, const Ray *rays,
                     const SurfacePoint *s, const int *index, int m, bool lightSide,
                     DirectSample *out)
{
    for (int k = 0; k < m; k += F::kWidth) {
        const int n = m - k < F::kWidth ? m - k : F::kWidth;
        shadeLanes<F>(scene, p, loadDirections<F>(rays, index + k, n),
                      SurfaceLanes<F>(s, index + k, n), s, index + k, n, lightSide, out);
    }
}

/// The same from the hits (a scene without textures), their surfaceAt written to s[index[k]].
template<class F>
void directSamplesIn(const SceneView &scene, const RenderParams &p, const Ray *rays,
                     const Hit *hits, const int *index, int m, bool lightSide, SurfacePoint *s,
                     DirectSample *out)
{
    for (int k = 0; k < m; k += F::kWidth) {
        const int n = m - k < F::kWidth ? m - k : F::kWidth;
        const V3<F> dir = loadDirections<F>(rays, index + k, n);
        shadeLanes<F>(scene, p, dir, SurfaceLanes<F>(scene, hits, dir, index + k, n, s), s,
                      index + k, n, lightSide, out);
    }
}

} // namespace
} // namespace farm::render
