#include "outputupload.h"

#include "protocol/message.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QNetworkReply>

#include <algorithm>

Q_LOGGING_CATEGORY(lcUpload, "farm.node.upload")

namespace farm::node {

namespace {
constexpr int kStallTimeoutMs = 60000;

// 4xx answers other than timeouts and throttling will not change on a retry.
bool isRetryable(QNetworkReply::NetworkError error, int status)
{
    if (status >= 400 && status < 500)
        return status == 408 || status == 429;
    if (status >= 500)
        return true;
    return error != QNetworkReply::NoError;
}
} // namespace

OutputUpload::OutputUpload(QNetworkAccessManager *network, QUrl url, QString token,
                           QString filePath, int retryDelayMs, QObject *parent)
    : QObject(parent)
    , m_network(network)
    , m_url(std::move(url))
    , m_token(std::move(token))
    , m_filePath(std::move(filePath))
    , m_retryDelayMs(retryDelayMs)
{
    m_retryTimer.setSingleShot(true);
    connect(&m_retryTimer, &QTimer::timeout, this, &OutputUpload::attempt);
}

OutputUpload::~OutputUpload()
{
    abort();
}

QString OutputUpload::name() const
{
    return QFileInfo(m_filePath).fileName();
}

void OutputUpload::start()
{
    QFile f(m_filePath);
    if (!f.open(QIODevice::ReadOnly))
        return finish(QString("cannot read output %1: %2").arg(m_filePath, f.errorString()));
    if (f.size() > kMaxBytes)
        return finish(QString("output %1 is %2 bytes, more than the 256 MiB the server takes")
                          .arg(name())
                          .arg(f.size()));
    attempt();
}

void OutputUpload::abort()
{
    m_done = true;
    m_retryTimer.stop();
    if (m_reply) {
        m_reply->disconnect(this);
        m_reply->abort();
        m_reply->deleteLater();
        m_reply.clear();
    }
}

void OutputUpload::attempt()
{
    if (m_done)
        return;
    ++m_attempt;
    QNetworkRequest request(m_urlSource ? m_urlSource() : m_url);
    request.setHeader(QNetworkRequest::ContentTypeHeader, "application/octet-stream");
    if (!m_token.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + m_token.toUtf8());
    request.setTransferTimeout(kStallTimeoutMs); // a stall counts as a failed attempt
    // Streamed from disk: a large output neither sits in memory nor blocks the event loop.
    auto *file = new QFile(m_filePath);
    if (!file->open(QIODevice::ReadOnly)) {
        const QString why = file->errorString();
        delete file;
        return finish(QString("cannot read output %1: %2").arg(m_filePath, why));
    }
    request.setHeader(QNetworkRequest::ContentLengthHeader, file->size());
    m_reply = m_network->put(request, file);
    file->setParent(m_reply);
    connect(m_reply, &QNetworkReply::finished, this, &OutputUpload::onReplyFinished);
}

void OutputUpload::onReplyFinished()
{
    QNetworkReply *reply = m_reply;
    m_reply.clear();
    reply->deleteLater();
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (reply->error() == QNetworkReply::NoError && status >= 200 && status < 300)
        return finish({});
    const QByteArray body = reply->readAll();
    if (status == 403 || status == 409) {
        const QJsonObject error = QJsonDocument::fromJson(body).object().value("error").toObject();
        const QString code = error.value("code").toString();
        if (code == QLatin1String(errc::NotYourTask) ||
            code == QLatin1String(errc::TaskNotRunning)) {
            if (m_done)
                return;
            m_done = true;
            emit refused(QString("the server refused %1: %2: %3")
                             .arg(name(), code, error.value("message").toString()));
            return;
        }
    }
    if (status == 503 && QJsonDocument::fromJson(body).object().value("error").toObject().value(
                             "code") == QLatin1String(errc::TaskOrphaned)) {
        // The server keeps the task for this node until it says hello again, which can take
        // the agent's whole reconnect backoff: waiting is not a failed attempt, and the task
        // is not given up while its output is on disk. A new holder or a cancel turns the
        // answer into a refusal above; aborting the task ends the wait.
        --m_attempt;
        const int delay = m_retryDelayMs << std::min(m_orphanedAnswers++, 3);
        if (m_orphanedAnswers == 1)
            qCInfo(lcUpload).noquote()
                << QString("upload of %1 waits for the node to reconnect (the server holds its "
                           "task meanwhile); asking again every %2 ms at most")
                       .arg(name())
                       .arg(m_retryDelayMs << 3);
        m_retryTimer.start(delay);
        return;
    }
    const QString why =
        status > 0
            ? QString("HTTP %1 %2").arg(status).arg(QString::fromUtf8(body.left(300)).trimmed())
            : reply->errorString();
    if (m_attempt < kAttempts && isRetryable(reply->error(), status)) {
        const int delay = m_retryDelayMs << (m_attempt - 1);
        qCWarning(lcUpload).noquote()
            << QString("upload of %1 failed (%2), retrying in %3 ms").arg(name(), why).arg(delay);
        m_retryTimer.start(delay);
        return;
    }
    finish(
        QString("upload of %1 failed after %2 attempt(s): %3").arg(name()).arg(m_attempt).arg(why));
}

void OutputUpload::finish(const QString &error)
{
    if (m_done)
        return;
    m_done = true;
    emit finished(error);
}

} // namespace farm::node
