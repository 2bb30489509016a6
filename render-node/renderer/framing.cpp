#include "framing.h"

#include <algorithm>
#include <cmath>

namespace farm::render {
namespace {

constexpr float kDegrees = kPi / 180.f;

Vec3 directionFromAngles(float azimuthDegrees, float elevationDegrees)
{
    const float az = azimuthDegrees * kDegrees;
    const float el = elevationDegrees * kDegrees;
    return Vec3(std::cos(el) * std::sin(az), std::sin(el), std::cos(el) * std::cos(az));
}

constexpr int kTurntableSamples = 48;

/// Smallest distance from the box centre along the view direction at which all eight corners
/// of the box lie inside the view shrunk by the margin. Tighter than the bounding sphere for
/// long or flat models, and never closer than the sphere so the camera stays outside.
float fitDistance(const Aabb &bounds, const CameraRig &rig, float azimuth, float elevation,
                  float aspect, Vec3 up)
{
    const float tanY = std::tan(0.5f * rig.fovYDegrees * kDegrees) / rig.margin;
    const float tanX = tanY * aspect;
    if (!bounds.valid())
        return 1.f / tanY;
    const Vec3 center = bounds.center();
    const Vec3 toEye = directionFromAngles(azimuth, elevation);
    const Camera basis = lookAt(center + toEye, center, up, rig.fovYDegrees, aspect);
    float distance = 0.f;
    for (int i = 0; i < 8; ++i) {
        const Vec3 corner((i & 1) ? bounds.hi.x : bounds.lo.x, (i & 2) ? bounds.hi.y : bounds.lo.y,
                          (i & 4) ? bounds.hi.z : bounds.lo.z);
        const Vec3 d = corner - center;
        const float depth = dot(d, basis.w); // towards the eye
        distance = std::max(distance, depth + std::fabs(dot(d, basis.u)) / tanX);
        distance = std::max(distance, depth + std::fabs(dot(d, basis.v)) / tanY);
    }
    const float radius = 0.5f * length(bounds.extent());
    return std::max(distance, radius * 1.05f);
}

float safeMargin(float margin)
{
    return margin >= 1.f && std::isfinite(margin) ? margin : 1.f;
}

} // namespace

float orthoHalfHeightFit(const Aabb &bounds, const Camera &camera, float aspect, float margin)
{
    if (!bounds.valid())
        return 1.f;
    const float invAspect = aspect > 0.f ? 1.f / aspect : 1.f;
    float half = 0.f;
    for (int i = 0; i < 8; ++i) {
        const Vec3 corner((i & 1) ? bounds.hi.x : bounds.lo.x, (i & 2) ? bounds.hi.y : bounds.lo.y,
                          (i & 4) ? bounds.hi.z : bounds.lo.z);
        const Vec3 d = corner - camera.position;
        half = std::max(half, std::fabs(dot(d, camera.v)));
        half = std::max(half, std::fabs(dot(d, camera.u)) * invAspect);
    }
    return std::max(half * safeMargin(margin), 1e-6f);
}

float cameraAzimuthDegrees(const CameraRig &rig, int frame)
{
    if (rig.mode == CameraMode::Still)
        return rig.stillAzimuthDegrees;
    const int count = std::max(1, rig.cycleCount);
    // Reduce the frame offset first so large frame numbers keep full float precision.
    const int offset = ((frame - rig.cycleFirst) % count + count) % count;
    return rig.stillAzimuthDegrees + 360.f * float(offset) / float(count);
}

Camera frameCamera(const Aabb &bounds, const CameraRig &rig, int frame, int width, int height,
                   RenderParams &params)
{
    const float aspect = float(width) / float(std::max(1, height));
    if (rig.mode == CameraMode::LookAt || rig.mode == CameraMode::Pose) {
        Camera camera = lookAt(rig.eye, rig.target, rig.up, rig.fovYDegrees, aspect);
        if (rig.mode == CameraMode::Pose) {
            // Taken as given (validated orthonormal), so a pose printed from a look-at camera
            // renders the same image bit for bit.
            camera.u = rig.poseU;
            camera.v = rig.poseV;
            camera.w = rig.poseW;
        }
        // Key light from above the camera's left shoulder.
        params.sunDirection = normalize(camera.w + camera.v * 0.8f - camera.u * 0.5f);
        if (rig.orthographic)
            camera.orthoHalfHeight = rig.orthoWidth > 0.f
                                         ? 0.5f * rig.orthoWidth / aspect
                                         : orthoHalfHeightFit(bounds, camera, aspect, rig.margin);
        return camera;
    }
    const Vec3 center = bounds.valid() ? bounds.center() : Vec3(0.f);
    const float radius = bounds.valid() ? std::max(0.5f * length(bounds.extent()), 1e-6f) : 1.f;
    const float elevation =
        rig.mode == CameraMode::Still ? rig.stillElevationDegrees : rig.turntableElevationDegrees;
    const float azimuth = cameraAzimuthDegrees(rig, frame);
    if (rig.orthographic) {
        // Parallel rays: the distance only keeps the camera plane outside the model.
        const Vec3 eye = center + directionFromAngles(azimuth, elevation) * (2.f * radius);
        Camera camera = lookAt(eye, center, params.up, rig.fovYDegrees, aspect);
        float half = rig.orthoWidth > 0.f ? 0.5f * rig.orthoWidth / aspect : 0.f;
        if (!(half > 0.f)) {
            half = orthoHalfHeightFit(bounds, camera, aspect, rig.margin);
            for (int k = 0; rig.mode == CameraMode::Turntable && k < kTurntableSamples; ++k) {
                const Vec3 dir =
                    directionFromAngles(360.f * float(k) / kTurntableSamples, elevation);
                half =
                    std::max(half, orthoHalfHeightFit(bounds,
                                                      lookAt(center + dir * (2.f * radius), center,
                                                             params.up, rig.fovYDegrees, aspect),
                                                      aspect, rig.margin));
            }
        }
        camera.orthoHalfHeight = half;
        params.sunDirection = normalize(directionFromAngles(azimuth - 55.f, 55.f));
        return camera;
    }
    float distance = fitDistance(bounds, rig, azimuth, elevation, aspect, params.up);
    if (rig.mode == CameraMode::Turntable) {
        // One distance for the whole turn, so the model does not breathe from frame to frame.
        for (int k = 0; k < kTurntableSamples; ++k)
            distance =
                std::max(distance, fitDistance(bounds, rig, 360.f * float(k) / kTurntableSamples,
                                               elevation, aspect, params.up));
    }
    const Vec3 eye = center + directionFromAngles(azimuth, elevation) * distance;
    Camera camera = lookAt(eye, center, params.up, rig.fovYDegrees, aspect);
    camera.nearClip = std::max(0.f, distance - radius * 2.f);
    // The key light turns with the camera so every turntable frame is lit alike.
    params.sunDirection = normalize(directionFromAngles(azimuth - 55.f, 55.f));
    return camera;
}

} // namespace farm::render
