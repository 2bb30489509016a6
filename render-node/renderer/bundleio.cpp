#include "bundleio.h"

#include <QDir>
#include <QFile>

#include <cstring>

namespace farm::render {

BundleIOSystem::BundleIOSystem(const BundleRoot &root, QString mainFolder)
    : m_root(root)
    , m_mainFolder(std::move(mainFolder))
{}

BundleRoot::Resolved BundleIOSystem::find(const char *file) const
{
    if (!file || !*file)
        return {};
    const QString asked = QFile::decodeName(file);
    const QString path = QDir::isAbsolutePath(asked) ? asked : m_mainFolder + u'/' + asked;
    // Importers join the model's folder and the URI as written; only the URI part is encoded.
    QString decoded = percentDecoded(path);
    if (path.startsWith(m_mainFolder + u'/'))
        decoded = m_mainFolder + u'/' + percentDecoded(path.mid(m_mainFolder.size() + 1));
    QStringList variants{path};
    if (decoded != path)
        variants.append(decoded);
    return m_root.resolve(variants, {m_mainFolder});
}

bool BundleIOSystem::Exists(const char *file) const
{
    return !find(file).file.isEmpty();
}

Assimp::IOStream *BundleIOSystem::Open(const char *file, const char *mode)
{
    // Importers only read; a bundle is never written to.
    if (!mode || std::strpbrk(mode, "wa+"))
        return nullptr;
    const BundleRoot::Resolved found = find(file);
    if (found.file.isEmpty()) {
        if (found.outside) {
            QString shown = QFile::decodeName(file);
            if (shown.startsWith(m_mainFolder + u'/'))
                shown = shown.mid(m_mainFolder.size() + 1);
            if (!m_refused.contains(shown))
                m_refused.append(shown);
        }
        return nullptr;
    }
    return m_disk.Open(QFile::encodeName(found.file).constData(), mode);
}

void BundleIOSystem::Close(Assimp::IOStream *stream)
{
    m_disk.Close(stream);
}

bool BundleIOSystem::ComparePaths(const char *one, const char *second) const
{
    return m_disk.ComparePaths(one, second);
}

} // namespace farm::render
