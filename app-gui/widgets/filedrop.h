#pragma once

#include <QStringList>

class QMimeData;

namespace farm::gui {

/// What a drop onto the window may submit: local files and folders (no web URLs). Whatever is
/// dropped at once becomes one job (DropBundle).
class FileDrop
{
public:
    /// Absolute paths of the readable local files and folders of `mime`, in drop order.
    static QStringList localPaths(const QMimeData *mime);
    static bool accepts(const QMimeData *mime) { return !localPaths(mime).isEmpty(); }
};

} // namespace farm::gui
