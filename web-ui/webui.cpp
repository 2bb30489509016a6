#include "webui.h"

#include <QFileInfo>
#include <QRegularExpression>

namespace farm::webui {

QString resourcePath(const QString &urlPath)
{
    if (urlPath.isEmpty() || urlPath == QLatin1String("/") ||
        urlPath == QLatin1String("/index.html"))
        return QStringLiteral(":/web/index.html");
    if (urlPath == QLatin1String("/docs.html")) // the API page
        return QStringLiteral(":/web/docs.html");
    // One folder level only, plain names: nothing can climb out of ":/web" or reach other
    // resources.
    static const QRegularExpression re(
        QStringLiteral("^/(css|js|img)/([A-Za-z0-9_-][A-Za-z0-9._-]{0,127})$"));
    const auto m = re.match(urlPath);
    if (!m.hasMatch() || m.captured(2).contains(QLatin1String("..")))
        return {};
    const QString path = QStringLiteral(":/web/%1/%2").arg(m.captured(1), m.captured(2));
    return QFileInfo(path).isFile() ? path : QString();
}

QByteArray contentType(const QString &fileName)
{
    struct Type
    {
        const char *suffix;
        const char *type;
    };
    static constexpr Type types[] = {
        {"html", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"webp", "image/webp"},
        {"ico", "image/x-icon"},
        {"json", "application/json"},
        {"woff2", "font/woff2"},
    };
    const QString suffix = QFileInfo(fileName).suffix().toLower();
    for (const Type &t : types) {
        if (suffix == QLatin1String(t.suffix))
            return t.type;
    }
    return "application/octet-stream";
}

} // namespace farm::webui
