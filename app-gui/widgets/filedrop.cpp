#include "widgets/filedrop.h"

#include <QFileInfo>
#include <QMimeData>
#include <QUrl>

namespace farm::gui {

QStringList FileDrop::localFiles(const QMimeData *mime)
{
    QStringList files;
    if (!mime || !mime->hasUrls())
        return files;
    for (const QUrl &url : mime->urls()) {
        if (!url.isLocalFile())
            continue;
        const QFileInfo info(url.toLocalFile());
        if (info.isFile() && info.isReadable() && !files.contains(info.absoluteFilePath()))
            files.append(info.absoluteFilePath());
    }
    return files;
}

} // namespace farm::gui
