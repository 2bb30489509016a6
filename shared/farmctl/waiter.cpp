#include "farmctl/waiter.h"

namespace farm::ctl {

namespace {
// While the socket is live a slow poll still guards against an event lost in a reconnect.
constexpr int kVerifyIntervalMs = 5000;
constexpr int kPollIntervalMs = 1000;
// Consecutive failed polls before giving up on an unreachable server.
constexpr int kMaxFailures = 10;
} // namespace

Waiter::Waiter(client::ApiClient &api, qint64 jobId, int timeoutS, QObject *parent)
    : QObject(parent)
    , m_api(api)
    , m_jobId(jobId)
    , m_timeoutS(timeoutS)
{
    m_poll.setInterval(kVerifyIntervalMs);
    connect(&m_poll, &QTimer::timeout, this, &Waiter::fetch);
    m_timeout.setSingleShot(true);
    connect(&m_timeout, &QTimer::timeout, this, [this] { finish(Outcome::TimedOut); });
    connect(&m_events, &client::EventsClient::connected, this, &Waiter::fetch);
    connect(&m_events, &client::EventsClient::jobUpdated, this, [this](const Job &job) {
        if (job.id == m_jobId)
            consider(job);
    });
    connect(&m_events, &client::EventsClient::connectionError, this, &Waiter::startPolling);
    connect(&m_events, &client::EventsClient::disconnected, this, &Waiter::startPolling);
}

void Waiter::start()
{
    if (m_timeoutS > 0)
        m_timeout.start(m_timeoutS * 1000);
    m_events.open(m_api.baseUrl(), m_api.token());
    m_poll.start();
    fetch();
}

void Waiter::startPolling()
{
    if (m_polling || m_outcome != Outcome::Running)
        return;
    m_polling = true;
    m_events.close();
    m_poll.setInterval(kPollIntervalMs);
    m_poll.start();
}

void Waiter::fetch()
{
    m_api.getJob(m_jobId, [this](Result<Job> r) {
        if (m_outcome != Outcome::Running)
            return;
        if (r) {
            m_failures = 0;
            return consider(*r);
        }
        // A server that goes away mid-job (restart) is waited for; one never reached is an error.
        const bool transient =
            m_job.id != 0 && (r.error().code == "unreachable" || r.error().code == "timeout");
        if (!transient || ++m_failures >= kMaxFailures) {
            m_error = r.error();
            finish(Outcome::Error);
        }
    });
}

void Waiter::consider(const Job &job)
{
    m_job = job;
    emit jobChanged(job);
    if (job.state == JobState::Completed)
        finish(Outcome::Completed);
    else if (job.state == JobState::Failed || job.state == JobState::Canceled)
        finish(Outcome::Failed);
}

void Waiter::finish(Outcome outcome)
{
    if (m_outcome != Outcome::Running)
        return;
    m_outcome = outcome;
    m_poll.stop();
    m_timeout.stop();
    m_events.close();
    emit finished();
}

} // namespace farm::ctl
