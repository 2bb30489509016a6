// farm-swarm: a swarm of simulated render nodes over real WebSockets against a real farm-server
// process (docs/PERFORMANCE.md). Each node speaks the node protocol as render-node does (hello
// with its secret, task.accepted, task.progress, one PNG output upload per frame with its own
// secret, task.done listing it); tasks take no render time. Prints tasks per second,
// submit-to-start latency on an idle farm, /health latency under load, the server's peak RSS
// and database size, and whether every task ran exactly once (exit status 1 when not).
#include "protocol/message.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTimer>
#include <QUrlQuery>
#include <QWebSocket>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <signal.h>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

using namespace farm;

namespace {

// A 1×1 RGB PNG: what a node uploads per frame.
const QByteArray kPng =
    QByteArray::fromHex("89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
                        "53de0000000c49444154789c636868680000030401814bd3d21000000000"
                        "49454e44ae426082");

double nowMs()
{
    static QElapsedTimer t = [] {
        QElapsedTimer e;
        e.start();
        return e;
    }();
    return double(t.nsecsElapsed()) / 1e6;
}

/// Runs the event loop until `done` holds or `ms` pass; yields `done()`.
bool spin(const std::function<bool()> &done, double ms)
{
    const double until = nowMs() + ms;
    while (!done() && nowMs() < until)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 5);
    return done();
}

double percentile(QList<double> v, double p)
{
    if (v.isEmpty())
        return 0;
    std::sort(v.begin(), v.end());
    const auto i = qsizetype(std::min<double>(double(v.size() - 1), p * double(v.size() - 1)));
    return v[i];
}

QString latencies(const QList<double> &v)
{
    return QString("p50 %1 ms, p99 %2 ms, max %3 ms (%4 samples)")
        .arg(percentile(v, 0.5), 0, 'f', 1)
        .arg(percentile(v, 0.99), 0, 'f', 1)
        .arg(percentile(v, 1.0), 0, 'f', 1)
        .arg(v.size());
}

/// One keep-alive HTTP/1.1 connection; requests queue and go one at a time.
class HttpConnection : public QObject
{
public:
    struct Response
    {
        int status = 0; // 0: the connection failed
        QByteArray body;
        double ms = 0;
    };
    using Callback = std::function<void(const Response &)>;

    HttpConnection(QString host, quint16 port, QObject *parent)
        : QObject(parent)
        , m_host(std::move(host))
        , m_port(port)
    {}

    int queued() const { return int(m_queue.size()); }

    void request(const QByteArray &method, const QString &path, const QByteArray &body,
                 const QByteArray &bearer, Callback done)
    {
        QByteArray head = method + ' ' + path.toUtf8() + " HTTP/1.1\r\nHost: " + m_host.toUtf8() +
                          "\r\nContent-Length: " + QByteArray::number(body.size()) + "\r\n";
        if (!bearer.isEmpty())
            head += "Authorization: Bearer " + bearer + "\r\n";
        if (!body.isEmpty())
            head +=
                "Content-Type: " +
                QByteArray(body.startsWith('{') ? "application/json" : "application/octet-stream") +
                "\r\n";
        m_queue.push_back({head + "\r\n" + body, std::move(done), 0});
        pump();
    }

private:
    struct Pending
    {
        QByteArray bytes;
        Callback done;
        double sentAt;
    };

    void pump()
    {
        if (m_busy || m_queue.empty())
            return;
        if (!m_socket || m_socket->state() == QAbstractSocket::UnconnectedState) {
            delete m_socket;
            m_socket = new QTcpSocket(this);
            m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
            connect(m_socket, &QTcpSocket::readyRead, this, &HttpConnection::onRead);
            connect(m_socket, &QTcpSocket::disconnected, this, &HttpConnection::onDropped);
            connect(m_socket, &QAbstractSocket::errorOccurred, this, [this] { onDropped(); });
            m_socket->connectToHost(m_host, m_port);
        }
        m_busy = true;
        m_buffer.clear();
        m_queue.front().sentAt = nowMs();
        m_socket->write(m_queue.front().bytes);
    }

    void onDropped()
    {
        if (!m_busy)
            return;
        // The request failed (server down or closed the connection): report and go on.
        Pending p = std::move(m_queue.front());
        m_queue.pop_front();
        m_busy = false;
        if (m_socket) {
            m_socket->disconnect(this);
            m_socket->abort();
            m_socket->deleteLater();
            m_socket = nullptr;
        }
        p.done({0, {}, nowMs() - p.sentAt});
        QTimer::singleShot(50, this, [this] { pump(); });
    }

