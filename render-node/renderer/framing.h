#pragma once

#include "kernel/camera.h"
#include "kernel/integrator.h"

namespace farm::render {

enum class CameraMode { Still, Turntable, LookAt, Pose };

/// How the camera is placed around the model.
struct CameraRig
{
    CameraMode mode = CameraMode::Still;
    int cycleFirst = 1; // turntable: frame at angle 0
    int cycleCount = 1; // turntable: frames per full turn
    float fovYDegrees = 40.f;
    float margin = 1.1f; // the box's corners stay within 1/margin of the view's half-size
    float stillAzimuthDegrees = 35.f;
    float stillElevationDegrees = 25.f;
    float turntableElevationDegrees = 20.f;
    Vec3 eye{0.f, 0.f, 1.f}; // LookAt: explicit pose
    Vec3 target{0.f};
    Vec3 up{0.f, 1.f, 0.f};
    // Pose: camera-to-world rotation columns (OpenGL convention: u right, v up, the camera
    // looks down -w), used as given with `eye` as the position.
    Vec3 poseU{1.f, 0.f, 0.f};
    Vec3 poseV{0.f, 1.f, 0.f};
    Vec3 poseW{0.f, 0.f, 1.f};
    // Orthographic projection instead of the pinhole: the view's width in scene units, or 0 to
    // fit the box's corners with the margin (one width for a whole turntable).
    bool orthographic = false;
    float orthoWidth = 0.f;
};

/// Azimuth of the camera around +Y for a frame: still uses the fixed 3/4 angle, turntable adds
/// 360 * (frame - cycleFirst) / cycleCount degrees.
float cameraAzimuthDegrees(const CameraRig &rig, int frame);

/// Half the height of an orthographic view along `camera`'s axis that holds every corner of
/// `bounds` within 1/margin of the view's half-size (width = height x aspect).
float orthoHalfHeightFit(const Aabb &bounds, const Camera &camera, float aspect, float margin);

/// A camera that fits the corners of `bounds` (with the margin) in a width x height view, at
/// one distance for a whole turntable, and the matching key light direction in `params`.
/// Orthographic rigs: the same pose (still/turntable at twice the bounding radius from the box
/// centre), with `orthoWidth` or the fitted view size.
Camera frameCamera(const Aabb &bounds, const CameraRig &rig, int frame, int width, int height,
                   RenderParams &params);

} // namespace farm::render
