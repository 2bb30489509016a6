#pragma once

// Internal to farm::bundle: the per-format readers behind referencedFiles (sidefiles.h).

#include <QByteArray>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace farm::bundle::detail {

/// One reference as a file format writes it.
struct RawRef
{
    /// As written in the file (trimmed): what messages quote.
    QString written;
    /// Decoded (percent-encoding undone where the format uses it): what gets resolved.
    QString target;
    /// For an OBJ mtllib line holding spaces: its whitespace-separated names, used when
    /// `target` as a whole names no file.
    QStringList alternatives;
};

using RefParser = QList<RawRef> (*)(const QByteArray &content);

/// The reader for a file of this name (by lower-case extension), or nullptr.
RefParser parserFor(const QString &fileName);

/// Only the lines of an OBJ file that can reference side files (mtllib), read line by line so
/// that a large mesh is never held in memory; what parserFor(".obj") needs. nullopt when the
/// file cannot be read.
std::optional<QByteArray> objReferenceLines(const QString &localPath);

} // namespace farm::bundle::detail
