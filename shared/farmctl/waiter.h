#pragma once

#include "client/apiclient.h"
#include "client/eventsclient.h"

#include <QObject>
#include <QTimer>

namespace farm::ctl {

/// Follows one job until it reaches a final state: live from /ws/events, falling back to
/// polling GET /api/v1/jobs/{id} every second when the socket cannot be used.
class Waiter : public QObject
{
    Q_OBJECT
public:
    enum class Outcome { Running, Completed, Failed, TimedOut, Error };

    Waiter(client::ApiClient &api, qint64 jobId, int timeoutS, QObject *parent = nullptr);

    void start();
    void setPollInterval(int ms) { m_poll.setInterval(ms); }

    Outcome outcome() const { return m_outcome; }
    const Job &job() const { return m_job; }
    const Error &error() const { return m_error; }
    bool polling() const { return m_polling; }

signals:
    void jobChanged(const farm::Job &job);
    void finished();

private:
    void fetch();
    void consider(const Job &job);
    void startPolling();
    void finish(Outcome outcome);

    client::ApiClient &m_api;
    client::EventsClient m_events;
    qint64 m_jobId;
    int m_timeoutS;
    QTimer m_poll;
    QTimer m_timeout;
    Job m_job;
    Error m_error;
    Outcome m_outcome = Outcome::Running;
    bool m_polling = false;
    int m_failures = 0;
};

} // namespace farm::ctl
