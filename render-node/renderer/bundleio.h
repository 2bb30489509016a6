#pragma once

// Assimp's file access confined to a bundle root (included by the Assimp edge only).

#include "bundleroot.h"

#include <QString>
#include <QStringList>

#include <assimp/DefaultIOSystem.h>

namespace farm::render {

/// Every file Assimp opens for one import (the main file, glTF buffers, an OBJ's mtllib, ...)
/// goes through here: a path that does not resolve into the root is neither there (Exists) nor
/// opened, as if missing. A path that is not there is looked up as the texture loader does:
/// percent-decoded (glTF URIs), then by its file name beside the main file and at the root.
/// Files are opened read-only, by their canonical path.
class BundleIOSystem : public Assimp::IOSystem
{
public:
    /// `mainFolder`: absolute folder of the main file; relative paths are taken from it.
    BundleIOSystem(const BundleRoot &root, QString mainFolder);

    bool Exists(const char *file) const override;
    char getOsSeparator() const override { return '/'; }
    Assimp::IOStream *Open(const char *file, const char *mode = "rb") override;
    void Close(Assimp::IOStream *stream) override;
    bool ComparePaths(const char *one, const char *second) const override;

    /// Paths Assimp asked for that lie outside the root, as "../x.bin" relative to the main
    /// file's folder where they are below it lexically, else as asked; each once.
    const QStringList &refused() const { return m_refused; }

private:
    const BundleRoot &m_root;
    QString m_mainFolder;
    Assimp::DefaultIOSystem m_disk;
    QStringList m_refused;

    BundleRoot::Resolved find(const char *file) const;
};

} // namespace farm::render
