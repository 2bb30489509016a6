#include "events/previewstore.h"

#include "protocol/message.h"

#include <QJsonArray>

namespace farm::server {

namespace {

Error notJpeg(const QString &why)
{
    return makeError("invalid_field", "'jpeg' is not a JPEG image: " + why);
}

int be16(const QByteArray &b, qsizetype at)
{
    return (int(uchar(b[at])) << 8) | int(uchar(b[at + 1]));
}

} // namespace

Result<QSize> jpegImageSize(const QByteArray &bytes)
{
    if (bytes.size() < 4 || uchar(bytes[0]) != 0xFF || uchar(bytes[1]) != 0xD8)
        return notJpeg("it does not start with the SOI marker");
    if (uchar(bytes[bytes.size() - 2]) != 0xFF || uchar(bytes[bytes.size() - 1]) != 0xD9)
        return notJpeg("it does not end with the EOI marker");
    qsizetype at = 2;
    while (at + 4 <= bytes.size()) {
        if (uchar(bytes[at]) != 0xFF)
            return notJpeg(QString("no marker at byte %1").arg(at));
        const int marker = uchar(bytes[at + 1]);
        if (marker == 0xFF) { // fill byte
            ++at;
            continue;
        }
        const int length = be16(bytes, at + 2);
        if (length < 2 || at + 2 + length > bytes.size())
            return notJpeg(QString("segment 0x%1 is truncated").arg(marker, 2, 16, QChar('0')));
        // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
        const bool sof =
            marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (sof) {
            if (length < 8)
                return notJpeg("its frame header is too short");
            const QSize size(be16(bytes, at + 7), be16(bytes, at + 5));
            if (size.isEmpty())
                return notJpeg("its frame header gives a zero size");
            return size;
        }
        if (marker == 0xDA || marker == 0xD9)
            break; // scan data or end before any frame header
        at += 2 + length;
    }
    return notJpeg("it has no frame header (SOF)");
}

PreviewStore::PreviewStore(EventSink &next)
    : m_next(next)
{}

void PreviewStore::publish(const QString &type, const QJsonObject &data)
{
    if (type == QLatin1String(msg::TaskUpdated)) {
        const QString state = data.value("state").toString();
        if (state != "assigned" && state != "running")
            m_previews.remove(data.value("id").toInteger());
    } else if (type == QLatin1String(msg::JobUpdated)) {
        const QString state = data.value("state").toString();
        if (state == "completed" || state == "failed" || state == "canceled")
            dropJob(data.value("id").toInteger());
    } else if (type == QLatin1String(msg::JobDeleted)) {
        dropJob(data.value("id").toInteger());
    }
    m_next.publish(type, data);
}

void PreviewStore::dropJob(qint64 job)
{
    m_previews.removeIf([job](const auto &it) { return it.value().job == job; });
}

Result<void> PreviewStore::put(Preview preview)
{
    if (preview.jpeg.size() > kMaxBytes)
        return makeError("too_large", QString("a preview is at most %1 bytes of JPEG; got %2")
                                          .arg(kMaxBytes)
                                          .arg(preview.jpeg.size()));
    const auto size = jpegImageSize(preview.jpeg);
    if (!size)
        return size.error();
    if (size->width() > kMaxSide || size->height() > kMaxSide)
        return makeError("invalid_field",
                         QString("a preview is at most %1 pixels a side; got %2x%3")
                             .arg(kMaxSide)
                             .arg(size->width())
                             .arg(size->height()));
    preview.size = *size;
    preview.version = ++m_version;
    preview.at = QDateTime::currentDateTimeUtc();
    const QJsonObject event{
        {"task", preview.task},
        {"job", preview.job},
        {"frame", preview.frame},
        {"samples", preview.samples},
        {"spp", preview.spp},
        {"width", size->width()},
        {"height", size->height()},
        {"url", QString("/api/v1/tasks/%1/preview?v=%2").arg(preview.task).arg(preview.version)},
    };
    m_previews.insert(preview.task, std::move(preview));
    m_next.publish(msg::TaskPartial, event);
    return {};
}

std::optional<PreviewStore::Preview> PreviewStore::get(qint64 task) const
{
    const auto it = m_previews.constFind(task);
    if (it == m_previews.constEnd())
        return std::nullopt;
    return *it;
}

} // namespace farm::server
