#include "events/nodehub.h"

#include "events/budgets.h"
#include "scheduler/scheduler.h"

#include <QElapsedTimer>
#include <QLoggingCategory>
#include <QTimer>
#include <QWebSocket>

#include <algorithm>

Q_LOGGING_CATEGORY(lcNodeHub, "farm.nodehub")

namespace farm::server {
namespace {

constexpr int kPolicyViolation = 1008;
constexpr int kHelloTimeoutMs = 10000;

/// One agent socket. It is a NodeLink for the scheduler and lives until the socket closes.
class NodeConnection
    : public QObject
    , public NodeLink
{
public:
    NodeConnection(Scheduler &scheduler, QWebSocket *socket, QObject *parent)
        : QObject(parent)
        , m_scheduler(scheduler)
        , m_socket(socket)
    {
        m_socket->setParent(this);
        // Until hello, a socket may send only a few small messages.
        m_socket->setMaxAllowedIncomingMessageSize(budget::kPreHelloMaxMessageBytes);
        m_socket->setMaxAllowedIncomingFrameSize(budget::kNodeMaxMessageBytes);
        // Read a bounded amount per pass of the event loop, so that a flood is decoded in
        // slices between other sockets' work rather than in one long stretch.
        m_socket->setReadBufferSize(budget::kNodeReadBufferBytes);
        m_clock.start();
        connect(m_socket, &QWebSocket::textMessageReceived, this, &NodeConnection::onText);
        connect(m_socket, &QWebSocket::binaryMessageReceived, this, [this](const QByteArray &b) {
            if (admit(b.size()))
                sendError("invalid_message", "binary frames are not part of the protocol");
        });
        connect(m_socket, &QWebSocket::disconnected, this, &NodeConnection::onClosed);
        QTimer::singleShot(kHelloTimeoutMs, this, [this] {
            if (!m_nodeId)
                close(kPolicyViolation, "no hello received");
        });
    }

    void send(const QString &type, const QJsonObject &data) override
    {
        if (m_closing)
            return;
        // A node that stops reading must not grow the server's memory.
        if (m_socket->bytesToWrite() > budget::kNodeMaxBacklogBytes)
            return close(kPolicyViolation, "node does not read its messages");
        m_socket->sendTextMessage(QString::fromUtf8(m_writer.write(type, data)));
    }

    void close(int code, const QString &reason) override
    {
        if (m_closing)
            return;
        m_closing = true; // whatever still arrives on this socket is not from a registered node
        qCInfo(lcNodeHub).noquote() << QString("closing node %1 (%2): %3")
                                           .arg(m_nodeId ? QString::number(m_nodeId) : "-")
                                           .arg(code)
                                           .arg(reason);
        closeWithGrace(m_socket, QWebSocketProtocol::CloseCode(code), reason);
    }

private:
    void sendError(const QString &code, const QString &message)
    {
        send(msg::Error, {{"code", code}, {"message", message}});
    }

    /// Meters one incoming message; false: drop it (the socket may be closing).
    bool admit(qint64 bytes)
    {
        if (m_closing)
            return false;
        if (!m_nodeId) {
            if (++m_preHelloMessages <= budget::kPreHelloMessages)
                return true;
            close(kPolicyViolation, "too many messages before hello");
            return false;
        }
        m_traffic.count(bytes, m_clock.elapsed());
        switch (m_budget.admit(bytes, m_clock.elapsed())) {
        case SocketBudget::Verdict::Accept:
            return true;
        case SocketBudget::Verdict::DropNotify:
            ++m_traffic.dropped;
            sendError("rate_limited",
                      QString("over the message budget of this socket (%1 messages, %2 MiB a "
                              "second); messages are dropped until it sends less")
                          .arg(budget::kNodeMessagesPerS)
                          .arg(budget::kNodeBytesPerS / (1024 * 1024)));
            return false;
        case SocketBudget::Verdict::Drop:
            ++m_traffic.dropped;
            return false;
        case SocketBudget::Verdict::Close:
            close(kPolicyViolation, "message budget exceeded");
            return false;
        }
        return false;
    }

    void onText(const QString &text)
    {
        // Metered in UTF-16 code units (bytes for ASCII): a dropped message costs no conversion.
        if (!admit(text.size()))
            return;
        const auto e = Envelope::parse(text.toUtf8());
        if (!e) {
            sendError(e.error().code, e.error().message);
            return;
        }
        if (!m_nodeId) {
            if (e->type != msg::Hello) {
                sendError("hello_required", "the first message must be hello");
                close(kPolicyViolation, "the first message must be hello");
                return;
            }
            const auto id = m_scheduler.connectNode(this, e->data);
            if (!id) {
                sendError(id.error().code, id.error().message);
                close(kPolicyViolation, id.error().message.left(120));
                return;
            }
            m_nodeId = *id;
            m_socket->setMaxAllowedIncomingMessageSize(budget::kNodeMaxMessageBytes);
            return;
        }
        if (e->type == msg::Hello) {
            sendError("already_registered", "hello was already received on this connection");
            return;
        }
        if (auto r = m_scheduler.handleMessage(m_nodeId, *e); !r)
            sendError(r.error().code, r.error().message);
    }

    void onClosed()
    {
        // What nodes really send, for choosing budgets (docs/API.md "Budgets").
        if (m_nodeId && m_traffic.messages > 0)
            qCInfo(lcNodeHub,
                   "node %lld: %lld messages, %lld bytes in %.1f s; busiest second %lld messages, "
                   "%lld bytes; %lld dropped over budget",
                   m_nodeId, m_traffic.messages, m_traffic.bytes, double(m_clock.elapsed()) / 1000,
                   m_traffic.peakMessages, m_traffic.peakBytes, m_traffic.dropped);
        if (m_nodeId)
            m_scheduler.disconnectNode(m_nodeId, this, "socket closed");
        m_nodeId = 0;
        deleteLater();
    }

    Scheduler &m_scheduler;
    QWebSocket *m_socket;
    EnvelopeWriter m_writer;
    QElapsedTimer m_clock;
    SocketBudget m_budget{budget::kNodeMessagesPerS, budget::kNodeMessageBurst,
                          budget::kNodeBytesPerS, budget::kNodeBytesBurst};
    struct Traffic
    {
        qint64 messages = 0, bytes = 0, dropped = 0;
        qint64 second = -1, secondMessages = 0, secondBytes = 0, peakMessages = 0, peakBytes = 0;
        void count(qint64 size, qint64 nowMs)
        {
            if (nowMs / 1000 != second) {
                second = nowMs / 1000;
                secondMessages = secondBytes = 0;
            }
            ++messages;
            ++secondMessages;
            bytes += size;
            secondBytes += size;
            peakMessages = std::max(peakMessages, secondMessages);
            peakBytes = std::max(peakBytes, secondBytes);
        }
    } m_traffic;
    int m_preHelloMessages = 0;
    qint64 m_nodeId = 0;
    bool m_closing = false;
};

} // namespace

NodeHub::NodeHub(Scheduler &scheduler, QObject *parent)
    : QObject(parent)
    , m_scheduler(scheduler)
{}

NodeHub::~NodeHub()
{
    // Tell the scheduler nothing: the server is going down with its state persisted; tasks
    // still on nodes are re-queued by Scheduler::recover() at the next start.
    for (QWebSocket *ws : findChildren<QWebSocket *>()) {
        ws->disconnect();
        ws->close(QWebSocketProtocol::CloseCodeGoingAway, "server shutting down");
    }
}

void NodeHub::addConnection(std::unique_ptr<QWebSocket> socket)
{
    new NodeConnection(m_scheduler, socket.release(), this);
}

int NodeHub::connectionCount() const
{
    return int(children().size());
}

} // namespace farm::server
