#pragma once

#include "protocol/message.h"

#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QTcpServer>
#include <QWebSocket>
#include <QWebSocketServer>

/// A tiny stand-in for farm-server on one loopback port, as the agent expects it: WebSocket
/// upgrades on /ws/node go to a QWebSocketServer; plain HTTP answers GET /api/v1/files/<sha>
/// and PUT /api/v1/tasks/<id>/outputs/<name>.
class FakeServer : public QObject
{
    Q_OBJECT
public:
    struct Upload
    {
        qint64 task = 0;
        QString name;
        QByteArray body;
        QByteArray authorization;
    };

    /// Listens on 127.0.0.1:`port` (0: any free port).
    explicit FakeServer(quint16 port = 0);
    ~FakeServer() override;

    bool isListening() const { return m_tcp.isListening(); }
    quint16 port() const { return m_tcp.serverPort(); }
    QString url() const { return QString("http://127.0.0.1:%1").arg(port()); }

    /// Serves `bytes` at /api/v1/files/<sha>; returns that sha (or serves under `sha` if given).
    QString addFile(const QByteArray &bytes, const QString &sha = {});

    void send(const QString &type, const QJsonObject &data = {});
    void sendRaw(const QString &text);
    void sendBinary(const QByteArray &bytes);
    /// Closes the socket of the current node connection from the server side.
    void dropConnection();
    bool hasConnection() const { return !m_current.isNull(); }

    /// Messages of `type` received over all connections, in order.
    QList<farm::Envelope> messages(const QString &type) const;
    /// Messages of `type` whose data names `task`.
    QList<farm::Envelope> messagesForTask(const QString &type, qint64 task) const;
    int count(const QString &type) const { return int(messages(type).size()); }
    /// Every envelope seen on the current connection, in order.
    QList<farm::Envelope> currentConnectionMessages() const { return m_currentMessages; }

    int connections = 0;
    QList<QByteArray> wsAuthorization;
    QList<QString> wsPaths;
    QList<Upload> uploads;
    int fileGets = 0;
    int putRequests = 0;
    /// The next n output PUTs are answered 500.
    int failNextPuts = 0;

private:
    void onHttpConnection();
    void onHttpReadable(class QTcpSocket *socket);
    void answer(QTcpSocket *socket, const QByteArray &method, const QString &path,
                const QHash<QByteArray, QByteArray> &headers, const QByteArray &body);
    void onWebSocket();

    QTcpServer m_tcp;
    QWebSocketServer m_ws{"fake-farm", QWebSocketServer::NonSecureMode};
    QPointer<QWebSocket> m_current;
    farm::EnvelopeWriter m_writer;
    QHash<QString, QByteArray> m_files;
    QList<farm::Envelope> m_all;
    QList<farm::Envelope> m_currentMessages;
};
