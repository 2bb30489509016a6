#include "nodecredentials.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QSaveFile>

Q_LOGGING_CATEGORY(lcCredentials, "farm.node.credentials")

namespace farm::node {

namespace {
constexpr int kMaxFileBytes = 64 * 1024;

QString serverKey(const QUrl &server)
{
    return server.adjusted(QUrl::StripTrailingSlash | QUrl::RemoveUserInfo).toString();
}
} // namespace

NodeCredentials::NodeCredentials(QString path)
    : m_path(std::move(path))
{}

void NodeCredentials::load(const QUrl &server, const QString &name)
{
    m_secret.clear();
    if (m_path.isEmpty() || !QFileInfo::exists(m_path))
        return;
    QFile f(m_path);
    if (!f.open(QIODevice::ReadOnly) || f.size() > kMaxFileBytes) {
        qCWarning(lcCredentials).noquote()
            << "cannot read" << m_path << f.errorString() << "- joining with the join token";
        return;
    }
    if (f.permissions() & (QFileDevice::ReadGroup | QFileDevice::ReadOther))
        qCWarning(lcCredentials).noquote()
            << m_path << "is readable by other users; it holds this node's secret";
    const QJsonObject o = QJsonDocument::fromJson(f.readAll()).object();
    if (o.value("server").toString() != serverKey(server) || o.value("name").toString() != name) {
        qCInfo(lcCredentials).noquote()
            << m_path << "holds the secret of node" << o.value("name").toString() << "at"
            << o.value("server").toString() << "- not used for" << name << "at"
            << serverKey(server);
        return;
    }
    m_secret = o.value("secret").toString();
}

Result<void> NodeCredentials::save(const QUrl &server, const QString &name, qint64 nodeId,
                                   const QString &secret)
{
    m_secret = secret;
    if (m_path.isEmpty())
        return {};
    if (!QDir().mkpath(QFileInfo(m_path).absolutePath()))
        return makeError("io", QString("cannot create the directory of %1").arg(m_path));
    QSaveFile f(m_path);
    // Owner-only before a byte of the secret is written.
    if (!f.open(QIODevice::WriteOnly) ||
        !f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner))
        return makeError("io", QString("cannot write %1: %2").arg(m_path, f.errorString()));
    const QJsonObject o{
        {"server", serverKey(server)}, {"name", name}, {"node_id", nodeId}, {"secret", secret}};
    f.write(QJsonDocument(o).toJson());
    if (!f.commit())
        return makeError("io", QString("cannot write %1: %2").arg(m_path, f.errorString()));
    return {};
}

void NodeCredentials::clear()
{
    m_secret.clear();
    if (!m_path.isEmpty())
        QFile::remove(m_path);
}

} // namespace farm::node
