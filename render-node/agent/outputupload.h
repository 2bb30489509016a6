#pragma once

#include <QNetworkAccessManager>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <QUrl>

#include <functional>

namespace farm::node {

/// PUTs one output file as a raw body, retrying transient failures with backoff. A
/// `task_orphaned` answer (the server holds the task until this node reconnects) is asked
/// again without limit until the answer changes or the upload is aborted.
/// Emits finished() exactly once unless aborted.
class OutputUpload : public QObject
{
    Q_OBJECT
public:
    static constexpr qint64 kMaxBytes = qint64(256) << 20; // the server's limit (docs/API.md)
    static constexpr int kAttempts = 4;

    OutputUpload(QNetworkAccessManager *network, QUrl url, QString token, QString filePath,
                 int retryDelayMs = 500, QObject *parent = nullptr);
    ~OutputUpload() override;

    void start();
    void abort();
    /// Each attempt asks `url` where to PUT: a retry goes to the controller the agent talks to
    /// by then (docs/CONTROLLERS.md), not to one that went away.
    void followServer(std::function<QUrl()> url) { m_urlSource = std::move(url); }
    QString name() const;

signals:
    /// `error` is empty on success.
    void finished(const QString &error);
    /// Instead of finished(): the server answered that the task is no longer this node's
    /// (`not_your_task` or `task_not_running`); `why` is its sentence. Never retried.
    void refused(const QString &why);

private:
    void attempt();
    void onReplyFinished();
    void finish(const QString &error);

    QNetworkAccessManager *m_network;
    std::function<QUrl()> m_urlSource;
    QUrl m_url;
    QString m_token;
    QString m_filePath;
    int m_retryDelayMs;
    int m_attempt = 0;
    int m_orphanedAnswers = 0; // `task_orphaned` answers: waits for a reconnect, not attempts
    QPointer<QNetworkReply> m_reply;
    QTimer m_retryTimer;
    bool m_done = false;
};

} // namespace farm::node
