#include "textureloader.h"

#include <QDir>
#include <QFileInfo>
#include <QImage>

#include <assimp/scene.h>

#include <cmath>

namespace farm::render {
namespace {

float srgbToLinear(int v)
{
    const float c = float(v) / 255.f;
    return c <= 0.04045f ? c / 12.92f : std::pow((c + 0.055f) / 1.055f, 2.4f);
}

Texture toTexture(QImage image, TextureLoader::Encoding encoding)
{
    if (image.width() > TextureLoader::kMaxSide || image.height() > TextureLoader::kMaxSide)
        image = image.scaled(TextureLoader::kMaxSide, TextureLoader::kMaxSide, Qt::KeepAspectRatio,
                             Qt::SmoothTransformation);
    image = image.convertToFormat(QImage::Format_RGBA8888);
    float lut[256];
    for (int i = 0; i < 256; ++i)
        lut[i] = encoding == TextureLoader::Encoding::Srgb ? srgbToLinear(i) : float(i) / 255.f;
    Texture t;
    t.width = image.width();
    t.height = image.height();
    t.texels.resize(size_t(t.width) * size_t(t.height) * 4);
    for (int y = 0; y < t.height; ++y) {
        const uchar *row = image.constScanLine(y);
        float *out = t.texels.data() + size_t(y) * size_t(t.width) * 4;
        for (int x = 0; x < 4 * t.width; ++x)
            out[x] = (x % 4 == 3) ? float(row[x]) / 255.f : lut[row[x]];
    }
    return t;
}

QImage decodeEmbedded(const aiTexture *tex)
{
    if (!tex || !tex->pcData)
        return {};
    if (tex->mHeight == 0) // compressed (PNG/JPEG bytes), mWidth is the byte count
        return QImage::fromData(reinterpret_cast<const uchar *>(tex->pcData), int(tex->mWidth));
    QImage image(int(tex->mWidth), int(tex->mHeight), QImage::Format_RGBA8888);
    for (unsigned y = 0; y < tex->mHeight; ++y) {
        uchar *row = image.scanLine(int(y));
        for (unsigned x = 0; x < tex->mWidth; ++x) {
            const aiTexel &t = tex->pcData[y * tex->mWidth + x];
            row[4 * x] = t.r;
            row[4 * x + 1] = t.g;
            row[4 * x + 2] = t.b;
            row[4 * x + 3] = t.a;
        }
    }
    return image;
}

} // namespace

TextureLoader::TextureLoader(const aiScene *scene, const BundleRoot &root, TextureSearch search,
                             std::vector<Texture> &textures)
    : m_scene(scene)
    , m_root(root)
    , m_search(std::move(search))
    , m_textures(textures)
{}

int TextureLoader::load(const QString &reference, Encoding encoding)
{
    if (reference.isEmpty())
        return -1;
    const QString key = reference + (encoding == Encoding::Srgb ? "|srgb" : "|linear");
    if (const auto it = m_cache.constFind(key); it != m_cache.constEnd())
        return it.value();

    QImage image;
    QString where = reference; // what a warning names
    bool outside = false;
    if (const aiTexture *embedded = m_scene->GetEmbeddedTexture(reference.toUtf8().constData())) {
        image = decodeEmbedded(embedded);
    } else {
        // Exporters write backslashes; glTF URIs are percent-encoded (the literal spelling is
        // tried second, as it was looked up before decoding was added).
        const QString path = QString(reference).replace('\\', '/');
        QStringList variants{path};
        if (m_search.uris && percentDecoded(path) != path)
            variants.prepend(percentDecoded(path));
        const BundleRoot::Resolved found = m_root.resolve(variants, m_search.folders);
        outside = found.outside && found.file.isEmpty();
        if (!found.file.isEmpty()) {
            where = found.file;
            image.load(found.file);
        } else if (!m_search.folders.isEmpty()) { // named as before: by its name beside the model
            where = QDir(m_search.folders.constFirst()).filePath(QFileInfo(path).fileName());
        }
    }
    int index = -1;
    if (outside) {
        m_warnings.append(
            QStringLiteral("texture %1 is outside the bundle; not read").arg(reference));
    } else if (image.isNull() || image.width() < 1 || image.height() < 1) {
        m_warnings.append(QStringLiteral("texture %1 is missing or unreadable; using the material "
                                         "colour")
                              .arg(where));
    } else {
        m_textures.push_back(toTexture(std::move(image), encoding));
        index = int(m_textures.size() - 1);
    }
    m_cache.insert(key, index);
    return index;
}

} // namespace farm::render
