#pragma once

// Receives webhook calls on loopback for end-to-end tests: answers 200 and keeps each JSON
// body (tst_compose_e2e, tst_compose_split_e2e).
#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpServer>
#include <QTcpSocket>

class HookReceiver : public QObject
{
public:
    QList<QJsonObject> calls;
    bool listen()
    {
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *s = m_server.nextPendingConnection()) {
                connect(s, &QTcpSocket::readyRead, s, [this, s] { read(s); });
                connect(s, &QTcpSocket::disconnected, s, &QObject::deleteLater);
            }
        });
        return m_server.listen(QHostAddress::LocalHost);
    }
    int port() const { return m_server.serverPort(); }
    /// The last call of `event` ("job.completed"), or an empty object.
    QJsonObject last(const QString &event) const
    {
        for (auto it = calls.crbegin(); it != calls.crend(); ++it)
            if (it->value("event").toString() == event)
                return *it;
        return {};
    }

private:
    void read(QTcpSocket *s)
    {
        QByteArray &buf = m_buffers[s];
        buf += s->readAll();
        const qsizetype end = buf.indexOf("\r\n\r\n");
        if (end < 0)
            return;
        qsizetype length = 0;
        for (const QByteArray &line : buf.left(end).split('\n'))
            if (line.toLower().startsWith("content-length:"))
                length = line.mid(15).trimmed().toLongLong();
        if (buf.size() < end + 4 + length)
            return;
        calls.append(QJsonDocument::fromJson(buf.mid(end + 4, length)).object());
        m_buffers.remove(s);
        s->write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        s->disconnectFromHost();
    }
    QTcpServer m_server;
    QHash<QTcpSocket *, QByteArray> m_buffers;
};
