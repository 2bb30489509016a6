// The HTTP/1.1 front end on its own: a real HttpServer on loopback with a few routes, spoken
// to over raw sockets, so each byte on the wire is the test's choice.
#include "api/httpserver.h"
#include "rawhttp.h"

#include <QJsonDocument>
#include <QTcpSocket>
#include <QWebSocket>
#include <QtTest>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

using namespace farm::server;

using Response = farm::test::RawResponse;
using farm::test::blockingRequest;
using farm::test::RawClient;
using farm::test::takeResponse;
using namespace std::chrono_literals;

class TestHttpFrontEnd : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<HttpServer> m_server;
    quint16 m_port = 0;
    int m_handled = 0;
    QList<HttpReply> m_held;
    std::atomic<bool> m_frontAnswers = true;

    void start(HttpLimits limits = {}, AuthConfig auth = {"secret", "join", false, {}})
    {
        m_server = std::make_unique<HttpServer>(auth, limits);
        m_server->addRoute("GET", "/health", Access::Public,
                           [this](const HttpRequest &, HttpReply r) {
                               ++m_handled;
                               r.json(200, {{"ok", true}});
                           });
        m_server->addRoute(
            "POST", "/echo", Access::Client,
            [this](const HttpRequest &req, HttpReply r) {
                ++m_handled;
                r.send(200, req.body, "application/octet-stream");
            },
            1024);
        m_server->addRoute("DELETE", "/echo", Access::Client,
                           [](const HttpRequest &, HttpReply r) { r.noContent(); });
        m_server->addRoute("GET", "/drop", Access::Public, [](const HttpRequest &, HttpReply) {});
        m_server->addRoute("GET", "/later", Access::Public,
                           [this](const HttpRequest &, HttpReply r) { m_held.append(r); });
        m_server->addRoute("GET", "/node", Access::Node, [](const HttpRequest &req, HttpReply r) {
            r.json(200, {{"node", req.nodeId}});
        });
        m_server->addWebSocketPath("/ws", Access::Client);
        // Answered on the front thread while m_frontAnswers, else by the event loop's route.
        m_server->addRoute("GET", "/front", Access::Public, [](const HttpRequest &, HttpReply r) {
            r.send(200, "loop", "text/plain");
        });
        m_server->addFrontRoute(
            "/front", {[this]() -> std::optional<FrontResponse> {
                           if (!m_frontAnswers)
                               return std::nullopt;
                           return FrontResponse{200, "front", "text/plain"};
                       },
                       [] {
                           return FrontResponse{200, "front, by way of the loop", "text/plain"};
                       }});
        const auto port = m_server->listenOn(QHostAddress::LocalHost, 0);
        QVERIFY(std::holds_alternative<quint16>(port));
        m_port = std::get<quint16>(port);
    }

