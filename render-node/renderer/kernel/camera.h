#pragma once

#include "kernel/vecmath.h"

namespace farm::render {

/// A pinhole camera looking down -w (right-handed: u right, v up), as used by every backend.
struct Camera
{
    Vec3 position;
    Vec3 u{1.f, 0.f, 0.f};
    Vec3 v{0.f, 1.f, 0.f};
    Vec3 w{0.f, 0.f, 1.f};
    float tanHalfFovY = 0.36397f; // 40 degrees vertical
    float aspect = 4.f / 3.f;
    float nearClip = 0.f;

    /// Ray through film position (sx, sy) in pixels, y growing downwards.
    FARM_KERNEL Ray generateRay(float sx, float sy, int width, int height) const
    {
        const float ndcX = (2.f * sx / float(width) - 1.f) * tanHalfFovY * aspect;
        const float ndcY = (1.f - 2.f * sy / float(height)) * tanHalfFovY;
        Ray ray;
        ray.origin = position;
        ray.dir = normalize(u * ndcX + v * ndcY - w);
        ray.tMax = kInfinity;
        return ray;
    }
};

/// Camera at `eye` looking at `target`; `up` need not be orthogonal to the view direction.
FARM_KERNEL Camera lookAt(Vec3 eye, Vec3 target, Vec3 up, float fovYDegrees, float aspect)
{
    Camera c;
    c.position = eye;
    c.w = normalize(eye - target);
    Vec3 right = cross(up, c.w);
    if (length(right) < 1e-6f) // looking straight along up: any perpendicular will do
        right = cross(Vec3(1.f, 0.f, 0.f), c.w);
    c.u = normalize(right);
    c.v = cross(c.w, c.u);
    c.tanHalfFovY = tanf(fovYDegrees * kPi / 360.f);
    c.aspect = aspect;
    return c;
}

} // namespace farm::render
