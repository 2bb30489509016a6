#pragma once

#include <QString>

class QApplication;

namespace farm::gui {

/// The look of farm-gui: Fusion with a dark palette by default (as Blender, Resolve and
/// Deadline Monitor look), or light. `choice`: "dark", "light" or "system" (the desktop's
/// preference where Qt reports one, else dark). Also picks the icon theme: the desktop's, else a
/// free theme Debian ships (Breeze, Adwaita). Returns the palette used ("dark" or "light").
QString applyTheme(QApplication &app, const QString &choice = QStringLiteral("system"));

} // namespace farm::gui
