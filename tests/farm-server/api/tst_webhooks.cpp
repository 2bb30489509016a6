// Webhooks: a job's callback_url hears of its completion, signed, retried across a restart.
#include "api/apiclient.h"
#include "api/openapicheck.h"
#include "api/rawhttp.h"

#include "events/webhooks.h"
#include "store/accessstore.h"

#include <QMessageAuthenticationCode>
#include <QSqlQuery>
#include <QTcpServer>

using namespace farm;
using namespace farm::server;
using namespace farm::server::test;

namespace {

/// A webhook receiver on loopback: answers 500 to the first `failures` calls of each delivery
/// and 200 after, and keeps every call.
class Receiver : public QObject
{
public:
    struct Call
    {
        QByteArray delivery, event, signature, body;
        int answered = 0;
        QDateTime at;
    };
    QList<Call> calls;
    int failures = 2;

    Receiver()
    {
        server.listen(QHostAddress::LocalHost, 0);
        connect(&server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = server.nextPendingConnection()) {
                auto buffer = std::make_shared<QByteArray>();
                connect(socket, &QTcpSocket::readyRead, this, [this, socket, buffer] {
                    *buffer += socket->readAll();
                    farm::test::RawResponse r; // same framing as a response, after its first line
                    QByteArray copy =
                        "HTTP/1.1 0 request\r\n" + buffer->mid(buffer->indexOf("\r\n") + 2);
                    if (!(r = farm::test::takeResponse(copy)).complete)
                        return;
                    Call c{r.header("x-farm-delivery"),
                           r.header("x-farm-event"),
                           r.header("x-farm-signature"),
                           r.body,
                           0,
                           QDateTime::currentDateTimeUtc()};
                    int seen = 0;
                    for (const Call &earlier : std::as_const(calls))
                        seen += earlier.delivery == c.delivery;
                    c.answered = seen < failures ? 500 : 200;
                    calls.append(c);
                    socket->write(c.answered == 200
                                      ? QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                                                   "Connection: close\r\n\r\n")
                                      : QByteArray("HTTP/1.1 500 Internal Server Error\r\n"
                                                   "Content-Length: 4\r\nConnection: close\r\n"
                                                   "\r\nnope"));
                    socket->disconnectFromHost();
                });
                connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
            }
        });
    }
    QString url(const QString &path = "/hooks/farm") const
    {
        return QString("http://127.0.0.1:%1%2").arg(server.serverPort()).arg(path);
    }
    QList<Call> of(const QByteArray &event) const
    {
        QList<Call> out;
        for (const Call &c : calls)
            if (c.event == event)
                out.append(c);
        return out;
    }
    QTcpServer server;
};

} // namespace

class TestWebhooks : public QObject
{
    Q_OBJECT

    static ServerConfig config(const Receiver &receiver)
    {
        ServerConfig c;
        c.webhookAllow = {QString("http://127.0.0.1:%1").arg(receiver.server.serverPort())};
        c.webhookSecret = "hook-secret";
        c.webhookRetryS = 3; // the restart below takes far less than this
        c.webhookProgressS = 3600;
        return c;
    }
    /// Connects `node` as `name`; returns the task it was given, 0 when none came.
    static qint64 joinAndTakeTask(TestServer &s, WsClient &node, const QString &name)
    {
        if (!node.open(QUrl(QString("ws://127.0.0.1:%1/ws/node").arg(s.server->port()))))
            return -1;
        node.send("hello", nodeHello(name));
        if (node.waitFor("welcome") < 0)
            return -1;
        const int assign = node.waitFor("task.assign");
        return assign < 0 ? 0 : node.received[assign].data.value("task").toInteger();
    }
    static bool waitFor(const std::function<bool()> &condition, int ms = 30000)
    {
        for (int waited = 0; waited < ms; waited += 20) {
            if (condition())
                return true;
            QTest::qWait(20);
        }
        return condition();
    }

private slots:
    void callbackUrlIsCheckedAtSubmit()
    {
        Receiver receiver;
        TestServer s(config(receiver));
        const QString sha = s.upload("model bytes for webhooks");
        auto withCallback = [&](const QJsonValue &url) {
            QJsonObject body = jobBody(sha, "1");
            body.insert("callback_url", url);
            return s.post("/api/v1/jobs", body);
        };
        const int before = s.store().listJobs({}).total;
        for (const QString &bad :
             {QString("http://127.0.0.2:%1/x").arg(receiver.server.serverPort()),
              QString("https://127.0.0.1:%1/x").arg(receiver.server.serverPort()),
              QString("http://127.0.0.1:1/x"), QString("ftp://127.0.0.1/x"), QString("not a url"),
              QString("http://user:pw@127.0.0.1:%1/x").arg(receiver.server.serverPort())}) {
            const HttpResult r = withCallback(bad);
            QVERIFY2(r.status == 400, qPrintable(bad + ": " + r.body));
            QCOMPARE(r.errorCode(), QString("invalid_field"));
        }
        QCOMPARE(withCallback(42).status, 400);
        QCOMPARE(s.store().listJobs({}).total, before); // nothing was created
        const HttpResult ok = withCallback(receiver.url());
        QCOMPARE(ok.status, 201);
        QCOMPARE(ok.json().value("callback_url").toString(), receiver.url());

        // A server that allows no receiver refuses every callback_url.
        TestServer plain;
        QJsonObject body = jobBody(plain.upload("model bytes"), "1");
        body.insert("callback_url", receiver.url());
        QCOMPARE(plain.post("/api/v1/jobs", body).status, 400);
    }

