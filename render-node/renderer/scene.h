#pragma once

#include "kernel/sceneview.h"
#include "util/result.h"
#include "widebvh.h"

#include <QString>
#include <QStringList>

#include <cstdint>
#include <vector>

namespace farm::render {

/// A decoded texture owned by the host: linear RGBA floats.
struct Texture
{
    int width = 0;
    int height = 0;
    std::vector<float> texels;
};

/// Triangle soup as loaded: three entries per triangle in the per-vertex arrays.
struct TriangleMesh
{
    std::vector<Vec3> positions;
    std::vector<Vec3> normals;         // may be empty: face normals are used then
    std::vector<Vec3> albedo;          // base colour factor x vertex colour; empty: mid grey
    std::vector<float> uvs;            // 2 per vertex, or empty
    std::vector<Vec3> tangents;        // per vertex (for normal maps), or empty
    std::vector<float> tangentSigns;   // per vertex: bitangent = sign * cross(normal, tangent)
    std::vector<uint32_t> materialIds; // per triangle, or empty: material 0
    std::vector<Material> materials;   // empty: one default material
    std::vector<Texture> textures;

    size_t triangleCount() const { return positions.size() / 3; }
};

/// What loading and building found, for the log lines the CLI prints.
/// Meshes that carry no normals are smoothed only across edges whose faces meet at less than
/// this angle (Blender's auto-smooth default); sharper edges stay hard.
constexpr float kCreaseAngleDegrees = 30.f;

struct SceneStats
{
    size_t triangles = 0;
    size_t droppedTriangles = 0; // degenerate or non-finite
    size_t meshes = 0;
    size_t materials = 0;
    size_t textures = 0;
    QStringList warnings; // e.g. missing textures (the model still renders)
    size_t bvhNodes = 0;
    double loadMs = 0.0;
    double bvhBuildMs = 0.0;
};

/// A camera stored in the model file (Assimp aiCamera), in world space.
struct SceneCamera
{
    QString name;
    Vec3 position;
    Vec3 forward{0.f, 0.f, -1.f}; // unit view direction
    Vec3 up{0.f, 1.f, 0.f};       // unit, orthogonal to forward
    float fovYDegrees = 40.f;     // 0 for an orthographic camera
    float orthoHalfHeight = 0.f;  // > 0: orthographic, half the view height (glTF ymag)
};

/// One mesh instance of the file's node graph: a (node, Assimp mesh) pair, in depth-first order.
/// Its id in the `instance` pass is its index + 1 (0 = background).
struct SceneInstance
{
    QString node;
    QString mesh;
};

/// A renderable scene: triangles reordered into BVH order plus the BVH itself.
class Scene
{
public:
    Scene() = default;
    Scene(Scene &&) = default;
    Scene &operator=(Scene &&) = default;
    Scene(const Scene &) = delete; // texture views point into this scene's own buffers
    Scene &operator=(const Scene &) = delete;

    /// Loads any file Assimp reads. Every file read (side files too) must lie inside `root`
    /// (the job's bundle root; empty: the model's own folder), symlinks followed; others are
    /// treated as missing and named in a warning. Errors: `io_error` (no such file or root,
    /// model outside the root), `bad_model` (unreadable, no triangles).
    static Result<Scene> load(const QString &path, const QString &root = {});

    /// Validates the triangles (drops NaN and zero-area ones) and builds the BVH.
    /// `threads` <= 0 uses every core. Error `bad_model` when no triangle is left.
    static Result<Scene> fromTriangles(TriangleMesh mesh, int threads = 0);

    /// Raw-array view the kernels read; valid while this Scene lives and is not moved from.
    SceneView view() const;

    const Aabb &bounds() const { return m_bounds; }
    const SceneStats &stats() const { return m_stats; }
    SceneStats &stats() { return m_stats; }
    size_t triangleCount() const { return m_mesh.triangleCount(); }
    const std::vector<BvhNode> &nodes() const { return m_nodes; }
    const WideBvh &wideBvh() const { return m_wide; }
    const std::vector<uint32_t> &primIds() const { return m_primIds; }
    const TriangleMesh &mesh() const { return m_mesh; }
    /// Cameras found in the file, in file order (empty for formats without cameras).
    const std::vector<SceneCamera> &cameras() const { return m_cameras; }
    /// Mesh instances (Scene::load); empty for scenes made from bare triangles (one instance).
    const std::vector<SceneInstance> &instances() const { return m_instances; }
    /// Per BVH slot: instance index (see SceneInstance), or empty.
    const std::vector<uint32_t> &instanceIds() const { return m_instanceIds; }

private:
    TriangleMesh m_mesh; // BVH order
    std::vector<BvhNode> m_nodes;
    std::vector<uint32_t> m_primIds;
    WideBvh m_wide; // CPU traversal layout of the same tree
    std::vector<TextureView> m_textureViews;
    Aabb m_bounds;
    SceneStats m_stats;
    std::vector<SceneCamera> m_cameras;
    std::vector<SceneInstance> m_instances;
    std::vector<uint32_t> m_instanceIds; // per BVH slot
    std::vector<uint32_t> m_lightSlots;  // emissive triangles (see SceneView)
    std::vector<float> m_lightCdf;
    std::vector<float> m_lightAreaPdf;

    void buildEmitters();
};

} // namespace farm::render
