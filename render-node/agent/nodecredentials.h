#pragma once

#include "util/result.h"

#include <QString>
#include <QUrl>

namespace farm::node {

/// The node's own secret, issued by the server in `welcome` at its first join (docs/API.md,
/// "Auth"). It proves the node's name in later hellos and is its bearer token for downloads and
/// output uploads. Kept in `<cache>/node-credentials.json`, readable by its owner only, so that
/// a restarted node is still the same node; a secret is used only with the server and name it
/// was issued for.
class NodeCredentials
{
public:
    static constexpr char kFileName[] = "node-credentials.json";

    /// `path` empty: kept in memory only.
    explicit NodeCredentials(QString path = {});

    /// Reads the file; a secret issued by another server or for another name is ignored.
    /// A file that cannot be read leaves no secret (the node joins with the join token).
    void load(const QUrl &server, const QString &name);
    /// Keeps the secret and writes the file (mode 0600, replaced atomically).
    Result<void> save(const QUrl &server, const QString &name, qint64 nodeId,
                      const QString &secret);
    /// Drops the secret and its file (the server no longer knows it).
    void clear();

    QString secret() const { return m_secret; }
    bool hasSecret() const { return !m_secret.isEmpty(); }
    QString path() const { return m_path; }

private:
    QString m_path;
    QString m_secret;
};

} // namespace farm::node
