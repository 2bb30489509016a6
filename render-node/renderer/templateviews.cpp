#include "templateviews.h"

#include "passes.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <algorithm>
#include <cmath>

namespace farm::render {
namespace {

QByteArray npyFloat32(const std::vector<float> &values, const QString &shape)
{
    QByteArray data = npyFloat32Header(shape);
    data.append(reinterpret_cast<const char *>(values.data()),
                qsizetype(values.size() * sizeof(float)));
    return data;
}

Result<void> save(const QString &path, const QByteArray &data)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(data) != data.size() || !file.commit())
        return makeError("write_failed", QStringLiteral("cannot write %1").arg(path));
    return {};
}

QJsonArray matrixJson(const std::array<double, 16> &m)
{
    QJsonArray rows;
    for (int r = 0; r < 4; ++r)
        rows.append(QJsonArray{m[4 * r], m[4 * r + 1], m[4 * r + 2], m[4 * r + 3]});
    return rows;
}

std::array<double, 16> invertRigid(const std::array<double, 16> &m)
{
    // [R t; 0 1]^-1 = [R^T, -R^T t; 0 1]
    std::array<double, 16> inv{};
    for (int r = 0; r < 3; ++r) {
        for (int c = 0; c < 3; ++c)
            inv[4 * r + c] = m[4 * c + r];
        inv[4 * r + 3] = -(m[r] * m[3] + m[4 + r] * m[7] + m[8 + r] * m[11]);
    }
    inv[15] = 1.0;
    return inv;
}

} // namespace

Vec3 templateDirection(int index, int count)
{
    const int n = std::max(1, count);
    const double y = 1.0 - 2.0 * (double(index) + 0.5) / double(n);
    const double r = std::sqrt(std::max(0.0, 1.0 - y * y));
    const double phi = double(index) * M_PI * (3.0 - std::sqrt(5.0)); // golden angle
    return Vec3(float(r * std::cos(phi)), float(y), float(r * std::sin(phi)));
}

Camera templateCamera(const Aabb &bounds, int index, int count, int width, int height,
                      RenderParams &params, float fovYDegrees)
{
    const float aspect = float(width) / float(std::max(1, height));
    const Vec3 center = bounds.valid() ? bounds.center() : Vec3(0.f);
    const float radius = bounds.valid() ? std::max(0.5f * length(bounds.extent()), 1e-6f) : 1.f;
    const float halfY = 0.5f * fovYDegrees * kPi / 180.f;
    const float halfX = std::atan(std::tan(halfY) * aspect);
    const float distance = radius * 1.05f / std::sin(std::min(halfX, halfY));
    const Vec3 dir = templateDirection(index, count);
    Camera camera = lookAt(center + dir * distance, center, params.up, fovYDegrees, aspect);
    // Light from above and behind the camera's left shoulder in every view.
    params.sunDirection = normalize(dir + camera.v * 0.8f - camera.u * 0.5f);
    return camera;
}

Intrinsics intrinsicsOf(const Camera &camera, int width, int height)
{
    Intrinsics k;
    k.width = width;
    k.height = height;
    k.fy = 0.5 * height / double(camera.tanHalfFovY);
    k.fx = 0.5 * width / (double(camera.tanHalfFovY) * double(camera.aspect));
    k.cx = 0.5 * width - 0.5;
    k.cy = 0.5 * height - 0.5;
    return k;
}

std::array<double, 16> worldToCamera(const Camera &c)
{
    const Vec3 rows[3] = {c.u, -c.v, -c.w};
    std::array<double, 16> m{};
    for (int r = 0; r < 3; ++r) {
        m[4 * r] = rows[r].x;
        m[4 * r + 1] = rows[r].y;
        m[4 * r + 2] = rows[r].z;
        m[4 * r + 3] = -double(dot(rows[r], c.position));
    }
    m[15] = 1.0;
    return m;
}

Result<QStringList> writeCameraFiles(const QString &directory, const QList<Camera> &cameras,
                                     int width, int height, const QJsonObject &extra, bool npy)
{
    if (cameras.isEmpty())
        return makeError("invalid_argument", QStringLiteral("no cameras to write"));
    if (!QDir().mkpath(directory))
        return makeError("write_failed", QStringLiteral("cannot create %1").arg(directory));
    const Intrinsics k = intrinsicsOf(cameras.first(), width, height);
    QJsonArray views;
    std::vector<float> poses;
    for (qsizetype i = 0; i < cameras.size(); ++i) {
        const std::array<double, 16> w2c = worldToCamera(cameras[i]);
        views.append(QJsonObject{{"view", int(i)},
                                 {"world_to_camera", matrixJson(w2c)},
                                 {"camera_to_world", matrixJson(invertRigid(w2c))}});
        for (double v : w2c)
            poses.push_back(float(v));
    }
    QJsonObject doc{
        {"convention", "OpenCV: x right, y down, z forward; model units; row-major 4x4"},
        {"width", width},
        {"height", height},
        {"intrinsics", QJsonObject{{"fx", k.fx}, {"fy", k.fy}, {"cx", k.cx}, {"cy", k.cy}}},
        {"views", views}};
    for (auto it = extra.begin(); it != extra.end(); ++it)
        doc.insert(it.key(), it.value());
    const std::vector<float> kMatrix = {float(k.fx), 0.f, float(k.cx), 0.f, float(k.fy),
                                        float(k.cy), 0.f, 0.f,         1.f};
    const QDir dir(directory);
    const QStringList paths = {dir.filePath("cameras.json"), dir.filePath("poses.npy"),
                               dir.filePath("intrinsics.npy")};
    for (const auto &[path, data] :
         {std::pair{paths[0], QJsonDocument(doc).toJson(QJsonDocument::Indented)},
          std::pair{paths[1], npyFloat32(poses, QStringLiteral("(%1, 4, 4)").arg(cameras.size()))},
          std::pair{paths[2], npyFloat32(kMatrix, QStringLiteral("(3, 3)"))}}) {
        if (Result<void> r = save(path, data); !r)
            return r.error();
        if (!npy)
            return QStringList{paths[0]};
    }
    return paths;
}

} // namespace farm::render
