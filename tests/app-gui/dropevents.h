#pragma once

// A drag and drop of local files onto a widget, as the window system delivers it: the enter
// event, then the drop when the widget accepted the enter.

#include <QApplication>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QMimeData>
#include <QUrl>

namespace farm::testing {

/// Drags `urls` onto `target` and drops them there; returns whether the enter was accepted
/// (nothing is dropped when it was not).
inline bool dropUrls(QWidget &target, const QList<QUrl> &urls)
{
    QMimeData mime;
    mime.setUrls(urls);
    QDragEnterEvent enter(QPoint(50, 50), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&target, &enter);
    if (!enter.isAccepted())
        return false;
    QDropEvent drop(QPointF(50, 50), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&target, &drop);
    return true;
}

} // namespace farm::testing