    void allowList_data()
    {
        QTest::addColumn<QString>("entry");
        QTest::addColumn<QString>("url");
        QTest::addColumn<bool>("allowed");
        QTest::newRow("host") << "https://hooks.example.com"
                              << "https://hooks.example.com/a" << true;
        QTest::newRow("scheme") << "https://hooks.example.com"
                                << "http://hooks.example.com/a" << false;
        QTest::newRow("port any") << "https://hooks.example.com"
                                  << "https://hooks.example.com:8443/a" << true;
        QTest::newRow("port") << "http://10.0.0.5:9000"
                              << "http://10.0.0.5:9000/a" << true;
        QTest::newRow("port other") << "http://10.0.0.5:9000"
                                    << "http://10.0.0.5:9001/a" << false;
        QTest::newRow("wildcard") << "http://*.studio.lan"
                                  << "http://ci.studio.lan/h" << true;
        QTest::newRow("wildcard apex") << "http://*.studio.lan"
                                       << "http://studio.lan/h" << false;
        QTest::newRow("wildcard suffix") << "http://*.studio.lan"
                                         << "http://evilstudio.lan/h" << false;
        QTest::newRow("suffix trick") << "https://hooks.example.com"
                                      << "https://hooks.example.com.evil.net/" << false;
        QTest::newRow("v6") << "http://[::1]:9000"
                            << "http://[::1]:9000/h" << true;
    }
    void allowList()
    {
        QFETCH(QString, entry);
        QFETCH(QString, url);
        QFETCH(bool, allowed);
        QCOMPARE(webhookUrlAllowed({entry}, QUrl(url)), allowed);
    }

    // A job that fails: one progress call (rate-limited), then the failure with its reason.
    void progressAndFailure()
    {
        Receiver receiver;
        receiver.failures = 0;
        TestServer s(config(receiver));
        QJsonObject body = jobBody(s.upload("model bytes for webhooks"), "1");
        body.insert("callback_url", receiver.url());
        const qint64 jobId = s.post("/api/v1/jobs", body).json().value("id").toInteger();
        WsClient node;
        qint64 task = joinAndTakeTask(s, node, "failing-node");
        QVERIFY(task > 0);
        // Every attempt fails on the node; the task comes back until its attempts run out.
        for (int attempt = 0; attempt < 3; ++attempt) {
            node.send("task.progress", {{"task", task}, {"progress", 0.5}});
            node.send("task.failed", {{"task", task}, {"error", "out of memory in the BVH"}});
            if (attempt < 2) {
                const int from = node.received.size();
                const int next = node.waitFor("task.assign", from);
                QVERIFY(next >= 0);
                task = node.received[next].data.value("task").toInteger();
            }
        }
        QVERIFY(waitFor([&] { return !receiver.of("job.failed").isEmpty(); }));
        const QJsonObject p =
            QJsonDocument::fromJson(receiver.of("job.failed").first().body).object();
        QCOMPARE(p.value("job").toObject().value("id").toInteger(), jobId);
        QCOMPARE(p.value("job").toObject().value("state").toString(), QString("failed"));
        QCOMPARE(p.value("error").toObject().value("code").toString(), QString("task_failed"));
        QVERIFY2(p.value("error").toObject().value("message").toString().contains("out of memory"),
                 receiver.of("job.failed").first().body.constData());
        QCOMPARE(receiver.of("job.failed").first().signature,
                 webhookSignature("hook-secret", receiver.of("job.failed").first().body));
        const farm::test::SchemaChecker checker(farm::test::openApiDocument());
        for (const auto &[event, schema] : {std::pair{"job.failed", "WebhookFailed"},
                                            std::pair{"job.progress", "WebhookProgress"}}) {
            const QStringList problems =
                checker.check(QJsonObject{{"$ref", QString("#/components/schemas/") + schema}},
                              QJsonDocument::fromJson(receiver.of(event).first().body).object());
            QVERIFY2(problems.isEmpty(), qPrintable(problems.join("; ")));
        }
        // Progress went out once: the job was active many times within the interval.
        QCOMPARE(receiver.of("job.progress").size(), 1);
        QCOMPARE(QJsonDocument::fromJson(receiver.of("job.progress").first().body)
                     .object()
                     .value("job")
                     .toObject()
                     .value("state")
                     .toString(),
                 QString("active"));
        QVERIFY(receiver.of("job.completed").isEmpty());
    }

