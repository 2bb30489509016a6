#pragma once

#include <QByteArray>
#include <QString>

// The bundled browser dashboard. Its files are Qt resources under ":/web" (index.html, the API
// page docs.html, css/, js/, img/); these helpers let farm-server map request paths onto them
// safely.
namespace farm::webui {

/// Resource path for a dashboard URL path: "/" → ":/web/index.html", "/docs.html" →
/// ":/web/docs.html", "/js/app.js" →
/// ":/web/js/app.js". Empty when the path is not a dashboard file (other folders, nested
/// folders, "..", hidden or unknown names), so callers answer 404.
QString resourcePath(const QString &urlPath);

/// Content type by extension ("text/javascript; charset=utf-8" for .js: browsers refuse ES
/// modules served with another type).
QByteArray contentType(const QString &fileName);

} // namespace farm::webui
