#pragma once

// Raw HTTP/1.1 on a QTcpSocket for tests that choose every byte on the wire (the front end's
// own suite and the hostile-input suite): a response parser and a client that reads while the
// event loop runs.

#include <QElapsedTimer>
#include <QHostAddress>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpSocket>
#include <QtTest>

#include <chrono>

namespace farm::test {

struct RawResponse
{
    int status = 0;
    QByteArray head; // status line and headers, without the blank line
    QList<QPair<QByteArray, QByteArray>> headers;
    QByteArray body;
    bool complete = false;

    QByteArray header(const QByteArray &name) const
    {
        for (const auto &[k, v] : headers)
            if (k.compare(name, Qt::CaseInsensitive) == 0)
                return v;
        return {};
    }
    QJsonObject json() const { return QJsonDocument::fromJson(body).object(); }
    QString code() const { return json().value("error").toObject().value("code").toString(); }
};

/// Parses one response from the front of `buffer` (removing it); incomplete: complete = false.
inline RawResponse takeResponse(QByteArray &buffer, bool headOnly = false)
{
    RawResponse r;
    const qsizetype end = buffer.indexOf("\r\n\r\n");
    if (end < 0)
        return r;
    r.head = buffer.left(end);
    const QList<QByteArray> lines = r.head.split('\n');
    r.status = lines.value(0).split(' ').value(1).toInt();
    qint64 length = 0;
    for (const QByteArray &l : lines.mid(1)) {
        const qsizetype colon = l.indexOf(':');
        if (colon < 0)
            continue;
        const QByteArray k = l.left(colon).trimmed();
        const QByteArray v = l.mid(colon + 1).trimmed();
        r.headers.append({k, v});
        if (k.toLower() == "content-length")
            length = v.toLongLong();
    }
    if (headOnly)
        length = 0;
    if (buffer.size() < end + 4 + length)
        return r;
    r.body = buffer.mid(end + 4, length);
    buffer.remove(0, end + 4 + length);
    r.complete = true;
    return r;
}

/// A raw client to 127.0.0.1:port, optionally from another local address (another peer) and
/// with a small kernel receive buffer (so that not reading shows at once).
class RawClient
{
public:
    explicit RawClient(quint16 port, const QHostAddress &from = {}, bool waitConnected = true,
                       int receiveBuffer = 0)
    {
        QObject::connect(&socket, &QTcpSocket::readyRead, [this] { buffer += socket.readAll(); });
        if (!from.isNull())
            socket.bind(from, 0, QAbstractSocket::DontShareAddress);
        if (receiveBuffer > 0)
            socket.setSocketOption(QAbstractSocket::ReceiveBufferSizeSocketOption, receiveBuffer);
        socket.connectToHost(QHostAddress::LocalHost, port);
        for (int i = 0;
             waitConnected && i < 400 && socket.state() != QAbstractSocket::ConnectedState; ++i)
            QTest::qWait(5);
    }
    void write(const QByteArray &bytes) { socket.write(bytes); }
    RawResponse next(int timeoutMs = 5000, bool headOnly = false)
    {
        RawResponse r;
        QElapsedTimer t;
        t.start();
        while (!(r = takeResponse(buffer, headOnly)).complete && t.elapsed() < timeoutMs)
            QTest::qWait(5);
        return r;
    }
    bool closedWithin(int ms)
    {
        QElapsedTimer t;
        t.start();
        while (socket.state() != QAbstractSocket::UnconnectedState && t.elapsed() < ms)
            QTest::qWait(5);
        return socket.state() == QAbstractSocket::UnconnectedState;
    }
    QTcpSocket socket;
    QByteArray buffer;
    qint64 total = 0; // bytes a test counted itself after taking over reading
};

/// One request on a fresh connection with blocking reads, for a thread of its own: it gets its
/// answer while the test's thread (the server's event loop) is busy. `at` is when the answer
/// was complete.
struct BlockingAnswer
{
    RawResponse response;
    std::chrono::steady_clock::time_point at;
};
inline BlockingAnswer blockingRequest(quint16 port, const QByteArray &request,
                                      int timeoutMs = 10000)
{
    BlockingAnswer out;
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(timeoutMs))
        return out;
    socket.write(request);
    socket.waitForBytesWritten(timeoutMs);
    QByteArray buffer;
    while (!(out.response = takeResponse(buffer, request.startsWith("HEAD "))).complete &&
           socket.waitForReadyRead(timeoutMs))
        buffer += socket.readAll();
    out.at = std::chrono::steady_clock::now();
    return out;
}

} // namespace farm::test
