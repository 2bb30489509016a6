#pragma once

#include "kernel/bsdf.h"
#include "kernel/camera.h"
#include "kernel/emitters.h"
#include "kernel/environment.h"
#include "kernel/pixelfilter.h"
#include "kernel/rng.h"
#include "kernel/sceneview.h"

namespace farm::render {

/// Lighting and sampling parameters shared by every backend.
struct RenderParams
{
    int width = 640;
    int height = 480;
    int spp = 16;
    uint32_t seed = 1;
    uint32_t frame = 1;
    int maxBounces = 4;
    Vec3 sunDirection{0.45f, 0.8f, 0.4f}; // unit vector towards the sun
    Vec3 sunIrradiance{2.0f, 1.9f, 1.75f};
    // A point light (template presets): radiant intensity in W/sr per scene unit squared, so the
    // irradiance at distance d is intensity / d^2. Zero: none. Its direct light is exact (one
    // shadow ray, no random numbers).
    Vec3 pointLightPosition{0.f};
    Vec3 pointLightIntensity{0.f};
    Vec3 skyZenith{0.45f, 0.6f, 0.9f};
    Vec3 skyHorizon{0.85f, 0.9f, 0.95f};
    Vec3 ground{0.32f, 0.3f, 0.28f};
    Vec3 up{0.f, 1.f, 0.f};
    EnvironmentView environment; // replaces the gradient sky when valid
    // Vertices below this depth sample the gradient sky directly (an environment map is sampled
    // at every vertex). Deeper, cosine-sampled sky NEE would repeat what diffuse BSDF sampling
    // already does, at the price of a shadow ray.
    int skyNeeDepth = 1;
    // Next-event estimation of emissive triangles (MIS with BSDF sampling); off: emission is
    // only found by hitting it (tst_render compares the two).
    bool sampleEmitters = true;
    // Camera jitter and every sampling decision with a fixed slot (light, lobe, direction,
    // Russian roulette) of the first kLowDiscrepancyDepth vertices take shuffled, shifted Sobol
    // points per pixel (PixelSampler, rng.h); off: independent PCG numbers (bench_noise
    // compares the two).
    bool lowDiscrepancy = true;
    // With maxBounces 0 and no environment map: the sky lights surfaces as unshadowed ambient
    // light, integrated over fixed directions (ambientSkyLight), so direct-only images (template
    // presets) carry no sampling noise from it. Otherwise the sky is sampled with shadow rays.
    bool ambientSky = false;
    // Where in (or around) its pixel each camera sample goes (pixelfilter.h): the box keeps
    // every sample inside the pixel; `model` renders take Blackman-Harris with kDefaultFilterRadius
    // (as Cycles' default); template presets keep the box.
    PixelFilter pixelFilter = PixelFilter::Box;
    float filterRadius = kDefaultFilterRadius; // pixels, Blackman-Harris only
};

/// Sampler slots of one path: the camera jitter, then kSlotsPerVertex per path vertex.
constexpr uint32_t kSlotCamera = 0;
constexpr uint32_t kSlotsPerVertex = 6;
enum VertexSlot : uint32_t {
    kSlotSkyLight = 0,     // 2D: sky / environment NEE direction
    kSlotEmitterPick = 1,  // 1D: which emissive triangle
    kSlotEmitterPoint = 2, // 2D: point on it
    kSlotLobe = 3,         // 1D: diffuse or specular lobe
    kSlotDirection = 4,    // 2D: BSDF direction
    kSlotRoulette = 5,     // 1D: Russian roulette
};
FARM_KERNEL uint32_t vertexSlot(int depth, VertexSlot slot)
{
    return 1u + uint32_t(depth) * kSlotsPerVertex + uint32_t(slot);
}
// Russian roulette from this vertex on (a path's fifth: the default 4 bounces are never played
// for, longer paths are), with the survival probability sqrt(max throughput) as Cycles does.
// From the second vertex with max(throughput), it ended about half the paths that carry the
// interreflections of a light object and the survivors' 1/q weights made much of a frame's
// variance: 32 spp against 512, RMSE 0.01513 -> 0.01257 (2CylinderEngine), 0.00970 -> 0.00626
// (motorBike.obj) for 8-9 % more time per sample (NOTES.md, "Russian roulette"). From the fourth
// vertex (the last bounce played for) it still cost more than it saved: on the Cycles
// comparison's engine frame RMSE 0.007091 -> 0.006915 at 32 spp without it, at the same CPU time.
constexpr int kRouletteDepth = 4;
// Vertices from this depth on take independent numbers (PixelSampler's slotCount): every vertex
// of the default 4 bounces takes Sobol numbers. Most of the variance a low-discrepancy pattern
// removes is in the camera jitter and the first two vertices, but on the Cycles comparison's
// engine frame (640x480, 32 spp against 1024) all five vertices instead of two lowered the
// RMSE from 0.007289 to 0.007091 (46 spp: 0.006084 -> 0.005986) for no measurable time
// (NOTES.md, "Low-discrepancy depth"). Template presets (0 bounces) never reach depth 2.
constexpr int kLowDiscrepancyDepth = 5;

/// Sky gradient (ground colour below the horizon, horizon to zenith above it), or the
/// environment map when one is set.
FARM_KERNEL Vec3 skyRadiance(const RenderParams &p, Vec3 dir)
{
    if (p.environment.valid())
        return p.environment.radiance(dir);
    const float h = dot(dir, p.up);
    if (h < 0.f)
        return lerp(p.skyHorizon, p.ground, minf(1.f, -h * 4.f));
    return lerp(p.skyHorizon, p.skyZenith, sqrtf(h));
}

FARM_KERNEL Vec3 sampleCosineHemisphere(Vec3 n, float u1, float u2)
{
    const float r = sqrtf(u1);
    const float phi = 2.f * kPi * u2;
    Vec3 t, b;
    orthonormalBasis(n, t, b);
    const float z = sqrtf(maxf(0.f, 1.f - u1));
    return normalize(t * (r * cosf(phi)) + b * (r * sinf(phi)) + n * z);
}

/// Directions of the ambient sky term per axis: a kAmbientGrid^2 grid of cell centres mapped to
/// the cosine-weighted hemisphere (exact for a diffuse surface, a fixed quadrature otherwise).
constexpr int kAmbientGrid = 2;

/// The point light as a surface point sees it: the direction and distance from `origin` (the
/// lifted surface point), and the BSDF's value towards it. False when there is no light, it lies
/// behind the geometric surface, or the BSDF reflects none of it (then no shadow ray is needed).
struct PointLightView
{
    Vec3 dir;
    float dist = 0.f, dist2 = 0.f;
    Vec3 f;
    /// The shadow ray from the surface, stopping just short of the light.
    FARM_KERNEL Ray shadowRay(Vec3 origin) const { return Ray{origin, dir, dist * (1.f - 1e-4f)}; }
};
FARM_KERNEL bool viewPointLight(const RenderParams &p, const Bsdf &bsdf, const Bsdf::Outgoing &out,
                                Vec3 geometricNormal, Vec3 origin, PointLightView &l)
{
    if (!(maxComponent(p.pointLightIntensity) > 0.f))
        return false;
    const Vec3 toLight = p.pointLightPosition - origin;
    l.dist2 = dot(toLight, toLight);
    if (!(l.dist2 > 0.f))
        return false;
    l.dist = sqrtf(l.dist2);
    l.dir = toLight / l.dist;
    if (!(dot(geometricNormal, l.dir) > 0.f)) // back-facing: no light, no ray
        return false;
    l.f = bsdf.evalLocal(out, bsdf.toLocal(l.dir), nullptr);
    return maxComponent(l.f) > 0.f;
}

/// Unshadowed light reflected from a sky of uniform radiance `sky` (no random numbers).
FARM_KERNEL Vec3 ambientSkyLight(const Bsdf &bsdf, const Bsdf::Outgoing &out, Vec3 sky)
{
#if defined(FARM_BSDF_SSE)
    static_assert(kAmbientGrid == 2, "evalLocal4 takes the four directions of a 2x2 grid");
    // The same sum as below (same directions, order and operations), the four BSDF evaluations
    // side by side: a fifth of a template render's time was this term.
    if (out.valid) {
        float wx[4], wy[4], wz[4], rx[4], ry[4], rz[4];
        for (int k = 0; k < 4; ++k) {
            const Vec3 wi = Bsdf::cosineDirection((float(k >> 1) + 0.5f) / float(kAmbientGrid),
                                                  (float(k & 1) + 0.5f) / float(kAmbientGrid));
            wx[k] = wi.x;
            wy[k] = wi.y;
            wz[k] = wi.z;
        }
        if (wz[0] > 0.f && wz[1] > 0.f && wz[2] > 0.f && wz[3] > 0.f) {
            bsdf.evalLocal4(out, wx, wy, wz, rx, ry, rz);
            Vec3 sum(0.f);
            for (int k = 0; k < 4; ++k)
                sum += Vec3(rx[k], ry[k], rz[k]) * (kPi / wz[k]);
            return sum * sky * (1.f / float(kAmbientGrid * kAmbientGrid));
        }
    }
#endif
    Vec3 sum(0.f);
    for (int i = 0; i < kAmbientGrid; ++i) {
        for (int j = 0; j < kAmbientGrid; ++j) {
            const Vec3 wi = Bsdf::cosineDirection((float(i) + 0.5f) / float(kAmbientGrid),
                                                  (float(j) + 0.5f) / float(kAmbientGrid));
            if (wi.z > 0.f) // f cos / (cos / pi)
                sum += bsdf.evalLocal(out, wi, nullptr) * (kPi / wi.z);
        }
    }
    return sum * sky * (1.f / float(kAmbientGrid * kAmbientGrid));
}

/// Surface data at a hit, oriented towards the incoming ray, with textures applied.
struct SurfacePoint
{
    Vec3 position;
    Vec3 geometricNormal;
    Vec3 shadingNormal;
    Vec3 albedo; // base colour
    float metallic = 0.f;
    float roughness = 0.5f;
    Vec3 emission;
};

/// Tangent-space normal map lookup: the perturbed normal, or `ns` when the map cannot apply.
FARM_KERNEL Vec3 applyNormalMap(const SceneView &scene, const Material &m, uint32_t base, float b0,
                                const Hit &hit, float u, float w, Vec3 ns)
{
    if (m.normalTexture < 0 || uint32_t(m.normalTexture) >= scene.textureCount || !scene.tangents ||
        !scene.tangentSigns)
        return ns;
    Vec3 t = scene.tangents[base] * b0 + scene.tangents[base + 1] * hit.b1 +
             scene.tangents[base + 2] * hit.b2;
    t = t - ns * dot(ns, t); // Gram-Schmidt against the interpolated normal
    if (dot(t, t) < 1e-12f)
        return ns;
    t = normalize(t);
    const Vec3 b = cross(ns, t) * scene.tangentSigns[base];
    float texel[4];
    sampleTexture(scene.textures[m.normalTexture], u, w, texel);
    const Vec3 local((texel[0] * 2.f - 1.f) * m.normalScale, (texel[1] * 2.f - 1.f) * m.normalScale,
                     texel[2] * 2.f - 1.f);
    const Vec3 n = t * local.x + b * local.y + ns * local.z;
    return dot(n, n) > 1e-12f ? normalize(n) : ns;
}

FARM_KERNEL SurfacePoint surfaceAt(const SceneView &scene, const Ray &ray, const Hit &hit)
{
    SurfacePoint s;
    const uint32_t base = 3 * hit.prim;
    const Vec3 *v = scene.positions + base;
    const float b0 = 1.f - hit.b1 - hit.b2;
    s.position = v[0] * b0 + v[1] * hit.b1 + v[2] * hit.b2;
    Vec3 ng = normalize(cross(v[1] - v[0], v[2] - v[0]));
    Vec3 ns = scene.normals[base] * b0 + scene.normals[base + 1] * hit.b1 +
              scene.normals[base + 2] * hit.b2;
    ns = dot(ns, ns) > 1e-12f ? normalize(ns) : ng;
    s.albedo =
        scene.albedo[base] * b0 + scene.albedo[base + 1] * hit.b1 + scene.albedo[base + 2] * hit.b2;

    const uint32_t id = scene.materialIds ? scene.materialIds[hit.prim] : 0u;
    if (scene.materials && id < scene.materialCount) {
        const Material &m = scene.materials[id];
        s.metallic = m.metallic;
        s.roughness = m.roughness;
        s.emission = m.emissive;
        if (scene.uvs && scene.textures) {
            const float *uv = scene.uvs + 2 * base;
            const float u = uv[0] * b0 + uv[2] * hit.b1 + uv[4] * hit.b2;
            const float w = uv[1] * b0 + uv[3] * hit.b1 + uv[5] * hit.b2;
            float texel[4];
            if (m.baseColorTexture >= 0 && uint32_t(m.baseColorTexture) < scene.textureCount) {
                sampleTexture(scene.textures[m.baseColorTexture], u, w, texel);
                s.albedo = vmin(s.albedo * Vec3(texel[0], texel[1], texel[2]), Vec3(0.98f));
            }
            if (m.metallicRoughnessTexture >= 0 &&
                uint32_t(m.metallicRoughnessTexture) < scene.textureCount) {
                sampleTexture(scene.textures[m.metallicRoughnessTexture], u, w, texel);
                s.roughness *= texel[1];
                s.metallic *= texel[2];
            }
            if (m.emissiveTexture >= 0 && uint32_t(m.emissiveTexture) < scene.textureCount) {
                sampleTexture(scene.textures[m.emissiveTexture], u, w, texel);
                s.emission = s.emission * Vec3(texel[0], texel[1], texel[2]);
            }
            ns = applyNormalMap(scene, m, base, b0, hit, u, w, ns);
        }
    }
    // Two-sided: real-world files mix windings, so face both normals towards the viewer.
    if (dot(ng, ray.dir) > 0.f)
        ng = -ng;
    if (dot(ns, ng) < 0.f)
        ns = -ns;
    if (dot(ns, ray.dir) >= 0.f) // shading normal facing away from the viewer
        ns = ng;
    s.geometricNormal = ng;
    s.shadingNormal = ns;
    return s;
}

/// Coverage of a hit on a glTF BLEND surface (base colour factor alpha x texture alpha, as the
/// alpha mask reads it); 1 for every other surface.
FARM_KERNEL float blendAlpha(const SceneView &scene, const Hit &hit)
{
    if (!scene.alphaBlended || !scene.materialIds || !scene.materials)
        return 1.f;
    const uint32_t id = scene.materialIds[hit.prim];
    if (id >= scene.materialCount || !scene.materials[id].alphaBlend)
        return 1.f;
    const Material &m = scene.materials[id];
    float alpha = m.baseAlpha;
    if (scene.uvs && scene.textures && m.baseColorTexture >= 0 &&
        uint32_t(m.baseColorTexture) < scene.textureCount) {
        const float b0 = 1.f - hit.b1 - hit.b2;
        const float *uv = scene.uvs + 6 * size_t(hit.prim);
        float texel[4];
        sampleTexture(scene.textures[m.baseColorTexture],
                      uv[0] * b0 + uv[2] * hit.b1 + uv[4] * hit.b2,
                      uv[1] * b0 + uv[3] * hit.b1 + uv[5] * hit.b2, texel);
        alpha *= texel[3];
    }
    return clampf(alpha, 0.f, 1.f);
}

/// The ray `ray` continued straight on behind its hit `hit` (a see-through BLEND surface): the
/// origin moves onto the far side of the triangle's plane, tMax shrinks by the distance covered.
FARM_KERNEL Ray continueThrough(const SceneView &scene, const Ray &ray, const Hit &hit)
{
    const Vec3 *v = scene.positions + 3 * size_t(hit.prim);
    Vec3 n = normalize(cross(v[1] - v[0], v[2] - v[0]));
    if (dot(n, ray.dir) < 0.f)
        n = -n;
    const float b0 = 1.f - hit.b1 - hit.b2;
    const Vec3 p = v[0] * b0 + v[1] * hit.b1 + v[2] * hit.b2;
    return Ray{p + n * scene.epsilon, ray.dir, ray.tMax - hit.t};
}

// Most BLEND surfaces a path or shadow ray passes through before counting the next as opaque.
constexpr int kMaxBlendLayers = 32;

/// Fraction of light that gets through along a shadow ray: 0 when something opaque is in the
/// way, else the product of (1 - alpha) over the BLEND surfaces crossed (1 when none). Scenes
/// without BLEND materials keep the plain any-hit test; with them, only a ray that hits
/// something walks its hits one by one.
template<typename Tracer>
FARM_HOST_DEVICE float transmittance(const Tracer &tracer, const SceneView &scene, Ray ray)
{
    if (!tracer.occluded(ray)) // nothing at all in the way (any-hit stops at the first hit)
        return 1.f;
    if (!scene.alphaBlended)
        return 0.f;
    float t = 1.f;
    for (int layer = 0; layer < kMaxBlendLayers; ++layer) {
        const Hit hit = tracer.closest(ray);
        if (!hit.valid())
            return t;
        t *= 1.f - blendAlpha(scene, hit);
        if (!(t > 0.f))
            return 0.f;
        ray = continueThrough(scene, ray, hit);
        if (!(ray.tMax > 0.f))
            return t;
    }
    return 0.f;
}

/// Emitter NEE at a surface point: one emissive triangle point picked by power, its emission
/// times the BSDF if unoccluded, weighted against BSDF sampling by the power heuristic.
template<typename Tracer>
FARM_HOST_DEVICE Vec3 sampleEmitterLight(const Tracer &tracer, const SceneView &scene,
                                         const Bsdf &bsdf, const Bsdf::Outgoing &out,
                                         const SurfacePoint &s, Vec3 origin, float e0, float e1,
                                         float e2, bool lastVertex = false)
{
    Hit light;
    const float areaPdf = sampleEmitter(scene, e0, e1, e2, light);
    if (!(areaPdf > 0.f))
        return Vec3(0.f);
    const Vec3 *v = scene.positions + 3 * light.prim;
    const Vec3 q = v[0] * (1.f - light.b1 - light.b2) + v[1] * light.b1 + v[2] * light.b2;
    Vec3 d = q - origin;
    const float dist2 = dot(d, d);
    if (!(dist2 > 0.f))
        return Vec3(0.f);
    const float dist = sqrtf(dist2);
    d = d / dist;
    const float cosLight = fabsf(dot(normalize(cross(v[1] - v[0], v[2] - v[0])), d));
    if (cosLight < 1e-6f || dot(d, s.geometricNormal) <= 0.f)
        return Vec3(0.f);
    float bsdfPdf = 0.f;
    const Vec3 f = bsdf.evalLocal(out, bsdf.toLocal(d), &bsdfPdf);
    if (!(maxComponent(f) > 0.f))
        return Vec3(0.f);
    const float through = transmittance(tracer, scene, Ray{origin, d, dist * (1.f - 1e-3f)});
    if (!(through > 0.f)) // (stop short of the emitter)
        return Vec3(0.f);
    light.t = dist;
    const SurfacePoint ls = surfaceAt(scene, Ray{origin, d, kInfinity}, light); // textured
    const float lightPdf = areaPdf * dist2 / cosLight;                          // solid angle
    // At the last vertex no BSDF ray follows that could hit the emitter: full weight.
    const float w = lastVertex ? 1.f : powerHeuristic(lightPdf, bsdfPdf);
    return f * ls.emission * (through * w / lightPdf);
}

/// Radiance along a camera ray: a unidirectional path tracer with the glTF metallic-roughness
/// BSDF, next-event estimation of the sun (a delta light: no MIS needed) and of the sky (cosine
/// sampled, combined with BSDF sampling by the power heuristic), emissive surfaces picked up
/// when hit, and Russian roulette from the fifth vertex (kRouletteDepth).
///
/// `Sampler` is PixelSampler (low-discrepancy slots) or Rng (independent numbers): get1D/get2D
/// take the slot of a sampling decision (vertexSlot), uniform() serves the rest.
template<typename Tracer, typename Sampler>
FARM_HOST_DEVICE Vec3 traceRadiance(const Tracer &tracer, const SceneView &scene,
                                    const RenderParams &p, Ray ray, Sampler &rng,
                                    const Hit *firstHit = nullptr)
{
    const Hit *pending = firstHit; // the camera ray's hit when the caller already traced it
    Vec3 radiance(0.f);
    Vec3 throughput(1.f);
    float bsdfPdf = 0.f; // pdf of the direction just sampled; 0: no MIS (camera ray, no sky NEE)
    Vec3 lastNormal(0.f);
    const bool emitterNee = p.sampleEmitters && scene.lightCount > 0;
    float emitterBsdfPdf = 0.f; // pdf of the direction just sampled when emitters were sampled
    float skipped = 0.f; // distance covered through see-through BLEND hits since the last vertex
    int layers = 0;      // BLEND hits passed through along this path
    for (int depth = 0;; ++depth) {
        const Hit hit = pending ? *pending : tracer.closest(ray);
        pending = nullptr;
        if (!hit.valid()) {
            float weight = 1.f;
            if (bsdfPdf > 0.f) { // the sky was also sampled directly at the last vertex
                const float lightPdf = p.environment.valid()
                                           ? p.environment.pdf(ray.dir)
                                           : maxf(0.f, dot(lastNormal, ray.dir)) / kPi;
                weight = powerHeuristic(bsdfPdf, lightPdf);
            }
            radiance += throughput * skyRadiance(p, ray.dir) * weight;
            break;
        }
        // glTF BLEND: stochastic transparency. The hit is passed through with probability
        // 1 - alpha, straight on and without counting a bounce (the MIS state of the last vertex
        // stays: its shadow rays were attenuated by the same 1 - alpha).
        if (scene.alphaBlended && layers < kMaxBlendLayers) {
            const float alpha = blendAlpha(scene, hit);
            if (alpha < 1.f && rng.uniform() >= alpha) {
                ++layers;
                skipped += hit.t;
                ray = continueThrough(scene, ray, hit);
                --depth;
                continue;
            }
        }
        const SurfacePoint s = surfaceAt(scene, ray, hit);
        if (maxComponent(s.emission) > 0.f) {
            float weight = 1.f;
            const float areaPdf = emitterAreaPdf(scene, hit.prim);
            if (emitterBsdfPdf > 0.f && areaPdf > 0.f) { // also reachable by emitter sampling
                const float cosLight = fabsf(dot(s.geometricNormal, ray.dir));
                const float dist = skipped + hit.t;
                const float lightPdf = areaPdf * dist * dist / maxf(cosLight, 1e-8f);
                weight = powerHeuristic(emitterBsdfPdf, lightPdf);
            }
            radiance += throughput * s.emission * weight;
        }
        const Bsdf bsdf(BsdfParams{s.albedo, s.metallic, s.roughness}, s.shadingNormal);
        const Bsdf::Outgoing out = bsdf.bindOutgoing(-ray.dir); // shared by every light sample
        const Vec3 origin = s.position + s.geometricNormal * scene.epsilon;

        if (PointLightView l; viewPointLight(p, bsdf, out, s.geometricNormal, origin, l)) {
            const float through = transmittance(tracer, scene, l.shadowRay(origin));
            if (through > 0.f)
                radiance += throughput * l.f * p.pointLightIntensity * (through / l.dist2);
        }
        if (maxComponent(p.sunIrradiance) > 0.f && dot(s.geometricNormal, p.sunDirection) > 0.f) {
            const Vec3 f = bsdf.evalLocal(out, bsdf.toLocal(p.sunDirection), nullptr);
            if (maxComponent(f) > 0.f) {
                const float through =
                    transmittance(tracer, scene, Ray{origin, p.sunDirection, kInfinity});
                if (through > 0.f)
                    radiance += throughput * f * p.sunIrradiance * through;
            }
        }
        // Sky NEE: an environment map is sampled by its brightness, the gradient sky by cosine
        // (in the BSDF's frame around the shading normal, so the BSDF needs no conversion).
        Vec3 skyDir, skyLocal;
        float lightPdf = 0.f;
        const bool ambient = p.ambientSky && p.maxBounces == 0 && !p.environment.valid();
        if (ambient)
            radiance += throughput * ambientSkyLight(bsdf, out, skyRadiance(p, s.shadingNormal));
        const bool skyNee = !ambient && (p.environment.valid() || depth < p.skyNeeDepth);
        if (skyNee) {
            float l1, l2;
            rng.get2D(vertexSlot(depth, kSlotSkyLight), l1, l2);
            if (p.environment.valid()) {
                if (p.environment.sample(l1, l2, skyDir, lightPdf))
                    skyLocal = bsdf.toLocal(skyDir);
                else
                    lightPdf = 0.f;
            } else {
                skyLocal = Bsdf::cosineDirection(l1, l2);
                skyDir = bsdf.toWorld(skyLocal);
                lightPdf = skyLocal.z * (1.f / kPi);
            }
        }
        if (lightPdf > 0.f && dot(skyDir, s.geometricNormal) > 0.f) {
            float skyBsdfPdf = 0.f;
            const Vec3 f = bsdf.evalLocal(out, skyLocal, &skyBsdfPdf);
            if (maxComponent(f) > 0.f) {
                const float through = transmittance(tracer, scene, Ray{origin, skyDir, kInfinity});
                // At the last vertex no BSDF ray follows to find the sky: full weight.
                const float w = depth >= p.maxBounces ? 1.f : powerHeuristic(lightPdf, skyBsdfPdf);
                if (through > 0.f)
                    radiance += throughput * f * skyRadiance(p, skyDir) * (through * w / lightPdf);
            }
        }
        if (emitterNee) {
            const float e0 = rng.get1D(vertexSlot(depth, kSlotEmitterPick));
            float e1, e2;
            rng.get2D(vertexSlot(depth, kSlotEmitterPoint), e1, e2);
            radiance += throughput * sampleEmitterLight(tracer, scene, bsdf, out, s, origin, e0, e1,
                                                        e2, depth >= p.maxBounces);
        }
        if (depth >= p.maxBounces)
            break;

        Vec3 wiLocal, weight;
        float pdf = 0.f;
        const float uLobe = rng.get1D(vertexSlot(depth, kSlotLobe));
        float u1, u2;
        rng.get2D(vertexSlot(depth, kSlotDirection), u1, u2);
        if (!bsdf.sampleLocal(out, uLobe, u1, u2, wiLocal, weight, pdf))
            break;
        const Vec3 wi = bsdf.toWorld(wiLocal);
        if (dot(wi, s.geometricNormal) <= 0.f)
            break;
        throughput *= weight;
        if (depth >= kRouletteDepth) { // Russian roulette keeps deep, dim paths cheap but unbiased
            const float q = clampf(sqrtf(maxComponent(throughput)), 0.05f, 1.f);
            if (rng.get1D(vertexSlot(depth, kSlotRoulette)) >= q)
                break;
            throughput = throughput / q;
        }
        bsdfPdf = skyNee ? pdf : 0.f; // escaping rays get the full weight without sky NEE
        emitterBsdfPdf = emitterNee ? pdf : 0.f;
        lastNormal = s.shadingNormal;
        ray = Ray{origin, wi, kInfinity};
        skipped = 0.f;
    }
    return radiance;
}

/// The low-discrepancy sampler of sample `s` of pixel `pixel` (its Sobol slots up to
/// kLowDiscrepancyDepth).
FARM_KERNEL PixelSampler pixelSampler(const RenderParams &p, uint32_t pixel, int s)
{
    return PixelSampler(p.seed, p.frame, pixel, uint32_t(s),
                        vertexSlot(kLowDiscrepancyDepth, kSlotSkyLight));
}

/// The camera ray of a pixel sample: through the point the pixel filter (p.pixelFilter) draws
/// from the sampler's camera slot (PixelSampler: its stratified point; Rng: its first two
/// numbers).
template<typename Sampler>
FARM_KERNEL Ray pixelSampleRay(const Camera &camera, const RenderParams &p, int x, int y,
                               Sampler &sampler)
{
    float jx, jy, sx, sy;
    sampler.get2D(kSlotCamera, jx, jy);
    filterSamplePosition(p.pixelFilter, p.filterRadius, x, y, jx, jy, sx, sy);
    return camera.generateRay(sx, sy, p.width, p.height);
}

/// Radiance of sample `s` of pixel (x, y): a camera ray through a point the pixel filter draws
/// (pixelSampleRay), traced by traceRadiance. Every random number comes from (seed, frame,
/// pixel, s), so any subset of a pixel's samples can be computed on its own (sample passes) and
/// the image does not depend on the thread count.
template<typename Tracer>
FARM_HOST_DEVICE Vec3 pixelSample(const Tracer &tracer, const SceneView &scene,
                                  const Camera &camera, const RenderParams &p, int x, int y, int s)
{
    const uint32_t pixel = uint32_t(y) * uint32_t(p.width) + uint32_t(x);
    if (p.lowDiscrepancy) {
        PixelSampler sampler = pixelSampler(p, pixel, s);
        const Ray ray = pixelSampleRay(camera, p, x, y, sampler);
        return traceRadiance(tracer, scene, p, ray, sampler);
    }
    Rng rng(p.seed, p.frame, pixel, uint32_t(s));
    const Ray ray = pixelSampleRay(camera, p, x, y, rng);
    return traceRadiance(tracer, scene, p, ray, rng);
}

/// Average radiance of pixel (x, y): `spp` jittered samples (pixelSample).
template<typename Tracer>
FARM_HOST_DEVICE Vec3 renderPixel(const Tracer &tracer, const SceneView &scene,
                                  const Camera &camera, const RenderParams &p, int x, int y)
{
    Vec3 sum(0.f);
    for (int s = 0; s < p.spp; ++s) {
        const Vec3 l = pixelSample(tracer, scene, camera, p, x, y, s);
        if (isFinite(l)) // one bad sample must not poison the pixel
            sum += l;
    }
    return sum / float(p.spp);
}

} // namespace farm::render