    // The receiver fails the first two calls; the server restarts between them; the third
    // call delivers the completion, signed with the configured secret.
    void completionSurvivesFailuresAndARestart()
    {
        Receiver receiver;
        const ServerConfig cfg = config(receiver);
        TestServer s(cfg);
        const QString sha = s.upload("model bytes for webhooks");
        QJsonObject body = jobBody(sha, "1");
        body.insert("callback_url", receiver.url());
        const qint64 jobId = s.post("/api/v1/jobs", body).json().value("id").toInteger();
        QVERIFY(jobId > 0);

        {
            WsClient node;
            const qint64 task = joinAndTakeTask(s, node, "hook-node");
            QVERIFY(task > 0);
            QCOMPARE(s.putOutput(node.secret(), task, "frame_0001.png", "nine byte").status, 200);
            node.send("task.done", {{"task", task}, {"outputs", QJsonArray{"frame_0001.png"}}});
            QVERIFY(waitFor([&] { return !receiver.of("job.completed").isEmpty(); }));
        }
        QCOMPARE(receiver.of("job.completed").first().answered, 500);
        // The receiver counts a call before it answers: wait until the server has read the
        // 500 and kept the failed attempt, or the restart below cuts that answer off.
        QVERIFY(waitFor([&] {
            QSqlQuery q(s.store().database());
            return q.exec("SELECT attempts FROM webhook_deliveries WHERE event = "
                          "'job.completed'") &&
                   q.next() && q.value(0).toInt() == 1;
        }));

        // Restart: the delivery waits in the database.
        const QString data = s.dataDir();
        s.server.reset();
        ServerConfig again = cfg;
        again.port = 0;
        again.dataDir = data;
        s.server = std::make_unique<FarmServer>(again);
        QVERIFY(s.server->start());
        const QDateTime restarted = QDateTime::currentDateTimeUtc();

        QVERIFY(waitFor([&] { return receiver.of("job.completed").size() >= 3; }, 60000));
        const QList<Receiver::Call> calls = receiver.of("job.completed");
        QCOMPARE(calls.size(), 3);
        QCOMPARE(calls[1].answered, 500);
        QCOMPARE(calls[2].answered, 200);
        QVERIFY2(calls[1].at >= restarted, "the second call came from the restarted server");
        // One delivery: the same id and the same signed body each time.
        QCOMPARE(calls[1].delivery, calls[0].delivery);
        QCOMPARE(calls[2].delivery, calls[0].delivery);
        QCOMPARE(calls[2].body, calls[0].body);
        // Retried with backoff: the first wait is --webhook-retry (3 s), the next twice that.
        QVERIFY(calls[1].at.msecsTo(calls[2].at) >= 5500);

        // The payload is the one resources/api/openapi.json describes.
        const farm::test::SchemaChecker checker(farm::test::openApiDocument());
        const QStringList problems =
            checker.check(QJsonObject{{"$ref", "#/components/schemas/WebhookCompleted"}},
                          QJsonDocument::fromJson(calls[2].body).object());
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join("; ")));
        const Receiver::Call &c = calls[2];
        const QByteArray expected =
            "sha256=" +
            QMessageAuthenticationCode::hash(c.body, "hook-secret", QCryptographicHash::Sha256)
                .toHex();
        QCOMPARE(c.signature, expected);
        const QJsonObject p = QJsonDocument::fromJson(c.body).object();
        QCOMPARE(p.value("event").toString(), QString("job.completed"));
        QVERIFY(
            QDateTime::fromString(p.value("timestamp").toString(), Qt::ISODateWithMs).isValid());
        QCOMPARE(p.value("job").toObject().value("id").toInteger(), jobId);
        QCOMPARE(p.value("job").toObject().value("state").toString(), QString("completed"));
        QCOMPARE(p.value("total_size").toInteger(), 9);
        const QJsonArray outputs = p.value("outputs").toArray();
        QCOMPARE(outputs.size(), 1);
        QCOMPARE(outputs[0].toObject().value("name").toString(), QString("frame_0001.png"));
        QCOMPARE(outputs[0].toObject().value("size").toInteger(), 9);
        QVERIFY(outputs[0].toObject().value("url").toString().endsWith(
            QString("/api/v1/jobs/%1/outputs/frame_0001.png").arg(jobId)));
        QVERIFY(p.value("download_url")
                    .toString()
                    .endsWith(QString("/api/v1/jobs/%1/archive").arg(jobId)));
        // Delivered: nothing of it is kept.
        QVERIFY(waitFor([&] {
            QSqlQuery q(s.store().database());
            return q.exec("SELECT COUNT(*) FROM webhook_deliveries WHERE event = "
                          "'job.completed'") &&
                   q.next() && q.value(0).toInt() == 0;
        }));
    }
};

QTEST_MAIN(TestWebhooks)
#include "tst_webhooks.moc"
