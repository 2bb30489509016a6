// Scene::load: the Assimp edge. Everything Assimp-specific stays in this file.
#include "bundle/sidefiles.h"
#include "bundleio.h"
#include "bvhbuilder.h"
#include "scene.h"
#include "textureloader.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <assimp/GltfMaterial.h>
#include <assimp/Importer.hpp>
#include <assimp/config.h>
#include <assimp/material.h>
#include <assimp/postprocess.h>
#include <assimp/scene.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <type_traits>

/// Debian's Assimp keeps its internal asserts, which abort() the process on some corrupt files
/// (e.g. a PLY whose face list is cut short). This definition interposes the library's handler
/// so such a file becomes an exception, caught below and reported as a bad model.
namespace Assimp {
void aiAssertViolation(const char *failedExpression, const char *file, int line)
{
    throw std::runtime_error(std::string("internal check failed (") + failedExpression + " at " +
                             file + ":" + std::to_string(line) + ")");
}
} // namespace Assimp

namespace farm::render {
namespace {

// Corners of one mesh that unshareCornersWithoutNormals will copy at most (beyond, the mesh
// keeps its shared vertices and Assimp's plain smoothing).
constexpr size_t kMaxUnsharedCorners = size_t(1) << 27;

/// Gives every face corner of each mesh without normals a vertex of its own (copying position,
/// colours and texture coordinates), so that aiProcess_GenSmoothNormals can apply the crease
/// angle: with vertices shared between faces (indexed PLY, OFF, ...), it can only give a shared
/// vertex one normal, so a box corner's three faces would share one. JoinIdenticalVertices
/// merges the corners again where their normals came out equal. Meshes with bones or morph
/// targets (whose data index the vertices) are left as they are.
void unshareCornersWithoutNormals(const aiScene *constScene)
{
    auto *scene = const_cast<aiScene *>(constScene); // the importer's own, before its steps
    for (unsigned mi = 0; scene && mi < scene->mNumMeshes; ++mi) {
        aiMesh *m = scene->mMeshes[mi];
        if (!m || m->HasNormals() || !m->mVertices || !m->mFaces || m->mNumBones > 0 ||
            m->mNumAnimMeshes > 0)
            continue;
        size_t corners = 0;
        for (unsigned f = 0; f < m->mNumFaces; ++f)
            corners += m->mFaces[f].mNumIndices;
        if (corners == 0 || corners > kMaxUnsharedCorners || corners == m->mNumVertices)
            continue;
        const auto remap = [&](auto *&array) {
            if (!array)
                return;
            using T = std::remove_reference_t<decltype(*array)>;
            T *out = new T[corners];
            size_t c = 0;
            for (unsigned f = 0; f < m->mNumFaces; ++f) {
                const aiFace &face = m->mFaces[f];
                for (unsigned k = 0; k < face.mNumIndices; ++k)
                    out[c++] = face.mIndices[k] < m->mNumVertices ? array[face.mIndices[k]] : T();
            }
            delete[] array;
            array = out;
        };
        remap(m->mVertices);
        remap(m->mTangents);
        remap(m->mBitangents);
        for (auto &colours : m->mColors)
            remap(colours);
        for (auto &uvs : m->mTextureCoords)
            remap(uvs);
        unsigned c = 0;
        for (unsigned f = 0; f < m->mNumFaces; ++f) {
            const aiFace &face = m->mFaces[f];
            for (unsigned k = 0; k < face.mNumIndices; ++k)
                face.mIndices[k] = c++;
        }
        m->mNumVertices = unsigned(corners);
    }
}

/// The normal and tangent steps the imported scene needs: smooth normals where a mesh has none,
/// tangents only where a mesh has uvs but no tangents and some material has a normal map (Scene
/// keeps tangents only then). Each costs nothing on meshes that do not need it, but asking for
/// tangents makes Assimp spatially sort every mesh's vertices first (its "spatially-sorted
/// vertex cache"), needed or not: 0.3-0.5 s for a 1M-triangle STL, which has normals and no uvs.
unsigned normalSteps(const aiScene *scene)
{
    bool normalMap = false;
    for (unsigned i = 0; i < scene->mNumMaterials; ++i)
        normalMap = normalMap || (scene->mMaterials[i] &&
                                  scene->mMaterials[i]->GetTextureCount(aiTextureType_NORMALS) > 0);
    unsigned steps = 0;
    for (unsigned i = 0; i < scene->mNumMeshes; ++i) {
        const aiMesh *m = scene->mMeshes[i];
        if (!m)
            continue;
        if (!m->HasNormals())
            steps |= aiProcess_GenSmoothNormals;
        if (normalMap && m->HasTextureCoords(0) && !m->HasTangentsAndBitangents())
            steps |= aiProcess_CalcTangentSpace;
    }
    return steps;
}

/// glTF 1.0 (binary or text): Debian's Assimp has no reader for it, so "no suitable reader" on
/// such a file gets a sentence saying what to do.
bool isGltf1(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return false;
    const QByteArray head = f.read(64 * 1024);
    if (head.startsWith("glTF") && head.size() >= 8) // binary: magic, then a little-endian version
        return quint8(head[4]) == 1 && head[5] == 0 && head[6] == 0 && head[7] == 0;
    static const QRegularExpression version(R"re("version"\s*:\s*"1(\.\d+)?")re");
    return head.trimmed().startsWith('{') && head.contains("\"asset\"") &&
           version.match(QString::fromUtf8(head)).hasMatch();
}

Vec3 materialColour(const aiMaterial *material)
{
    aiColor4D c(0.7f, 0.7f, 0.7f, 1.f);
    if (!material)
        return Vec3(0.7f);
    // glTF's baseColorFactor first; OBJ/MTL Kd and most other formats land in "diffuse".
    if (material->Get(AI_MATKEY_BASE_COLOR, c) != AI_SUCCESS &&
        material->Get(AI_MATKEY_COLOR_DIFFUSE, c) != AI_SUCCESS)
        return Vec3(0.7f);
    const Vec3 v(c.r, c.g, c.b);
    // Exporters write black diffuse for "textured only" materials: render those mid grey.
    return (isFinite(v) && maxComponent(v) > 0.f) ? v : Vec3(0.7f);
}

Vec3 toVec(const aiVector3D &v)
{
    return Vec3(v.x, v.y, v.z);
}

QString texturePath(const aiMaterial *material, aiTextureType type, unsigned index = 0)
{
    aiString path;
    if (material->GetTexture(type, index, &path) != AI_SUCCESS)
        return {};
    return QString::fromUtf8(path.C_Str());
}

/// glTF metallic-roughness parameters where the file has them; for other formats a plastic
/// whose roughness follows the Phong/MTL shininess (Ns) when given.
Material readMaterial(const aiMaterial *am, TextureLoader &textures)
{
    Material m;
    if (!am)
        return m;
    float metallic = 0.f, roughness = 0.5f, shininess = 0.f;
    const bool pbr = am->Get(AI_MATKEY_METALLIC_FACTOR, metallic) == AI_SUCCESS;
    if (pbr) {
        m.metallic = metallic;
        if (am->Get(AI_MATKEY_ROUGHNESS_FACTOR, roughness) == AI_SUCCESS)
            m.roughness = roughness;
        else
            m.roughness = 1.f; // the glTF default
    } else if (am->Get(AI_MATKEY_SHININESS, shininess) == AI_SUCCESS && shininess > 0.f) {
        m.roughness = std::sqrt(2.f / (shininess + 2.f));
    }
    aiColor3D emissive(0.f, 0.f, 0.f);
    if (am->Get(AI_MATKEY_COLOR_EMISSIVE, emissive) == AI_SUCCESS) {
        float strength = 1.f;
        am->Get(AI_MATKEY_EMISSIVE_INTENSITY, strength);
        m.emissive = Vec3(emissive.r, emissive.g, emissive.b) * strength;
    }
    aiString alphaMode;
    const bool hasAlphaMode = am->Get(AI_MATKEY_GLTF_ALPHAMODE, alphaMode) == AI_SUCCESS;
    const bool mask = hasAlphaMode && std::strcmp(alphaMode.C_Str(), "MASK") == 0;
    const bool blend = hasAlphaMode && std::strcmp(alphaMode.C_Str(), "BLEND") == 0;
    if (mask) {
        float cutoff = 0.5f; // the glTF default
        am->Get(AI_MATKEY_GLTF_ALPHACUTOFF, cutoff);
        m.alphaCutoff = std::isfinite(cutoff) ? std::clamp(cutoff, 0.f, 1.f) : 0.5f;
    }
    m.alphaBlend = blend;
    if (mask || blend) {
        aiColor4D factor(1.f, 1.f, 1.f, 1.f);
        if (am->Get(AI_MATKEY_BASE_COLOR, factor) == AI_SUCCESS && std::isfinite(factor.a))
            m.baseAlpha = std::clamp(factor.a, 0.f, 1.f);
    }
    QString base = texturePath(am, aiTextureType_BASE_COLOR);
    if (base.isEmpty())
        base = texturePath(am, aiTextureType_DIFFUSE);
    m.baseColorTexture = textures.load(base, TextureLoader::Encoding::Srgb);
    if (pbr) {
        QString mr = texturePath(am, AI_MATKEY_GLTF_PBRMETALLICROUGHNESS_METALLICROUGHNESS_TEXTURE);
        if (mr.isEmpty())
            mr = texturePath(am, aiTextureType_METALNESS);
        m.metallicRoughnessTexture = textures.load(mr, TextureLoader::Encoding::Linear);
    }
    m.normalTexture =
        textures.load(texturePath(am, aiTextureType_NORMALS), TextureLoader::Encoding::Linear);
    const QString emissiveMap = texturePath(am, aiTextureType_EMISSIVE);
    if (!emissiveMap.isEmpty()) {
        m.emissiveTexture = textures.load(emissiveMap, TextureLoader::Encoding::Srgb);
        if (m.emissiveTexture >= 0 && maxComponent(m.emissive) <= 0.f)
            m.emissive = Vec3(1.f); // a map without a factor means the map as is
    }
    return m;
}

/// glTF camera projection as the file's JSON states it.
struct GltfCamera
{
    float yfov = 0.f; // radians; 0 for orthographic
    float ymag = 0.f; // orthographic half height; 0 for perspective
};

/// glTF: the vertical field of view (or orthographic half height) of each camera straight from
/// the file's JSON (.gltf, or the first chunk of a .glb), since Assimp 5.2 keeps only
/// yfov * aspectRatio as its "horizontal" angle and only xmag as its orthographic width.
/// Empty when the JSON cannot be read.
std::vector<GltfCamera> gltfCameras(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    QByteArray json = file.read(20);
    if (json.startsWith("glTF")) { // binary: 12-byte header, chunk length, "JSON", data
        if (json.size() < 20 || json.mid(16, 4) != "JSON")
            return {};
        const uchar *b = reinterpret_cast<const uchar *>(json.constData()) + 12;
        const quint32 length =
            quint32(b[0]) | quint32(b[1]) << 8 | quint32(b[2]) << 16 | quint32(b[3]) << 24;
        if (qint64(length) > file.size() - 20)
            return {};
        json = file.read(qint64(length)); // only the JSON chunk, not the binary buffers
    } else {
        json += file.readAll();
    }
    const QJsonArray array = QJsonDocument::fromJson(json).object().value("cameras").toArray();
    std::vector<GltfCamera> cameras;
    for (const QJsonValue &camera : array) {
        const QJsonObject o = camera.toObject();
        GltfCamera c;
        c.yfov = float(o.value("perspective").toObject().value("yfov").toDouble(0));
        c.ymag = float(std::fabs(o.value("orthographic").toObject().value("ymag").toDouble(0)));
        cameras.push_back(c);
    }
    return cameras;
}

/// The file's cameras in world space: position, view direction and up go through the absolute
/// transform of the node named like the camera. Read before post-processing (the node graph is
/// flattened there). Assimp 5.2's glTF importer also copies the node's translation into
/// aiCamera::mPosition, which would count it twice: a glTF camera sits at its node's origin,
/// and its vertical angle (or orthographic half height, ymag) comes from `gltf` (tst_rendercli
/// checks a top-level and a rotated, nested camera node). Other formats: vertical =
/// 2 atan(tan(h/2) / aspect); orthographic: Assimp's mOrthographicWidth (half the width, as
/// its glTF importer fills it from xmag) / aspect.
std::vector<SceneCamera> readCameras(const aiScene *ai, bool isGltf,
                                     const std::vector<GltfCamera> &gltf)
{
    std::vector<SceneCamera> cameras;
    for (unsigned i = 0; i < ai->mNumCameras; ++i) {
        const aiCamera *cam = ai->mCameras[i];
        if (!cam)
            continue;
        aiMatrix4x4 world;
        for (const aiNode *n = ai->mRootNode->FindNode(cam->mName); n; n = n->mParent)
            world = n->mTransformation * world;
        const aiMatrix3x3 rotation(world);
        SceneCamera c;
        c.name = QString::fromUtf8(cam->mName.C_Str());
        c.position = toVec(world * (isGltf ? aiVector3D() : cam->mPosition));
        const Vec3 forward = toVec(rotation * cam->mLookAt);
        const Vec3 up = toVec(rotation * cam->mUp);
        const Vec3 right = cross(forward, up);
        const float aspect = cam->mAspect > 0.f ? cam->mAspect : 1.f;
        const bool ortho = cam->mHorizontalFOV <= 0.f;
        const float halfHeight =
            isGltf ? (i < gltf.size() ? gltf[i].ymag : 0.f) : cam->mOrthographicWidth / aspect;
        // A degenerate basis keeps its slot (indices follow the file) with fov 0: unusable.
        c.fovYDegrees = 0.f;
        if (length(forward) > 0.f && length(right) > 0.f) {
            c.forward = normalize(forward);
            c.up = normalize(cross(right, forward));
            if (ortho) {
                c.orthoHalfHeight =
                    std::isfinite(halfHeight) && halfHeight > 0.f ? halfHeight : 0.f;
            } else {
                const float fovY =
                    isGltf ? (i < gltf.size() ? gltf[i].yfov : 0.f)
                           : 2.f * std::atan(std::tan(0.5f * cam->mHorizontalFOV) / aspect);
                c.fovYDegrees = fovY * 180.f / kPi;
            }
        }
        cameras.push_back(c);
    }
    return cameras;
}

/// Same test as Scene::fromTriangles applies (finite corners, non-zero area): the loader drops
/// such triangles first, so the triangles it hands over keep their indices there.
bool usableTriangle(const Vec3 &a, const Vec3 &b, const Vec3 &c)
{
    if (!isFinite(a) || !isFinite(b) || !isFinite(c))
        return false;
    const Vec3 n = cross(b - a, c - a);
    const float area2 = dot(n, n);
    return std::isfinite(area2) && area2 > 0.f;
}

/// Appends every (node, mesh) pair of the node graph, depth first, in world space (the node
/// transforms applied as aiProcess_PreTransformVertices would), one SceneInstance each.
struct MeshAppender
{
    const aiScene *ai;
    TriangleMesh &mesh;
    bool anyUvs;
    bool anyTangents;
    std::vector<SceneInstance> instances;
    std::vector<uint32_t> instanceOfTriangle;
    size_t dropped = 0;

