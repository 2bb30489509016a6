#include "widgets/filedrop.h"

#include <QFileInfo>
#include <QMimeData>
#include <QUrl>

namespace farm::gui {

QStringList FileDrop::localPaths(const QMimeData *mime)
{
    QStringList paths;
    if (!mime || !mime->hasUrls())
        return paths;
    for (const QUrl &url : mime->urls()) {
        if (!url.isLocalFile())
            continue;
        const QFileInfo info(url.toLocalFile());
        if ((info.isFile() || info.isDir()) && info.isReadable() &&
            !paths.contains(info.absoluteFilePath()))
            paths.append(info.absoluteFilePath());
    }
    return paths;
}

} // namespace farm::gui
