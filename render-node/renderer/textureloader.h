#pragma once

#include "scene.h"

#include <QHash>
#include <QString>
#include <QStringList>

struct aiScene;

namespace farm::render {

/// Resolves and decodes the textures a model references (embedded in .glb/.gltf/.fbx or files
/// beside the model), once each. A texture that cannot be found or decoded is a warning and
/// the material falls back to its factors.
class TextureLoader
{
public:
    enum class Encoding { Srgb, Linear };

    TextureLoader(const aiScene *scene, QString modelDirectory, std::vector<Texture> &textures);

    /// Index into `textures`, or -1 (with a warning) when the reference cannot be used.
    int load(const QString &reference, Encoding encoding);

    const QStringList &warnings() const { return m_warnings; }

    static constexpr int kMaxSide = 4096; // larger images are scaled down to bound memory

private:
    const aiScene *m_scene;
    QString m_directory;
    std::vector<Texture> &m_textures;
    QHash<QString, int> m_cache;
    QStringList m_warnings;
};

} // namespace farm::render
