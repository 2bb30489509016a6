// Users, roles and job owners; trusted proxies and X-Forwarded-*; the base path; rate limits.
#include "api/apiclient.h"
#include "api/rawhttp.h"

#include "api/healthstate.h"
#include "scheduler/nodecredentials.h"
#include "store/accessstore.h"

#include <QProcess>
#include <QSqlQuery>

#include <chrono>
#include <future>
#include <thread>

using namespace farm;
using namespace farm::server;
using namespace farm::server::test;
using farm::test::RawClient;
using farm::test::RawResponse;
using namespace std::chrono_literals;

class TestAccess : public QObject
{
    Q_OBJECT

    static ServerConfig guarded()
    {
        ServerConfig c;
        c.token = "bootstrap-admin-token";
        c.joinToken = "join-token-for-nodes";
        c.trustLoopback = false;
        return c;
    }
    /// A request with `token` as bearer (the server's own bearer is restored after).
    static HttpResult as(TestServer &s, const QByteArray &token, const QByteArray &method,
                         const QString &path, const QJsonObject &body = {})
    {
        const QByteArray saved = std::exchange(s.bearer, token);
        HttpResult r = s.request(
            method, path,
            body.isEmpty() ? QByteArray() : QJsonDocument(body).toJson(QJsonDocument::Compact));
        s.bearer = saved;
        return r;
    }
    static QByteArray addUser(TestServer &s, const QString &name, const QString &role)
    {
        const HttpResult r = as(s, "bootstrap-admin-token", "POST", "/api/v1/users",
                                {{"name", name}, {"role", role}});
        if (r.status != 201)
            qWarning() << "user" << name << r.status << r.body;
        return r.json().value("token").toString().toUtf8();
    }
    /// One raw request from `from` (a loopback address of its own) with extra header lines.
    static RawResponse rawGet(quint16 port, const QHostAddress &from, const QString &path,
                              const QByteArray &headers = {})
    {
        RawClient c(port, from);
        c.write("GET " + path.toUtf8() + " HTTP/1.1\r\nHost: farm\r\n" + headers +
                "Connection: close\r\n\r\n");
        return c.next();
    }

private slots:
    void initTestCase() { FARM_REQUIRE_TEST_DATABASE(); } // SQLite, or PostgreSQL in _pg

    void usersRolesAndOwners()
    {
        TestServer s(guarded());
        s.bearer = "bootstrap-admin-token";
        const QString sha = s.upload("model bytes for the access test");
        QVERIFY(isSha256Hex(sha));

        const QByteArray alice = addUser(s, "alice", "user");
        const QByteArray bob = addUser(s, "bob", "user");
        const QByteArray root = addUser(s, "root", "admin");
        QVERIFY(!alice.isEmpty() && !bob.isEmpty() && !root.isEmpty());
        QVERIFY(alice != bob);

        // Who is who.
        auto r = as(s, alice, "GET", "/api/v1/me");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value("name").toString(), QString("alice"));
        QCOMPARE(r.json().value("role").toString(), QString("user"));
        QCOMPARE(as(s, "bootstrap-admin-token", "GET", "/api/v1/me").json().value("role"),
                 QJsonValue("admin"));
        QCOMPARE(as(s, {}, "GET", "/api/v1/me").status, 401);
        QCOMPARE(as(s, "not-a-token", "GET", "/api/v1/me").status, 401);
        // The join token lets nodes in, never clients.
        QCOMPARE(as(s, "join-token-for-nodes", "GET", "/api/v1/jobs").status, 401);

