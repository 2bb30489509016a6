#pragma once

#include "bundleroot.h"
#include "scene.h"

#include <QHash>
#include <QString>
#include <QStringList>

struct aiScene;

namespace farm::render {

/// Where a model's texture files are looked for.
struct TextureSearch
{
    /// Folders of the files that reference textures, most likely first: the model's own, then
    /// (OBJ) those of its .mtl files. References are relative to them.
    QStringList folders;
    /// glTF: references are URIs, percent-decoded before they are looked up.
    bool uris = false;
};

/// Resolves and decodes the textures a model references (embedded in .glb/.gltf/.fbx or files
/// in the bundle, see BundleRoot::resolve), once each. A texture that cannot be found, lies
/// outside the bundle root or cannot be decoded is a warning and the material falls back to
/// its factors.
class TextureLoader
{
public:
    enum class Encoding { Srgb, Linear };

    TextureLoader(const aiScene *scene, const BundleRoot &root, TextureSearch search,
                  std::vector<Texture> &textures);

    /// Index into `textures`, or -1 (with a warning) when the reference cannot be used.
    int load(const QString &reference, Encoding encoding);

    const QStringList &warnings() const { return m_warnings; }

    static constexpr int kMaxSide = 4096; // larger images are scaled down to bound memory

private:
    const aiScene *m_scene;
    const BundleRoot &m_root;
    TextureSearch m_search;
    std::vector<Texture> &m_textures;
    QHash<QString, int> m_cache;
    QStringList m_warnings;
};

} // namespace farm::render
