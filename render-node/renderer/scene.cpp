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

/// Runs body(part, begin, end) over [0, n) split into `parts` contiguous ranges, one thread each.
template<typename Body> void forRanges(size_t n, int parts, Body body)
{
    auto range = [&](int p) {
        body(size_t(p), n * size_t(p) / size_t(parts), n * size_t(p + 1) / size_t(parts));
    };
    std::vector<std::thread> workers;
    for (int p = 1; p < parts; ++p)
        workers.emplace_back(range, p);
    range(0);
    for (std::thread &w : workers)
        w.join();
}

/// Threads for a pass over `n` triangles: `threads` as in BvhBuildOptions, 1 for small meshes.
int passThreads(size_t n, int threads)
{
    const int hw = int(std::max(1u, std::thread::hardware_concurrency()));
    if (n < 65536)
        return 1;
    return std::clamp(threads > 0 ? threads : hw, 1, std::min(hw, 8));
}

/// The cleanup of a loaded mesh, done while copying it into BVH slot order (one read of the
/// input, one write of the output): usable triangles only (finite corners, non-zero area),
/// normals, colours, uvs and materials filled in where missing or invalid.
class Cleaner
{
public:
    Cleaner(TriangleMesh &in, int threads)
        : m_in(in)
        , m_n(in.triangleCount())
        , m_parts(passThreads(m_n, threads))
        , m_hasNormals(in.normals.size() == in.positions.size())
        , m_hasAlbedo(in.albedo.size() == in.positions.size())
        , m_hasUvs(in.uvs.size() == 2 * in.positions.size())
        , m_hasIds(in.materialIds.size() == m_n)
        , m_hasTangents(m_hasUvs && in.tangents.size() == in.positions.size() &&
                        in.tangentSigns.size() == in.positions.size())
    {}

    /// Finds the usable triangles; returns how many. When some are dropped, their positions are
    /// compacted (for the BVH build) and kept[] maps a usable triangle to its input index.
    size_t select()
    {
        std::vector<uint8_t> usable(m_n);
        std::vector<size_t> offsets(size_t(m_parts) + 1, 0);
        forRanges(m_n, m_parts, [&](size_t part, size_t begin, size_t end) {
            size_t k = 0;
            for (size_t t = begin; t < end; ++t) {
                usable[t] = usableTriangle(m_in.positions.data() + 3 * t) ? 1 : 0;
                k += usable[t];
            }
            offsets[part + 1] = k;
        });
        for (int p = 0; p < m_parts; ++p)
            offsets[size_t(p) + 1] += offsets[size_t(p)];
        const size_t m = offsets[size_t(m_parts)];
        if (m == m_n || m == 0)
            return m;
        m_kept.resize(m);
        m_positions.resize(3 * m);
        forRanges(m_n, m_parts, [&](size_t part, size_t begin, size_t end) {
            size_t o = offsets[part];
            for (size_t t = begin; t < end; ++t) {
                if (!usable[t])
                    continue;
                m_kept[o] = uint32_t(t);
                for (int k = 0; k < 3; ++k)
                    m_positions[3 * o + size_t(k)] = m_in.positions[3 * t + size_t(k)];
                ++o;
            }
        });
        return m;
    }

    /// Positions of the usable triangles, three per triangle.
    const Vec3 *positions() const
    {
        return m_kept.empty() ? m_in.positions.data() : m_positions.data();
    }

