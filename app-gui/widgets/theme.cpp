#include "widgets/theme.h"

#include <QApplication>
#include <QDir>
#include <QIcon>
#include <QPalette>
#include <QStyle>
#include <QStyleFactory>
#include <QStyleHints>

namespace farm::gui {

namespace {

QPalette darkPalette()
{
    const QColor window(0x2b, 0x2d, 0x31), base(0x1e, 0x20, 0x23), text(0xe3, 0xe5, 0xe8);
    const QColor accent(0x3d, 0x8e, 0xf0), disabled(0x7c, 0x80, 0x87);
    QPalette p;
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, QColor(0x25, 0x27, 0x2b));
    p.setColor(QPalette::ToolTipBase, QColor(0x16, 0x18, 0x1b));
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, disabled);
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, QColor(0x35, 0x38, 0x3d));
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::white);
    p.setColor(QPalette::Light, QColor(0x45, 0x48, 0x4e));
    p.setColor(QPalette::Midlight, QColor(0x3a, 0x3d, 0x42));
    p.setColor(QPalette::Mid, QColor(0x22, 0x24, 0x27));
    p.setColor(QPalette::Dark, QColor(0x19, 0x1a, 0x1d));
    p.setColor(QPalette::Shadow, Qt::black);
    p.setColor(QPalette::Highlight, accent);
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Link, QColor(0x6c, 0xb0, 0xff));
    p.setColor(QPalette::LinkVisited, QColor(0xb3, 0x8c, 0xf5));
    for (auto role :
         {QPalette::WindowText, QPalette::Text, QPalette::ButtonText, QPalette::HighlightedText})
        p.setColor(QPalette::Disabled, role, disabled);
    p.setColor(QPalette::Disabled, QPalette::Base, QColor(0x26, 0x28, 0x2b));
    p.setColor(QPalette::Disabled, QPalette::Button, QColor(0x2e, 0x30, 0x34));
    p.setColor(QPalette::Disabled, QPalette::Highlight, QColor(0x4a, 0x4d, 0x52));
    return p;
}

bool desktopPrefersLight()
{
#if QT_VERSION >= QT_VERSION_CHECK(6, 5, 0)
    return QGuiApplication::styleHints()->colorScheme() == Qt::ColorScheme::Light;
#else
    // Qt 6.4 reports no scheme: a light preference shows only as a light desktop palette, and
    // only a real desktop (a platform theme) has one; offscreen and bare X11 get the default.
    return false;
#endif
}

} // namespace

QString applyTheme(QApplication &app, const QString &choice)
{
    QApplication::setStyle(QStyleFactory::create("Fusion"));
    const bool light = choice == "light" || (choice == "system" && desktopPrefersLight());
    QApplication::setPalette(light ? QApplication::style()->standardPalette() : darkPalette());
    // Icons: the desktop's theme when it has one, else a free theme found on the system.
    if (QIcon::themeName().isEmpty() || QIcon::themeName() == "hicolor") {
        for (const QString &name :
             {QStringLiteral("breeze-dark"), QStringLiteral("breeze"), QStringLiteral("Adwaita")}) {
            const QString want = light && name == "breeze-dark" ? QString() : name;
            if (want.isEmpty())
                continue;
            bool found = false;
            for (const QString &dir : QIcon::themeSearchPaths())
                found = found || QDir(dir).exists(want + "/index.theme");
            if (found) {
                QIcon::setThemeName(want);
                break;
            }
        }
    }
    app.setProperty("farmTheme", light ? "light" : "dark");
    return light ? QStringLiteral("light") : QStringLiteral("dark");
}

} // namespace farm::gui
