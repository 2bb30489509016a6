#pragma once

#include <QStringList>

class QMimeData;

namespace farm::gui {

/// What a drop onto the window may submit: local regular files only (no folders, no web URLs).
class FileDrop
{
public:
    /// Local file paths of `mime` that are readable regular files, in drop order.
    static QStringList localFiles(const QMimeData *mime);
    static bool accepts(const QMimeData *mime) { return !localFiles(mime).isEmpty(); }
};

} // namespace farm::gui