    void onRead()
    {
        m_buffer += m_socket->readAll();
        const qsizetype end = m_buffer.indexOf("\r\n\r\n");
        if (end < 0 || !m_busy)
            return;
        static const QRegularExpression length(QStringLiteral("(?i)\r\ncontent-length:\\s*(\\d+)"));
        const QString head = QString::fromLatin1(m_buffer.left(end + 2));
        const auto m = length.match(head);
        const qsizetype bodyLength = m.hasMatch() ? m.captured(1).toLongLong() : 0;
        if (m_buffer.size() < end + 4 + bodyLength)
            return;
        Response r;
        r.status = head.section(' ', 1, 1).toInt();
        r.body = m_buffer.mid(end + 4, bodyLength);
        Pending p = std::move(m_queue.front());
        m_queue.pop_front();
        r.ms = nowMs() - p.sentAt;
        m_busy = false;
        const bool close = head.contains("Connection: close", Qt::CaseInsensitive);
        m_buffer.clear();
        if (close) {
            m_socket->disconnect(this);
            m_socket->deleteLater();
            m_socket = nullptr;
        }
        p.done(r);
        pump();
    }

    QString m_host;
    quint16 m_port;
    QTcpSocket *m_socket = nullptr;
    std::deque<Pending> m_queue;
    QByteArray m_buffer;
    bool m_busy = false;
};

/// Connections shared by the simulated nodes (one per node would be realistic but needs as many
/// sockets; requests per second are the same).
class HttpPool
{
public:
    HttpPool(const QString &host, quint16 port, int size, QObject *parent)
    {
        for (int i = 0; i < size; ++i)
            m_connections.append(new HttpConnection(host, port, parent));
    }
    void request(const QByteArray &method, const QString &path, const QByteArray &body,
                 const QByteArray &bearer, HttpConnection::Callback done)
    {
        HttpConnection *best = m_connections[m_next++ % m_connections.size()];
        best->request(method, path, body, bearer, std::move(done));
    }

private:
    QList<HttpConnection *> m_connections;
    int m_next = 0;
};

/// Synchronous request for setup steps.
HttpConnection::Response call(HttpConnection &c, const QByteArray &method, const QString &path,
                              const QByteArray &body = {})
{
    HttpConnection::Response out;
    bool done = false;
    c.request(method, path, body, {}, [&](const HttpConnection::Response &r) {
        out = r;
        done = true;
    });
    spin([&] { return done; }, 120000);
    return out;
}

/// GET /health every `intervalMs` on its own thread and connection, with blocking reads: its
/// timings are the server's answer times, not this program's busy event loop.
class HealthProbe
{
public:
    HealthProbe(QString host, quint16 port, int intervalMs)
        : m_thread([this, host, port, intervalMs] { loop(host, port, intervalMs); })
    {}
    ~HealthProbe() { stop(); }
    void stop()
    {
        m_stop = true;
        if (m_thread.joinable())
            m_thread.join();
    }
    QList<double> ms;
    qint64 failed = 0;

private:
    void loop(const QString &host, quint16 port, int intervalMs)
    {
        std::unique_ptr<QTcpSocket> socket;
        while (!m_stop) {
            if (!socket || socket->state() != QAbstractSocket::ConnectedState) {
                socket = std::make_unique<QTcpSocket>();
                socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
                socket->connectToHost(host, port);
                if (!socket->waitForConnected(2000)) {
                    ++failed;
                    socket.reset();
                    std::this_thread::sleep_for(std::chrono::milliseconds(100));
                    continue;
                }
            }
            const double start = nowMs();
            socket->write("GET /health HTTP/1.1\r\nHost: bench\r\n\r\n");
            socket->flush();
            QByteArray in;
            bool ok = false;
            while (socket->waitForReadyRead(10000)) {
                in += socket->readAll();
                const qsizetype end = in.indexOf("\r\n\r\n");
                if (end < 0)
                    continue;
                const qsizetype at = in.toLower().indexOf("content-length:");
                const qsizetype length =
                    at < 0
                        ? 0
                        : in.mid(at + 15, in.indexOf("\r\n", at) - at - 15).trimmed().toLongLong();
                if (in.size() >= end + 4 + length) {
                    ok = in.startsWith("HTTP/1.1 200");
                    break;
                }
            }
            if (ok)
                ms.append(nowMs() - start);
            else
                ++failed, socket.reset();
            std::this_thread::sleep_for(std::chrono::milliseconds(intervalMs));
        }
    }
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
};

struct Stats
{
    QHash<qint64, int> assigns;          // task → task.assign messages received
    QHash<qint64, int> doneEvents;       // task → task.updated events with state done
    QHash<qint64, double> doneEventAt;   // task → when the first done event arrived
    QHash<qint64, double> firstAssignAt; // job → when a node got its first task.assign
    QSet<qint64> finished;               // tasks whose task.done a node sent
    qint64 assignedAfterDone = 0;        // a task handed out again after it was done
    qint64 errors = 0, uploadsFailed = 0;
    QHash<QString, int> errorCodes;
};

class SimNode : public QObject
{
public:
    SimNode(QString name, int slotCount, Stats &stats, HttpPool &http, QObject *parent)
        : QObject(parent)
        , m_name(std::move(name))
        , m_slots(slotCount)
        , m_stats(stats)
        , m_http(http)
    {}

