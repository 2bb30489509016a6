#pragma once

// The folder a model's files must come from, and how a side-file reference is looked up in it
// (the same fallbacks as farm::bundle::missingFiles, which the server checks a bundle with).

#include <QString>
#include <QStringList>

namespace farm::render {

/// A job's bundle root (`render --root`; by default the main file's folder). A file counts only
/// when its canonical path (symlinks followed) lies inside the root: a link inside the root
/// that points elsewhere is outside.
class BundleRoot
{
public:
    /// `root`: a folder, absolute or relative to the working directory.
    explicit BundleRoot(const QString &root);

    /// Whether the root exists and is a folder; nothing is inside an invalid root.
    bool valid() const { return !m_canonical.isEmpty(); }
    /// The root with symlinks resolved.
    const QString &canonicalPath() const { return m_canonical; }

    enum class Where { Inside, Outside, Missing };
    struct Located
    {
        Where where = Where::Missing;
        QString file; // canonical path of the regular file when Inside
    };

    /// Where the file at `path` lies. An existing path is judged by its canonical form; a
    /// missing one is Outside when its cleaned absolute form leaves the root, else Missing.
    /// Folders and other non-regular files inside the root are Missing.
    Located locate(const QString &path) const;

    /// Whether the canonical path `canonical` is the root or lies below it.
    bool contains(const QString &canonical) const;

    struct Resolved
    {
        QString file;         // canonical path of the file found; empty when none
        bool outside = false; // the reference itself pointed out of the root
    };

    /// Looks a side-file reference up: each of `variants` (spellings of one reference, e.g. a
    /// percent-decoded and a literal one; '\' already turned into '/') relative to each of
    /// `folders` in turn (absolute ones as they are), then the reference's file name in each
    /// folder and at the root. Only files inside the root are ever returned.
    Resolved resolve(const QStringList &variants, const QStringList &folders) const;

private:
    QString m_absolute;  // cleaned absolute path as given
    QString m_canonical; // symlinks resolved; empty when the root is not a folder

    bool lexicallyInside(const QString &cleanAbsolute) const;
};

/// `text` with percent-encoding undone (UTF-8), as glTF URIs need; unchanged without a '%'.
QString percentDecoded(const QString &text);

} // namespace farm::render
