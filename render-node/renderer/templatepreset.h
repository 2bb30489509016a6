#pragma once

// Template sets laid out for a pose estimator as it reads them (docs/TEMPLATES.md): the
// `sam6d` preset places the 42 cameras, the light and the object scale as SAM-6D's template
// renderer does, so its loaders take the files as they are.

#include "kernel/integrator.h"
#include "model/job.h"

#include <QString>

#include <array>

namespace farm::render {

enum class TemplatePreset { None, Sam6d };

/// "sam6d" -> Sam6d; anything else (after trimming, case-insensitive) -> nullopt-like None with
/// ok = false.
TemplatePreset parseTemplatePreset(const QString &name, bool *ok);

/// Number of views of the SAM-6D preset (the level-0 icosphere of its pose file).
constexpr int kSam6dViews = kSam6dTemplateViews;

/// Camera centre of SAM-6D view `index` on the unit sphere around the model's origin (its pose
/// file's translation / 1000), in the file's order.
std::array<double, 3> sam6dDirection(int index);

/// Camera-to-world rotation of view `index` in OpenCV convention (columns: x right, y down,
/// z forward), row-major, built from the direction as SAM-6D's pose file was: z looks at the
/// origin, x = normalize((0, 0, -1) x z) ((0, -1, 0) at the poles), y = z x x.
std::array<double, 9> sam6dRotation(int index);

/// SAM-6D's normalisation radius: the larger distance of the two bounding box corners (min,
/// max) from the model's origin. The object is scaled by 1 / (2 radius) there; here the
/// scene stays in model units and the camera and light move out by 2 radius instead.
double sam6dRadius(const Aabb &bounds);

/// Full field of view of BlenderProc's default camera along the image's longer side (radians).
constexpr double kSam6dFovLongSide = 0.691111;
/// BlenderProc's world colour, a uniform ambient radiance seen by camera rays and surfaces.
constexpr float kSam6dWorld = 0.05f;
/// The point light: 1000 W at 2.5 x the camera's position.
constexpr double kSam6dLightPower = 1000.0;
constexpr double kSam6dLightDistanceFactor = 2.5;
/// Distance of the cameras from the origin in the scaled scene (pose file mm x 0.001 x 2).
constexpr double kSam6dCameraDistance = 2.0;

/// Adaptive anti-aliasing of the preset (RenderOptions::adaptiveThreshold): tone-mapped
/// luminance step between neighbours above which a pixel gets all its samples.
constexpr float kSam6dEdgeThreshold = 0.01f;

/// Camera of view `index` and the lighting of the preset in `params` (point light, uniform
/// world, no sun), in model units.
Camera sam6dCamera(const Aabb &bounds, int index, int width, int height, RenderParams &params);

} // namespace farm::render
