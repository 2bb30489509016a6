#pragma once

#include "framing.h"
#include "util/result.h"

#include <QJsonObject>
#include <QList>
#include <QString>

#include <array>

namespace farm::render {

/// Direction from the object towards view `index` of `count`, spread evenly over the sphere
/// (Fibonacci lattice), as template sets for pose estimation use (SAM-6D: 42 views).
Vec3 templateDirection(int index, int count);

/// Camera for a template view: looks at the bounding box centre from `templateDirection`, at
/// the one distance that fits the bounding sphere (so every view has the same scale).
Camera templateCamera(const Aabb &bounds, int index, int count, int width, int height,
                      RenderParams &params, float fovYDegrees = 40.f);

/// Pinhole intrinsics in OpenCV convention (pixel centres at integer coordinates).
struct Intrinsics
{
    double fx = 0.0, fy = 0.0, cx = 0.0, cy = 0.0;
    int width = 0, height = 0;
};
Intrinsics intrinsicsOf(const Camera &camera, int width, int height);

/// World (= model) to camera transform in OpenCV convention (x right, y down, z forward),
/// row-major 4x4.
std::array<double, 16> worldToCamera(const Camera &camera);

/// Writes DIR/cameras.json (intrinsics, per-view world_to_camera and camera_to_world),
/// DIR/poses.npy (N x 4 x 4 float32 world-to-camera) and DIR/intrinsics.npy (3 x 3 float32).
/// Returns the paths written.
/// `extra` keys are added to cameras.json (a preset's conventions); `npy` false: cameras.json
/// only.
Result<QStringList> writeCameraFiles(const QString &directory, const QList<Camera> &cameras,
                                     int width, int height, const QJsonObject &extra = {},
                                     bool npy = true);

} // namespace farm::render
