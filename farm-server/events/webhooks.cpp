#include "events/webhooks.h"

#include "model/scenario.h"
#include "protocol/message.h"
#include "scheduler/clock.h"
#include "serverconfig.h"
#include "store/accessstore.h"
#include "store/jobstore.h"
#include "util/json.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QMessageAuthenticationCode>
#include <QNetworkReply>

#include <cmath>

Q_LOGGING_CATEGORY(lcWebhooks, "farm.webhooks")

namespace farm::server {
namespace {

/// Deliveries sent at once; the rest wait for a free place.
constexpr int kMaxInFlight = 16;
/// A receiver has this long to answer.
constexpr int kTimeoutMs = 10000;
/// The longest wait between two attempts.
constexpr qint64 kMaxBackoffS = 3600;

} // namespace

bool webhookUrlAllowed(const QStringList &allow, const QUrl &url)
{
    if (!url.isValid() || url.host().isEmpty() || !url.userInfo().isEmpty())
        return false;
    const QString scheme = url.scheme().toLower();
    const QString host = url.host().toLower();
    const int port = url.port(scheme == "https" ? 443 : 80);
    for (const QString &entry : allow) {
        if (entry.section("://", 0, 0) != scheme)
            continue;
        QString entryHost = entry.section("://", 1);
        int entryPort = -1;
        // "host:port" and "[v6]:port"; a bare v6 address has colons but no brackets.
        const qsizetype colon = entryHost.lastIndexOf(':');
        if (colon > 0 && (!entryHost.contains(']') || entryHost.lastIndexOf(']') < colon) &&
            (entryHost.startsWith('[') || entryHost.count(':') == 1)) {
            entryPort = entryHost.mid(colon + 1).toInt();
            entryHost = entryHost.left(colon);
        }
        if (entryHost.startsWith('[') && entryHost.endsWith(']'))
            entryHost = entryHost.mid(1, entryHost.size() - 2);
        if (entryPort >= 0 && entryPort != port)
            continue;
        if (entryHost.startsWith("*.")) {
            if (host.endsWith(entryHost.mid(1)) && host.size() > entryHost.size() - 1)
                return true;
        } else if (host == entryHost) {
            return true;
        }
    }
    return false;
}

QByteArray webhookSignature(const QByteArray &secret, const QByteArray &body)
{
    return "sha256=" +
           QMessageAuthenticationCode::hash(body, secret, QCryptographicHash::Sha256).toHex();
}

Webhooks::Webhooks(AccessStore &access, JobStore &store, const Clock &clock,
                   const ServerConfig &config, EventSink &next, QObject *parent)
    : QObject(parent)
    , m_access(access)
    , m_store(store)
    , m_clock(clock)
    , m_config(config)
    , m_next(next)
{
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &Webhooks::pump);
    // A redirect could lead anywhere: a 3xx is a failed attempt, never followed.
    m_net.setRedirectPolicy(QNetworkRequest::ManualRedirectPolicy);
}

Webhooks::~Webhooks()
{
    // Requests still open stay in the database and go out again after the next start.
    for (const QPointer<QNetworkReply> &reply : std::as_const(m_inFlight)) {
        if (!reply)
            continue;
        reply->disconnect(this);
        reply->abort();
    }
}

void Webhooks::start()
{
    m_started = true;
    pump();
}

void Webhooks::publish(const QString &type, const QJsonObject &data)
{
    m_next.publish(type, data);
    if (type == QLatin1String(msg::JobUpdated))
        onJob(data);
    else if (type == QLatin1String(msg::JobDeleted))
        m_announced.remove(data.value("id").toInteger());
}

void Webhooks::onJob(const QJsonObject &job)
{
    const QString url = job.value("callback_url").toString();
    if (url.isEmpty())
        return;
    const qint64 id = job.value("id").toInteger();
    const QString state = job.value("state").toString();
    const QString before = m_announced.value(id);
    m_announced.insert(id, state);
    const QJsonObject summary{{"id", id},
                              {"name", job.value("name")},
                              {"type", job.value("type")},
                              {"owner", job.value("owner")},
                              {"state", state},
                              {"progress", job.value("progress")},
                              {"tasks", job.value("tasks")},
                              {"created_at", job.value("created_at")},
                              {"finished_at", job.value("finished_at")}};
    if (state == "completed" && before != state) {
        QJsonObject payload = completion(id);
        payload.insert("job", summary);
        return enqueue(id, url, "job.completed", payload);
    }
    if (state == "failed" && before != state) {
        const QJsonObject tasks = job.value("tasks").toObject();
        const QString error = job.value("error").toString();
        const QString fetch = QLatin1String(errc::InputFetchFailed);
        const QString code = error.startsWith(fetch + ": ")      ? fetch
                             : tasks.value("failed").toInt() > 0 ? QStringLiteral("task_failed")
                                                                 : QStringLiteral("job_failed");
        return enqueue(
            id, url, "job.failed",
            {{"job", summary},
             {"error", QJsonObject{{"code", code}, {"message", job.value("error").toString()}}}});
    }
    if (state != "active")
        return;
    const QDateTime now = m_clock.now();
    const QDateTime last = m_lastProgress.value(id);
    if (last.isValid() && last.msecsTo(now) < qint64(m_config.webhookProgressS) * 1000)
        return;
    m_lastProgress.insert(id, now);
    enqueue(id, url, "job.progress", {{"job", summary}});
}

