#pragma once

#include <QApplication>
#include <QIcon>
#include <QStyle>

namespace farm::gui {

/// An icon of the desktop's icon theme (freedesktop names; Debian's Adwaita or Breeze), or the
/// style's own when the theme lacks it.
inline QIcon themedIcon(const char *name, QStyle::StandardPixmap fallback)
{
    return QIcon::fromTheme(QString::fromLatin1(name),
                            QApplication::style()->standardIcon(fallback));
}

} // namespace farm::gui