private slots:
    void init()
    {
        m_handled = 0;
        m_held.clear();
        m_frontAnswers = true;
    }
    void cleanup() { m_server.reset(); }

    void parsesHeads_data()
    {
        QTest::addColumn<QByteArray>("head");
        QTest::addColumn<int>("status"); // 0: accepted
        QTest::newRow("plain") << QByteArray("GET /a?b=1 HTTP/1.1\r\nHost: x") << 0;
        QTest::newRow("no headers") << QByteArray("GET / HTTP/1.0") << 0;
        QTest::newRow("length and chunked")
            << QByteArray("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked")
            << 400;
        QTest::newRow("two lengths differ")
            << QByteArray("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4") << 400;
        QTest::newRow("signed length")
            << QByteArray("POST / HTTP/1.1\r\nContent-Length: +3") << 400;
        QTest::newRow("huge length")
            << QByteArray("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999") << 400;
        QTest::newRow("gzip coding")
            << QByteArray("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked") << 501;
        QTest::newRow("http2") << QByteArray("GET / HTTP/2.0") << 505;
        QTest::newRow("folded") << QByteArray("GET / HTTP/1.1\r\nA: b\r\n c") << 400;
        QTest::newRow("space before colon") << QByteArray("GET / HTTP/1.1\r\nHost : x") << 400;
        QTest::newRow("absolute target") << QByteArray("GET http://x/ HTTP/1.1") << 400;
        QTest::newRow("raw utf-8 in target") << QByteArray("GET /\xc3\xa9 HTTP/1.1") << 400;
        QTest::newRow("bare LF") << QByteArray("GET / HTTP/1.1\nHost: x") << 400;
        QTest::newRow("odd expectation") << QByteArray("GET / HTTP/1.1\r\nExpect: x") << 417;
        QTest::newRow("NUL") << QByteArray("GET / HTTP/1.1\r\nA: \0b", 25) << 400;
    }
    void parsesHeads()
    {
        QFETCH(QByteArray, head);
        QFETCH(int, status);
        const auto r = parseRequestHead(head);
        if (status == 0) {
            const auto *e = std::get_if<HeadError>(&r);
            QVERIFY2(!e, e ? qPrintable(e->message) : "");
        } else {
            QVERIFY(std::holds_alternative<HeadError>(r));
            QCOMPARE(std::get<HeadError>(r).status, status);
        }
    }

    void connectionSemantics()
    {
        auto v10 = std::get<RequestHead>(parseRequestHead("GET / HTTP/1.0"));
        QVERIFY(!v10.keepAlive);
        v10 = std::get<RequestHead>(parseRequestHead("GET / HTTP/1.0\r\nConnection: Keep-Alive"));
        QVERIFY(v10.keepAlive);
        auto v11 =
            std::get<RequestHead>(parseRequestHead("GET /x%20y HTTP/1.1\r\nConnection: close"));
        QVERIFY(!v11.keepAlive);
        QCOMPARE(v11.path, QString("/x y"));
    }

    void decodesChunks()
    {
        const QByteArray wire = "4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        // Fed one byte at a time: the split points must not matter.
        ChunkedDecoder d;
        QByteArray out;
        qsizetype used = 0;
        while (d.state() == ChunkedDecoder::State::More && used < wire.size())
            used += d.feed(QByteArrayView(wire).sliced(used, 1), out);
        QVERIFY2(d.state() == ChunkedDecoder::State::Done, qPrintable(d.error()));
        QCOMPARE(out, QByteArray("Wikipedia"));
        QCOMPARE(wire.mid(used), QByteArray("NEXT"));

        for (const QByteArray bad : {QByteArray("zz\r\n"), QByteArray("3\r\nabcd\r\n"),
                                     QByteArray("3\nabc"), QByteArray(2000, '1')}) {
            ChunkedDecoder e;
            QByteArray o;
            e.feed(bad, o);
            QCOMPARE(int(e.state()), int(ChunkedDecoder::State::Error));
        }
    }

    void refusesBeforeTheBody()
    {
        start();
        // Unknown path, wrong token, too large: each answered from the head alone, with the
        // 1 GiB body never sent, and the connection closed.
        const QList<std::pair<QByteArray, int>> cases{
            {"POST /nope HTTP/1.1\r\nContent-Length: 1073741824\r\n\r\n", 404},
            {"POST /echo HTTP/1.1\r\nContent-Length: 1073741824\r\n\r\n", 401},
            {"POST /nope HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 404},
            {"POST /echo HTTP/1.1\r\nAuthorization: Bearer secret\r\nContent-Length: 5000\r\n\r\n",
             413},
        };
        for (const auto &[head, status] : cases) {
            RawClient c(m_port);
            c.write(head);
            const Response r = c.next();
            QCOMPARE(r.status, status);
            QCOMPARE(r.header("Connection"), QByteArray("close"));
            QVERIFY(c.closedWithin(3000));
        }
        QCOMPARE(m_handled, 0);
        QCOMPARE(m_server->bufferedBodyBytes(), 0);
    }

    void chunkedBodies()
    {
        start();
        RawClient c(m_port);
        c.write("POST /echo HTTP/1.1\r\nAuthorization: bearer secret\r\n"
                "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
        Response r = c.next();
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, QByteArray("abcde"));
        // Over the route's 1024 bytes: refused as soon as the decoded body passes it.
        c.write("POST /echo HTTP/1.1\r\nAuthorization: Bearer secret\r\n"
                "Transfer-Encoding: chunked\r\n\r\n800\r\n" +
                QByteArray(0x800, 'x') + "\r\n");
        r = c.next();
        QCOMPARE(r.status, 413);
        QVERIFY(c.closedWithin(3000));
        QCOMPARE(m_server->bufferedBodyBytes(), 0);
    }

    void headLimits()
    {
        start();
        RawClient c(m_port);
        c.write("GET /health HTTP/1.1\r\nX-Big: " + QByteArray(20000, 'a'));
        QCOMPARE(c.next().status, 431);
        QVERIFY(c.closedWithin(3000));
    }

    void timeouts()
    {
        HttpLimits limits;
        limits.headTimeoutMs = 300;
        limits.bodyIdleTimeoutMs = 300;
        limits.keepAliveIdleMs = 300;
        start(limits);
        RawClient slowHead(m_port);
        slowHead.write("GET /health HTTP/1.1\r\nHost: x\r\n");
        RawClient slowBody(m_port);
        slowBody.write(
            "POST /echo HTTP/1.1\r\nAuthorization: Bearer secret\r\nContent-Length: 10\r\n\r\nabc");
        RawClient silent(m_port);
        RawClient idle(m_port);
        idle.write("GET /health HTTP/1.1\r\n\r\n");
        QCOMPARE(idle.next().status, 200);

        QCOMPARE(slowHead.next().status, 408);
        QCOMPARE(slowBody.next().status, 408);
        QVERIFY(slowHead.closedWithin(3000));
        QVERIFY(slowBody.closedWithin(3000));
        QVERIFY(silent.closedWithin(3000));
        QVERIFY(idle.closedWithin(3000));
        QTRY_COMPARE(m_server->connectionCount(), 0);
    }

    void keepAliveAndClose()
    {
        start();
        RawClient c(m_port);
        // Pipelined: both answered, in order, on one connection.
        c.write(
            "GET /health HTTP/1.1\r\n\r\nPOST /echo HTTP/1.1\r\nAuthorization: Bearer secret\r\n"
            "Content-Length: 2\r\n\r\nhi");
        QCOMPARE(c.next().status, 200);
        const Response echo = c.next();
        QCOMPARE(echo.status, 200);
        QCOMPARE(echo.body, QByteArray("hi"));
        QCOMPARE(c.socket.state(), QAbstractSocket::ConnectedState);

        c.write("GET /health HTTP/1.1\r\nConnection: close\r\n\r\n");
        const Response closing = c.next();
        QCOMPARE(closing.status, 200);
        QCOMPARE(closing.header("Connection"), QByteArray("close"));
        QVERIFY(c.closedWithin(3000));

        RawClient old(m_port);
        old.write("GET /health HTTP/1.0\r\n\r\n");
        QCOMPARE(old.next().status, 200);
        QVERIFY(old.closedWithin(3000));
    }

    void methodsAndAuth()
    {
        start();
        RawClient c(m_port);
        c.write("PUT /echo HTTP/1.1\r\n\r\n");
        const Response r = c.next();
        QCOMPARE(r.status, 405);
        QCOMPARE(r.header("Allow"), QByteArray("POST, DELETE"));
        c.write("HEAD /health HTTP/1.1\r\n\r\n");
        const Response head = c.next(5000, true);
        QCOMPARE(head.status, 200);
        QVERIFY(head.body.isEmpty());
        c.write("DELETE /echo HTTP/1.1\r\nAuthorization: BEARER secret\r\n\r\n");
        QCOMPARE(c.next().status, 204);
        c.write("GET /node HTTP/1.1\r\nAuthorization: Bearer join\r\n\r\n");
        QCOMPARE(c.next().status, 200);
        c.write("GET /node HTTP/1.1\r\nAuthorization: Bearer wrong\r\n\r\n");
        QCOMPARE(c.next().status, 401);
        c.write("GET /ws HTTP/1.1\r\n\r\n");
        QCOMPARE(c.next().status, 426);
        c.write("GET /nowhere HTTP/1.1\r\n\r\n");
        const Response missing = c.next();
        QCOMPARE(missing.status, 404);
        QCOMPARE(missing.code(), QString("not_found"));
        QCOMPARE(c.socket.state(), QAbstractSocket::ConnectedState); // no body: kept
    }

    // A plain-text path is compared as text, a pattern as an anchored regex: neither matches
    // more than its whole path, captures still become arguments.
    void plainAndPatternRoutes()
    {
        start();
        const auto echoArgs = [](const HttpRequest &req, HttpReply r) {
            r.send(200, req.args.join(',').toUtf8(), "text/plain");
        };
        m_server->addRoute("GET", "/items/(\\d+)/(a|b)", Access::Public, echoArgs);
        m_server->addRoute("GET", "/index\\.html", Access::Public, echoArgs);
        m_server->addRoute("GET", "/plain-path_1", Access::Public, echoArgs);
        RawClient c(m_port);
        const auto get = [&](const QByteArray &path) {
            c.write("GET " + path + " HTTP/1.1\r\n\r\n");
            return c.next();
        };
        QCOMPARE(get("/health").status, 200);
        QCOMPARE(get("/health?x=1").status, 200);
        for (const char *path : {"/healthx", "/health/", "/Health", "/items/1/c", "/items/x/a",
                                 "/indexXhtml", "/index.htm", "/plain-path_12", "/plain-path"})
            QVERIFY2(get(path).status == 404, path);
        Response r = get("/items/42/b");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, QByteArray("42,b"));
        r = get("/index.html");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, QByteArray());
        QCOMPARE(get("/plain-path_1").status, 200);
        c.write("POST /plain-path_1 HTTP/1.1\r\n\r\n");
        QCOMPARE(c.next().status, 405);
        QVERIFY(
            m_server->routes().contains(qMakePair(QByteArray("GET"), QString("/index\\.html"))));
    }

    void nodeCredentials()
    {
        AuthConfig auth{"secret", "join", false, [](const QByteArray &t) {
                            return t == "node-7-key" ? qint64(7) : qint64(0);
                        }};
        start({}, auth);
        RawClient c(m_port);
        c.write("GET /node HTTP/1.1\r\nAuthorization: Bearer node-7-key\r\n\r\n");
        const Response r = c.next();
        QCOMPARE(r.status, 200);
        QCOMPARE(QJsonDocument::fromJson(r.body).object().value("node").toInt(), 7);
    }

    void expectContinue()
    {
        start();
        RawClient c(m_port);
        c.write("POST /echo HTTP/1.1\r\nAuthorization: Bearer secret\r\nContent-Length: 3\r\n"
                "Expect: 100-continue\r\n\r\n");
        QCOMPARE(c.next().status, 100);
        c.write("abc");
        const Response r = c.next();
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, QByteArray("abc"));
    }

    void handlerContract()
    {
        start();
        RawClient c(m_port);
        c.write("GET /drop HTTP/1.1\r\n\r\n");
        QCOMPARE(c.next().status, 500);
        // A held reply: the next pipelined request waits for it.
        c.write("GET /later HTTP/1.1\r\n\r\nGET /health HTTP/1.1\r\n\r\n");
        QTRY_COMPARE(m_held.size(), 1);
        QTest::qWait(50);
        QVERIFY(!takeResponse(c.buffer).complete);
        m_held.first().json(202, {{"late", true}});
        m_held.clear();
        QCOMPARE(c.next().status, 202);
        QCOMPARE(c.next().status, 200);
    }

    void connectionCaps()
    {
        HttpLimits limits;
        limits.maxConnectionsPerPeer = 3;
        start(limits);
        std::vector<std::unique_ptr<RawClient>> open;
        for (int i = 0; i < 3; ++i)
            open.push_back(std::make_unique<RawClient>(m_port));
        QTRY_COMPARE(m_server->connectionCount(), 3);
        RawClient extra(m_port);
        const Response r = extra.next();
        QCOMPARE(r.status, 503);
        QVERIFY(!r.header("Retry-After").isEmpty());
        QVERIFY(extra.closedWithin(3000));
        open.pop_back();
        QTRY_COMPARE(m_server->connectionCount(), 2);
        RawClient again(m_port);
        again.write("GET /health HTTP/1.1\r\n\r\n");
        QCOMPARE(again.next().status, 200);
    }

    void bodyBudget()
    {
        HttpLimits limits;
        limits.maxBufferedBodyBytes = 1500;
        start(limits);
        RawClient first(m_port);
        first.write("POST /echo HTTP/1.1\r\nAuthorization: Bearer secret\r\nContent-Length: "
                    "1000\r\n\r\nab");
        QTRY_COMPARE(m_server->bufferedBodyBytes(), 1000);
        RawClient second(m_port);
        second.write(
            "POST /echo HTTP/1.1\r\nAuthorization: Bearer secret\r\nContent-Length: 1000\r\n\r\n");
        QCOMPARE(second.next().status, 503);
        first.write(QByteArray(998, 'c'));
        QCOMPARE(first.next().status, 200);
        QTRY_COMPARE(m_server->bufferedBodyBytes(), 0);
    }

    // Front routes are answered on the front end's thread, the rest on the event loop, and a
    // connection that moves over mid-way keeps its bytes and their order.
    void frontRoutes()
    {
        start();
        RawClient c(m_port);
        c.write("GET /front HTTP/1.1\r\n\r\n");
        Response r = c.next();
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, QByteArray("front"));
        c.write("GET /front HTTP/1.1\r\n\r\nPOST /echo HTTP/1.1\r\nAuthorization: Bearer "
                "secret\r\nContent-Length: 2\r\n\r\nhi");
        QCOMPARE(c.next().body, QByteArray("front"));
        r = c.next();
        QCOMPARE(r.status, 200);
        QCOMPARE(r.body, QByteArray("hi"));
        // The connection stays on the event loop from then on.
        c.write("GET /front HTTP/1.1\r\n\r\n");
        QCOMPARE(c.next().body, QByteArray("loop"));

        RawClient head(m_port);
        head.write("HEAD /front HTTP/1.1\r\nConnection: close\r\n\r\n");
        r = head.next(5000, true);
        QCOMPARE(r.status, 200);
        QCOMPARE(r.header("Content-Length"), QByteArray("5"));
        QCOMPARE(r.header("Connection"), QByteArray("close"));
        QVERIFY(head.closedWithin(3000));
        QVERIFY(head.buffer.isEmpty()); // no body after the head

        // A token or a body: the event loop's route answers.
        for (const QByteArray &request :
             {QByteArray("GET /front HTTP/1.1\r\nAuthorization: Bearer secret\r\n\r\n"),
              QByteArray("GET /front?token=secret HTTP/1.1\r\n\r\n"),
              QByteArray("GET /front HTTP/1.1\r\nContent-Length: 1\r\n\r\nx")}) {
            RawClient other(m_port);
            other.write(request);
            QCOMPARE(other.next().body, QByteArray("loop"));
        }
        // A front that declines has the event loop make the answer; the connection stays.
        m_frontAnswers = false;
        RawClient declined(m_port);
        declined.write("GET /front HTTP/1.1\r\n\r\n");
        QCOMPARE(declined.next().body, QByteArray("front, by way of the loop"));
        m_frontAnswers = true;
        declined.write("GET /front HTTP/1.1\r\n\r\n");
        QCOMPARE(declined.next().body, QByteArray("front"));

        // This thread (the event loop) blocked: the front route is answered meanwhile, the
        // event loop's route only once it runs again.
        const quint16 port = m_port;
        auto front = std::async(std::launch::async, [port] {
            return blockingRequest(port, "GET /front HTTP/1.1\r\n\r\n");
        });
        auto loop = std::async(std::launch::async, [port] {
            return blockingRequest(port, "GET /health HTTP/1.1\r\n\r\n");
        });
        std::this_thread::sleep_for(1500ms);
        QCOMPARE(front.wait_for(0s), std::future_status::ready);
        QCOMPARE(loop.wait_for(0s), std::future_status::timeout);
        QTRY_VERIFY(loop.wait_for(0s) == std::future_status::ready);
        QCOMPARE(front.get().response.body, QByteArray("front"));
        QCOMPARE(loop.get().response.status, 200);
        QCOMPARE(m_handled, 2); // /echo and the blocked /health
    }

    void webSockets()
    {
        start();
        QWebSocket refused;
        refused.open(QUrl(QString("ws://127.0.0.1:%1/ws").arg(m_port)));
        QTRY_COMPARE(refused.state(), QAbstractSocket::UnconnectedState);
        QTRY_COMPARE(m_server->connectionCount(), 0);

        QSignalSpy pending(m_server.get(), &HttpServer::newWebSocketConnection);
        QWebSocket ws;
        ws.open(QUrl(QString("ws://127.0.0.1:%1/ws?token=secret").arg(m_port)));
        QTRY_COMPARE(ws.state(), QAbstractSocket::ConnectedState);
        QTRY_COMPARE(pending.size(), 1);
        std::unique_ptr<QWebSocket> server = m_server->nextPendingWebSocketConnection();
        QVERIFY(server);
        QSignalSpy got(&ws, &QWebSocket::textMessageReceived);
        server->sendTextMessage("hello");
        QTRY_COMPARE(got.size(), 1);
        QCOMPARE(m_server->connectionCount(), 1);
        server->close();
        QTRY_COMPARE(ws.state(), QAbstractSocket::UnconnectedState);
        server.reset();
        QTRY_COMPARE(m_server->connectionCount(), 0);
    }
};

QTEST_GUILESS_MAIN(TestHttpFrontEnd)
#include "tst_httpfrontend.moc"
