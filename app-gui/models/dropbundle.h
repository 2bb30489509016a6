#pragma once

#include "client/bundleuploader.h"

#include <QStringList>

namespace farm::gui {

/// What a drop (or File ▸ Submit) becomes: ONE job input. A single file brings its side files
/// (farm::bundle::gatherFromFile); a folder brings every file in it (gatherFromFolder); several
/// files or folders become one bundle rooted at their deepest common folder; a .zip travels as
/// one archive the server unpacks. The main file is one of the candidates (files some job type
/// takes); `missing` names the side files the main file needs that the bundle lacks.
class DropBundle
{
public:
    /// `mainExtensions`: the extensions the server's job types take (lower case, no dot).
    static Result<DropBundle> fromPaths(const QStringList &paths,
                                        const QStringList &mainExtensions);

    /// Files that could be the main file, relative to root (the archive's entries for a .zip).
    QStringList candidates() const { return m_candidates; }
    QString main() const { return m_main; }
    /// Chooses the main file among the candidates and works out what it misses.
    Result<void> setMain(const QString &main);

    bool isArchive() const { return !m_archive.isEmpty(); }
    QString root() const { return m_root; }
    /// Bundle paths relative to root, main first (an archive's entries, as listed in it).
    QStringList files() const;
    QStringList missing() const { return m_missing; }
    /// What the chosen job type takes beside the main file (JobTypeInfo::sideExtensions; "*":
    /// anything, the default). Other files are left out of files() and source() and named by
    /// leftOut(), before any upload.
    void setSideExtensions(const QStringList &extensions);
    /// Files of the drop the chosen type does not take beside its main file, relative to root.
    /// An archive travels whole: for one, these are files the server would refuse.
    QStringList leftOut() const;
    client::BundleSource source() const;

private:
    void findMissing();

    QStringList m_dropped; // absolute paths as dropped
    QStringList m_extensions;
    QString m_root;
    QString m_archive;
    QStringList m_files; // relative to m_root
    QStringList m_candidates;
    QString m_main;
    QStringList m_missing;
    QStringList m_sideExtensions{QStringLiteral("*")};
    bool m_oneFolder = false;
    bool m_oneFile = false;
};

} // namespace farm::gui