    // A corrupt file may link nodes into a cycle or a DAG that explodes when walked as a tree.
    static constexpr int kMaxDepth = 1024;
    static constexpr size_t kMaxVisits = size_t(1) << 22;

    void walk()
    {
        // Count first, then fill arrays of the final size: growing them by push_back copied
        // and page-faulted a 1M-triangle mesh's ~150 MB several times over (~30 % of its load).
        size_t triangles = 0;
        visit([&](const aiNode *, const aiMesh *am, const aiMatrix4x4 &) {
            if (am && am->mVertices && (am->mPrimitiveTypes & aiPrimitiveType_TRIANGLE))
                triangles += am->mNumFaces;
        });
        // Huge pages for them too (adviseHugePages): faulting ~120 MB in 4 KiB pages took as
        // long as filling it.
        const size_t corners = 3 * triangles;
        reserveHuge(mesh.positions, corners);
        reserveHuge(mesh.normals, corners);
        reserveHuge(mesh.albedo, corners);
        reserveHuge(mesh.materialIds, triangles);
        reserveHuge(instanceOfTriangle, triangles);
        if (anyUvs)
            reserveHuge(mesh.uvs, 2 * corners);
        if (anyTangents) {
            reserveHuge(mesh.tangents, corners);
            reserveHuge(mesh.tangentSigns, corners);
        }
        visit([this](const aiNode *node, const aiMesh *am, const aiMatrix4x4 &world) {
            append(node, am, world);
        });
    }

