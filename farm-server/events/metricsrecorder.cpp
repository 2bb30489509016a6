#include "events/metricsrecorder.h"

#include "protocol/message.h"
#include "util/framerange.h"
#include "util/json.h"

namespace farm::server {

void ServerMetrics::Histogram::observe(double seconds)
{
    for (size_t i = 0; i < kDurationBuckets.size(); ++i)
        if (seconds <= kDurationBuckets[i])
            ++buckets[i];
    ++count;
    sum += seconds;
}

void MetricsRecorder::publish(const QString &type, const QJsonObject &data)
{
    m_next.publish(type, data);
    if (type != QLatin1String(msg::TaskUpdated))
        return;
    const QString state = data.value("state").toString();
    if (state != "done" && state != "failed")
        return;
    const QDateTime started = json::toTime(data.value("started_at"));
    const QDateTime finished = json::toTime(data.value("finished_at"));
    if (!started.isValid() || !finished.isValid())
        return;
    const qint64 id = data.value("id").toInteger();
    const QString key = data.value("finished_at").toString();
    if (m_seen.value(id) == key)
        return;
    if (m_seen.size() > 100000) // a long-running server: forget, do not grow
        m_seen.clear();
    m_seen.insert(id, key);
    const double seconds = qMax(0.0, started.msecsTo(finished) / 1000.0);
    m_metrics.taskDurations[state].observe(seconds);
    if (state == "done") {
        if (const auto frames = FrameRange::parse(data.value("frames").toString()))
            m_metrics.framesDone += frames->size();
        m_metrics.slotSecondsDone += seconds;
    }
}

} // namespace farm::server
