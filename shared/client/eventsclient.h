#pragma once

#include "client/apitypes.h"

#include <QHash>
#include <QObject>
#include <QTimer>
#include <QUrl>
#include <QWebSocket>

#include <functional>

namespace farm::client {

/// Live dashboard events from `/ws/events` (docs/API.md) as typed signals. Reconnects with
/// exponential backoff until close(); malformed frames and unknown types are ignored.
class EventsClient : public QObject
{
    Q_OBJECT
public:
    explicit EventsClient(QObject *parent = nullptr);
    ~EventsClient() override;

    /// Connects to the events socket of the server at `baseUrl` (http→ws, https→wss).
    void open(const QUrl &baseUrl, const QString &token = {});
    void close();
    bool isConnected() const { return m_connected; }
    void setBackoff(int initialMs, int maxMs);

    static QUrl eventsUrl(const QUrl &baseUrl);

signals:
    void connected();
    void disconnected();
    /// The socket could not be opened or dropped (also emitted for each failed reconnect).
    void connectionError(const QString &message);
    void jobCreated(const farm::Job &job);
    void jobUpdated(const farm::Job &job);
    void jobDeleted(qint64 id);
    void taskUpdated(const farm::Task &task);
    void nodeUpdated(const farm::Node &node);
    void preview(qint64 taskId, qint64 jobId, int frame, const QString &output);
    /// A new partial image of a running frame (`task.partial`): fetch it with
    /// ApiClient::taskPreview(taskId); `samples` of `spp` samples per pixel are in.
    void partialPreview(qint64 taskId, qint64 jobId, int frame, int samples, int spp);
    /// Frames dropped because they were malformed or of an unknown type.
    void frameIgnored(const QString &reason);

private:
    void connectNow();
    void scheduleReconnect();
    void onText(const QString &text);

    QWebSocket m_socket;
    QTimer m_reconnect;
    QUrl m_url;
    QString m_token;
    QHash<QString, std::function<void(const QJsonObject &)>> m_handlers;
    int m_initialBackoffMs = 500;
    int m_maxBackoffMs = 10000;
    int m_backoffMs = 500;
    bool m_wanted = false;
    bool m_connected = false;
};

} // namespace farm::client
