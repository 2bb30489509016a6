#pragma once

// directSample (directlight.h) for four camera samples at once, one per SSE lane: the BSDF set-up,
// the point light's term and the ambient sky term of the template presets' direct-light shading,
// a fifth of a preset's time when done one sample at a time. Each lane does the scalar code's
// operations in the same order (no FMA; SSE's add, sub, mul, div and sqrt round as the scalar
// ones do, min/max pick as minf/maxf do, compares answer as the scalar compares), so every lane
// gives directSample's result bit for bit (tst_render `directSamplesInLanesMatchOneByOne`).
// CPU only (nvcc never sees this file); without SSE2 it shades one sample at a time.

#include "directlight.h"

#if defined(FARM_BSDF_SSE)
#include <emmintrin.h>
#endif

namespace farm::render {

#if defined(FARM_BSDF_SSE)
namespace lanes {

struct F4
{
    __m128 v;
};
inline F4 splat(float f)
{
    return {_mm_set1_ps(f)};
}
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
inline F4 clampf(F4 v, F4 lo, F4 hi)
{
    return minf(maxf(v, lo), hi);
}
inline F4 greater(F4 a, F4 b) // a > b, all ones or zero
{
    return {_mm_cmpgt_ps(a.v, b.v)};
}
inline F4 notLessEqual(F4 a, F4 b) // !(a <= b), true for NaN as the scalar test
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

struct V4
{
    F4 x, y, z;
};
inline V4 splat(Vec3 v)
{
    return {splat(v.x), splat(v.y), splat(v.z)};
}
inline V4 operator+(V4 a, V4 b)
{
    return {a.x + b.x, a.y + b.y, a.z + b.z};
}
inline V4 operator-(V4 a, V4 b)
{
    return {a.x - b.x, a.y - b.y, a.z - b.z};
}
inline V4 operator*(V4 a, V4 b)
{
    return {a.x * b.x, a.y * b.y, a.z * b.z};
}
inline V4 operator*(V4 a, F4 s)
{
    return {a.x * s, a.y * s, a.z * s};
}
inline F4 dot(V4 a, V4 b)
{
    return a.x * b.x + a.y * b.y + a.z * b.z;
}
inline F4 luminance(V4 c)
{
    return splat(0.2126f) * c.x + splat(0.7152f) * c.y + splat(0.0722f) * c.z;
}
inline V4 select(F4 mask, V4 a, V4 b)
{
    return {select(mask, a.x, b.x), select(mask, a.y, b.y), select(mask, a.z, b.z)};
}
inline V4 lerp(V4 a, V4 b, F4 t) // a * (1 - t) + b * t
{
    return a * (splat(1.f) - t) + b * t;
}
inline void store(V4 v, int k, Vec3 &out)
{
    alignas(16) float x[4], y[4], z[4];
    _mm_store_ps(x, v.x.v);
    _mm_store_ps(y, v.y.v);
    _mm_store_ps(z, v.z.v);
    out = Vec3(x[k], y[k], z[k]);
}

/// Bsdf's constructor and bindOutgoing (the parts evalLocal reads), per lane.
struct BsdfLanes
{
    V4 t, b, n; // Frame
    V4 f0, diffuse;
    F4 alpha2;
    V4 wo;
    F4 valid; // Outgoing::valid
    F4 lambdaO, coat;

    static F4 fifth(F4 c) // (m m)(m m) m of m = clamp(1 - c, 0, 1)
    {
        const F4 m = clampf(splat(1.f) - c, splat(0.f), splat(1.f));
        return (m * m) * (m * m) * m;
    }
    F4 lambda(F4 cosT) const
    {
        const F4 c2 = maxf(cosT * cosT, splat(1e-12f));
        const F4 tan2 = (splat(1.f) - c2) / c2;
        return splat(0.5f) * (sqrt(splat(1.f) + alpha2 * tan2) - splat(1.f));
    }
    V4 toLocal(V4 v) const { return {dot(v, t), dot(v, b), dot(v, n)}; }

