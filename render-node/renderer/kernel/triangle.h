#pragma once

#include "kernel/vecmath.h"

namespace farm::render {

/// A ray prepared for the watertight triangle test and for slab tests against boxes.
///
/// The triangle test follows the idea of Woop, Benthin and Wald, "Watertight Ray/Triangle
/// Intersection" (JCGT 2013): translate the vertices to the ray origin, shear so the ray runs
/// along +z, and decide the hit with 2D edge functions. Two triangles sharing an edge compute that
/// edge function from the same two transformed vertices, so a ray can never slip between them;
/// exact zeros are re-evaluated in double precision so the sign decision stays consistent.
struct PreparedRay
{
    Vec3 origin;
    Vec3 dir;
    Vec3 invDir;
    int kx = 0, ky = 1, kz = 2;
    float sx = 0.f, sy = 0.f, sz = 1.f;
    float tMax = kInfinity;

    FARM_KERNEL explicit PreparedRay(const Ray &ray)
        : origin(ray.origin)
        , dir(ray.dir)
        , tMax(ray.tMax)
    {
        for (int i = 0; i < 3; ++i) {
            const float d = dir[i];
            // A finite stand-in for 1/0 keeps (lo - o) * invDir free of 0 * inf = NaN.
            float inv = d != 0.f ? 1.f / d : copysignf(kInfinity, d);
            if (!isfinite(inv))
                inv = copysignf(kInfinity, d);
            invDir[i] = inv;
        }
        kz = maxDimension(vabs(dir));
        kx = kz == 2 ? 0 : kz + 1;
        ky = kx == 2 ? 0 : kx + 1;
        if (dir[kz] < 0.f) { // keep the winding so the sign test stays the same
            const int tmp = kx;
            kx = ky;
            ky = tmp;
        }
        sx = dir[kx] / dir[kz];
        sy = dir[ky] / dir[kz];
        sz = 1.f / dir[kz];
    }
};

/// A hit: distance, barycentric weights of v1 and v2, and the triangle's BVH slot.
struct Hit
{
    float t = kInfinity;
    float b1 = 0.f;
    float b2 = 0.f;
    uint32_t prim = 0xffffffffu;

    FARM_KERNEL bool valid() const { return prim != 0xffffffffu; }
};

/// Watertight ray/triangle test, two-sided. Returns the hit distance in (0, tMax] through `t`
/// and the barycentric weights of v1/v2 through b1/b2.
FARM_KERNEL bool intersectTriangle(const PreparedRay &r, Vec3 v0, Vec3 v1, Vec3 v2, float tMax,
                                   float &t, float &b1, float &b2)
{
    const Vec3 a = v0 - r.origin;
    const Vec3 b = v1 - r.origin;
    const Vec3 c = v2 - r.origin;
    const float ax = a[r.kx] - r.sx * a[r.kz];
    const float ay = a[r.ky] - r.sy * a[r.kz];
    const float bx = b[r.kx] - r.sx * b[r.kz];
    const float by = b[r.ky] - r.sy * b[r.kz];
    const float cx = c[r.kx] - r.sx * c[r.kz];
    const float cy = c[r.ky] - r.sy * c[r.kz];

    float u = cx * by - cy * bx;
    float v = ax * cy - ay * cx;
    float w = bx * ay - by * ax;
    if (u == 0.f || v == 0.f || w == 0.f) {
        u = float(double(cx) * double(by) - double(cy) * double(bx));
        v = float(double(ax) * double(cy) - double(ay) * double(cx));
        w = float(double(bx) * double(ay) - double(by) * double(ax));
    }
    if ((u < 0.f || v < 0.f || w < 0.f) && (u > 0.f || v > 0.f || w > 0.f))
        return false;
    const float det = u + v + w;
    if (det == 0.f)
        return false;

    const float az = r.sz * a[r.kz];
    const float bz = r.sz * b[r.kz];
    const float cz = r.sz * c[r.kz];
    const float tScaled = u * az + v * bz + w * cz;
    // Compare without dividing: flip both sides by det's sign.
    const float signedT = det < 0.f ? -tScaled : tScaled;
    const float absDet = fabsf(det);
    if (signedT <= 0.f || signedT > tMax * absDet)
        return false;
    const float inv = 1.f / det;
    t = tScaled * inv;
    b1 = v * inv;
    b2 = w * inv;
    return t <= tMax;
}

/// Slab test with the robust far-bound scaling of Ize ("Robust BVH Ray Traversal", 2013), so
/// boxes never cull a hit the triangle test would report. Returns the entry distance or a
/// negative value when missed.
FARM_KERNEL float intersectBox(const PreparedRay &r, const float lo[3], const float hi[3],
                               float tMax)
{
    float tNear = 0.f;
    float tFar = tMax;
    for (int i = 0; i < 3; ++i) {
        float t0 = (lo[i] - r.origin[i]) * r.invDir[i];
        float t1 = (hi[i] - r.origin[i]) * r.invDir[i];
        if (t0 > t1) {
            const float tmp = t0;
            t0 = t1;
            t1 = tmp;
        }
        tNear = maxf(tNear, t0);
        tFar = minf(tFar, t1 * 1.0000004f);
    }
    return tNear <= tFar ? tNear : -1.f;
}

} // namespace farm::render