        // Users are managed by admins only.
        r = as(s, alice, "GET", "/api/v1/users");
        QCOMPARE(r.status, 403);
        QCOMPARE(r.errorCode(), QString("forbidden"));
        QCOMPARE(as(s, alice, "POST", "/api/v1/users", {{"name", "mallory"}}).status, 403);
        r = as(s, root, "GET", "/api/v1/users");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value("users").toArray().size(), 3);
        QVERIFY(!r.body.contains(alice)); // tokens are shown once, at creation
        // Bad input changes nothing.
        for (const QJsonObject &bad :
             {QJsonObject{{"name", "alice"}}, QJsonObject{{"name", "admin"}},
              QJsonObject{{"name", "x y"}}, QJsonObject{{"name", "carol"}, {"role", "boss"}},
              QJsonObject{{"name", "carol"}, {"colour", "red"}}, QJsonObject{}}) {
            r = as(s, root, "POST", "/api/v1/users", bad);
            QVERIFY2(r.status == 400 || r.status == 409, r.body.constData());
            QVERIFY(!r.errorCode().isEmpty());
        }
        QCOMPARE(s.server->access().users().size(), 3);

        // Stored hashed: the table holds the SHA-256 of the token, never the token.
        QSqlQuery q(s.store().database());
        QVERIFY(q.exec("SELECT token_hash FROM users WHERE name = 'alice'") && q.next());
        QCOMPARE(q.value(0).toByteArray(), credentials::hashSecret(alice));
        QVERIFY(q.value(0).toByteArray() != alice);

        // Jobs carry their owner.
        r = as(s, alice, "POST", "/api/v1/jobs", jobBody(sha));
        QCOMPARE(r.status, 201);
        const qint64 aliceJob = r.json().value("id").toInteger();
        QCOMPARE(r.json().value("owner").toString(), QString("alice"));
        r = as(s, bob, "POST", "/api/v1/jobs", jobBody(sha));
        const qint64 bobJob = r.json().value("id").toInteger();
        QCOMPARE(r.json().value("owner").toString(), QString("bob"));
        r = as(s, "bootstrap-admin-token", "POST", "/api/v1/jobs", jobBody(sha));
        QCOMPARE(r.json().value("owner").toString(), QString("admin"));

        // Everyone reads the queue; only the owner or an admin changes a job.
        QCOMPARE(as(s, bob, "GET", QString("/api/v1/jobs/%1").arg(aliceJob)).status, 200);
        QCOMPARE(as(s, bob, "GET", QString("/api/v1/jobs/%1/tasks").arg(aliceJob)).status, 200);
        for (const char *action : {"pause", "cancel", "retry"}) {
            r = as(s, bob, "POST", QString("/api/v1/jobs/%1/%2").arg(aliceJob).arg(action));
            QCOMPARE(r.status, 403);
            QCOMPARE(r.errorCode(), QString("forbidden"));
            QVERIFY2(
                r.json().value("error").toObject().value("message").toString().contains("alice"),
                r.body.constData());
        }
        QCOMPARE(as(s, bob, "DELETE", QString("/api/v1/jobs/%1").arg(aliceJob)).status, 403);
        // The later job and task actions go through the same check.
        r = as(s, bob, "POST", QString("/api/v1/jobs/%1/priority").arg(aliceJob),
               {{"priority", 99}});
        QCOMPARE(r.status, 403);
        QCOMPARE(r.errorCode(), QString("forbidden"));
        QCOMPARE(as(s, bob, "POST", QString("/api/v1/jobs/%1/rerun").arg(aliceJob)).status, 403);
        const qint64 aliceTask = s.store().tasksOfJob(aliceJob).first().task.id;
        QCOMPARE(as(s, bob, "POST", QString("/api/v1/tasks/%1/requeue").arg(aliceTask)).status,
                 403);
        QCOMPARE(s.store().job(aliceJob)->spec.priority, 50);
        QCOMPARE(as(s, alice, "POST", QString("/api/v1/jobs/%1/priority").arg(aliceJob),
                    {{"priority", 60}})
                     .status,
                 200);
        QVERIFY(s.store().job(aliceJob)->state == JobState::Queued); // nothing changed
        r = as(s, alice, "POST", QString("/api/v1/jobs/%1/pause").arg(aliceJob));
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value("state").toString(), QString("paused"));
        // Admins act on every job: a user with the admin role and the bootstrap token.
        QCOMPARE(as(s, root, "POST", QString("/api/v1/jobs/%1/cancel").arg(aliceJob)).status, 200);
        QCOMPARE(
            as(s, "bootstrap-admin-token", "POST", QString("/api/v1/jobs/%1/cancel").arg(bobJob))
                .status,
            200);
        QCOMPARE(as(s, alice, "DELETE", QString("/api/v1/jobs/%1").arg(aliceJob)).status, 204);
        // Node administration is an admin's.
        QCOMPARE(as(s, alice, "POST", "/api/v1/nodes/1/drain").status, 403);

        // A removed user's token stops working at once; their jobs keep their name.
        QCOMPARE(as(s, root, "DELETE", "/api/v1/users/bob").status, 204);
        QCOMPARE(as(s, root, "DELETE", "/api/v1/users/bob").status, 404);
        QCOMPARE(as(s, bob, "GET", "/api/v1/jobs").status, 401);
        QCOMPARE(s.store().job(bobJob)->owner, QString("bob"));
    }

    // With trusted loopback (the default), a token still names who calls.
    void loopbackTrustAndUserTokens()
    {
        TestServer s; // loopback trusted, no tokens configured
        QCOMPARE(s.get("/api/v1/me").json().value("name").toString(), QString("local"));
        const HttpResult created = s.post("/api/v1/users", {{"name", "dana"}});
        QCOMPARE(created.status, 201);
        const QByteArray dana = created.json().value("token").toString().toUtf8();
        QCOMPARE(as(s, dana, "GET", "/api/v1/me").json().value("name").toString(), QString("dana"));
        QCOMPARE(as(s, dana, "GET", "/api/v1/users").status, 403);
    }

    void trustedAndUntrustedProxies()
    {
        ServerConfig c = guarded();
        c.trustedProxies = {{QHostAddress("127.0.0.2"), 32}};
        c.trustLoopback = true; // asked for, but a configured proxy turns it off
        TestServer s(c);
        const quint16 port = s.server->port();
        const QByteArray auth = "Authorization: Bearer bootstrap-admin-token\r\n";
        const QByteArray forwarded =
            "X-Forwarded-For: 198.51.100.1, 203.0.113.7\r\nX-Forwarded-Proto: https\r\n";

        // From the trusted proxy: the right-most address it did not add is the client.
        RawResponse r = rawGet(port, QHostAddress("127.0.0.2"), "/api/v1/me", auth + forwarded);
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value("address").toString(), QString("203.0.113.7"));
        QCOMPARE(r.json().value("scheme").toString(), QString("https"));
        // Upload quotas are the forwarded client's, not the proxy's.
        r = rawGet(port, QHostAddress("127.0.0.2"), "/api/v1/uploads", auth + forwarded);
        QCOMPARE(r.json().value("client").toString(), QString("203.0.113.7"));
        r = rawGet(port, QHostAddress("127.0.0.3"), "/api/v1/uploads", auth + forwarded);
        QCOMPARE(r.json().value("client").toString(), QString("127.0.0.3"));
        // A chain through a second trusted hop skips it.
        r = rawGet(port, QHostAddress("127.0.0.2"), "/api/v1/me",
                   auth + "X-Forwarded-For: 203.0.113.9, 127.0.0.2\r\n");
        QCOMPARE(r.json().value("address").toString(), QString("203.0.113.9"));
        // From any other peer the headers are ignored.
        r = rawGet(port, QHostAddress("127.0.0.3"), "/api/v1/me", auth + forwarded);
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value("address").toString(), QString("127.0.0.3"));
        QCOMPARE(r.json().value("scheme").toString(), QString("http"));
        // Loopback is not trusted once a proxy is configured: no token, no entry, whatever
        // the forwarded address claims.
        QCOMPARE(rawGet(port, QHostAddress("127.0.0.1"), "/api/v1/jobs").status, 401);
        QCOMPARE(rawGet(port, QHostAddress("127.0.0.2"), "/api/v1/jobs",
                        "X-Forwarded-For: 127.0.0.1\r\n")
                     .status,
                 401);
        // Garbage in the header: the proxy itself is the client.
        r = rawGet(port, QHostAddress("127.0.0.2"), "/api/v1/me",
                   auth + "X-Forwarded-For: not-an-address\r\nX-Forwarded-Proto: gopher\r\n");
        QCOMPARE(r.json().value("address").toString(), QString("127.0.0.2"));
        QCOMPARE(r.json().value("scheme").toString(), QString("http"));
    }

    void trustedProxiesFromTheCommandLine()
    {
        auto c = ServerConfig::fromArguments(
            {"farm-server", "--trusted-proxies", "127.0.0.2, 10.0.0.0/8", "--base-path", "/farm/"});
        QVERIFY(c);
        QCOMPARE(c->trustedProxies.size(), 2);
        QVERIFY(!c->trustLoopback);
        QCOMPARE(c->basePath, QString("/farm"));
        QVERIFY(!ServerConfig::fromArguments({"farm-server", "--trusted-proxies", "proxy.lan"}));
        QVERIFY(!ServerConfig::fromArguments({"farm-server", "--base-path", "farm"}));
        QVERIFY(!ServerConfig::fromArguments({"farm-server", "--base-path", "/a/../b"}));
        QVERIFY(!ServerConfig::fromArguments({"farm-server", "--rate-limit", "-1"}));
    }

    void rateLimitPerToken()
    {
        ServerConfig c = guarded();
        c.rateLimit = 0.05; // one request every 20 s after the burst: no refill during the test
        c.rateBurst = 3;
        c.trustedProxies = {{QHostAddress("127.0.0.2"), 32}};
        TestServer s(c);
        s.bearer = "bootstrap-admin-token";
        for (int i = 0; i < 3; ++i)
            QCOMPARE(s.get("/api/v1/status").status, 200);
        const RawResponse limited = rawGet(s.server->port(), {}, "/api/v1/status",
                                           "Authorization: Bearer bootstrap-admin-token\r\n");
        QCOMPARE(limited.status, 429);
        QCOMPARE(limited.code(), QString("rate_limited"));
        QVERIFY(limited.header("retry-after").toInt() >= 1);
        QVERIFY(limited.header("retry-after").toInt() <= 20);
        // Another token has its own bucket.
        (void)s.server->access().insertUser("erin", "user", credentials::hashSecret("erin-token"),
                                            QDateTime::currentDateTimeUtc());
        QCOMPARE(as(s, "erin-token", "GET", "/api/v1/me").status, 200);
        // Without a token the client address is the key: behind the trusted proxy, each
        // forwarded client has its own bucket; an untrusted peer's header changes nothing.
        for (int i = 0; i < 3; ++i)
            QCOMPARE(rawGet(s.server->port(), QHostAddress("127.0.0.2"), "/health",
                            "X-Forwarded-For: 203.0.113.1\r\n")
                         .status,
                     200);
        QCOMPARE(rawGet(s.server->port(), QHostAddress("127.0.0.2"), "/health",
                        "X-Forwarded-For: 203.0.113.1\r\n")
                     .status,
                 429);
        QCOMPARE(rawGet(s.server->port(), QHostAddress("127.0.0.2"), "/health",
                        "X-Forwarded-For: 203.0.113.2\r\n")
                     .status,
                 200);
        for (int i = 0; i < 3; ++i)
            rawGet(s.server->port(), QHostAddress("127.0.0.3"), "/health",
                   "X-Forwarded-For: 203.0.113.3\r\n");
        QCOMPARE(rawGet(s.server->port(), QHostAddress("127.0.0.3"), "/health",
                        "X-Forwarded-For: 203.0.113.4\r\n")
                     .status,
                 429);
    }

    // farmctl users: an admin adds, lists and removes users; the token is printed once.
    void farmctlUsers()
    {
        const QString farmctl = qEnvironmentVariable("FARM_BUILD_DIR") + "/shared/farmctl/farmctl";
        QVERIFY2(QFile::exists(farmctl), "farmctl not built (FARM_BUILD_DIR)");
        TestServer s(guarded());
        struct Run
        {
            int code = -1;
            QString out, err;
        };
        auto run = [&](const QString &token, const QStringList &args) {
            QProcess p;
            p.start(farmctl,
                    QStringList{"--server", s.url("").toString(), "--token", token} + args);
            // The server runs in this process: keep its event loop turning meanwhile.
            for (int i = 0; i < 1500 && p.state() != QProcess::NotRunning; ++i)
                QTest::qWait(20);
            return Run{p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
                       QString::fromUtf8(p.readAllStandardOutput()),
                       QString::fromUtf8(p.readAllStandardError())};
        };
        const QString admin = "bootstrap-admin-token";
        Run r = run(admin, {"users", "add", "carol"});
        QCOMPARE(r.code, 0);
        const QString token = r.out.trimmed();
        QCOMPARE(token.size(), 43);
        QVERIFY(r.err.contains("shown this once"));
        QCOMPARE(as(s, token.toUtf8(), "GET", "/api/v1/me").json().value("name").toString(),
                 QString("carol"));
        QCOMPARE(run(admin, {"users", "add", "dave", "--role", "admin"}).code, 0);
        r = run(admin, {"users"});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains("carol") && r.out.contains("dave") && r.out.contains("admin"));
        QVERIFY(!r.out.contains(token));
        r = run(token, {"users", "list"}); // carol is no admin
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("only an admin"), qPrintable(r.err));
        QCOMPARE(run(admin, {"users", "add", "eve", "--role", "root"}).code, 64);
        QCOMPARE(run(admin, {"users", "add", "carol"}).code, 1); // exists
        QCOMPARE(run(admin, {"users", "remove", "carol"}).code, 0);
        QCOMPARE(as(s, token.toUtf8(), "GET", "/api/v1/me").status, 401);
        QVERIFY(!run(admin, {"users"}).out.contains("carol"));
    }

    void healthChecksDatabaseAndDisk()
    {
        {
            TestServer s(guarded());
            const HttpResult r = s.get("/health"); // no token: orchestrators ask without one
            QCOMPARE(r.status, 200);
            QCOMPARE(r.json().value("status").toString(), QString("ok"));
            QCOMPARE(r.json().value("checks").toObject().value("database").toString(),
                     QString("ok"));
            QVERIFY(r.json()
                        .value("checks")
                        .toObject()
                        .value("disk")
                        .toObject()
                        .value("free_bytes")
                        .toInteger() > 0);
            // With the event loop busy (this thread blocked), GET /health is answered from the
            // read just made, off the event loop...
            const quint16 port = s.server->port();
            const QByteArray probe = "GET /health HTTP/1.1\r\nHost: farm\r\n\r\n";
            auto busy = std::async(std::launch::async, [port, probe] {
                return farm::test::blockingRequest(port, probe);
            });
            std::this_thread::sleep_for(1500ms);
            QCOMPARE(busy.wait_for(0s), std::future_status::ready);
            const RawResponse fromFront = busy.get().response;
            QCOMPARE(fromFront.status, 200);
            QCOMPARE(fromFront.json().value("checks").toObject().value("database").toString(),
                     QString("ok"));
            // ... but not once the event loop has not turned for longer than a read stays
            // fresh: that probe waits for the event loop, as every probe did before.
            const auto freshMs = std::chrono::milliseconds(HealthState::kFreshMs);
            auto stale = std::async(std::launch::async, [port, probe, freshMs] {
                std::this_thread::sleep_for(freshMs + 300ms);
                return farm::test::blockingRequest(port, probe);
            });
            std::this_thread::sleep_for(freshMs + 1000ms);
            QCOMPARE(stale.wait_for(0s), std::future_status::timeout);
            QTRY_VERIFY(stale.wait_for(0s) == std::future_status::ready);
            QCOMPARE(stale.get().response.status, 200);
            // The database goes away under the server: shown at once, never from the front.
            s.store().close();
            auto closed = std::async(std::launch::async, [port, probe] {
                return farm::test::blockingRequest(port, probe);
            });
            std::this_thread::sleep_for(500ms);
            QCOMPARE(closed.wait_for(0s), std::future_status::timeout);
            QTRY_VERIFY(closed.wait_for(0s) == std::future_status::ready);
            QCOMPARE(closed.get().response.status, 503);
            const HttpResult down = s.get("/health");
            QCOMPARE(down.status, 503);
            QCOMPARE(down.json().value("status").toString(), QString("unavailable"));
            QVERIFY2(down.json().value("reason").toString().startsWith("database:"),
                     down.body.constData());
        }
        ServerConfig c = guarded();
        c.minFreeDiskMb = qint64(1) << 40; // an exbibyte: no disk here has it free
        TestServer s(c);
        const HttpResult r = s.get("/health");
        QCOMPARE(r.status, 503);
        QVERIFY2(r.json().value("reason").toString().contains("--min-free-disk"),
                 r.body.constData());
        QVERIFY(!r.json().value("reason").toString().contains("database"));
    }

    void basePath()
    {
        ServerConfig c = guarded();
        c.basePath = "/farm";
        TestServer s(c);
        const quint16 port = s.server->port();
        RawResponse r = rawGet(port, {}, "/farm");
        QCOMPARE(r.status, 308);
        QCOMPARE(r.header("location"), QByteArray("/farm/"));
        r = rawGet(port, {}, "/farm/");
        QCOMPARE(r.status, 200);
        QVERIFY(r.header("content-type").startsWith("text/html"));
        // The page names its files relative to itself, so they load under the prefix.
        QVERIFY(!r.body.contains("href=\"/") && !r.body.contains("src=\"/"));
        QVERIFY(r.body.contains("src=\"js/app.js\""));
        QCOMPARE(rawGet(port, {}, "/farm/js/app.js").status, 200);
        QCOMPARE(rawGet(port, {}, "/farm/css/app.css").status, 200);
        const QByteArray auth = "Authorization: Bearer bootstrap-admin-token\r\n";
        QCOMPARE(rawGet(port, {}, "/farm/api/v1/status", auth).status, 200);
        QCOMPARE(rawGet(port, {}, "/api/v1/status", auth).status, 200); // direct, unprefixed
        QCOMPARE(rawGet(port, {}, "/farmer/api/v1/status", auth).status, 404);
        // The scripts never name an absolute API path (it would miss the prefix).
        for (const QString &name : QDir(":/web/js").entryList({"*.js"})) {
            QFile f(":/web/js/" + name);
            QVERIFY(f.open(QIODevice::ReadOnly));
            const QByteArray js = f.readAll();
            static const QRegularExpression absolute(
                QStringLiteral("(fetch|\\.open|WebSocket)\\((\\s*'[A-Z]+',)?\\s*['`]/(api|ws)/"));
            QVERIFY2(!absolute.match(QString::fromUtf8(js)).hasMatch(), qPrintable(name));
        }
    }
};

QTEST_MAIN(TestAccess)
#include "tst_access.moc"
