#pragma once

#include "events/eventsink.h"

#include <QDateTime>
#include <QHash>
#include <QNetworkAccessManager>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <QUrl>

#include <functional>
#include <optional>

namespace farm::server {

class AccessStore;
class Clock;
class JobStore;
struct ServerConfig;

/// Whether `url`'s scheme and host (and port, when the entry names one) match an entry of
/// --webhook-allow: "https://hooks.example.com", "http://127.0.0.1:9000", "http://*.studio.lan".
bool webhookUrlAllowed(const QStringList &allow, const QUrl &url);
/// The X-Farm-Signature header's value: "sha256=" and the HMAC-SHA256 of the body, hex.
QByteArray webhookSignature(const QByteArray &secret, const QByteArray &body);

/// Webhooks of jobs with a `callback_url` (docs/API.md, "Webhooks"). Sits in front of the event
/// chain: every event passes on unchanged; job updates become deliveries (progress, at most
/// one per job per interval; completion; failure) written to the database first and then sent
/// without blocking (QNetworkAccessManager), retried with doubling delays across restarts.
class Webhooks
    : public QObject
    , public EventSink
{
    Q_OBJECT
public:
    Webhooks(AccessStore &access, JobStore &store, const Clock &clock, const ServerConfig &config,
             EventSink &next, QObject *parent = nullptr);
    ~Webhooks() override;

    /// Where links in payloads point when --public-url is not set ("http://127.0.0.1:8420").
    void setServerUrl(const QString &url) { m_serverUrl = url; }
    /// How many seconds a video output lasts (nullopt: not a video it reads); the completion
    /// payload gives each video output's `duration` by it.
    using VideoDuration = std::function<std::optional<double>(qint64 jobId, const QString &name)>;
    void setVideoDuration(VideoDuration duration) { m_videoDuration = std::move(duration); }
    /// Sends what waits in the database (after a restart) and keeps sending as it falls due.
    void start();

    void publish(const QString &type, const QJsonObject &data) override;

private:
    void onJob(const QJsonObject &job);
    void enqueue(qint64 jobId, const QString &url, const QString &event, QJsonObject payload);
    void pump();
    void armTimer();
    QJsonObject completion(qint64 jobId) const;

    AccessStore &m_access;
    JobStore &m_store;
    const Clock &m_clock;
    const ServerConfig &m_config;
    EventSink &m_next;
    QString m_serverUrl;
    VideoDuration m_videoDuration;
    QNetworkAccessManager m_net;
    QTimer m_timer;
    QHash<qint64, QPointer<QNetworkReply>> m_inFlight; // delivery id → its request
    QHash<qint64, QString> m_announced;                // job → state announced last
    QHash<qint64, QDateTime> m_lastProgress;           // job → time of its last progress call
    bool m_started = false;
};

} // namespace farm::server
