#pragma once

#include <QString>
#include <QWebSocketProtocol>
#include <QtGlobal>

class QWebSocket;

namespace farm::server {

/// What one WebSocket may send and hold on the server (docs/API.md, "Budgets"). Each limit is
/// defined here once; sockets meter themselves with SocketBudget.
namespace budget {

/// /ws/node after hello. By its intervals a 16-slot node sends at most about 100 messages and
/// 3 MiB a second (per slot: progress every 250 ms, logs every 500 ms or 16 KiB, a partial of at
/// most 256 KiB, ~342 KiB in base64, every 2 s); measured, 16 slots rendering peaked at 28
/// messages and 0.75 MB in a second. The burst covers a reconnecting node flushing its outbox
/// of 2000 messages.
inline constexpr double kNodeMessagesPerS = 400;
inline constexpr double kNodeMessageBurst = 4000;
inline constexpr double kNodeBytesPerS = 8.0 * 1024 * 1024;
inline constexpr double kNodeBytesBurst = 32.0 * 1024 * 1024;
/// One message: a base64 `task.partial` of 256 KiB is ~342 KiB; logs come in 16 KiB flushes.
inline constexpr qint64 kNodeMaxMessageBytes = 1024 * 1024;
/// Read per pass of the event loop from one node socket (a whole frame must fit).
inline constexpr qint64 kNodeReadBufferBytes = 2 * kNodeMaxMessageBytes;
/// Bytes queued for a node that does not read before it is closed.
inline constexpr qint64 kNodeMaxBacklogBytes = 16 * 1024 * 1024;

/// /ws/node before hello: at most this many messages of at most this size (a real hello is a
/// few KiB; its fields are capped in shared/model/node.cpp).
inline constexpr int kPreHelloMessages = 4;
inline constexpr qint64 kPreHelloMaxMessageBytes = 256 * 1024;

/// /ws/events: dashboards only listen; what they send is answered with an error.
inline constexpr double kDashboardMessagesPerS = 5;
inline constexpr double kDashboardMessageBurst = 20;
inline constexpr double kDashboardBytesPerS = 64 * 1024;
inline constexpr double kDashboardBytesBurst = 256 * 1024;
inline constexpr qint64 kDashboardMaxMessageBytes = 64 * 1024;
/// A dashboard whose unsent events exceed this, or that has not caught up for this long, is
/// closed (it reconnects and reloads).
inline constexpr qint64 kDashboardMaxBacklogBytes = 1024 * 1024;
inline constexpr int kDashboardMaxBehindMs = 15000;

/// Over budget: messages are dropped (the first of a run answered with `rate_limited`); a socket
/// still over budget this long after its first drop is closed with 1008.
inline constexpr int kThrottleCloseMs = 3000;
/// A run of drops ends after this long without one.
inline constexpr int kThrottleQuietMs = 1000;
/// After a policy close, how long the peer has to answer the close frame before the socket is
/// aborted (nothing it sends meanwhile is read as a message).
inline constexpr int kCloseGraceMs = 1000;

} // namespace budget

/// Closes `socket` with `code` and cuts it off kCloseGraceMs later if the peer has not answered
/// the close frame by then (one that reads nothing never does; one that floods keeps sending).
void closeWithGrace(QWebSocket *socket, QWebSocketProtocol::CloseCode code, const QString &reason);

/// A token bucket: `capacity` tokens, refilled at `ratePerS`.
class TokenBucket
{
public:
    TokenBucket(double ratePerS, double capacity);
    /// Takes `cost` tokens if there are that many at `nowMs` (monotonic milliseconds).
    bool take(double cost, qint64 nowMs);

private:
    double m_rate, m_capacity, m_tokens;
    qint64 m_lastMs = -1;
};

/// Message and byte budgets of one socket, and how long it has been over them.
class SocketBudget
{
public:
    enum class Verdict {
        Accept,
        Drop,       ///< over budget: drop the message silently
        DropNotify, ///< over budget, first drop of a run: drop it and answer `rate_limited`
        Close,      ///< over budget for kThrottleCloseMs: close with a policy violation
    };
    SocketBudget(double messagesPerS, double messageBurst, double bytesPerS, double bytesBurst);
    Verdict admit(qint64 bytes, qint64 nowMs);

private:
    TokenBucket m_messages, m_bytes;
    qint64 m_runStartMs = -1, m_lastDropMs = -1;
};

} // namespace farm::server
