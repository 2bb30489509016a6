#pragma once

#include <QCryptographicHash>
#include <QNetworkAccessManager>
#include <QObject>
#include <QPointer>
#include <QSaveFile>
#include <QUrl>

#include <memory>

namespace farm::node {

/// Brings one input file into the cache as `<cache>/files/<sha>/<name>`: reuses a cached copy
/// whose hash matches, otherwise downloads it to a temporary name, verifies the SHA-256 and
/// renames it into place. Emits finished() exactly once unless aborted.
class InputFetch : public QObject
{
    Q_OBJECT
public:
    InputFetch(QNetworkAccessManager *network, QUrl url, QString token, QString cacheDir,
               QString sha256, QString name, QObject *parent = nullptr);
    ~InputFetch() override;

    /// The path the file has once fetched.
    QString targetPath() const;
    void start();
    /// Stops any transfer; finished() is not emitted afterwards.
    void abort();

signals:
    /// `error` is empty on success; `path` is the cached file then.
    void finished(const QString &path, const QString &error);

private:
    void checkCached();
    void download();
    void onReadyRead();
    void onReplyFinished();
    void finish(const QString &error);

    QNetworkAccessManager *m_network;
    QUrl m_url;
    QString m_token;
    QString m_cacheDir;
    QString m_sha;
    QString m_name;
    QPointer<QNetworkReply> m_reply;
    std::unique_ptr<QSaveFile> m_file;
    QCryptographicHash m_hash{QCryptographicHash::Sha256};
    bool m_done = false;
};

/// SHA-256 of a file as lowercase hex, empty when it cannot be read.
QString sha256OfFile(const QString &path);

} // namespace farm::node