QJsonObject Webhooks::completion(qint64 jobId) const
{
    const QString base = (m_config.publicUrl.isEmpty() ? m_serverUrl : m_config.publicUrl) +
                         QString("/api/v1/jobs/%1").arg(jobId);
    QJsonArray outputs;
    qint64 total = 0;
    for (const OutputRecord &o : m_store.outputs(jobId)) {
        QJsonObject out{{"name", o.name},
                        {"size", o.size},
                        {"url", base + "/outputs/" + QUrl::toPercentEncoding(o.name)}};
        // A video's length, read from the file the node uploaded (not what the node says).
        if (m_videoDuration && kComposeVideoExtensions.contains(o.name.section('.', -1).toLower()))
            if (const auto seconds = m_videoDuration(jobId, o.name))
                out.insert("duration", std::round(*seconds * 1000.0) / 1000.0);
        outputs.append(out);
        total += o.size;
    }
    // The archive holds every output: its size is theirs plus the zip's small overhead, known
    // only once it is built, so the payload gives the outputs' total.
    return {{"outputs", outputs},
            {"total_size", total},
            {"download_url", base + "/archive"},
            {"outputs_url", base + "/outputs"}};
}

void Webhooks::enqueue(qint64 jobId, const QString &url, const QString &event, QJsonObject payload)
{
    payload.insert("event", event);
    payload.insert("timestamp", json::fromTime(m_clock.now()));
    WebhookDelivery d;
    d.jobId = jobId;
    d.url = url;
    d.event = event;
    d.body = QJsonDocument(payload).toJson(QJsonDocument::Compact);
    d.nextAt = m_clock.now();
    if (auto r = m_access.insertDelivery(d, m_clock.now()); !r) {
        qCWarning(lcWebhooks) << "cannot keep a webhook for job" << jobId << r.error().message;
        return;
    }
    if (m_started)
        QTimer::singleShot(0, this, &Webhooks::pump); // after the caller's work is announced
}

void Webhooks::pump()
{
    if (!m_started)
        return;
    const QDateTime now = m_clock.now();
    const int room = kMaxInFlight - int(m_inFlight.size());
    for (const WebhookDelivery &d : m_access.dueDeliveries(now, qMax(0, room))) {
        // The rules may have changed since the job was submitted (a restart with new flags).
        if (!webhookUrlAllowed(m_config.webhookAllow, QUrl(d.url))) {
            qCWarning(lcWebhooks) << "dropping webhook" << d.id << "of job" << d.jobId
                                  << ": its URL is no longer allowed";
            (void)m_access.deleteDelivery(d.id);
            continue;
        }
        // Leased while it is out: not due again unless the server dies before the answer.
        // Only one controller of a database gets the lease (docs/CONTROLLERS.md).
        const auto leased = m_access.leaseDelivery(
            d.id, d.nextAt, now.addMSecs(kTimeoutMs + 1000LL * m_config.webhookRetryS));
        if (!leased || !*leased)
            continue;
        QNetworkRequest request{QUrl(d.url)};
        request.setHeader(QNetworkRequest::ContentTypeHeader, "application/json");
        request.setRawHeader("User-Agent", "farm-server webhooks");
        request.setRawHeader("X-Farm-Event", d.event.toUtf8());
        request.setRawHeader("X-Farm-Delivery", QByteArray::number(d.id));
        request.setRawHeader("X-Farm-Signature",
                             webhookSignature(m_config.webhookSecret.toUtf8(), d.body));
        request.setTransferTimeout(kTimeoutMs);
        QNetworkReply *reply = m_net.post(request, d.body);
        m_inFlight.insert(d.id, reply);
        connect(reply, &QNetworkReply::finished, this, [this, reply, d] {
            reply->deleteLater();
            m_inFlight.remove(d.id);
            const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
            if (reply->error() == QNetworkReply::NoError && status >= 200 && status < 300) {
                (void)m_access.deleteDelivery(d.id);
            } else {
                const QString why =
                    status > 0 ? QString("HTTP %1").arg(status) : reply->errorString();
                const int attempts = d.attempts + 1;
                if (attempts >= m_config.webhookAttempts) {
                    qCWarning(lcWebhooks)
                        << "giving up webhook" << d.event << "of job" << d.jobId << "to" << d.url
                        << "after" << attempts << "attempts; last:" << why;
                    (void)m_access.deleteDelivery(d.id);
                } else {
                    const qint64 delay =
                        qMin(kMaxBackoffS, qint64(m_config.webhookRetryS) << (attempts - 1));
                    (void)m_access.rescheduleDelivery(d.id, attempts, m_clock.now().addSecs(delay),
                                                      why);
                }
            }
            pump();
        });
    }
    armTimer();
}

void Webhooks::armTimer()
{
    const QDateTime next = m_access.nextDeliveryAt();
    if (!next.isValid() || m_inFlight.size() >= kMaxInFlight)
        return m_timer.stop(); // nothing waits, or an answer calls pump()
    // Capped: a clock that jumps must not leave deliveries waiting for hours.
    const qint64 ms = qBound(qint64(0), m_clock.now().msecsTo(next), qint64(60000));
    m_timer.start(int(ms));
}

} // namespace farm::server