    bool welcomed() const { return m_welcomed; }
    void setUrl(const QString &url) { m_url = url; }

    void connectNow()
    {
        m_socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
        connect(m_socket, &QWebSocket::connected, this, &SimNode::onConnected);
        connect(m_socket, &QWebSocket::textMessageReceived, this, &SimNode::onText);
        connect(m_socket, &QWebSocket::stateChanged, this,
                [this, socket = m_socket](QAbstractSocket::SocketState state) {
                    if (state == QAbstractSocket::UnconnectedState && socket == m_socket)
                        onDisconnected();
                });
        m_socket->open(QUrl(m_url + "/ws/node"));
    }

    /// A crash: the socket goes and the tasks with it; the node comes back after `backMs`.
    void kill(int backMs)
    {
        m_tasks.clear();
        if (m_socket) {
            m_socket->disconnect(this);
            m_socket->abort();
            m_socket->deleteLater();
            m_socket = nullptr;
        }
        m_welcomed = false;
        ++m_generation;
        QTimer::singleShot(backMs, this, [this] { connectNow(); });
    }

private:
    void send(const QString &type, const QJsonObject &data)
    {
        if (m_socket)
            m_socket->sendTextMessage(QString::fromUtf8(m_writer.write(type, data)));
    }

    void onConnected()
    {
        QJsonArray running;
        for (auto it = m_tasks.cbegin(); it != m_tasks.cend(); ++it)
            running.append(it.key());
        QJsonObject hello{
            {"protocol", 1},
            {"name", m_name},
            {"slots", m_slots},
            {"cores", 8},
            {"ram_mb", 16384},
            {"engines", QJsonArray{QJsonObject{{"name", "farmhand"}, {"version", "0.1.0"}}}},
            {"running", running}};
        if (!m_secret.isEmpty())
            hello.insert("secret", m_secret);
        m_writer = EnvelopeWriter();
        send(msg::Hello, hello);
    }

    void onDisconnected()
    {
        // The server went away (restart): keep the tasks, as render-node does, and come back.
        m_welcomed = false;
        if (m_socket) {
            m_socket->disconnect(this);
            m_socket->deleteLater();
            m_socket = nullptr;
        }
        ++m_generation;
        QTimer::singleShot(200 + QRandomGenerator::global()->bounded(300), this,
                           [this] { connectNow(); });
    }

    void onText(const QString &text)
    {
        const auto e = Envelope::parse(text.toUtf8());
        if (!e)
            return;
        if (e->type == msg::Welcome) {
            if (e->data.contains("secret"))
                m_secret = e->data.value("secret").toString();
            m_welcomed = true;
            // Heartbeats as render-node sends them: the lease needs them on an idle node.
            if (!m_heartbeat) {
                m_heartbeat = new QTimer(this);
                connect(m_heartbeat, &QTimer::timeout, this, [this] {
                    if (!m_welcomed)
                        return;
                    QJsonArray running;
                    for (auto it = m_tasks.cbegin(); it != m_tasks.cend(); ++it)
                        running.append(it.key());
                    send(msg::Heartbeat, {{"running", running}});
                });
            }
            m_heartbeat->start(1000 * std::max(1, e->data.value("heartbeat_s").toInt(5)));
            // Tasks still held after a reconnect: finish them now.
            for (auto it = m_tasks.cbegin(); it != m_tasks.cend(); ++it)
                finish(it.key(), it.value());
        } else if (e->type == msg::TaskAssign) {
            const qint64 task = e->data.value("task").toInteger();
            ++m_stats.assigns[task];
            if (m_stats.doneEvents.value(task) > 0)
                ++m_stats.assignedAfterDone;
            const qint64 job = e->data.value("job").toInteger();
            if (!m_stats.firstAssignAt.contains(job))
                m_stats.firstAssignAt.insert(job, nowMs());
            const int frame = e->data.value("frames").toString().section('-', 0, 0).toInt();
            send(msg::TaskAccepted, {{"task", task}});
            if (m_tasks.contains(task))
                return;
            m_tasks.insert(task, frame);
            finish(task, frame);
        } else if (e->type == msg::TaskCancel) {
            m_tasks.remove(e->data.value("task").toInteger());
        } else if (e->type == msg::Error) {
            ++m_stats.errors;
            ++m_stats.errorCodes[e->data.value("code").toString()];
        }
    }

