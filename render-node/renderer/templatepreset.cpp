#include "templatepreset.h"

#include <algorithm>
#include <cmath>

namespace farm::render {
namespace {

// Camera centres of the 42 template views SAM-6D and CNOS render (their level-0 template pose
// file: the vertices of a Blender icosphere with two subdivision levels, radius 1, sorted by
// elevation then azimuth; stored there as 4x4 camera-to-world matrices in millimetres, 1000 mm
// from the origin). The order among vertices of one elevation follows the single-precision
// rounding of Blender's icosphere, so the centres are kept as data rather than regenerated.
constexpr double kDirections[kSam6dViews][3] = {
    {0, 0, -1},                                 // 0
    {-0.162455559, -0.499995261, -0.850654423}, // 1
    {-0.162455559, 0.499995261, -0.850654423},  // 2
    {0.425322682, 0.3090114, -0.850654185},     // 3
    {0.425322682, -0.3090114, -0.850654185},    // 4
    {-0.525729775, 0, -0.850651681},            // 5
    {0.262868822, 0.809011638, -0.525737643},   // 6
    {0.262868822, -0.809011638, -0.525737643},  // 7
    {-0.688189387, -0.49999693, -0.525736213},  // 8
    {-0.688189387, 0.49999693, -0.525736213},   // 9
    {0.850647867, 0, -0.525735915},             // 10
    {-0.276388019, -0.850649238, -0.447219849}, // 11
    {-0.276388019, 0.850649238, -0.447219849},  // 12
    {0.723607302, 0.525725305, -0.447219521},   // 13
    {0.723607302, -0.525725305, -0.447219521},  // 14
    {-0.894426227, 0, -0.447215617},            // 15
    {-0.587785602, -0.809016705, 0},            // 16
    {-0.951057851, -0.309012622, 0},            // 17
    {-0.951057851, 0.309012622, 0},             // 18
    {-0.587785602, 0.809016705, 0},             // 19
    {0, 0.99999994, 0},                         // 20
    {0.587785602, 0.809016705, 0},              // 21
    {0.951057851, 0.309012622, 0},              // 22
    {0.951057851, -0.309012622, 0},             // 23
    {0.587785602, -0.809016705, 0},             // 24
    {0, -0.99999994, 0},                        // 25
    {0.894426227, 0, 0.447215617},              // 26
    {-0.723607302, -0.525725305, 0.447219521},  // 27
    {-0.723607302, 0.525725305, 0.447219521},   // 28
    {0.276388019, 0.850649238, 0.447219849},    // 29
    {0.276388019, -0.850649238, 0.447219849},   // 30
    {-0.850647867, 0, 0.525735915},             // 31
    {0.688189387, 0.49999693, 0.525736213},     // 32
    {0.688189387, -0.49999693, 0.525736213},    // 33
    {-0.262868822, -0.809011638, 0.525737643},  // 34
    {-0.262868822, 0.809011638, 0.525737643},   // 35
    {0.525729775, 0, 0.850651681},              // 36
    {-0.425322682, -0.3090114, 0.850654185},    // 37
    {-0.425322682, 0.3090114, 0.850654185},     // 38
    {0.162455559, 0.499995261, 0.850654364},    // 39
    {0.162455559, -0.499995261, 0.850654364},   // 40
    {0, 0, 1},                                  // 41
};

std::array<double, 3> normalized(std::array<double, 3> v)
{
    const double n = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    return {v[0] / n, v[1] / n, v[2] / n};
}

std::array<double, 3> crossd(const std::array<double, 3> &a, const std::array<double, 3> &b)
{
    return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

} // namespace

TemplatePreset parseTemplatePreset(const QString &name, bool *ok)
{
    const QString n = name.trimmed().toLower();
    *ok = true;
    if (n == QLatin1String("sam6d"))
        return TemplatePreset::Sam6d;
    if (n.isEmpty() || n == QLatin1String("none"))
        return TemplatePreset::None;
    *ok = false;
    return TemplatePreset::None;
}

std::array<double, 3> sam6dDirection(int index)
{
    const int i = std::clamp(index, 0, kSam6dViews - 1);
    return {kDirections[i][0], kDirections[i][1], kDirections[i][2]};
}

std::array<double, 9> sam6dRotation(int index)
{
    const std::array<double, 3> c = sam6dDirection(index);
    const std::array<double, 3> z = normalized({-c[0], -c[1], -c[2]}); // towards the origin
    // The pose file's helper vector: (0, 0, -1), or (0, -1, 0) where the camera sits within
    // 1e-3 of a pole (its look-at would be undefined).
    const double dNeg = std::hypot(c[0], c[1], c[2] + 1.0);
    const double dPos = std::hypot(c[0], c[1], c[2] - 1.0);
    const std::array<double, 3> helper = std::min(dNeg, dPos) < 1e-3
                                             ? std::array<double, 3>{0.0, -1.0, 0.0}
                                             : std::array<double, 3>{0.0, 0.0, -1.0};
    const std::array<double, 3> x = normalized(crossd(helper, z));
    const std::array<double, 3> y = normalized(crossd(z, x));
    return {x[0], y[0], z[0], x[1], y[1], z[1], x[2], y[2], z[2]};
}

double sam6dRadius(const Aabb &bounds)
{
    if (!bounds.valid())
        return 1.0;
    const auto norm = [](Vec3 v) {
        return std::sqrt(double(v.x) * v.x + double(v.y) * v.y + double(v.z) * v.z);
    };
    return std::max({norm(bounds.lo), norm(bounds.hi), 1e-9});
}

Camera sam6dCamera(const Aabb &bounds, int index, int width, int height, RenderParams &params)
{
    const double radius = sam6dRadius(bounds);
    // The scaled scene (object x 1 / (2 radius)) in model units: lengths x 2 radius.
    const double toModel = 2.0 * radius;
    const std::array<double, 3> c = sam6dDirection(index);
    const std::array<double, 9> r = sam6dRotation(index);
    Camera cam;
    const double d = kSam6dCameraDistance * toModel;
    cam.position = Vec3(float(c[0] * d), float(c[1] * d), float(c[2] * d));
    cam.u = Vec3(float(r[0]), float(r[3]), float(r[6]));    // OpenCV x
    cam.v = Vec3(float(-r[1]), float(-r[4]), float(-r[7])); // -(OpenCV y): up
    cam.w = Vec3(float(-r[2]), float(-r[5]), float(-r[8])); // -(OpenCV z): backwards
    cam.aspect = float(width) / float(std::max(1, height));
    const double tanHalfLong = std::tan(0.5 * kSam6dFovLongSide);
    cam.tanHalfFovY = float(width >= height ? tanHalfLong * height / width : tanHalfLong);

    const double lightDistance = kSam6dLightDistanceFactor * d;
    params.pointLightPosition =
        Vec3(float(c[0] * lightDistance), float(c[1] * lightDistance), float(c[2] * lightDistance));
    // Radiant intensity P / 4 pi (W/sr, metres) seen in model units: distances are 2 radius
    // times longer, so the intensity grows by (2 radius)^2 for the same irradiance.
    const float intensity = float(kSam6dLightPower / (4.0 * M_PI) * toModel * toModel);
    params.pointLightIntensity = Vec3(intensity);
    params.sunIrradiance = Vec3(0.f);
    params.skyZenith = params.skyHorizon = params.ground = Vec3(kSam6dWorld);
    params.up = Vec3(0.f, 0.f, 1.f);
    params.ambientSky = true; // without indirect light: the world as noiseless ambient light
    return cam;
}

} // namespace farm::render
