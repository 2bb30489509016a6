#pragma once

#include <QCryptographicHash>
#include <QNetworkAccessManager>
#include <QObject>
#include <QPointer>
#include <QSaveFile>
#include <QUrl>

#include <functional>
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
    /// A download that fails in transit (no answer, the connection dropped, a 5xx) is tried
    /// again, kAttempts in all, each time at the URL this gives: the controller the agent talks
    /// to by then (docs/CONTROLLERS.md). Without it: the URL given at construction.
    void followServer(std::function<QUrl()> url) { m_urlSource = std::move(url); }
    static constexpr int kAttempts = 5;
    static constexpr int kRetryDelayMs = 500; // doubles on each further attempt

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
    std::function<QUrl()> m_urlSource;
    int m_attempt = 0;
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
