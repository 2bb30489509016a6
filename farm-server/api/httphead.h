#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QPair>
#include <QString>
#include <QUrlQuery>

#include <variant>

namespace farm::server {

/// The HTTP front end's limits, in one place (docs/API.md "Limits of the HTTP front end").
struct HttpLimits
{
    /// A request line plus headers larger than this is refused with 431 before anything else.
    static constexpr qsizetype kMaxHeadBytes = 16 * 1024;
    static constexpr int kMaxHeaderCount = 100;
    /// A request head must arrive whole within this time of its first byte (slowloris).
    int headTimeoutMs = 10'000;
    /// A body that makes no progress for this long is dropped with 408.
    int bodyIdleTimeoutMs = 30'000;
    /// A keep-alive connection with no new request for this long is closed.
    int keepAliveIdleMs = 30'000;
    /// A response the peer does not read for this long is abandoned.
    int writeIdleTimeoutMs = 60'000;
    /// Open connections (HTTP and WebSocket) from one peer address, and in all.
    int maxConnectionsPerPeer = 64;
    int maxConnections = 4096;
    /// Request bodies held in memory at once across all connections; a request that would pass
    /// it gets 503 with Retry-After instead of being read.
    qint64 maxBufferedBodyBytes = 256LL * 1024 * 1024;
};

/// A parsed request line and header block (RFC 9112), before any body byte is read.
struct RequestHead
{
    QByteArray method;
    QByteArray target; // origin-form, as sent
    QString path;      // percent-decoded
    QUrlQuery query;
    int minorVersion = 1; // HTTP/1.<minor>
    QList<QPair<QByteArray, QByteArray>> headers;
    qint64 contentLength = 0;
    bool chunked = false;
    bool keepAlive = true;
    bool expectContinue = false;
    bool webSocketUpgrade = false;

    QByteArray header(QByteArrayView name) const;
};

struct HeadError
{
    int status = 400;
    QString code;
    QString message;
};

/// Parses `head`: everything before the blank line that ends a request head (without it).
/// Strict where lenience lets a request be read two ways (request smuggling): conflicting or
/// malformed Content-Length, Content-Length together with Transfer-Encoding, a transfer coding
/// other than chunked, folded or space-named headers, bytes outside visible ASCII in the target.
std::variant<RequestHead, HeadError> parseRequestHead(QByteArrayView head);

/// Incremental decoder of a chunked body (RFC 9112 section 7.1); trailers are read and dropped.
class ChunkedDecoder
{
public:
    enum class State { More, Done, Error };
    /// Consumes what it can of `data` and appends payload bytes to `out`; returns the bytes of
    /// `data` consumed. Stops at Done (the rest belongs to the next request) or Error.
    qsizetype feed(QByteArrayView data, QByteArray &out);
    State state() const { return m_state; }
    QString error() const { return m_error; }

private:
    enum class Step { Size, Data, DataEnd, Trailer };
    void fail(const QString &why);
    Step m_step = Step::Size;
    State m_state = State::More;
    QByteArray m_line;
    qint64 m_left = 0;
    QString m_error;
};

} // namespace farm::server
