#pragma once

#include "model/job.h"
#include "util/result.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <functional>
#include <optional>

namespace farm::bundle {

/// Most files a bundle gathered from a folder may hold (docs/JOBTYPES.md, kMaxBundleFiles).
constexpr int kMaxGatherFiles = kMaxBundleFiles;

/// Reads one bundle file by its bundle path; nullopt when the bundle has no such path.
using ReadFile = std::function<std::optional<QByteArray>(const QString &path)>;
/// Whether the bundle holds a file at this bundle path.
using FileExists = std::function<bool(const QString &path)>;

/// The side files one 3D file references.
struct Refs
{
    /// Normalized bundle paths, each once, in the order the file names them.
    QStringList files;
    /// Relative references that leave the bundle root ("../../x.png"), as written.
    QStringList outside;
    /// Absolute references (/home/a/wood.png, C:\tex\wood.png, \tex\wood.png, file:///…,
    /// http://…), as written.
    QStringList absolute;
};

/// Files `content` (the bytes of the file at bundle path `path`, e.g. "models/scene.gltf")
/// references, resolved against path's folder. The format comes from path's extension:
/// .gltf/.glb (buffers[].uri, images[].uri, glTF 1.0's id-keyed objects too; percent-decoded;
/// data: URIs skipped), .obj (mtllib), .mtl (map_Kd, map_Ka, map_Ks, map_Ns, map_d, map_Bump,
/// bump, disp, decal, refl, norm, map_Pr, map_Pm, map_Ps, map_Ke, map_RMA, map_ORM; options such
/// as -s 1 1 1 and -bm 0.5 skipped; names may hold spaces), .dae (<init_from> of an <image>, 1.4
/// text or 1.5 <ref>; file:// and percent-encoding undone). Other formats and unparsable content
/// (broken JSON or XML): empty. An mtllib line holding spaces lists several names (the OBJ spec),
/// unless `exists` says the whole rest of the line names a bundle file (how Assimp reads it).
Refs referencedFiles(const QString &path, const QByteArray &content, const FileExists &exists = {});

/// Reads the local file `localPath`, which holds bundle file `path`, as referencedFiles needs it:
/// of an OBJ (by path's extension) only its mtllib lines, streamed, so that a large mesh is never
/// held in memory; other files whole. nullopt when it cannot be read. For a `read` callback over
/// files stored under other names (by SHA-256).
std::optional<QByteArray> readForReferences(const QString &path, const QString &localPath);

/// Whether referencedFiles understands files with this name (by extension).
bool hasSideFiles(const QString &path);

/// Normalizes a relative bundle path: "a/./b/../c.png" → "a/c.png", backslashes taken as
/// separators, empty segments dropped. Empty when it leaves the root, is absolute ("/x",
/// "\x") or starts with a drive letter ("C:x").
QString normalizePath(const QString &path);

/// Why `path` cannot be a bundle path (docs/JOBTYPES.md "Input bundles": relative,
/// '/'-separated, at most 1024 characters and 32 levels, no empty, "." or ".." segment, no '\',
/// control character or ':'); empty when it can.
QString bundlePathProblem(const QString &path);

/// The side files a bundle lacks, as messages "scene.gltf needs textures/wood.png, which was not
/// sent" (the referencing file's bundle path, then the reference: normalized when relative, as
/// written when absolute or outside the root). Walks from `main` into every referenced file
/// referencedFiles understands (obj → its mtl files → their textures), reading those through
/// `read`; other files are only looked up, through `exists` when given (so that textures need
/// not be read), else through `read`. An absolute or escaping reference counts as found when a
/// bundle file with the same file name sits in the referencing file's folder or at the bundle
/// root. When `main` itself cannot be read the one message is "scene.gltf was not sent".
QStringList missingFiles(const QString &main, const ReadFile &read, const FileExists &exists = {});

/// A bundle gathered from the local disk for a client.
struct LocalBundle
{
    /// Absolute folder every path below is relative to.
    QString root;
    /// The main file, relative to root.
    QString main;
    /// Every file of the bundle, main first, relative to root.
    QStringList files;
    /// Side files that could not be gathered, as messages naming the referencing file.
    QStringList missing;
};

/// The file at `absolutePath` plus every side file it references, recursively (obj → mtl →
/// textures), rooted at their deepest common folder. An absolute reference is taken from the
/// referencing file's folder by its file name, as missingFiles accepts it; when only the
/// absolute path on this disk holds it, `missing` says to copy it there.
LocalBundle gatherFromFile(const QString &absolutePath);

/// Every regular file under `dir` (symlinks and hidden files or folders such as .DS_Store
/// skipped), rooted at `dir`. main is `main` (a path relative to dir) when given, else the one
/// file whose lower-case extension is in `mainExtensions`. `missing` lists the side files the
/// main file needs that the folder lacks. Errors: io_error (no such folder), too_many_files (over
/// kMaxGatherFiles), no_main_file (`main` not there, or no file with such an extension),
/// ambiguous_main_file (several; the message lists them).
Result<LocalBundle> gatherFromFolder(const QString &dir, const QString &main,
                                     const QStringList &mainExtensions);

} // namespace farm::bundle
