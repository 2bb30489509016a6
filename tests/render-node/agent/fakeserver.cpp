#include "fakeserver.h"

#include <QCryptographicHash>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QTcpSocket>

FakeServer::FakeServer(quint16 port)
{
    connect(&m_tcp, &QTcpServer::newConnection, this, &FakeServer::onHttpConnection);
    connect(&m_ws, &QWebSocketServer::newConnection, this, &FakeServer::onWebSocket);
    m_tcp.listen(QHostAddress::LocalHost, port); // callers check isListening()
}

FakeServer::~FakeServer()
{
    m_ws.close();
    m_tcp.close();
}

QString FakeServer::addFile(const QByteArray &bytes, const QString &sha)
{
    const QString key =
        sha.isEmpty() ? QString::fromLatin1(
                            QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex())
                      : sha;
    m_files.insert(key, bytes);
    return key;
}

void FakeServer::send(const QString &type, const QJsonObject &data)
{
    if (m_current)
        m_current->sendTextMessage(QString::fromUtf8(m_writer.write(type, data)));
}

void FakeServer::sendRaw(const QString &text)
{
    if (m_current)
        m_current->sendTextMessage(text);
}

void FakeServer::sendBinary(const QByteArray &bytes)
{
    if (m_current)
        m_current->sendBinaryMessage(bytes);
}

void FakeServer::dropConnection()
{
    if (m_current)
        m_current->close(QWebSocketProtocol::CloseCodeGoingAway, "test drops the node");
}

QList<farm::Envelope> FakeServer::messages(const QString &type) const
{
    QList<farm::Envelope> out;
    for (const farm::Envelope &e : m_all)
        if (e.type == type)
            out.append(e);
    return out;
}

QList<farm::Envelope> FakeServer::messagesForTask(const QString &type, qint64 task) const
{
    QList<farm::Envelope> out;
    for (const farm::Envelope &e : messages(type))
        if (e.data.value("task").toInteger() == task)
            out.append(e);
    return out;
}

void FakeServer::onHttpConnection()
{
    while (QTcpSocket *socket = m_tcp.nextPendingConnection()) {
        connect(socket, &QTcpSocket::readyRead, this, [this, socket] { onHttpReadable(socket); });
        connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
    }
}

void FakeServer::onHttpReadable(QTcpSocket *socket)
{
    // Peek, so a WebSocket upgrade can be handed over with its request still unread.
    const QByteArray data = socket->peek(socket->bytesAvailable());
    const qsizetype headerEnd = data.indexOf("\r\n\r\n");
    if (headerEnd < 0)
        return;
    const QList<QByteArray> lines = data.left(headerEnd).split('\n');
    const QList<QByteArray> requestLine = lines.first().trimmed().split(' ');
    QHash<QByteArray, QByteArray> headers;
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const qsizetype colon = lines[i].indexOf(':');
        if (colon > 0)
            headers.insert(lines[i].left(colon).trimmed().toLower(),
                           lines[i].mid(colon + 1).trimmed());
    }
    if (headers.value("upgrade").toLower() == "websocket") {
        socket->disconnect(this);
        wsAuthorization.append(headers.value("authorization"));
        wsPaths.append(QString::fromUtf8(requestLine.value(1)));
        m_ws.handleConnection(socket);
        return;
    }
    const qsizetype length = headers.value("content-length", "0").toLongLong();
    if (data.size() < headerEnd + 4 + length)
        return;
    socket->read(headerEnd + 4);
    const QByteArray body = socket->read(length);
    answer(socket, requestLine.value(0), QString::fromUtf8(requestLine.value(1)), headers, body);
}

void FakeServer::answer(QTcpSocket *socket, const QByteArray &method, const QString &path,
                        const QHash<QByteArray, QByteArray> &headers, const QByteArray &body)
{
    auto reply = [socket](int status, const QByteArray &reason, const QByteArray &payload) {
        socket->write("HTTP/1.1 " + QByteArray::number(status) + ' ' + reason +
                      "\r\nConnection: close\r\nContent-Length: " +
                      QByteArray::number(payload.size()) + "\r\n\r\n" + payload);
        socket->disconnectFromHost();
    };
    static const QRegularExpression filesRe("^/api/v1/files/([0-9a-f]{64})$");
    static const QRegularExpression outputsRe("^/api/v1/tasks/(\\d+)/outputs/([^/]+)$");
    if (const auto m = filesRe.match(path); method == "GET" && m.hasMatch()) {
        ++fileGets;
        if (!m_files.contains(m.captured(1)))
            return reply(404, "Not Found", R"({"error":{"code":"not_found","message":"no file"}})");
        return reply(200, "OK", m_files.value(m.captured(1)));
    }
    if (const auto m = outputsRe.match(path); method == "PUT" && m.hasMatch()) {
        ++putRequests;
        if (failNextPuts > 0) {
            --failNextPuts;
            return reply(500, "Internal Server Error",
                         R"({"error":{"code":"internal","message":"injected"}})");
        }
        uploads.append(
            {m.captured(1).toLongLong(), m.captured(2), body, headers.value("authorization")});
        return reply(200, "OK",
                     QJsonDocument(QJsonObject{{"name", m.captured(2)}, {"size", body.size()}})
                         .toJson(QJsonDocument::Compact));
    }
    reply(404, "Not Found", R"({"error":{"code":"not_found","message":"no route"}})");
}

void FakeServer::onWebSocket()
{
    while (QWebSocket *ws = m_ws.nextPendingConnection()) {
        ++connections;
        m_current = ws;
        m_currentMessages.clear();
        m_writer = farm::EnvelopeWriter();
        connect(ws, &QWebSocket::textMessageReceived, this, [this, ws](const QString &text) {
            auto e = farm::Envelope::parse(text.toUtf8());
            if (!e)
                qFatal("FakeServer: the node sent a malformed envelope: %s", qPrintable(text));
            m_all.append(*e);
            if (ws == m_current)
                m_currentMessages.append(*e);
        });
        connect(ws, &QWebSocket::disconnected, ws, &QObject::deleteLater);
    }
}
