#pragma once

#include "kernel/integrator.h"

namespace farm::render {

/// What the pixel centre's camera ray sees first: the data passes (AOVs) are made of these.
struct AovSample
{
    float depth = 0.f;     // distance along the camera axis; 0 for background
    Vec3 normal;           // world-space shading normal facing the camera
    Vec3 albedo;           // base colour, linear
    Vec3 nocs;             // position in normalized object coordinates, each in [0, 1]
    Vec3 position;         // the hit point in model (world) units
    uint32_t instance = 0; // mesh instance + 1 (Scene::instances()); 0 for background
    bool hit = false;
};

// Data passes see a glTF BLEND surface where its alpha is at least this, and through it below.
constexpr float kAovBlendThreshold = 0.5f;

/// NOCS maps the object's bounding box centre to 0.5 and its largest side to [0, 1], keeping
/// proportions, so the same surface point has the same value in every view.
struct NocsFrame
{
    Vec3 center;
    float invSize = 1.f;

    FARM_KERNEL Vec3 map(Vec3 p) const
    {
        const Vec3 v = (p - center) * invSize + Vec3(0.5f);
        return vmin(vmax(v, Vec3(0.f)), Vec3(1.f));
    }
};

/// The data passes of camera ray `ray` whose first opaque hit `h` (behind `skipped` of BLEND
/// surfaces seen through) has surface `s` (surfaceAt).
FARM_KERNEL AovSample aovFromSurface(const SceneView &scene, const Camera &camera,
                                     const NocsFrame &nocs, const Ray &ray, const Hit &h,
                                     const SurfacePoint &s, float skipped = 0.f)
{
    AovSample a;
    a.hit = true;
    a.depth = (skipped + h.t) * dot(ray.dir, -camera.w);
    a.instance = scene.instanceIds ? scene.instanceIds[h.prim] + 1u : 1u;
    a.normal = s.shadingNormal;
    a.albedo = s.albedo;
    a.nocs = nocs.map(s.position);
    a.position = s.position;
    return a;
}

/// The data passes of camera ray `ray` whose closest hit is `hit`.
template<typename Tracer>
FARM_HOST_DEVICE AovSample aovFromHit(const Tracer &tracer, const SceneView &scene,
                                      const Camera &camera, const NocsFrame &nocs, const Ray &ray,
                                      const Hit &hit)
{
    AovSample a;
    Ray r = ray;
    Hit h = hit;
    float skipped = 0.f; // distance covered through BLEND surfaces below the threshold
    for (int layer = 0; scene.alphaBlended && h.valid() && layer < kMaxBlendLayers &&
                        blendAlpha(scene, h) < kAovBlendThreshold;
         ++layer) {
        skipped += h.t;
        r = continueThrough(scene, r, h);
        h = tracer.closest(r);
    }
    if (!h.valid())
        return a;
    return aovFromSurface(scene, camera, nocs, ray, h, surfaceAt(scene, r, h), skipped);
}

template<typename Tracer>
FARM_HOST_DEVICE AovSample computeAov(const Tracer &tracer, const SceneView &scene,
                                      const Camera &camera, const NocsFrame &nocs, int width,
                                      int height, int x, int y)
{
    const Ray ray = camera.generateRay(float(x) + 0.5f, float(y) + 0.5f, width, height);
    return aovFromHit(tracer, scene, camera, nocs, ray, tracer.closest(ray));
}

/// One sample per pixel with data passes (template sets): the sample goes through the pixel
/// centre instead of a jittered point, so the beauty image and the data passes see the same
/// first hit, traced once, and line up pixel for pixel. The random numbers are those sample 0
/// of pixelSample() uses, except the camera jitter.
template<typename Tracer>
FARM_HOST_DEVICE Vec3 renderPixelWithAov(const Tracer &tracer, const SceneView &scene,
                                         const Camera &camera, const NocsFrame &nocs,
                                         const RenderParams &p, int x, int y, AovSample &aov)
{
    const uint32_t pixel = uint32_t(y) * uint32_t(p.width) + uint32_t(x);
    PixelSampler rng(p.seed, p.frame, pixel, 0u, vertexSlot(kLowDiscrepancyDepth, kSlotSkyLight));
    const Ray ray = camera.generateRay(float(x) + 0.5f, float(y) + 0.5f, p.width, p.height);
    const Hit hit = tracer.closest(ray);
    aov = aovFromHit(tracer, scene, camera, nocs, ray, hit);
    const Vec3 l = traceRadiance(tracer, scene, p, ray, rng, &hit);
    return isFinite(l) ? l : Vec3(0.f);
}

} // namespace farm::render
