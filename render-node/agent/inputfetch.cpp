#include "inputfetch.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QNetworkReply>
#include <QThreadPool>
#include <QTimer>

Q_LOGGING_CATEGORY(lcFetch, "farm.node.fetch")

namespace farm::node {

namespace {
constexpr int kStallTimeoutMs = 60000;
} // namespace

QString sha256OfFile(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QCryptographicHash hash(QCryptographicHash::Sha256);
    if (!hash.addData(&f))
        return {};
    return QString::fromLatin1(hash.result().toHex());
}

InputFetch::InputFetch(QNetworkAccessManager *network, QUrl url, QString token, QString cacheDir,
                       QString sha256, QString name, QObject *parent)
    : QObject(parent)
    , m_network(network)
    , m_url(std::move(url))
    , m_token(std::move(token))
    , m_cacheDir(std::move(cacheDir))
    , m_sha(std::move(sha256))
    , m_name(std::move(name))
{}

InputFetch::~InputFetch()
{
    abort();
}

QString InputFetch::targetPath() const
{
    return QDir(m_cacheDir).filePath(QString("files/%1/%2").arg(m_sha, m_name));
}

void InputFetch::start()
{
    if (QFileInfo::exists(targetPath()))
        checkCached();
    else
        download();
}

void InputFetch::abort()
{
    m_done = true;
    if (m_reply) {
        m_reply->disconnect(this);
        m_reply->abort();
        m_reply->deleteLater();
    }
    if (m_file)
        m_file->cancelWriting();
    m_file.reset();
}

void InputFetch::checkCached()
{
    // Hashing a large scene takes a while: do it off the event loop.
    QPointer<InputFetch> self(this);
    const QString path = targetPath();
    QThreadPool::globalInstance()->start([self, path] {
        const QString actual = sha256OfFile(path);
        QMetaObject::invokeMethod(
            self.data(),
            [self, actual] {
                if (!self || self->m_done)
                    return;
                if (actual == self->m_sha) {
                    qCInfo(lcFetch).noquote() << "using cached" << self->targetPath();
                    self->finish({});
                } else {
                    qCWarning(lcFetch).noquote()
                        << "cached" << self->targetPath() << "has the wrong hash; fetching again";
                    self->download();
                }
            },
            Qt::QueuedConnection);
    });
}

void InputFetch::download()
{
    const QString target = targetPath();
    if (!QDir().mkpath(QFileInfo(target).absolutePath()))
        return finish(
            QString("cannot create cache directory %1").arg(QFileInfo(target).absolutePath()));
    m_file = std::make_unique<QSaveFile>(target);
    if (!m_file->open(QIODevice::WriteOnly))
        return finish(QString("cannot write %1: %2").arg(target, m_file->errorString()));
    m_hash.reset();

    ++m_attempt;
    const QUrl url = m_urlSource ? m_urlSource() : m_url;
    QNetworkRequest request(url);
    if (!m_token.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + m_token.toUtf8());
    // A stalled transfer fails the task instead of holding its slot forever.
    request.setTransferTimeout(kStallTimeoutMs);
    qCInfo(lcFetch).noquote() << "fetching" << url.toString();
    m_reply = m_network->get(request);
    connect(m_reply, &QNetworkReply::readyRead, this, &InputFetch::onReadyRead);
    connect(m_reply, &QNetworkReply::finished, this, &InputFetch::onReplyFinished);
}

void InputFetch::onReadyRead()
{
    if (m_done || !m_reply)
        return;
    const QByteArray chunk = m_reply->readAll();
    m_hash.addData(chunk);
    if (m_file->write(chunk) != chunk.size())
        finish(QString("cannot write %1: %2").arg(targetPath(), m_file->errorString()));
}

void InputFetch::onReplyFinished()
{
    if (m_done)
        return;
    QNetworkReply *reply = m_reply;
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (status == 404)
        return finish(QString("download of input %1 failed: HTTP 404, the server has no file %2")
                          .arg(m_name, m_sha));
    const bool failed = (status != 0 && status != 200) || reply->error() != QNetworkReply::NoError;
    // In transit (no answer, a dropped connection, a server error): its controller may have
    // gone, and the agent moves to another one meanwhile.
    if (failed && (status == 0 || status >= 500) && m_attempt < kAttempts) {
        const int delay = kRetryDelayMs << (m_attempt - 1);
        qCWarning(lcFetch).noquote()
            << QString("download of input %1 failed (%2), retrying in "
                       "%3 ms")
                   .arg(m_name, status ? QString("HTTP %1").arg(status) : reply->errorString())
                   .arg(delay);
        reply->disconnect(this);
        reply->deleteLater();
        m_reply.clear();
        m_file->cancelWriting();
        m_file.reset();
        QTimer::singleShot(delay, this, [this] {
            if (!m_done)
                download();
        });
        return;
    }
    if (status != 0 && status != 200)
        return finish(QString("download of input %1 failed: HTTP %2").arg(m_name).arg(status));
    if (reply->error() != QNetworkReply::NoError)
        return finish(QString("download of input %1 failed: %2").arg(m_name, reply->errorString()));
    onReadyRead(); // whatever arrived with the end of the reply
    if (m_done)
        return;
    reply->deleteLater();
    m_reply.clear();
    const QString actual = QString::fromLatin1(m_hash.result().toHex());
    if (actual != m_sha)
        return finish(QString("input %1 failed its hash check: expected sha256 %2, got %3")
                          .arg(m_name, m_sha, actual));
    if (!m_file->commit()) {
        const QString why = m_file->errorString();
        m_file.reset();
        return finish(QString("cannot store input %1 in the cache: %2").arg(m_name, why));
    }
    m_file.reset();
    finish({});
}

void InputFetch::finish(const QString &error)
{
    if (m_done)
        return;
    m_done = true;
    if (m_reply) {
        m_reply->disconnect(this);
        m_reply->abort();
        m_reply->deleteLater();
        m_reply.clear();
    }
    if (m_file) {
        m_file->cancelWriting();
        m_file.reset();
    }
    emit finished(error.isEmpty() ? targetPath() : QString(), error);
}

} // namespace farm::node
