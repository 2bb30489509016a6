#pragma once

#include "events/eventsink.h"

#include <QHash>
#include <QMap>
#include <QString>

#include <array>

namespace farm::server {

/// Counters and histograms for /metrics that no table holds (docs/API.md, "Metrics").
struct ServerMetrics
{
    /// Upper bounds (seconds) of the task duration histogram's buckets.
    static constexpr std::array<double, 11> kDurationBuckets{1,   5,   15,   30,   60,   120,
                                                             300, 600, 1800, 3600, 14400};
    struct Histogram
    {
        std::array<quint64, kDurationBuckets.size()> buckets{}; // cumulative, as exposed
        quint64 count = 0;
        double sum = 0;
        void observe(double seconds);
    };
    QMap<QString, Histogram> taskDurations; // by outcome: done | failed
    quint64 inputBytes = 0;                 // upload chunks received from clients
    quint64 outputBytes = 0;                // outputs received from render nodes
    double framesDone = 0;                  // frames of done tasks, and the slot-seconds they
    double slotSecondsDone = 0;             // took (one task holds one slot): the farm's rate
};

/// Passes every event on and records task durations from `task.updated` (each finished
/// attempt once).
class MetricsRecorder final : public EventSink
{
public:
    MetricsRecorder(ServerMetrics &metrics, EventSink &next)
        : m_metrics(metrics)
        , m_next(next)
    {}
    void publish(const QString &type, const QJsonObject &data) override;

private:
    ServerMetrics &m_metrics;
    EventSink &m_next;
    QHash<qint64, QString> m_seen; // task → finished_at of the attempt already counted
};

} // namespace farm::server