    /// Writes the clean triangles into `out` in BVH slot order (primIds: slot -> usable index).
    void write(const std::vector<uint32_t> &primIds, TriangleMesh &out)
    {
        const size_t n = primIds.size();
        // Allocating (page faults, zeroing) took as long as the copy itself: huge pages, and
        // two threads share it. The memory is taken here, on this thread: a helper's own
        // malloc arena would map new pages instead of reusing what the loader freed.
        reserveHuge(out.normals, 3 * n);
        reserveHuge(out.albedo, 3 * n);
        auto second = [&] {
            resizeHuge(out.normals, 3 * n);
            resizeHuge(out.albedo, 3 * n);
        };
        std::thread helper;
        if (m_parts > 1)
            helper = std::thread(second);
        else
            second();
        resizeHuge(out.positions, 3 * n);
        resizeHuge(out.materialIds, n);
        resizeHuge(out.uvs, m_hasUvs ? 6 * n : 0);
        resizeHuge(out.tangents, m_hasTangents ? 3 * n : 0);
        resizeHuge(out.tangentSigns, m_hasTangents ? 3 * n : 0);
        if (helper.joinable())
            helper.join();
        const uint32_t materialCount = uint32_t(out.materials.size());
        // Random reads from the input: parallel ranges of slots for big meshes.
        auto input = [&](size_t slot) {
            return m_kept.empty() ? primIds[slot] : m_kept[primIds[slot]];
        };
        forRanges(n, m_parts, [&](size_t, size_t begin, size_t end) {
            constexpr size_t kAhead = 16; // the reads are scattered: ask for them early
            for (size_t slot = begin; slot < end; ++slot) {
                if (slot + kAhead < end) {
                    const size_t ahead = 3 * input(slot + kAhead);
                    __builtin_prefetch(m_in.positions.data() + ahead);
                    if (m_hasNormals)
                        __builtin_prefetch(m_in.normals.data() + ahead);
                    if (m_hasAlbedo)
                        __builtin_prefetch(m_in.albedo.data() + ahead);
                }
                writeTriangle(input(slot), slot, materialCount, out);
            }
        });
    }

private:
    void writeTriangle(size_t t, size_t o, uint32_t materialCount, TriangleMesh &out) const
    {
        const Vec3 *v = m_in.positions.data() + 3 * t;
        const uint32_t id = m_hasIds ? m_in.materialIds[t] : 0u;
        out.materialIds[o] = id < materialCount ? id : 0u;
        // The face normal stands in for missing or unusable normals only: computed when needed.
        Vec3 face;
        bool haveFace = false;
        const auto faceNormal = [&] {
            if (!haveFace)
                face = normalize(cross(v[1] - v[0], v[2] - v[0]));
            haveFace = true;
            return face;
        };
        for (int k = 0; k < 3; ++k) {
            const size_t to = 3 * o + size_t(k), from = 3 * t + size_t(k);
            out.positions[to] = v[k];
            const Vec3 nrm = m_hasNormals ? m_in.normals[from] : faceNormal();
            out.normals[to] =
                (isFinite(nrm) && dot(nrm, nrm) > 1e-12f) ? normalize(nrm) : faceNormal();
            Vec3 c = m_hasAlbedo ? m_in.albedo[from] : Vec3(0.7f);
            if (!isFinite(c))
                c = Vec3(0.7f);
            // Albedo above 1 would make energy grow with every bounce.
            out.albedo[to] = vmin(vmax(c, Vec3(0.f)), Vec3(0.98f));
            if (m_hasUvs) {
                out.uvs[2 * to] = finiteOr(m_in.uvs[2 * from], 0.f);
                out.uvs[2 * to + 1] = finiteOr(m_in.uvs[2 * from + 1], 0.f);
            }
            if (m_hasTangents) { // a bad tangent disables the normal map at that vertex
                const Vec3 tg = m_in.tangents[from];
                out.tangents[to] = isFinite(tg) ? tg : Vec3(0.f);
                out.tangentSigns[to] = m_in.tangentSigns[from] < 0.f ? -1.f : 1.f;
            }
        }
    }

    const TriangleMesh &m_in;
    const size_t m_n;
    const int m_parts;
    const bool m_hasNormals, m_hasAlbedo, m_hasUvs, m_hasIds, m_hasTangents;
    std::vector<uint32_t> m_kept; // usable index -> input index (empty: none dropped)
    std::vector<Vec3> m_positions;
};

} // namespace

Result<Scene> Scene::fromTriangles(TriangleMesh mesh, int threads)
{
    if (mesh.positions.size() % 3 != 0)
        return makeError("bad_model", "triangle data is not a multiple of three vertices");
    Scene scene;
    Cleaner cleaner(mesh, threads);
    const size_t n = cleaner.select();
    scene.m_stats.droppedTriangles = mesh.triangleCount() - n;
    if (n == 0)
        return makeError("bad_model", "the model has no usable triangles");
    if (n > size_t(UINT32_MAX / 4))
        return makeError("bad_model", "the model has too many triangles");

    QElapsedTimer timer;
    timer.start();
    BvhBuildOptions options;
    options.threads = threads;
    Bvh bvh = buildBvh(cleaner.positions(), n, options);

    // Store triangles in leaf order so a leaf reads one contiguous block.
    scene.m_mesh.textures = std::move(mesh.textures);
    scene.m_mesh.materials =
        sanitizeMaterials(std::move(mesh.materials), scene.m_mesh.textures.size());
    cleaner.write(bvh.primIds, scene.m_mesh);
    // The input is spent: free it now, so that the wide BVH's packets below can take its memory
    // instead of new pages (rendercli.cpp's malloc settings keep freed memory for reuse).
    mesh = TriangleMesh();
    for (const Texture &t : scene.m_mesh.textures)
        scene.m_textureViews.push_back(TextureView{t.texels.data(), t.width, t.height});
    // The root box is the min/max over every corner: the same bounds as growing by each.
    const BvhNode &root = bvh.nodes[0];
    scene.m_bounds.grow(Vec3(root.lo[0], root.lo[1], root.lo[2]));
    scene.m_bounds.grow(Vec3(root.hi[0], root.hi[1], root.hi[2]));
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
    for (const Material &m : m_mesh.materials)
        v.alphaBlended = v.alphaBlended || m.alphaBlend;
    if (m_instanceIds.size() == triangleCount() && !m_instanceIds.empty())
        v.instanceIds = m_instanceIds.data();
    v.triangleCount = uint32_t(triangleCount());
    v.center = m_bounds.center();
    v.radius = std::max(0.5f * length(m_bounds.extent()), 1e-6f);
    // Float spacing grows with the coordinates' magnitude, so the offset must too.
    const float magnitude = maxComponent(vmax(vabs(m_bounds.lo), vabs(m_bounds.hi)));
    v.epsilon = std::max(magnitude, v.radius) * 2e-5f;
    return v;
}

} // namespace farm::render