    /// Zero render time: progress, the frame's upload, then task.done naming it.
    void finish(qint64 task, int frame)
    {
        send(msg::TaskProgress, {{"task", task}, {"progress", 1.0}, {"frame", frame}});
        const QString name = QString("frame_%1.png").arg(frame, 4, 10, QChar('0'));
        const int generation = m_generation;
        m_http.request("PUT", QString("/api/v1/tasks/%1/outputs/%2").arg(task).arg(name), kPng,
                       m_secret.toUtf8(),
                       [this, task, name, generation](const HttpConnection::Response &r) {
                           if (generation != m_generation || !m_tasks.contains(task))
                               return; // reconnected meanwhile: finished again after welcome
                           if (r.status != 200) {
                               ++m_stats.uploadsFailed;
                               if (r.status == 409 || r.status == 403) {
                                   m_tasks.remove(task); // not ours any more: render-node stops it
                               } else if (m_welcomed) {  // retried as render-node does
                                   QTimer::singleShot(100, this, [this, task, generation] {
                                       if (generation == m_generation && m_tasks.contains(task))
                                           finish(task, m_tasks.value(task));
                                   });
                               } // else the reconnect's welcome finishes it again
                               return;
                           }
                           send(msg::TaskDone, {{"task", task}, {"outputs", QJsonArray{name}}});
                           m_tasks.remove(task);
                           m_stats.finished.insert(task);
                       });
    }

    QString m_name, m_url, m_secret;
    int m_slots;
    Stats &m_stats;
    HttpPool &m_http;
    QWebSocket *m_socket = nullptr;
    EnvelopeWriter m_writer;
    QHash<qint64, int> m_tasks; // held: task → frame
    QTimer *m_heartbeat = nullptr;
    bool m_welcomed = false;
    int m_generation = 0;
};

/// A dashboard on /ws/events: counts each task's transitions to done.
class EventWatch : public QObject
{
public:
    EventWatch(Stats &stats, QObject *parent)
        : QObject(parent)
        , m_stats(stats)
    {}
    void open(const QString &url)
    {
        m_url = url;
        m_socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
        connect(m_socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
            const auto e = Envelope::parse(text.toUtf8());
            if (!e || e->type != msg::TaskUpdated || e->data.value("state").toString() != "done")
                return;
            const qint64 task = e->data.value("id").toInteger();
            if (++m_stats.doneEvents[task] == 1)
                m_stats.doneEventAt.insert(task, nowMs());
        });
        connect(m_socket, &QWebSocket::stateChanged, this,
                [this, socket = m_socket](QAbstractSocket::SocketState state) {
                    if (state != QAbstractSocket::UnconnectedState || socket != m_socket)
                        return;
                    m_socket->disconnect(this);
                    m_socket->deleteLater();
                    m_socket = nullptr;
                    QTimer::singleShot(200, this, [this] { open(m_url); });
                });
        m_socket->open(QUrl(m_url + "/ws/events"));
    }
    bool connected() const
    {
        return m_socket && m_socket->state() == QAbstractSocket::ConnectedState;
    }

private:
    Stats &m_stats;
    QString m_url;
    QWebSocket *m_socket = nullptr;
};

class ServerProcess
{
public:
    QString binary, dataDir;
    QStringList extra;
    int port = 0;
    qint64 peakRssKb = 0;
    std::unique_ptr<QProcess> process;

    bool start()
    {
        process = std::make_unique<QProcess>();
        process->setProcessChannelMode(QProcess::MergedChannels);
        process->start(binary, QStringList{"--port", QString::number(port), "--bind", "127.0.0.1",
                                           "--data", dataDir, "--max-connections-per-peer",
                                           "100000", "--max-connections", "100000"} +
                                   extra);
        if (!process->waitForStarted(5000))
            return false;
        static const QRegularExpression ready(R"(listening on http://[^:\s]+:(\d+))");
        QString log;
        const double until = nowMs() + 60000;
        while (nowMs() < until) {
            if (!process->waitForReadyRead(200) && process->state() == QProcess::NotRunning)
                break;
            log += QString::fromUtf8(process->readAll());
            if (const auto m = ready.match(log); m.hasMatch()) {
                port = m.captured(1).toInt();
                // Its log is not kept any further: read and drop it so the pipe never fills.
                QObject::connect(process.get(), &QProcess::readyRead, process.get(),
                                 [p = process.get()] { p->readAll(); });
                return true;
            }
        }
        std::fprintf(stderr, "farm-swarm: farm-server did not start:\n%s\n", qPrintable(log));
        return false;
    }
    qint64 pid() const { return process ? process->processId() : 0; }
    void sampleRss()
    {
        QFile f(QString("/proc/%1/status").arg(pid()));
        if (!f.open(QIODevice::ReadOnly))
            return;
        for (const QByteArray &line : f.readAll().split('\n'))
            if (line.startsWith("VmHWM:"))
                peakRssKb = std::max(peakRssKb, line.mid(6).trimmed().split(' ')[0].toLongLong());
    }
    /// CPU seconds the server used so far (user + system, from /proc).
    double cpuSeconds() const
    {
        QFile f(QString("/proc/%1/stat").arg(pid()));
        if (!f.open(QIODevice::ReadOnly))
            return 0;
        const QByteArray s = f.readAll();
        const QList<QByteArray> fields = s.mid(s.lastIndexOf(')') + 2).split(' ');
        return fields.size() > 13 ? double(fields[11].toLongLong() + fields[12].toLongLong()) /
                                        sysconf(_SC_CLK_TCK)
                                  : 0;
    }
    void crash()
    {
        if (pid() <= 0)
            return; // not started by this program: never signal anything else
        sampleRss();
        ::kill(pid_t(pid()), SIGKILL);
        process->waitForFinished(10000);
    }
    void stop()
    {
        if (!process || process->state() == QProcess::NotRunning)
            return;
        sampleRss();
        process->terminate();
        if (!process->waitForFinished(30000))
            process->kill();
    }
};