    /// Calls f(node, mesh, absolute transform) for each mesh of each node, depth first.
    template<typename F> void visit(const F &f)
    {
        struct Entry
        {
            const aiNode *node;
            aiMatrix4x4 parent;
            int depth;
        };
        std::vector<Entry> stack{{ai->mRootNode, aiMatrix4x4(), 0}};
        for (size_t visits = 0; !stack.empty() && visits < kMaxVisits; ++visits) {
            const Entry e = stack.back();
            stack.pop_back();
            const aiMatrix4x4 world = e.parent * e.node->mTransformation;
            for (unsigned i = 0; i < e.node->mNumMeshes; ++i)
                if (e.node->mMeshes[i] < ai->mNumMeshes)
                    f(e.node, ai->mMeshes[e.node->mMeshes[i]], world);
            if (e.depth >= kMaxDepth)
                continue;
            for (unsigned c = e.node->mNumChildren; c-- > 0;) // first child on top: file order
                if (e.node->mChildren[c])
                    stack.push_back({e.node->mChildren[c], world, e.depth + 1});
        }
    }

    void append(const aiNode *node, const aiMesh *am, const aiMatrix4x4 &world)
    {
        if (!am || !am->mVertices || !(am->mPrimitiveTypes & aiPrimitiveType_TRIANGLE))
            return;
        const uint32_t instance = uint32_t(instances.size());
        instances.push_back(
            {QString::fromUtf8(node->mName.C_Str()), QString::fromUtf8(am->mName.C_Str())});
        const aiMatrix3x3 linear(world);
        aiMatrix3x3 normalMatrix = linear; // inverse transpose for normals
        normalMatrix.Inverse().Transpose();
        const aiMaterial *material =
            am->mMaterialIndex < ai->mNumMaterials ? ai->mMaterials[am->mMaterialIndex] : nullptr;
        const Vec3 base = materialColour(material);
        const bool colours = am->HasVertexColors(0);
        const bool normals = am->HasNormals();
        const bool uvs = am->HasTextureCoords(0);
        const bool tangents = am->HasTangentsAndBitangents();
        for (unsigned f = 0; f < am->mNumFaces; ++f) {
            const aiFace &face = am->mFaces[f];
            if (face.mNumIndices != 3)
                continue;
            bool inRange = true;
            for (int k = 0; k < 3; ++k)
                inRange = inRange && face.mIndices[k] < am->mNumVertices;
            if (!inRange)
                continue;
            Vec3 p[3];
            for (int k = 0; k < 3; ++k)
                p[k] = toVec(world * am->mVertices[face.mIndices[k]]);
            if (!usableTriangle(p[0], p[1], p[2])) {
                ++dropped;
                continue;
            }
            mesh.materialIds.push_back(am->mMaterialIndex < ai->mNumMaterials ? am->mMaterialIndex
                                                                              : 0u);
            instanceOfTriangle.push_back(instance);
            for (int k = 0; k < 3; ++k) {
                const unsigned i = face.mIndices[k];
                mesh.positions.push_back(p[k]);
                const Vec3 n = normals ? toVec(normalMatrix * am->mNormals[i]) : Vec3(0.f);
                mesh.normals.push_back(n);
                Vec3 c = base;
                if (colours) {
                    const aiColor4D &vc = am->mColors[0][i];
                    c = c * Vec3(vc.r, vc.g, vc.b);
                }
                mesh.albedo.push_back(c);
                if (anyUvs) {
                    const aiVector3D uv = uvs ? am->mTextureCoords[0][i] : aiVector3D();
                    mesh.uvs.push_back(uv.x);
                    mesh.uvs.push_back(uv.y);
                }
                if (anyTangents) {
                    const Vec3 t = tangents ? toVec(linear * am->mTangents[i]) : Vec3(0.f);
                    const Vec3 b = tangents ? toVec(linear * am->mBitangents[i]) : Vec3(0.f);
                    mesh.tangents.push_back(t);
                    mesh.tangentSigns.push_back(dot(cross(n, t), b) < 0.f ? -1.f : 1.f);
                }
            }
        }
    }
};

/// Where the model's textures are looked for: its own folder first; for an OBJ then the folders
/// of the .mtl files its mtllib lines name (Assimp does not say which .mtl defined a material;
/// a texture is relative to that file), the root for one found there by name.
TextureSearch textureSearch(const BundleRoot &root, const QString &mainFolder,
                            const QString &mainName, bool gltf)
{
    TextureSearch search;
    search.folders.append(mainFolder);
    search.uris = gltf;
    if (QFileInfo(mainName).suffix().compare(QLatin1String("obj"), Qt::CaseInsensitive) != 0)
        return search;
    const QString bundlePath =
        QDir(root.canonicalPath()).relativeFilePath(mainFolder + u'/' + mainName);
    const std::optional<QByteArray> lines =
        farm::bundle::readForReferences(bundlePath, mainFolder + u'/' + mainName);
    if (!lines)
        return search;
    const auto inBundle = [&root](const QString &p) {
        return root.locate(root.canonicalPath() + u'/' + p).where == BundleRoot::Where::Inside;
    };
    const farm::bundle::Refs refs = farm::bundle::referencedFiles(bundlePath, *lines, inBundle);
    for (const QString &mtl : refs.files) {
        const QString folder = QFileInfo(root.canonicalPath() + u'/' + mtl).absolutePath();
        if (!search.folders.contains(folder))
            search.folders.append(folder);
    }
    if (!refs.outside.isEmpty() || !refs.absolute.isEmpty())
        if (!search.folders.contains(root.canonicalPath()))
            search.folders.append(root.canonicalPath());
    return search;
}

} // namespace

Result<Scene> Scene::load(const QString &path, const QString &root)
{
    const QFileInfo info(path);
    if (!info.exists() || !info.isFile())
        return makeError("io_error", QStringLiteral("model file not found: %1").arg(path));
    if (!info.isReadable())
        return makeError("io_error", QStringLiteral("model file is not readable: %1").arg(path));
    // Every file read below must resolve into the bundle root (a job's files only).
    const BundleRoot bundle(root.isEmpty() ? info.absolutePath() : root);
    if (!bundle.valid())
        return makeError("io_error", QStringLiteral("bundle root %1 is not a folder").arg(root));
    const QString mainFolder = QFileInfo(info.absolutePath()).canonicalFilePath();
    const QString mainPath = mainFolder + u'/' + info.fileName();
    if (bundle.locate(mainPath).where != BundleRoot::Where::Inside)
        return makeError("io_error", QStringLiteral("model file %1 is outside the bundle root %2")
                                         .arg(path, bundle.canonicalPath()));
    const QString suffix = info.suffix().toLower();
    const bool gltf = suffix == QLatin1String("gltf") || suffix == QLatin1String("glb");

    QElapsedTimer timer;
    timer.start();
    Assimp::Importer importer;
    auto *io = new BundleIOSystem(bundle, mainFolder); // the importer owns and deletes it
    importer.SetIOHandler(io);
    importer.SetPropertyInteger(AI_CONFIG_PP_SBP_REMOVE,
                                aiPrimitiveType_POINT | aiPrimitiveType_LINE);
    // Meshes without normals (CAD exports, scans) get smooth normals only across edges flatter
    // than the crease angle: a box stays a box instead of shading its 90-degree edges as one
    // rounded gradient (Assimp's default of 175 degrees averages across them).
    importer.SetPropertyFloat(AI_CONFIG_PP_GSN_MAX_SMOOTHING_ANGLE, kCreaseAngleDegrees);
    // No aiProcess_PreTransformVertices: it merges meshes, losing the mesh instances the
    // `instance` pass needs; appendInstances walks the node graph and applies the transforms.
    // No second aiProcess_ValidateDataStructure: the import below validated the file's data
    // (10-15 ms more for a 1M-triangle STL), and MeshAppender checks every index it reads.
    const unsigned baseFlags = aiProcess_Triangulate | aiProcess_SortByPType |
                               aiProcess_FlipUVs; // v = 0 at the top row, as QImage stores it
    const aiScene *ai = nullptr;
    std::vector<SceneCamera> cameras;
    QString why;
    try {
        // Import and validate first, read the cameras from the untouched node graph, then run
        // the remaining steps (see readCameras).
        ai = importer.ReadFile(QFile::encodeName(mainPath).constData(),
                               aiProcess_ValidateDataStructure);
        if (ai && ai->mRootNode && !(ai->mFlags & AI_SCENE_FLAGS_INCOMPLETE)) {
            if (ai->mNumCameras > 0)
                cameras =
                    readCameras(ai, gltf, gltf ? gltfCameras(mainPath) : std::vector<GltfCamera>{});
            unshareCornersWithoutNormals(importer.GetScene());
            ai = importer.ApplyPostProcessing(baseFlags | normalSteps(ai));
        }
    } catch (const std::exception &e) {
        ai = nullptr;
        why = QString::fromUtf8(e.what());
    }
    if (!ai) {
        if (why.isEmpty())
            why = QString::fromUtf8(importer.GetErrorString()).trimmed();
        if (why.isEmpty())
            why = QStringLiteral("unknown format");
        if (why.contains(QLatin1String("No suitable reader")) && isGltf1(mainPath))
            why = QStringLiteral("it is glTF 1.0, which this renderer cannot read; export it as "
                                 "glTF 2.0 (.glb or .gltf) and submit it again");
        for (const QString &file : io->refused())
            why += QStringLiteral("; %1 is outside the bundle; not read").arg(file);
        return makeError("bad_model",
                         QStringLiteral("cannot read %1: %2").arg(info.fileName(), why));
    }
    if ((ai->mFlags & AI_SCENE_FLAGS_INCOMPLETE) || !ai->mRootNode)
        return makeError("bad_model", QStringLiteral("%1 holds no geometry").arg(info.fileName()));

    QStringList warnings;
    for (const QString &file : io->refused())
        warnings.append(QStringLiteral("file %1 is outside the bundle; not read").arg(file));
    TriangleMesh mesh;
    TextureLoader textures(ai, bundle, textureSearch(bundle, mainFolder, info.fileName(), gltf),
                           mesh.textures);
    for (unsigned i = 0; i < ai->mNumMaterials; ++i)
        mesh.materials.push_back(readMaterial(ai->mMaterials[i], textures));
    bool anyUvs = false, anyTangents = false;
    for (unsigned m = 0; m < ai->mNumMeshes; ++m) {
        anyUvs = anyUvs || (ai->mMeshes[m] && ai->mMeshes[m]->HasTextureCoords(0));
        anyTangents = anyTangents || (ai->mMeshes[m] && ai->mMeshes[m]->HasTangentsAndBitangents());
    }
    bool anyNormalMap = false;
    for (const Material &m : mesh.materials)
        anyNormalMap = anyNormalMap || m.normalTexture >= 0;
    anyTangents = anyTangents && anyNormalMap && anyUvs; // only kept when a normal map uses them
    MeshAppender appender{ai, mesh, anyUvs, anyTangents};
    appender.walk();
    if (mesh.positions.empty())
        return makeError("bad_model",
                         QStringLiteral("%1 contains no triangles").arg(info.fileName()));
    // Everything needed is copied out (cameras, materials, textures, instance names): free
    // Assimp's scene before the BVH build, whose arrays can then take its memory instead of
    // new pages (see reexecWithHugePageMalloc in rendercli.cpp).
    importer.FreeScene();
    ai = nullptr;
    const double loadMs = double(timer.nsecsElapsed()) / 1e6;

    Result<Scene> scene = fromTriangles(std::move(mesh));
    if (!scene)
        return makeError(scene.error().code,
                         QStringLiteral("%1: %2").arg(info.fileName(), scene.error().message));
    // fromTriangles dropped nothing (appendInstances already did, with the same test), so its
    // primIds index the appended triangles.
    const size_t instanceCount = appender.instances.size();
    if (scene->m_stats.droppedTriangles == 0) {
        const std::vector<uint32_t> &primIds = scene->m_primIds;
        scene->m_instanceIds.resize(primIds.size());
        for (size_t slot = 0; slot < primIds.size(); ++slot)
            scene->m_instanceIds[slot] = appender.instanceOfTriangle[primIds[slot]];
        scene->m_instances = std::move(appender.instances);
    }
    scene->m_stats.droppedTriangles += appender.dropped;
    scene->m_stats.meshes = instanceCount;
    scene->m_stats.loadMs = loadMs;
    scene->m_stats.warnings = warnings + textures.warnings();
    scene->m_cameras = std::move(cameras);
    return scene;
}

} // namespace farm::render
