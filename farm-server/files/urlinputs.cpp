#include "files/urlinputs.h"

#include "events/eventsink.h"
#include "events/webhooks.h"
#include "files/filestore.h"
#include "model/scenario.h"
#include "protocol/message.h"
#include "scheduler/scheduler.h"
#include "scheduler/statemachine.h"
#include "store/jobstore.h"

#include <QLoggingCategory>
#include <QNetworkReply>
#include <QRandomGenerator>
#include <QUrl>

Q_LOGGING_CATEGORY(lcUrlInput, "farm.urlinput")

namespace farm::server {
namespace {

/// Bytes the content check reads: an MPEG-TS needs its sync byte at 0, 188 and 376.
constexpr qsizetype kSniffBytes = 512;

bool isVideoPath(const QString &path)
{
    return kComposeVideoExtensions.contains(path.section('/', -1).section('.', -1).toLower());
}

QString networkProblem(QNetworkReply *reply)
{
    switch (reply->error()) {
    case QNetworkReply::ConnectionRefusedError:
        return "refused the connection";
    case QNetworkReply::HostNotFoundError:
        return QString("names a host that was not found (%1)").arg(reply->url().host());
    case QNetworkReply::RemoteHostClosedError:
        return "closed the connection before the whole file was sent";
    case QNetworkReply::ProtocolUnknownError: { // Qt refuses a redirect to ftp: and the like
        const QByteArray location = reply->rawHeader("Location");
        const QUrl to = reply->url().resolved(QUrl::fromEncoded(location));
        if (!location.isEmpty() && !inputUrlProblem(to.toString()).isEmpty())
            return QString("redirected to %1, which %2")
                .arg(to.toString().left(300), inputUrlProblem(to.toString()));
        return reply->errorString();
    }
    case QNetworkReply::TooManyRedirectsError:
        return QString("redirected more than %1 times").arg(FetchLimits::kMaxRedirects);
    case QNetworkReply::InsecureRedirectError:
        return "redirected from https to http";
    case QNetworkReply::SslHandshakeFailedError:
        return "failed its TLS handshake: " + reply->errorString();
    default:
        return reply->errorString();
    }
}

} // namespace

QString humanBytes(qint64 bytes)
{
    const double b = double(bytes);
    if (bytes >= 1024LL * 1024 * 1024)
        return QString::number(b / (1024.0 * 1024 * 1024), 'f', 1) + " GiB";
    if (bytes >= 1024LL * 1024)
        return QString::number(b / (1024.0 * 1024), 'f', 1) + " MiB";
    if (bytes >= 1024)
        return QString::number(b / 1024.0, 'f', 1) + " KiB";
    return QString("%1 bytes").arg(bytes);
}

QString videoContentProblem(const QByteArray &head, const QByteArray &contentType)
{
    const auto at = [&head](qsizetype i) { return i < head.size() ? quint8(head[i]) : 0x100; };
    // ISO base media (MP4, M4V, MOV, 3GP): a box size, then the box type.
    static const QByteArrayList kIsoBoxes{"ftyp", "moov", "mdat", "free", "wide", "skip", "pnot"};
    if (head.size() >= 8 && kIsoBoxes.contains(head.mid(4, 4)))
        return {};
    if (head.startsWith("\x1A\x45\xDF\xA3")) // EBML: Matroska, WebM
        return {};
    if (head.startsWith("RIFF") && head.mid(8, 4) == "AVI ")
        return {};
    if (head.startsWith(QByteArray("\x00\x00\x01\xBA", 4)) ||
        head.startsWith(QByteArray("\x00\x00\x01\xB3", 4))) // MPEG program stream, MPEG-1 video
        return {};
    if (at(0) == 0x47 && (head.size() < 189 || at(188) == 0x47) &&
        (head.size() < 377 || at(376) == 0x47)) // MPEG transport stream
        return {};
    if (head.isEmpty())
        return "is empty";
    const QByteArray text = head.left(kSniffBytes).trimmed().toLower();
    const bool html = text.startsWith("<!doctype html") || text.startsWith("<html") ||
                      text.contains("<html") || text.contains("<head") || text.contains("<body");
    if (html || contentType.toLower().startsWith("text/html"))
        return "is an HTML page, not a video";
    if (text.startsWith("<?xml") || text.startsWith("{") || text.startsWith("["))
        return "is a text document, not a video";
    return "does not start like a video this farm reads (MP4/QuickTime, Matroska/WebM, AVI, "
           "MPEG-PS or MPEG-TS)";
}

UrlFetch::UrlFetch(QNetworkAccessManager &net, FileStore &files, QString url, bool video,
                   FetchLimits limits, QObject *parent)
    : QObject(parent)
    , m_net(net)
    , m_files(files)
    , m_url(std::move(url))
    , m_video(video)
    , m_limits(limits)
{
    m_idle.setSingleShot(true);
    m_idle.setInterval(m_limits.timeoutS * 1000);
    connect(&m_idle, &QTimer::timeout, this, &UrlFetch::onTimeout);
}

UrlFetch::~UrlFetch()
{
    if (m_reply) {
        m_reply->disconnect(this);
        m_reply->abort();
        m_reply->deleteLater();
    }
    if (m_temp.isOpen() || m_temp.exists())
        m_temp.remove();
}

qint64 UrlFetch::limit() const
{
    return m_limits.maxBytes > 0 ? std::min(m_limits.maxBytes, FileStore::kMaxFileSize)
                                 : FileStore::kMaxFileSize;
}

void UrlFetch::start()
{
    const quint64 r = QRandomGenerator::system()->generate64();
    m_temp.setFileName(
        QString("%1/fetch-%2.part").arg(m_files.tempDir()).arg(r, 16, 16, QChar('0')));
    if (!webhookUrlAllowed(m_limits.allow, QUrl(m_url)))
        return fail("is not on a host this server fetches from (--fetch-allow)");
    if (!m_temp.open(QIODevice::WriteOnly))
        return fail("cannot be stored: " + m_temp.errorString());
    QNetworkRequest req{QUrl(m_url)};
    req.setAttribute(QNetworkRequest::RedirectPolicyAttribute,
                     QNetworkRequest::UserVerifiedRedirectPolicy);
    req.setMaximumRedirectsAllowed(FetchLimits::kMaxRedirects);
    req.setAttribute(QNetworkRequest::CacheLoadControlAttribute, QNetworkRequest::AlwaysNetwork);
    req.setHeader(QNetworkRequest::UserAgentHeader, QByteArray("farm-server"));
    m_reply = m_net.get(req);
    m_reply->setReadBufferSize(4 * 1024 * 1024); // the socket waits while the store writes
    connect(m_reply, &QNetworkReply::redirected, this, [this](const QUrl &to) {
        const QString problem = inputUrlProblem(to.toString());
        if (!problem.isEmpty())
            return fail(
                QString("redirected to %1, which %2").arg(to.toString().left(300), problem));
        if (!webhookUrlAllowed(m_limits.allow, to))
            return fail(QString("redirected to %1, a host this server does not fetch from "
                                "(--fetch-allow)")
                            .arg(to.toString().left(300)));
        qCInfo(lcUrlInput).noquote() << m_url << "redirected to" << to.toString();
        emit m_reply->redirectAllowed();
    });
    connect(m_reply, &QNetworkReply::metaDataChanged, this, &UrlFetch::onMetaData);
    connect(m_reply, &QNetworkReply::readyRead, this, &UrlFetch::onReadyRead);
    connect(m_reply, &QNetworkReply::finished, this, &UrlFetch::onFinished);
    m_idle.start();
}

void UrlFetch::abort()
{
    m_done = true;
    m_idle.stop();
    if (m_reply) {
        m_reply->disconnect(this);
        m_reply->abort();
    }
}

void UrlFetch::onMetaData()
{
    if (m_done || !m_reply)
        return;
    const QVariant status = m_reply->attribute(QNetworkRequest::HttpStatusCodeAttribute);
    if (!status.isValid())
        return;
    const int code = status.toInt();
    if (code >= 300 && code < 400) // a redirect the reply follows (or refuses) itself
        return;
    m_answered = true;
    m_idle.start();
    if (code < 200 || code >= 300)
        return fail(
            QString("answered %1 %2")
                .arg(code)
                .arg(m_reply->attribute(QNetworkRequest::HttpReasonPhraseAttribute).toString()));
    const QVariant length = m_reply->header(QNetworkRequest::ContentLengthHeader);
    if (length.isValid() && length.toLongLong() > limit())
        return fail(QString("is %1, over the %2 limit")
                        .arg(humanBytes(length.toLongLong()), humanBytes(limit())));
}

void UrlFetch::onReadyRead()
{
    if (m_done || !m_reply)
        return;
    m_answered = true;
    m_idle.start();
    const QByteArray data = m_reply->readAll();
    if (data.isEmpty())
        return;
    m_size += data.size();
    if (m_size > limit())
        return fail(
            QString("is over the %1 limit (more than that was sent)").arg(humanBytes(limit())));
    if (m_head.size() < kSniffBytes)
        m_head += data.left(kSniffBytes - m_head.size());
    if (m_video && !m_checked && m_head.size() >= kSniffBytes) {
        m_checked = true;
        const QString problem = videoContentProblem(
            m_head, m_reply->header(QNetworkRequest::ContentTypeHeader).toByteArray());
        if (!problem.isEmpty())
            return fail(problem);
    }
    m_hash.addData(data);
    if (m_temp.write(data) != data.size())
        return fail("cannot be stored: " + m_temp.errorString());
}

void UrlFetch::onFinished()
{
    if (m_done || !m_reply)
        return;
    onReadyRead();
    if (m_done)
        return;
    if (m_reply->error() != QNetworkReply::NoError)
        return fail(networkProblem(m_reply));
    if (m_size == 0)
        return fail("sent an empty file");
    if (m_video && !m_checked) {
        m_checked = true;
        const QString problem = videoContentProblem(
            m_head, m_reply->header(QNetworkRequest::ContentTypeHeader).toByteArray());
        if (!problem.isEmpty())
            return fail(problem);
    }
    if (!m_temp.flush())
        return fail("cannot be stored: " + m_temp.errorString());
    m_temp.close();
    const QString sha = QString::fromLatin1(m_hash.result().toHex());
    if (auto r = m_files.adoptFile(m_temp.fileName(), sha); !r)
        return fail("cannot be stored: " + r.error().message);
    done(Fetched{sha, m_size});
}

void UrlFetch::onTimeout()
{
    if (m_done)
        return;
    const QString seconds = QString::number(m_limits.timeoutS);
    if (!m_answered)
        return fail(QString("did not answer within %1 s").arg(seconds));
    fail(QString("sent nothing for %1 s after %2").arg(seconds, humanBytes(m_size)));
}

void UrlFetch::fail(const QString &why)
{
    if (m_done)
        return;
    abort();
    m_temp.close();
    m_temp.remove();
    emit finished(makeError(errc::InputFetchFailed, QString("%1 %2").arg(m_url, why)));
}

void UrlFetch::done(const Result<Fetched> &result)
{
    if (m_done)
        return;
    m_done = true;
    m_idle.stop();
    emit finished(result);
}

UrlInputs::UrlInputs(JobStore &store, FileStore &files, StateMachine &machine, Scheduler &scheduler,
                     EventSink &events, FetchLimits limits, QObject *parent)
    : QObject(parent)
    , m_store(store)
    , m_files(files)
    , m_machine(machine)
    , m_scheduler(scheduler)
    , m_events(events)
    , m_limits(limits)
{}

UrlInputs::~UrlInputs()
{
    for (const qint64 id : m_jobs.keys())
        stop(id);
}

void UrlInputs::fetchJob(qint64 jobId)
{
    if (m_jobs.contains(jobId))
        return;
    const auto job = m_store.job(jobId);
    if (!job || isFinal(job->state) || !job->spec.input.fetching())
        return;
    JobFetch &f = m_jobs[jobId];
    QList<UrlFetch *> started;
    for (const BundleFile &b : job->spec.input.files) {
        if (!b.pending())
            continue;
        auto *fetch = new UrlFetch(m_net, m_files, b.url, isVideoPath(b.path), m_limits, this);
        f.running.insert(b.path, fetch);
        connect(fetch, &UrlFetch::finished, this,
                [this, jobId, path = b.path, url = b.url](const Result<UrlFetch::Fetched> &r) {
                    onFetched(jobId, path, url, r);
                });
        started.append(fetch);
        qCInfo(lcUrlInput).noquote() << "job" << jobId << "fetches" << b.path << "from" << b.url;
    }
    for (UrlFetch *fetch : started)
        if (m_jobs.contains(jobId)) // a fetch that fails at once stops the others
            fetch->start();
}

void UrlInputs::resume()
{
    JobQuery q;
    q.states = {JobState::Queued, JobState::Active, JobState::Paused};
    q.limit = 500;
    QList<qint64> waiting;
    for (q.offset = 0;; q.offset += q.limit) {
        const JobPage page = m_store.listJobs(q);
        for (const Job &j : page.jobs)
            if (j.spec.input.fetching())
                waiting.append(j.id);
        if (page.jobs.size() < q.limit)
            break;
    }
    for (qint64 id : waiting)
        fetchJob(id);
}

void UrlInputs::stop(qint64 jobId)
{
    const auto it = m_jobs.find(jobId);
    if (it == m_jobs.end())
        return;
    const QList<UrlFetch *> running = it->running.values();
    m_jobs.erase(it);
    for (UrlFetch *fetch : running) {
        fetch->disconnect(this);
        fetch->abort();
        fetch->deleteLater();
    }
}

void UrlInputs::onFetched(qint64 jobId, const QString &path, const QString &url,
                          const Result<UrlFetch::Fetched> &result)
{
    const auto it = m_jobs.find(jobId);
    if (it == m_jobs.end())
        return;
    if (UrlFetch *fetch = it->running.take(path))
        fetch->deleteLater();
    const auto job = m_store.job(jobId);
    const auto settled = [this, jobId] {
        if (onSettled)
            onSettled(jobId);
    };
    if (!job || isFinal(job->state)) { // deleted or canceled meanwhile: nothing to hand out
        stop(jobId);
        return settled();
    }
    if (!result) {
        stop(jobId);
        qCWarning(lcUrlInput).noquote()
            << "job" << jobId << "input" << path << "failed:" << result.error().message;
        const QString error =
            QString("%1: input '%2': %3")
                .arg(QLatin1String(errc::InputFetchFailed), path, result.error().message);
        if (auto out = m_machine.failJob(jobId, error))
            m_scheduler.sendCancels(out->cancels);
        return settled();
    }
    qCInfo(lcUrlInput).noquote() << "job" << jobId << "fetched" << path << "from" << url << "("
                                 << result->size << "bytes, sha256" << result->sha256 << ")";
    it->fetched.insert(path, result->sha256);
    if (!it->running.isEmpty())
        return settled();
    JobInput input = job->spec.input;
    for (BundleFile &b : input.files)
        if (b.pending() && it->fetched.contains(b.path))
            b.file = it->fetched.value(b.path);
    m_jobs.erase(it);
    if (auto r = m_store.setJobInput(jobId, input); !r) {
        if (auto out = m_machine.failJob(
                jobId, QString("%1: the fetched input could not be recorded: %2")
                           .arg(QLatin1String(errc::InputFetchFailed), r.error().message)))
            m_scheduler.sendCancels(out->cancels);
        return settled();
    }
    if (onInputReady)
        onInputReady(jobId);
    if (const auto now = m_store.job(jobId))
        m_events.publish(msg::JobUpdated, now->toJson());
    m_scheduler.requestDispatch();
    settled();
}

} // namespace farm::server