QString loadAverage()
{
    QFile f("/proc/loadavg");
    return f.open(QIODevice::ReadOnly) ? QString::fromLatin1(f.readAll()).section(' ', 0, 2) : "?";
}

/// The database's size: farm.db and its WAL in the data dir, or, with --database, what
/// PostgreSQL says the database takes (-1 when it cannot be asked).
qint64 databaseBytes(const QString &dir, const QString &database)
{
    if (!database.isEmpty()) {
        const QUrl u(database);
        qint64 bytes = -1;
        {
            QSqlDatabase db = QSqlDatabase::addDatabase("QPSQL", "swarm-size");
            db.setHostName(QUrlQuery(u).hasQueryItem("host") ? QUrlQuery(u).queryItemValue("host")
                                                             : u.host());
            db.setPort(u.port(5432));
            db.setUserName(u.userName());
            db.setPassword(u.password());
            db.setDatabaseName(u.path().mid(1));
            if (db.open()) {
                QSqlQuery q(db);
                if (q.exec("SELECT pg_database_size(current_database())") && q.next())
                    bytes = q.value(0).toLongLong();
            }
        }
        QSqlDatabase::removeDatabase("swarm-size");
        return bytes;
    }
    qint64 n = 0;
    for (const char *f : {"farm.db", "farm.db-wal", "farm.db-shm"})
        n += QFileInfo(dir + '/' + f).size();
    return n;
}

QString uploadModel(HttpConnection &c)
{
    const QByteArray obj = "o tri\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n";
    const QString sha = QCryptographicHash::hash(obj, QCryptographicHash::Sha256).toHex();
    auto created =
        call(c, "POST", "/api/v1/uploads",
             QJsonDocument(
                 QJsonObject{{"name", "tri.obj"}, {"size", qint64(obj.size())}, {"sha256", sha}})
                 .toJson(QJsonDocument::Compact));
    const QJsonObject o = QJsonDocument::fromJson(created.body).object();
    if (o.value("exists").toBool())
        return sha;
    const QString id = o.value("id").toString();
    if (call(c, "PUT", QString("/api/v1/uploads/%1/chunks/0").arg(id), obj).status != 200)
        return {};
    call(c, "POST", QString("/api/v1/uploads/%1/complete").arg(id));
    return sha;
}

QByteArray jobBody(const QString &sha, const QString &name, int frames)
{
    return QJsonDocument(QJsonObject{{"name", name},
                                     {"type", "model"},
                                     {"input", QJsonObject{{"file", sha}, {"name", "tri.obj"}}},
                                     {"frames", QString("1-%1").arg(frames)},
                                     {"chunk", 1},
                                     {"settings", QJsonObject{{"width", 16}, {"height", 16}}}})
        .toJson(QJsonDocument::Compact);
}

