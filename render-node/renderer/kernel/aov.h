#pragma once

#include "kernel/integrator.h"

namespace farm::render {

/// What the pixel centre's camera ray sees first: the data passes (AOVs) are made of these.
struct AovSample
{
    float depth = 0.f; // distance along the camera axis; 0 for background
    Vec3 normal;       // world-space shading normal facing the camera
    Vec3 albedo;       // base colour, linear
    Vec3 nocs;         // position in normalized object coordinates, each in [0, 1]
    bool hit = false;
};

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

template<typename Tracer>
FARM_HOST_DEVICE AovSample computeAov(const Tracer &tracer, const SceneView &scene,
                                      const Camera &camera, const NocsFrame &nocs, int width,
                                      int height, int x, int y)
{
    AovSample a;
    const Ray ray = camera.generateRay(float(x) + 0.5f, float(y) + 0.5f, width, height);
    const Hit hit = tracer.closest(ray);
    if (!hit.valid())
        return a;
    const SurfacePoint s = surfaceAt(scene, ray, hit);
    a.hit = true;
    a.depth = hit.t * dot(ray.dir, -camera.w);
    a.normal = s.shadingNormal;
    a.albedo = s.albedo;
    a.nocs = nocs.map(s.position);
    return a;
}

} // namespace farm::render
