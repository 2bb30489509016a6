#pragma once

// Direct light only (no bounce, the sky as ambient light, at most one point light: the template
// presets) on the CPU, split around the point light's shadow ray so that the shadow rays of a
// pixel's samples, or of 4 x 4 pixel centres, can be traced together as one packet.
//
// The shadow ray leaves the light towards the shaded point instead of the other way round: all
// rays of a packet then share their origin (the light) and run within a thin cone, so the
// packet's bounds are as tight as a pixel's camera rays' (from the hits towards the light they
// start spread over the pixels' footprint, and on a 1M-triangle mesh such packets cost more than
// they saved). The shading itself is traceRadiance's first vertex, operation for operation: with
// the shadow ray from the surface (lightSide false) the result is traceRadiance's bit for bit
// (tst_render), from the light only rays that graze an occluder's edge within rounding can answer
// otherwise.

#include "kernel/aov.h"
#include "kernel/integrator.h"
#include "widebvh.h"

namespace farm::render {

/// Where a shadow ray from the light stops short of the shaded point: this fraction of its length
/// (2^-17, 64 float steps of the distance: the triangle test's rounding of the shaded surface's
/// own distance is a few steps, so the surface never shadows itself).
constexpr float kLightSideShortfall = 0x1p-17f;
/// Light-side rays are used while that shortfall stays within this many scene epsilons (the
/// offset of secondary ray origins, 2e-5 of the scene's size): nothing thicker goes unseen at the
/// shaded end. Farther lights keep the ray from the surface.
constexpr float kLightSideMaxShortfall = 8.f;

/// Whether traceRadiance reduces to direct light for these settings and this scene: no bounce,
/// the sky as ambient light (no environment map), no sun, no emitter sampling and no glTF BLEND
/// surface (their see-through takes random numbers). Then no random number is drawn after the
/// camera ray, and DirectSample gives traceRadiance's radiance.
inline bool directLightOnly(const RenderParams &p, const SceneView &scene)
{
    return p.maxBounces == 0 && p.ambientSky && !p.environment.valid() &&
           !(maxComponent(p.sunIrradiance) > 0.f) && !(p.sampleEmitters && scene.lightCount > 0) &&
           !scene.alphaBlended;
}

/// The shadow ray from point light `light` to `origin` (the shaded point lifted off its surface,
/// `toLight` the unit direction from it to the light at distance `dist`): it stops
/// kLightSideShortfall of its length before `origin`. False when that would leave more than
/// kLightSideMaxShortfall scene epsilons unseen (a light far away): trace from the surface then.
/// (Always inlined: the AVX2 compilation of directlightlanes_impl.h calls it too.)
FARM_INLINE bool shadowRayFromLight(Vec3 light, Vec3 toLight, float dist, float epsilon, Ray &ray)
{
    const float shortfall = dist * kLightSideShortfall;
    if (!(shortfall <= kLightSideMaxShortfall * epsilon))
        return false;
    ray = Ray{light, -toLight, dist - shortfall};
    return true;
}

/// A camera sample's radiance under directLightOnly, before its shadow ray is traced: what the
/// emission, the point light (if nothing blocks `shadow`) and the ambient sky add, in
/// traceRadiance's order.
struct DirectSample
{
    Vec3 before;              // sky (a miss) or the surface's emission
    Vec3 light;               // the point light's share when `shadow` is clear
    Vec3 after;               // the ambient sky term
    Ray shadow;               // valid when needsShadow
    bool needsShadow = false; // the light is in front of the surface and the BSDF reflects it
    bool fromLight = false;   // `shadow` leaves the light (packets); else the surface

    /// traceRadiance's sum: the same additions in the same order.
    Vec3 radiance(bool blocked) const
    {
        Vec3 r(0.f);
        r += before;
        if (needsShadow && !blocked)
            r += light;
        r += after;
        return r;
    }
};

/// DirectSample of camera ray `ray` with closest hit `hit` (surface `s`, surfaceAt's answer for
/// them), mirroring traceRadiance's first vertex for directLightOnly settings (throughput 1, so
/// its products by it drop out exactly).
inline DirectSample directSample(const SceneView &scene, const RenderParams &p, const Ray &ray,
                                 const SurfacePoint &s, bool lightSide)
{
    DirectSample d;
    if (maxComponent(s.emission) > 0.f)
        d.before = s.emission;
    const Bsdf bsdf(BsdfParams{s.albedo, s.metallic, s.roughness}, s.shadingNormal);
    const Bsdf::Outgoing out = bsdf.bindOutgoing(-ray.dir);
    const Vec3 origin = s.position + s.geometricNormal * scene.epsilon;
    if (PointLightView l; viewPointLight(p, bsdf, out, s.geometricNormal, origin, l)) {
        d.light = l.f * p.pointLightIntensity * (1.f / l.dist2);
        d.needsShadow = true;
        d.fromLight = lightSide && shadowRayFromLight(p.pointLightPosition, l.dir, l.dist,
                                                      scene.epsilon, d.shadow);
        if (!d.fromLight)
            d.shadow = l.shadowRay(origin);
    }
    d.after = ambientSkyLight(bsdf, out, skyRadiance(p, s.shadingNormal));
    return d;
}

/// The same for a camera ray and its hit (a miss sees the sky).
inline DirectSample directSample(const SceneView &scene, const RenderParams &p, const Ray &ray,
                                 const Hit &hit, bool lightSide)
{
    if (!hit.valid()) {
        DirectSample d;
        d.before = skyRadiance(p, ray.dir);
        return d;
    }
    return directSample(scene, p, ray, surfaceAt(scene, ray, hit), lightSide);
}

/// Traces the shadow rays of `n` (<= kPacketRays) direct samples: those from the light as one
/// packet, the others one by one. blocked[i]: something lies in the way of sample i's ray.
inline void traceShadows(const WideTracer &tracer, const DirectSample *d, int n, bool *blocked)
{
    Ray rays[kPacketRays];
    int index[kPacketRays];
    int m = 0;
    for (int i = 0; i < n; ++i) {
        blocked[i] = false;
        if (!d[i].needsShadow)
            continue;
        if (d[i].fromLight) {
            rays[m] = d[i].shadow;
            index[m++] = i;
        } else {
            blocked[i] = tracer.occluded(d[i].shadow);
        }
    }
    if (m == 0)
        return;
    bool occluded[kPacketRays];
    intersectAnyWidePacket(*tracer.bvh, tracer.view, rays, m, occluded);
    for (int k = 0; k < m; ++k)
        blocked[index[k]] = occluded[k];
}

} // namespace farm::render
