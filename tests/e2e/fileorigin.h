#pragma once

// Serves one file over HTTP on loopback: the origin of an input named by URL in the end-to-end
// tests (the server must be started with --fetch-allow http://127.0.0.1). Counts the requests.

#include <QHash>
#include <QHostAddress>
#include <QObject>
#include <QTcpServer>
#include <QTcpSocket>

namespace farm::testing {

class FileOrigin : public QObject
{
public:
    QByteArray body;
    int requests = 0;

    bool listen()
    {
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *s = m_server.nextPendingConnection()) {
                connect(s, &QTcpSocket::readyRead, s, [this, s] {
                    m_requests[s] += s->readAll();
                    if (!m_requests[s].contains("\r\n\r\n"))
                        return;
                    ++requests;
                    s->write("HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: " +
                             QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n");
                    s->write(body);
                    s->disconnectFromHost();
                });
                connect(s, &QTcpSocket::disconnected, s, [this, s] {
                    m_requests.remove(s);
                    s->deleteLater();
                });
            }
        });
        return m_server.listen(QHostAddress::LocalHost);
    }
    QString url(const QString &name) const
    {
        return QString("http://127.0.0.1:%1/%2").arg(m_server.serverPort()).arg(name);
    }
    quint16 port() const { return m_server.serverPort(); }

private:
    QTcpServer m_server;
    QHash<QTcpSocket *, QByteArray> m_requests;
};

} // namespace farm::testing
