#include "bundleroot.h"

#include <QDir>
#include <QFileInfo>
#include <QUrl>

namespace farm::render {
namespace {

bool underFolder(const QString &path, const QString &folder)
{
    if (folder.isEmpty())
        return false;
    if (folder == QLatin1String("/"))
        return path.startsWith(u'/');
    return path == folder || (path.startsWith(folder) && path.at(folder.size()) == u'/');
}

/// The last segment of a reference, or empty when it names a folder ("x/", "..", ".").
QString fileNameOf(const QString &reference)
{
    const QString name = reference.section(u'/', -1);
    return name == QLatin1String(".") || name == QLatin1String("..") ? QString() : name;
}

} // namespace

BundleRoot::BundleRoot(const QString &root)
{
    const QFileInfo info(root);
    m_absolute = QDir::cleanPath(info.absoluteFilePath());
    if (info.isDir())
        m_canonical = info.canonicalFilePath();
}

bool BundleRoot::contains(const QString &canonical) const
{
    return underFolder(canonical, m_canonical);
}

bool BundleRoot::lexicallyInside(const QString &cleanAbsolute) const
{
    return underFolder(cleanAbsolute, m_canonical) || underFolder(cleanAbsolute, m_absolute);
}

BundleRoot::Located BundleRoot::locate(const QString &path) const
{
    if (!valid() || path.isEmpty())
        return {Where::Missing, {}};
    const QFileInfo info(path);
    if (!info.exists()) // a dangling link also lands here: nothing to read either way
        return {lexicallyInside(QDir::cleanPath(info.absoluteFilePath())) ? Where::Missing
                                                                          : Where::Outside,
                {}};
    const QString canonical = info.canonicalFilePath();
    if (!contains(canonical))
        return {Where::Outside, {}};
    if (!QFileInfo(canonical).isFile())
        return {Where::Missing, {}};
    return {Where::Inside, canonical};
}

BundleRoot::Resolved BundleRoot::resolve(const QStringList &variants,
                                         const QStringList &folders) const
{
    Resolved r;
    for (const QString &variant : variants) {
        if (variant.isEmpty())
            continue;
        QStringList candidates;
        if (QDir::isAbsolutePath(variant))
            candidates.append(variant);
        else
            for (const QString &folder : folders)
                candidates.append(folder + u'/' + variant);
        for (const QString &candidate : std::as_const(candidates)) {
            const Located at = locate(candidate);
            if (at.where == Where::Inside)
                return {at.file, false};
            r.outside = r.outside || at.where == Where::Outside;
        }
    }
    // Exporters write artists' absolute paths and paths above the model's folder; the bundle
    // carries such a file beside the referencing file or at its root (missingFiles accepts
    // both places).
    QStringList places = folders;
    places.append(m_canonical);
    for (const QString &variant : variants) {
        const QString name = fileNameOf(variant);
        if (name.isEmpty())
            continue;
        for (const QString &folder : std::as_const(places)) {
            const Located at = locate(folder + u'/' + name);
            if (at.where == Where::Inside)
                return {at.file, false};
        }
    }
    return r;
}

QString percentDecoded(const QString &text)
{
    if (!text.contains(u'%'))
        return text;
    return QUrl::fromPercentEncoding(text.toUtf8());
}

} // namespace farm::render
