#include "events/budgets.h"

#include <QTimer>
#include <QWebSocket>

#include <algorithm>

namespace farm::server {

TokenBucket::TokenBucket(double ratePerS, double capacity)
    : m_rate(ratePerS)
    , m_capacity(capacity)
    , m_tokens(capacity)
{}

bool TokenBucket::take(double cost, qint64 nowMs)
{
    if (m_lastMs >= 0 && nowMs > m_lastMs)
        m_tokens = std::min(m_capacity, m_tokens + double(nowMs - m_lastMs) * m_rate / 1000.0);
    m_lastMs = std::max(m_lastMs, nowMs);
    if (m_tokens < cost)
        return false;
    m_tokens -= cost;
    return true;
}

void closeWithGrace(QWebSocket *socket, QWebSocketProtocol::CloseCode code, const QString &reason)
{
    QTimer::singleShot(budget::kCloseGraceMs, socket, &QWebSocket::abort);
    socket->close(code, reason); // may delete what owns the socket: nothing after it
}

SocketBudget::SocketBudget(double messagesPerS, double messageBurst, double bytesPerS,
                           double bytesBurst)
    : m_messages(messagesPerS, messageBurst)
    , m_bytes(bytesPerS, bytesBurst)
{}

SocketBudget::Verdict SocketBudget::admit(qint64 bytes, qint64 nowMs)
{
    // Both buckets are charged only when both allow: a dropped message costs no tokens.
    TokenBucket messages = m_messages;
    if (messages.take(1, nowMs) && m_bytes.take(double(bytes), nowMs)) {
        m_messages = messages;
        return Verdict::Accept;
    }
    m_messages.take(0, nowMs); // keep the refill clock moving
    const bool newRun = m_lastDropMs < 0 || nowMs - m_lastDropMs >= budget::kThrottleQuietMs;
    m_lastDropMs = nowMs;
    if (newRun) {
        m_runStartMs = nowMs;
        return Verdict::DropNotify;
    }
    return nowMs - m_runStartMs >= budget::kThrottleCloseMs ? Verdict::Close : Verdict::Drop;
}

} // namespace farm::server
