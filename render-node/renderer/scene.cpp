#include "scene.h"

#include "bvhbuilder.h"

#include <QElapsedTimer>

#include <algorithm>
#include <cmath>
#include <thread>

namespace farm::render {
namespace {

bool usableTriangle(const Vec3 *v)
{
    if (!isFinite(v[0]) || !isFinite(v[1]) || !isFinite(v[2]))
        return false;
    const Vec3 n = cross(v[1] - v[0], v[2] - v[0]);
    const float area2 = dot(n, n);
    return std::isfinite(area2) && area2 > 0.f;
}

float finiteOr(float v, float fallback)
{
    return std::isfinite(v) ? v : fallback;
}

/// Materials with parameters in range and texture indices that exist (-1 otherwise).
std::vector<Material> sanitizeMaterials(std::vector<Material> materials, size_t textureCount)
{
    if (materials.empty())
        materials.emplace_back();
    auto checkTexture = [&](int &index) {
        if (index < 0 || size_t(index) >= textureCount)
            index = -1;
    };
    for (Material &m : materials) {
        m.metallic = std::clamp(finiteOr(m.metallic, 0.f), 0.f, 1.f);
        m.roughness = std::clamp(finiteOr(m.roughness, 0.5f), 0.f, 1.f);
        m.emissive = isFinite(m.emissive) ? vmax(m.emissive, Vec3(0.f)) : Vec3(0.f);
        checkTexture(m.baseColorTexture);
        checkTexture(m.metallicRoughnessTexture);
        checkTexture(m.emissiveTexture);
        checkTexture(m.normalTexture);
        m.normalScale = std::clamp(finiteOr(m.normalScale, 1.f), -16.f, 16.f);
    }
    return materials;
}

/// Keeps the usable triangles, filling in normals, colours, uvs and materials where missing.
TriangleMesh sanitize(TriangleMesh in, size_t &dropped)
{
    TriangleMesh out;
    const size_t n = in.triangleCount();
    const bool hasNormals = in.normals.size() == in.positions.size();
    const bool hasAlbedo = in.albedo.size() == in.positions.size();
    const bool hasUvs = in.uvs.size() == 2 * in.positions.size();
    const bool hasIds = in.materialIds.size() == n;
    const bool hasTangents = hasUvs && in.tangents.size() == in.positions.size() &&
                             in.tangentSigns.size() == in.positions.size();
    out.textures = std::move(in.textures);
    out.materials = sanitizeMaterials(std::move(in.materials), out.textures.size());
    out.positions.reserve(in.positions.size());
    out.normals.reserve(in.positions.size());
    out.albedo.reserve(in.positions.size());
    out.materialIds.reserve(n);
    if (hasUvs)
        out.uvs.reserve(in.uvs.size());
    dropped = 0;
    for (size_t t = 0; t < n; ++t) {
        const Vec3 *v = in.positions.data() + 3 * t;
        if (!usableTriangle(v)) {
            ++dropped;
            continue;
        }
        const uint32_t id = hasIds ? in.materialIds[t] : 0u;
        out.materialIds.push_back(id < out.materials.size() ? id : 0u);
        const Vec3 face = normalize(cross(v[1] - v[0], v[2] - v[0]));
        for (int k = 0; k < 3; ++k) {
            out.positions.push_back(v[k]);
            Vec3 nrm = hasNormals ? in.normals[3 * t + k] : face;
            nrm = (isFinite(nrm) && dot(nrm, nrm) > 1e-12f) ? normalize(nrm) : face;
            out.normals.push_back(nrm);
            Vec3 c = hasAlbedo ? in.albedo[3 * t + k] : Vec3(0.7f);
            if (!isFinite(c))
                c = Vec3(0.7f);
            // Albedo above 1 would make energy grow with every bounce.
            out.albedo.push_back(vmin(vmax(c, Vec3(0.f)), Vec3(0.98f)));
            if (hasUvs) {
                out.uvs.push_back(finiteOr(in.uvs[2 * (3 * t + k)], 0.f));
                out.uvs.push_back(finiteOr(in.uvs[2 * (3 * t + k) + 1], 0.f));
            }
            if (hasTangents) { // a bad tangent disables the normal map at that vertex
                const Vec3 tg = in.tangents[3 * t + k];
                out.tangents.push_back(isFinite(tg) ? tg : Vec3(0.f));
                out.tangentSigns.push_back(in.tangentSigns[3 * t + k] < 0.f ? -1.f : 1.f);
            }
        }
    }
    return out;
}

/// Copies the per-triangle data of `src` into BVH slot order.
/// `threads` as in BvhBuildOptions (1: this thread only).
void reorder(const TriangleMesh &src, const std::vector<uint32_t> &primIds, TriangleMesh &dst,
             int threads)
{
    const size_t n = primIds.size();
    dst.positions.resize(3 * n);
    dst.normals.resize(3 * n);
    dst.albedo.resize(3 * n);
    dst.materialIds.resize(n);
    dst.uvs.resize(src.uvs.empty() ? 0 : 6 * n);
    dst.tangents.resize(src.tangents.empty() ? 0 : 3 * n);
    dst.tangentSigns.resize(src.tangents.empty() ? 0 : 3 * n);
    auto copySlot = [&](size_t slot) {
        const size_t from = primIds[slot];
        dst.materialIds[slot] = src.materialIds[from];
        for (int k = 0; k < 3; ++k) {
            dst.positions[3 * slot + k] = src.positions[3 * from + k];
            dst.normals[3 * slot + k] = src.normals[3 * from + k];
            dst.albedo[3 * slot + k] = src.albedo[3 * from + k];
        }
        if (!src.uvs.empty())
            std::copy_n(src.uvs.begin() + std::ptrdiff_t(6 * from), 6,
                        dst.uvs.begin() + std::ptrdiff_t(6 * slot));
        if (!src.tangents.empty())
            for (int k = 0; k < 3; ++k) {
                dst.tangents[3 * slot + k] = src.tangents[3 * from + k];
                dst.tangentSigns[3 * slot + k] = src.tangentSigns[3 * from + k];
            }
    };
    // Random reads from src: split over two threads for big meshes (the slots are disjoint).
    auto copyRange = [&](size_t begin, size_t end) {
        for (size_t slot = begin; slot < end; ++slot)
            copySlot(slot);
    };
    if (n >= 65536 && threads != 1 && std::thread::hardware_concurrency() > 1) {
        std::thread half(copyRange, size_t(0), n / 2);
        copyRange(n / 2, n);
        half.join();
    } else {
        copyRange(0, n);
    }
}

} // namespace

Result<Scene> Scene::fromTriangles(TriangleMesh mesh, int threads)
{
    if (mesh.positions.size() % 3 != 0)
        return makeError("bad_model", "triangle data is not a multiple of three vertices");
    Scene scene;
    TriangleMesh clean = sanitize(std::move(mesh), scene.m_stats.droppedTriangles);
    const size_t n = clean.triangleCount();
    if (n == 0)
        return makeError("bad_model", "the model has no usable triangles");
    if (n > size_t(UINT32_MAX / 4))
        return makeError("bad_model", "the model has too many triangles");

    QElapsedTimer timer;
    timer.start();
    BvhBuildOptions options;
    options.threads = threads;
    Bvh bvh = buildBvh(clean.positions.data(), n, options);

    // Store triangles in leaf order so a leaf reads one contiguous block.
    reorder(clean, bvh.primIds, scene.m_mesh, threads);
    scene.m_mesh.materials = std::move(clean.materials);
    scene.m_mesh.textures = std::move(clean.textures);
    for (const Texture &t : scene.m_mesh.textures)
        scene.m_textureViews.push_back(TextureView{t.texels.data(), t.width, t.height});
    for (const Vec3 &p : scene.m_mesh.positions)
        scene.m_bounds.grow(p);
    scene.m_nodes = std::move(bvh.nodes);
    scene.m_primIds = std::move(bvh.primIds);
    scene.buildEmitters();
    scene.m_wide = collapseBvh(scene.view());
    scene.m_stats.bvhBuildMs = double(timer.nsecsElapsed()) / 1e6;
    scene.m_stats.triangles = n;
    scene.m_stats.bvhNodes = scene.m_nodes.size();
    scene.m_stats.materials = scene.m_mesh.materials.size();
    scene.m_stats.textures = scene.m_mesh.textures.size();
    return scene;
}

void Scene::buildEmitters()
{
    // Pick probability ~ area x luminance of the emissive factor (an emissive texture only
    // scales it, so every emitting point keeps a non-zero pdf).
    const size_t n = m_mesh.triangleCount();
    std::vector<double> power;
    m_lightSlots.clear();
    for (size_t slot = 0; slot < n; ++slot) {
        const uint32_t id = m_mesh.materialIds.empty() ? 0u : m_mesh.materialIds[slot];
        if (id >= m_mesh.materials.size())
            continue;
        const Vec3 e = m_mesh.materials[id].emissive;
        const float luminance = 0.2126f * e.x + 0.7152f * e.y + 0.0722f * e.z;
        const Vec3 *v = m_mesh.positions.data() + 3 * slot;
        const double area = 0.5 * double(length(cross(v[1] - v[0], v[2] - v[0])));
        const double w = double(luminance) * area;
        if (!(w > 0.0) || !std::isfinite(w))
            continue;
        m_lightSlots.push_back(uint32_t(slot));
        power.push_back(w);
    }
    m_lightCdf.clear();
    m_lightAreaPdf.clear();
    if (m_lightSlots.empty())
        return;
    double total = 0.0;
    for (double w : power)
        total += w;
    m_lightAreaPdf.assign(n, 0.f);
    double running = 0.0;
    for (size_t i = 0; i < power.size(); ++i) {
        running += power[i];
        m_lightCdf.push_back(i + 1 == power.size() ? 1.f : float(running / total));
        const Vec3 *v = m_mesh.positions.data() + 3 * size_t(m_lightSlots[i]);
        const double area = 0.5 * double(length(cross(v[1] - v[0], v[2] - v[0])));
        m_lightAreaPdf[m_lightSlots[i]] = float(power[i] / total / area);
    }
}

SceneView Scene::view() const
{
    SceneView v;
    v.nodes = m_nodes.data();
    v.nodeCount = uint32_t(m_nodes.size());
    v.positions = m_mesh.positions.data();
    v.normals = m_mesh.normals.data();
    v.albedo = m_mesh.albedo.data();
    v.primIds = m_primIds.data();
    v.uvs = m_mesh.uvs.empty() ? nullptr : m_mesh.uvs.data();
    v.tangents = m_mesh.tangents.empty() ? nullptr : m_mesh.tangents.data();
    v.tangentSigns = m_mesh.tangentSigns.empty() ? nullptr : m_mesh.tangentSigns.data();
    v.materialIds = m_mesh.materialIds.data();
    v.materials = m_mesh.materials.data();
    v.materialCount = uint32_t(m_mesh.materials.size());
    v.textures = m_textureViews.empty() ? nullptr : m_textureViews.data();
    v.textureCount = uint32_t(m_textureViews.size());
    if (!m_lightSlots.empty()) {
        v.lightSlots = m_lightSlots.data();
        v.lightCdf = m_lightCdf.data();
        v.lightAreaPdf = m_lightAreaPdf.data();
        v.lightCount = uint32_t(m_lightSlots.size());
    }
    for (const Material &m : m_mesh.materials)
        v.alphaMasked = v.alphaMasked || m.alphaCutoff >= 0.f;
    v.triangleCount = uint32_t(triangleCount());
    v.center = m_bounds.center();
    v.radius = std::max(0.5f * length(m_bounds.extent()), 1e-6f);
    // Float spacing grows with the coordinates' magnitude, so the offset must too.
    const float magnitude = maxComponent(vmax(vabs(m_bounds.lo), vabs(m_bounds.hi)));
    v.epsilon = std::max(magnitude, v.radius) * 2e-5f;
    return v;
}

} // namespace farm::render