    BsdfLanes(V4 baseColor, F4 metallic, F4 roughness, V4 normal, V4 woWorld)
    {
        // orthonormalBasis
        n = normal;
        const F4 sign = {_mm_or_ps(_mm_and_ps(n.z.v, _mm_set1_ps(-0.f)), _mm_set1_ps(1.f))};
        const F4 a = splat(-1.f) / (sign + n.z);
        const F4 c = n.x * n.y * a;
        t = {splat(1.f) + sign * n.x * n.x * a, sign * c, -sign * n.x};
        b = {c, sign + n.y * n.y * a, -n.y};
        const V4 base = {clampf(baseColor.x, splat(0.f), splat(1.f)),
                         clampf(baseColor.y, splat(0.f), splat(1.f)),
                         clampf(baseColor.z, splat(0.f), splat(1.f))};
        const F4 m = clampf(metallic, splat(0.f), splat(1.f));
        const F4 r = clampf(roughness, splat(0.03f), splat(1.f));
        const F4 alpha = r * r;
        alpha2 = alpha * alpha;
        f0 = lerp(splat(Vec3(0.04f)), base, m);
        constexpr float kAverageCoat = 0.04f + 0.96f / 21.f; // as Bsdf's
        diffuse = base * ((splat(1.f) - m) / splat(kPi * (1.f - kAverageCoat)));
        // bindOutgoing
        wo = toLocal(woWorld);
        valid = notLessEqual(wo.z, splat(0.f));
        lambdaO = lambda(wo.z);
        coat = splat(1.f) - (splat(0.04f) + splat(0.96f) * fifth(wo.z));
    }

