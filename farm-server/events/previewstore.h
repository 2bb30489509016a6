#pragma once

#include "events/eventsink.h"
#include "util/result.h"

#include <QByteArray>
#include <QDateTime>
#include <QHash>
#include <QSize>

#include <optional>

namespace farm::server {

/// The latest partial image of each running task (a node's `task.partial`), kept in memory
/// only: it is worth something only while its task runs, so a restarted server simply has none
/// until the next one arrives. It sits between the publishers and the dashboards' hub, forwards
/// every event, and drops a task's preview as soon as an event says the task left
/// assigned/running, its job reached a final state or was deleted.
class PreviewStore : public EventSink
{
public:
    /// Largest JPEG kept (and accepted from a node), and its largest side in pixels.
    static constexpr qsizetype kMaxBytes = 256 * 1024;
    static constexpr int kMaxSide = 1024;

    struct Preview
    {
        qint64 task = 0;
        qint64 job = 0;
        int frame = 0;
        int samples = 0; // samples per pixel rendered so far
        int spp = 0;     // of the frame's total
        QSize size;
        QByteArray jpeg;
        qint64 version = 0; // counts up over all previews: a cache-busting URL parameter
        QDateTime at;
    };

    explicit PreviewStore(EventSink &next);

    void publish(const QString &type, const QJsonObject &data) override;

    /// Validates `jpeg` (structure, size, dimensions), keeps it as the task's latest preview
    /// and announces `task.partial`. Errors: `too_large`, `invalid_field`.
    Result<void> put(Preview preview);
    std::optional<Preview> get(qint64 task) const;
    int count() const { return int(m_previews.size()); }

private:
    void dropJob(qint64 job);

    EventSink &m_next;
    QHash<qint64, Preview> m_previews;
    qint64 m_version = 0;
};

/// Walks a JPEG's markers up to its frame header and returns the image size; an error
/// (`invalid_field`) says why the bytes are not a JPEG (no SOI, truncated segment, no SOF, no
/// EOI at the end, zero size).
Result<QSize> jpegImageSize(const QByteArray &bytes);

} // namespace farm::server