/// This process's CPU seconds so far (user + system).
double ownCpuSeconds()
{
    rusage self{};
    getrusage(RUSAGE_SELF, &self);
    return double(self.ru_utime.tv_sec + self.ru_stime.tv_sec) +
           double(self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e6;
}

/// Reads benchmark: concurrent clients fetch a page of 50 jobs while one probes /health.
int readsBenchmark(const QString &host, quint16 port, int clients, double seconds,
                   const ServerProcess &server)
{
    HttpConnection setup(host, port, nullptr);
    const QString sha = uploadModel(setup);
    for (int i = 0; i < 60; ++i)
        call(setup, "POST", "/api/v1/jobs", jobBody(sha, QString("reads-%1").arg(i), 24));
    QList<HttpConnection *> conns;
    QList<double> pageMs;
    qint64 pages = 0, failures = 0;
    bool running = true;
    std::function<void(HttpConnection *)> next = [&](HttpConnection *c) {
        if (!running)
            return;
        c->request("GET", "/api/v1/jobs?limit=50", {}, {},
                   [&, c](const HttpConnection::Response &r) {
                       if (!running)
                           return;
                       if (r.status == 200)
                           ++pages, pageMs.append(r.ms);
                       else
                           ++failures;
                       next(c);
                   });
    };
    for (int i = 0; i < clients; ++i) {
        conns.append(new HttpConnection(host, port, nullptr));
        next(conns.last());
    }
    HealthProbe health(host, port, 10);
    const double start = nowMs();
    const double serverCpu = server.cpuSeconds(), ownCpu = ownCpuSeconds();
    spin([] { return false; }, seconds * 1000);
    running = false;
    const double s = (nowMs() - start) / 1000;
    const double serverUsed = server.cpuSeconds() - serverCpu, ownUsed = ownCpuSeconds() - ownCpu;
    health.stop();
    const QList<double> healthMs = health.ms;
    std::printf("reads: GET /api/v1/jobs?limit=50 with %d connections for %.1f s: %.0f req/s, %s; "
                "%lld failed\n",
                clients, s, double(pages) / s, qPrintable(latencies(pageMs)), failures);
    std::printf("reads: /health meanwhile: %s\n", qPrintable(latencies(healthMs)));
    // Both share the machine's cores: what each got of one core, and the server's CPU a page.
    if (server.pid() > 0)
        std::printf("reads: server CPU %.2f s (%.0f%% of one core, %.0f us a request); ",
                    serverUsed, 100 * serverUsed / s,
                    pages > 0 ? 1e6 * serverUsed / double(pages) : 0.0);
    std::printf("this swarm's CPU %.2f s (%.0f%% of one core)\n", ownUsed, 100 * ownUsed / s);
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    p.setApplicationDescription("Simulated render nodes over real WebSockets against a real "
                                "farm-server (docs/PERFORMANCE.md).");
    p.addHelpOption();
    p.addOptions({
        {"nodes", "Simulated nodes.", "n", "200"},
        {"slots", "Slots per node.", "n", "1"},
        {"tasks", "Tasks in all (one frame each, zero render time).", "n", "5000"},
        {"jobs", "Jobs the tasks are split into.", "n", "1"},
        {"churn", "Percent of nodes killed and reconnected mid-run.", "percent", "0"},
        {"restart-server-once", "Kill farm-server mid-run and start it again."},
        {"probes", "Single-task jobs submitted one by one on the idle farm (latency).", "n", "100"},
        {"time-limit", "Seconds the run may take before it is called failed.", "s", "600"},
        {"server", "farm-server binary (default: beside this program).", "path"},
        {"database",
         "The farm-server it starts keeps its tables in this PostgreSQL database "
         "(postgresql://…; default: SQLite in its data dir). Use an empty database.",
         "url"},
        {"url", "Use this running server instead (http://host:port; no restart, RSS or size).",
         "url"},
        {"reads", "Run the reads benchmark (page of 50 jobs) instead, for this many seconds.", "s"},
        {"clients", "Connections of the reads benchmark.", "n", "50"},
        {"http-connections", "HTTP connections the nodes share for output uploads.", "n", "64"},
    });
    p.process(app);
    const int nodes = p.value("nodes").toInt();
    const int slotCount = p.value("slots").toInt();
    const int tasks = p.value("tasks").toInt();
    const int jobs = std::max(1, p.value("jobs").toInt());
    const double churn = p.value("churn").toDouble();
    const bool restart = p.isSet("restart-server-once");
    const double limitMs = p.value("time-limit").toDouble() * 1000;

    QTemporaryDir data;
    ServerProcess server;
    server.binary = p.isSet("server") ? p.value("server")
                                      : QCoreApplication::applicationDirPath() + "/farm-server";
    server.dataDir = data.path();
    server.extra = {"--lease", "30", "--heartbeat", "5"};
    if (p.isSet("database"))
        server.extra << "--database" << p.value("database");
    QString host = "127.0.0.1";
    if (p.isSet("url") && restart) {
        std::fprintf(stderr, "farm-swarm: --restart-server-once needs a server it starts itself\n");
        return 2;
    }
    if (p.isSet("url")) {
        const QUrl u(p.value("url"));
        host = u.host();
        server.port = u.port(8420);
    } else if (!server.start()) {
        return 2;
    }
    const QString base = QString("http://%1:%2").arg(host).arg(server.port);
    std::printf("farm-swarm: server %s, load average %s\n", qPrintable(base),
                qPrintable(loadAverage()));

    if (p.isSet("reads")) {
        const int rc = readsBenchmark(host, quint16(server.port), p.value("clients").toInt(),
                                      p.value("reads").toDouble(), server);
        std::printf("load average %s\n", qPrintable(loadAverage()));
        server.stop();
        if (server.peakRssKb)
            std::printf("server peak RSS %.1f MiB\n", double(server.peakRssKb) / 1024);
        return rc;
    }

    Stats stats;
    HttpConnection api(host, quint16(server.port), nullptr);
    HttpPool pool(host, quint16(server.port),
                  std::max(1, std::min(nodes, p.value("http-connections").toInt())), &app);
    const QString sha = uploadModel(api);
    if (sha.isEmpty()) {
        std::fprintf(stderr, "farm-swarm: could not upload the model\n");
        return 2;
    }
    EventWatch events(stats, &app);
    events.open(QString("ws://%1:%2").arg(host).arg(server.port));

    QList<SimNode *> swarm;
    double t0 = nowMs();
    for (int i = 0; i < nodes; ++i) {
        auto *n = new SimNode(QString("swarm-%1").arg(i), slotCount, stats, pool, &app);
        n->setUrl(QString("ws://%1:%2").arg(host).arg(server.port));
        n->connectNow();
        swarm.append(n);
    }
    const auto allWelcomed = [&] {
        return std::all_of(swarm.cbegin(), swarm.cend(), [](SimNode *n) { return n->welcomed(); });
    };
    if (!spin([&] { return allWelcomed() && events.connected(); }, 120000)) {
        std::fprintf(stderr, "farm-swarm: nodes did not all connect\n");
        return 2;
    }
    std::printf("%d nodes × %d slot(s) connected in %.0f ms\n", nodes, slotCount, nowMs() - t0);

    // Idle farm: one single-task job at a time, post → task.assign on a node.
    const int probes = p.value("probes").toInt();
    QList<double> postMs, idleLatency;
    for (int i = 0; i < probes; ++i) {
        const double sent = nowMs();
        const auto r = call(api, "POST", "/api/v1/jobs", jobBody(sha, "probe", 1));
        const qint64 jobId = QJsonDocument::fromJson(r.body).object().value("id").toInteger();
        postMs.append(r.ms);
        const qsizetype before = stats.finished.size();
        if (spin([&] { return stats.firstAssignAt.contains(jobId); }, 10000))
            idleLatency.append(stats.firstAssignAt.value(jobId) - sent);
        spin([&] { return stats.finished.size() > before; }, 10000);
        spin([] { return false; }, 5); // the done reaches the server: the farm is idle again
    }
    const qsizetype probesDone = idleLatency.size();

    // The load: M tasks in J jobs.
    const double loadAvgBefore = loadAverage().section(' ', 0, 0).toDouble();
    const double cpuBefore = server.cpuSeconds();
    const qsizetype doneBefore = stats.finished.size();
    QList<qint64> jobIds;
    QList<int> jobFrames;
    t0 = nowMs();
    for (int j = 0; j < jobs; ++j) {
        const int frames = tasks / jobs + (j < tasks % jobs ? 1 : 0);
        const auto r =
            call(api, "POST", "/api/v1/jobs", jobBody(sha, QString("swarm-%1").arg(j), frames));
        if (r.status != 201) {
            std::fprintf(stderr, "farm-swarm: submit failed: %d %s\n", r.status,
                         r.body.constData());
            return 2;
        }
        jobIds.append(QJsonDocument::fromJson(r.body).object().value("id").toInteger());
        jobFrames.append(frames);
    }
    const double submitMs = nowMs() - t0;

    // /health under load, on its own connection, every 20 ms.
    // /health under load, on its own thread and connection, every 20 ms.
    HealthProbe health(host, quint16(server.port), 20);

    bool churned = churn <= 0, restarted = !restart;
    const auto finishedCount = [&] { return stats.finished.size() - doneBefore; };
    // Every job completed on the server: a task whose frame landed before its node was lost
    // is completed by the server without another task.done, so the swarm's count alone may
    // never reach every task.
    auto jobsComplete = [&] {
        for (qint64 id : jobIds) {
            const auto r = call(api, "GET", QString("/api/v1/jobs/%1").arg(id));
            if (QJsonDocument::fromJson(r.body).object().value("state").toString() != "completed")
                return false;
        }
        return true;
    };
    const auto step = [&] {
        if (!churned && finishedCount() >= tasks / 3) {
            churned = true;
            const int kill = std::max(1, int(nodes * churn / 100));
            for (int i = 0; i < kill; ++i)
                swarm[(i * 7919) % nodes]->kill(300 + i % 700);
            std::printf("churn: killed %d node(s) at %lld tasks\n", kill, qint64(finishedCount()));
        }
        if (!restarted && finishedCount() >= tasks / 2) {
            restarted = true;
            std::printf("restart: killing farm-server (SIGKILL) at %lld tasks\n",
                        qint64(finishedCount()));
            server.crash();
            if (!server.start()) {
                std::fprintf(stderr, "farm-swarm: restart failed\n");
                std::exit(2);
            }
        }
        return churned && restarted && finishedCount() >= tasks;
    };
    bool complete = false;
    const double until = t0 + limitMs;
    while (nowMs() < until) {
        const bool sent = spin(step, std::min(1000.0, until - nowMs()));
        if ((sent || (churned && restarted && finishedCount() >= tasks * 9 / 10)) &&
            (complete = jobsComplete()))
            break;
        if (sent)
            spin([] { return false; }, 50);
    }
    const double elapsed = (nowMs() - t0) / 1000;
    health.stop();
    const QList<double> healthMs = health.ms;
    const qint64 healthFailed = health.failed;
    const double cpu = server.cpuSeconds() - cpuBefore;
    server.sampleRss();

    // Exactly once: per job every task done and one output per frame; per task, one transition
    // to done seen by the dashboard and no task.assign after it.
    QStringList failures;
    qint64 tasksChecked = 0, outputs = 0;
    for (int j = 0; j < jobIds.size(); ++j) {
        const auto r = call(api, "GET", QString("/api/v1/jobs/%1/tasks").arg(jobIds[j]));
        const QJsonArray list = QJsonDocument::fromJson(r.body).object().value("tasks").toArray();
        if (list.size() != jobFrames[j])
            failures.append(QString("job %1 has %2 tasks, expected %3")
                                .arg(jobIds[j])
                                .arg(list.size())
                                .arg(jobFrames[j]));
        for (const QJsonValue &v : list) {
            const QJsonObject t = v.toObject();
            const qint64 id = t.value("id").toInteger();
            ++tasksChecked;
            if (t.value("state").toString() != "done")
                failures.append(QString("task %1 is %2").arg(id).arg(t.value("state").toString()));
            if (stats.doneEvents.value(id) > 1)
                failures.append(QString("task %1 became done %2 times")
                                    .arg(id)
                                    .arg(stats.doneEvents.value(id)));
        }
        const auto o = call(api, "GET", QString("/api/v1/jobs/%1/outputs").arg(jobIds[j]));
        const qsizetype n =
            QJsonDocument::fromJson(o.body).object().value("outputs").toArray().size();
        outputs += n;
        if (n != jobFrames[j])
            failures.append(QString("job %1 has %2 outputs for %3 frames")
                                .arg(jobIds[j])
                                .arg(n)
                                .arg(jobFrames[j]));
    }
    if (stats.assignedAfterDone > 0)
        failures.append(
            QString("%1 task.assign(s) for tasks already done").arg(stats.assignedAfterDone));
    qint64 reassigned = 0;
    for (auto it = stats.assigns.cbegin(); it != stats.assigns.cend(); ++it)
        reassigned += it.value() > 1 ? it.value() - 1 : 0;

    const double loadAvgAfter = loadAverage().section(' ', 0, 0).toDouble();
    std::printf("idle submit→start (POST /api/v1/jobs → task.assign on a node), %lld probes: %s\n",
                qint64(probesDone), qPrintable(latencies(idleLatency)));
    std::printf("idle POST /api/v1/jobs answer: %s\n", qPrintable(latencies(postMs)));
    std::printf("submit %d job(s) of %d task(s) in all: %.0f ms\n", jobs, tasks, submitMs);
    const qint64 doneCount = complete ? tasks : std::min<qint64>(finishedCount(), tasks);
    std::printf("RESULT nodes=%d slots=%d tasks=%d jobs=%d: %.0f tasks/s (%lld tasks in %.2f s "
                "from the first submit%s)\n",
                nodes, slotCount, tasks, jobs, double(doneCount) / elapsed, doneCount, elapsed,
                complete ? " to the last job completed" : "; NOT all done within the time limit");
    std::printf("/health under load: %s; %lld failed\n", qPrintable(latencies(healthMs)),
                healthFailed);
    std::printf("server CPU %.1f s (%.0f%% of one core)", cpu, 100 * cpu / elapsed);
    if (server.peakRssKb)
        std::printf(", peak RSS %.1f MiB, database %.1f MiB", double(server.peakRssKb) / 1024,
                    double(databaseBytes(data.path(), p.value("database"))) / (1 << 20));
    rusage self{};
    getrusage(RUSAGE_SELF, &self);
    std::printf("; this swarm's CPU %.1f s in all",
                double(self.ru_utime.tv_sec + self.ru_stime.tv_sec) +
                    double(self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e6);
    std::printf("\nload average %.2f before, %.2f after (1 min)\n", loadAvgBefore, loadAvgAfter);
    std::printf("assigns %lld (%lld re-assignments after churn/restart), node errors %lld",
                qint64(stats.assigns.size()), reassigned, stats.errors);
    for (auto it = stats.errorCodes.cbegin(); it != stats.errorCodes.cend(); ++it)
        std::printf(" %s=%d", qPrintable(it.key()), it.value());
    std::printf(", uploads refused/failed %lld\n", stats.uploadsFailed);
    if (!complete)
        failures.prepend(QString("not finished within the time limit (%1 of %2 done sent)")
                             .arg(finishedCount())
                             .arg(tasks));
    if (failures.isEmpty()) {
        std::printf("exactly once: OK (%lld tasks done once, %lld outputs)\n", tasksChecked,
                    outputs);
    } else {
        std::printf("exactly once: FAIL: %s%s\n", qPrintable(failures.mid(0, 10).join("; ")),
                    failures.size() > 10
                        ? qPrintable(QString(" (+%1 more)").arg(failures.size() - 10))
                        : "");
    }
    std::fflush(stdout);
    server.stop();
    return failures.isEmpty() ? 0 : 1;
}
