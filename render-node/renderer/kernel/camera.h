#pragma once

#include "kernel/vecmath.h"

namespace farm::render {

/// A pinhole or orthographic camera looking down -w (right-handed: u right, v up), as used by
/// every backend.
struct Camera
{
    Vec3 position;
    Vec3 u{1.f, 0.f, 0.f};
    Vec3 v{0.f, 1.f, 0.f};
    Vec3 w{0.f, 0.f, 1.f};
    float tanHalfFovY = 0.36397f; // 40 degrees vertical
    float aspect = 4.f / 3.f;
    float nearClip = 0.f;
    // > 0: orthographic, half the view's height in scene units (its width is that x aspect);
    // rays leave the plane through `position` at right angles, all along -w (tanHalfFovY unused).
    float orthoHalfHeight = 0.f;

    FARM_KERNEL bool orthographic() const { return orthoHalfHeight > 0.f; }

    /// Ray through film position (sx, sy) in pixels, y growing downwards.
    FARM_KERNEL Ray generateRay(float sx, float sy, int width, int height) const
    {
        const float fx = 2.f * sx / float(width) - 1.f;
        const float fy = 1.f - 2.f * sy / float(height);
        Ray ray;
        ray.tMax = kInfinity;
        if (orthoHalfHeight > 0.f) {
            ray.origin =
                position + u * (fx * orthoHalfHeight * aspect) + v * (fy * orthoHalfHeight);
            ray.dir = -w;
            return ray;
        }
        ray.origin = position;
        ray.dir = normalize(u * (fx * tanHalfFovY * aspect) + v * (fy * tanHalfFovY) - w);
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