    /// evalLocal(o, wi, nullptr): zero where !valid or wi.z <= 0.
    V4 evalLocal(V4 wi) const
    {
        return evalLocal(wi, lambda(wi.z),
                         splat(1.f) - (splat(0.04f) + splat(0.96f) * fifth(wi.z)));
    }
    /// The same with lambda(wi.z) and 1 - dielectricFresnel(wi.z) given (for fixed directions).
    V4 evalLocal(V4 wi, F4 lambdaI, F4 transmitI) const
    {
        const F4 ok = both(valid, notLessEqual(wi.z, splat(0.f)));
        V4 h = wo + wi;
        const F4 len = sqrt(dot(h, h));
        const F4 positive = greater(len, splat(0.f));
        h = select(positive, h * (splat(1.f) / len), V4{splat(0.f), splat(0.f), splat(1.f)});
        const F4 voh = dot(wo, h);
        const F4 dd = h.z * h.z * (alpha2 - splat(1.f)) + splat(1.f);
        const F4 d = alpha2 / (splat(kPi) * dd * dd);
        const F4 vis = splat(1.f) / ((splat(1.f) + lambdaO + lambdaI) * (splat(4.f) * wo.z * wi.z));
        const F4 m5 = fifth(maxf(voh, splat(0.f)));
        const V4 f = f0 + (splat(Vec3(1.f)) - f0) * m5;
        const F4 in = coat * transmitI;
        const V4 r = (diffuse * in + f * (d * vis)) * wi.z;
        return select(ok, r, splat(Vec3(0.f)));
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

/// Transposes up to four lanes' values (spare lanes repeat the first) into SSE registers.
template<int N> struct Columns
{
    alignas(16) float v[N][4];
    F4 at(int i) const { return {_mm_load_ps(v[i])}; }
    V4 at3(int i) const { return {at(i), at(i + 1), at(i + 2)}; }
    void set3(int i, int k, Vec3 a)
    {
        v[i][k] = a.x;
        v[i + 1][k] = a.y;
        v[i + 2][k] = a.z;
    }
};

/// SurfacePoint in lanes (what the shading reads of it).
struct SurfaceLanes
{
    V4 position, ng, ns, albedo;
    F4 metallic, roughness;

    /// From surfaceAt's answers s[index[0..m)].
    SurfaceLanes(const SurfacePoint *s, const int *index, int m)
    {
        Columns<14> c;
        for (int k = 0; k < 4; ++k) {
            const SurfacePoint &p = s[index[k < m ? k : 0]];
            c.set3(0, k, p.position);
            c.set3(3, k, p.geometricNormal);
            c.set3(6, k, p.shadingNormal);
            c.set3(9, k, p.albedo);
            c.v[12][k] = p.metallic;
            c.v[13][k] = p.roughness;
        }
        position = c.at3(0);
        ng = c.at3(3);
        ns = c.at3(6);
        albedo = c.at3(9);
        metallic = c.at(12);
        roughness = c.at(13);
    }

    /// surfaceAt of hits[index[0..m)] (rays `dir` in lanes) for a scene without textures, also
    /// written to s[index[k]] (AoS).
    SurfaceLanes(const SceneView &scene, const Hit *hits, V4 dir, const int *index, int m,
                 SurfacePoint *s)
    {
        Columns<29> c;
        for (int k = 0; k < 4; ++k) {
            const Hit &hit = hits[index[k < m ? k : 0]];
            const size_t base = 3 * size_t(hit.prim);
            for (int j = 0; j < 3; ++j) {
                c.set3(3 * j, k, scene.positions[base + size_t(j)]);
                c.set3(9 + 3 * j, k, scene.normals[base + size_t(j)]);
                c.set3(18 + 3 * j, k, scene.albedo[base + size_t(j)]);
            }
            c.v[27][k] = hit.b1;
            c.v[28][k] = hit.b2;
        }
        const F4 b1 = c.at(27), b2 = c.at(28);
        const F4 b0 = splat(1.f) - b1 - b2;
        const auto interpolate = [&](int i) {
            return c.at3(i) * b0 + c.at3(i + 3) * b1 + c.at3(i + 6) * b2;
        };
        position = interpolate(0);
        const V4 v0 = c.at3(0), e1 = c.at3(3) - v0, e2 = c.at3(6) - v0;
        V4 g = {e1.y * e2.z - e1.z * e2.y, e1.z * e2.x - e1.x * e2.z, e1.x * e2.y - e1.y * e2.x};
        g = normalize(g);
        V4 n = interpolate(9);
        n = select(greater(dot(n, n), splat(1e-12f)), normalize(n), g);
        albedo = interpolate(18);
        // Two-sided: face both normals towards the viewer (as surfaceAt).
        g = select(greater(dot(g, dir), splat(0.f)), V4{-g.x, -g.y, -g.z}, g);
        n = select(F4{_mm_cmplt_ps(dot(n, g).v, _mm_setzero_ps())}, V4{-n.x, -n.y, -n.z}, n);
        n = select(F4{_mm_cmpge_ps(dot(n, dir).v, _mm_setzero_ps())}, g, n);
        ng = g;
        ns = n;
        alignas(16) float metal[4], rough[4];
        for (int k = 0; k < m; ++k) {
            const uint32_t prim = hits[index[k]].prim;
            const uint32_t id = scene.materialIds ? scene.materialIds[prim] : 0u;
            SurfacePoint &p = s[index[k]];
            p = SurfacePoint();
            if (scene.materials && id < scene.materialCount) {
                const Material &mat = scene.materials[id];
                p.metallic = mat.metallic;
                p.roughness = mat.roughness;
                p.emission = mat.emissive;
            }
            metal[k] = p.metallic;
            rough[k] = p.roughness;
            store(position, k, p.position);
            store(ng, k, p.geometricNormal);
            store(ns, k, p.shadingNormal);
            store(albedo, k, p.albedo);
        }
        for (int k = m; k < 4; ++k) {
            metal[k] = metal[0];
            rough[k] = rough[0];
        }
        metallic = {_mm_load_ps(metal)};
        roughness = {_mm_load_ps(rough)};
    }

    static V4 normalize(V4 a) // len > 0 ? a * (1 / len) : (0, 0, 1)
    {
        const F4 len = sqrt(dot(a, a));
        return select(greater(len, splat(0.f)), a * (splat(1.f) / len),
                      V4{splat(0.f), splat(0.f), splat(1.f)});
    }
};

inline V4 loadDirections(const Ray *rays, const int *index, int m)
{
    Columns<3> c;
    for (int k = 0; k < 4; ++k)
        c.set3(0, k, rays[index[k < m ? k : 0]].dir);
    return c.at3(0);
}

/// directSample of samples index[0..m) (m <= 4), all hits: `surface` their surfaces in lanes,
/// s[index[k]] the same as SurfacePoint (for the emission).
inline void shade4(const SceneView &scene, const RenderParams &p, V4 dir,
                   const SurfaceLanes &surface, const SurfacePoint *s, const int *index, int m,
                   bool lightSide, DirectSample *out)
{
    const V4 position = surface.position, ng = surface.ng, ns = surface.ns;
    const BsdfLanes bsdf(surface.albedo, surface.metallic, surface.roughness, ns,
                         V4{-dir.x, -dir.y, -dir.z});
    const V4 origin = position + ng * splat(scene.epsilon);

    // viewPointLight
    alignas(16) float dist[4], dist2[4];
    V4 toLightDir{}, light{};
    int needsShadow = 0;
    if (maxComponent(p.pointLightIntensity) > 0.f) {
        const V4 toLight = splat(p.pointLightPosition) - origin;
        const F4 d2 = dot(toLight, toLight);
        const F4 d = sqrt(d2);
        toLightDir = toLight * (splat(1.f) / d);
        const V4 f = bsdf.evalLocal(bsdf.toLocal(toLightDir));
        const F4 lit = both(both(greater(d2, splat(0.f)), greater(dot(ng, toLightDir), splat(0.f))),
                            greater(maxf(f.x, maxf(f.y, f.z)), splat(0.f)));
        needsShadow = bits(lit);
        light = f * splat(p.pointLightIntensity) * (splat(1.f) / d2);
        _mm_store_ps(dist, d.v);
        _mm_store_ps(dist2, d2.v);
    }

    // skyRadiance(p, shading normal), then ambientSkyLight
    const F4 h = dot(ns, splat(p.up));
    const V4 below = lerp(splat(p.skyHorizon), splat(p.ground), minf(splat(1.f), -h * splat(4.f)));
    const V4 above = lerp(splat(p.skyHorizon), splat(p.skyZenith), sqrt(h));
    const V4 sky = select(greater(splat(0.f), h), below, above);
    static const AmbientDirections ambient;
    V4 sum = splat(Vec3(0.f));
    for (int k = 0; k < ambient.count; ++k) {
        const F4 lambdaI =
            splat(0.5f) * (sqrt(splat(1.f) + bsdf.alpha2 * splat(ambient.tan2[k])) - splat(1.f));
        sum = sum + bsdf.evalLocal(splat(ambient.wi[k]), lambdaI, splat(ambient.transmit[k])) *
                        splat(ambient.weight[k]);
    }
    const V4 after = sum * sky * splat(1.f / float(kAmbientGrid * kAmbientGrid));

    for (int k = 0; k < m; ++k) {
        const SurfacePoint &sp = s[index[k]];
        DirectSample &d = out[index[k]];
        d = DirectSample();
        if (maxComponent(sp.emission) > 0.f)
            d.before = sp.emission;
        store(after, k, d.after);
        if (!(needsShadow >> k & 1))
            continue;
        store(light, k, d.light);
        d.needsShadow = true;
        Vec3 toLight, o;
        store(toLightDir, k, toLight);
        d.fromLight = lightSide && shadowRayFromLight(p.pointLightPosition, toLight, dist[k],
                                                      scene.epsilon, d.shadow);
        if (!d.fromLight) {
            store(origin, k, o);
            PointLightView l;
            l.dir = toLight;
            l.dist = dist[k];
            l.dist2 = dist2[k];
            d.shadow = l.shadowRay(o);
        }
    }
}

/// directSample of samples index[0..m) (m <= 4), all hits with surfaces s[index[k]].
inline void directSamples4(const SceneView &scene, const RenderParams &p, const Ray *rays,
                           const SurfacePoint *s, const int *index, int m, bool lightSide,
                           DirectSample *out)
{
    shade4(scene, p, loadDirections(rays, index, m), SurfaceLanes(s, index, m), s, index, m,
           lightSide, out);
}

/// The same from the hits (a scene without textures), their surfaceAt written to s[index[k]].
inline void directSamples4(const SceneView &scene, const RenderParams &p, const Ray *rays,
                           const Hit *hits, const int *index, int m, bool lightSide,
                           SurfacePoint *s, DirectSample *out)
{
    const V4 dir = loadDirections(rays, index, m);
    shade4(scene, p, dir, SurfaceLanes(scene, hits, dir, index, m, s), s, index, m, lightSide, out);
}

} // namespace lanes
#endif

/// directSample(scene, p, rays[i], s[i], lightSide) into out[i] for each i of index[0..m): the
/// camera samples that hit something (s[i] their surfaceAt), four at a time in SSE lanes.
inline void directSamples(const SceneView &scene, const RenderParams &p, const Ray *rays,
                          const SurfacePoint *s, const int *index, int m, bool lightSide,
                          DirectSample *out)
{
#if defined(FARM_BSDF_SSE)
    if (!p.environment.valid()) { // (directLightOnly rules an environment map out)
        for (int k = 0; k < m; k += 4)
            lanes::directSamples4(scene, p, rays, s, index + k, m - k < 4 ? m - k : 4, lightSide,
                                  out);
        return;
    }
#endif
    for (int k = 0; k < m; ++k)
        out[index[k]] = directSample(scene, p, rays[index[k]], s[index[k]], lightSide);
}

/// DirectSample of n camera samples (rays and their closest hits; misses see the sky), the hits'
/// shading in lanes. `surfaces` (n entries) receives surfaceAt of each hit.
inline void directSamples(const SceneView &scene, const RenderParams &p, const Ray *rays,
                          const Hit *hits, int n, bool lightSide, SurfacePoint *surfaces,
                          DirectSample *out)
{
    for (int k = 0; k < n; ++k) { // the surfaces' data, fetched side by side (big meshes miss)
        if (hits[k].valid()) {
            const size_t base = 3 * size_t(hits[k].prim);
            for (const Vec3 *a : {scene.positions, scene.normals, scene.albedo}) {
                __builtin_prefetch(a + base); // 36 bytes: on one or two cache lines
                __builtin_prefetch(reinterpret_cast<const char *>(a + base + 3) - 1);
            }
        }
    }
    int index[kPacketRays];
    int m = 0;
    for (int k = 0; k < n; ++k) {
        if (!hits[k].valid())
            out[k] = directSample(scene, p, rays[k], hits[k], lightSide);
        else
            index[m++] = k;
    }
#if defined(FARM_BSDF_SSE)
    if (!(scene.uvs && scene.textures) && !p.environment.valid()) { // surfaceAt without textures
        for (int k = 0; k < m; k += 4)
            lanes::directSamples4(scene, p, rays, hits, index + k, m - k < 4 ? m - k : 4, lightSide,
                                  surfaces, out);
        return;
    }
#endif
    for (int k = 0; k < m; ++k)
        surfaces[index[k]] = surfaceAt(scene, rays[index[k]], hits[index[k]]);
    directSamples(scene, p, rays, surfaces, index, m, lightSide, out);
}

} // namespace farm::render
