// Input by URL: a job names its video by http(s) URL; the server fetches it into the content
// store (hash, size limit, timeout, content check) while the job's tasks wait, then hands them
// out; a fetch that fails fails the job with input_fetch_failed and a clear message.
#include "api/apiclient.h"

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QTcpServer>

using namespace farm;
using namespace farm::server;
using namespace farm::server::test;

namespace {

/// An HTTP origin on loopback: answers each path as the test set it up; a path set to
/// `silent` accepts the request and never answers.
class Origin : public QObject
{
public:
    struct Answer
    {
        int status = 200;
        QByteArray contentType = "video/mp4";
        QByteArray body;
        QByteArray location;
        bool silent = false;
        bool noLength = false; // body sent without Content-Length, ended by closing
    };
    QHash<QByteArray, Answer> answers;
    QList<QTcpSocket *> held;
    QByteArrayList requested;

    Origin()
    {
        server.listen(QHostAddress::LocalHost, 0);
        connect(&server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = server.nextPendingConnection()) {
                auto buffer = std::make_shared<QByteArray>();
                connect(socket, &QTcpSocket::readyRead, this, [this, socket, buffer] {
                    *buffer += socket->readAll();
                    if (!buffer->contains("\r\n\r\n"))
                        return;
                    const QByteArray path = buffer->split(' ').value(1);
                    requested.append(path);
                    answer(socket, answers.value(path, Answer{404, "text/plain", "no such file"}));
                });
            }
        });
    }
    QString url(const QString &path) const
    {
        return QString("http://127.0.0.1:%1%2").arg(server.serverPort()).arg(path);
    }

private:
    void answer(QTcpSocket *socket, const Answer &a)
    {
        if (a.silent) {
            held.append(socket); // connected, never a byte back
            return;
        }
        QByteArray head = "HTTP/1.1 " + QByteArray::number(a.status) + " Whatever\r\n";
        head += "Content-Type: " + a.contentType + "\r\nConnection: close\r\n";
        if (!a.location.isEmpty())
            head += "Location: " + a.location + "\r\n";
        if (!a.noLength)
            head += "Content-Length: " + QByteArray::number(a.body.size()) + "\r\n";
        socket->write(head + "\r\n" + a.body);
        socket->disconnectFromHost();
    }
    QTcpServer server;
};

/// What an MP4 starts with (an `ftyp` box), then filler: what the server's content check reads.
QByteArray mp4Like(int size)
{
    QByteArray b("\x00\x00\x00\x20"
                 "ftypisom\x00\x00\x02\x00isomiso2avc1mp41",
                 32);
    while (b.size() < size)
        b += char(b.size() * 7);
    return b;
}

QString sha256(const QByteArray &b)
{
    return QCryptographicHash::hash(b, QCryptographicHash::Sha256).toHex();
}

QJsonObject composeHello()
{
    QJsonObject h = nodeHello("vid-1");
    h.insert("engines", QJsonArray{QJsonObject{{"name", "compose"}, {"version", "1"}}});
    return h;
}

} // namespace

class TestUrlInput : public QObject
{
    Q_OBJECT

    std::unique_ptr<TestServer> ts;
    Origin origin;
    QString scenario;

    static ServerConfig config()
    {
        ServerConfig c;
        c.fetchTimeoutS = 2;         // a silent origin fails its job in 2 s here
        c.fetchMaxBytes = 64 * 1024; // a test-sized limit
        c.fetchAllow = {"http://127.0.0.1"};
        return c;
    }

    QJsonObject composeJob(const QString &url) const
    {
        const QJsonArray files{QJsonObject{{"path", "scenario.json"}, {"file", scenario}},
                               QJsonObject{{"path", "clip.mp4"}, {"url", url}}};
        return {{"name", "by url"},
                {"type", "compose"},
                {"input", QJsonObject{{"main", "scenario.json"}, {"files", files}}}};
    }

    qint64 submit(const QString &url)
    {
        const HttpResult r =
            ts->request("POST", "/api/v1/jobs", QJsonDocument(composeJob(url)).toJson());
        if (r.status != 201)
            qWarning() << r.status << r.body;
        return r.status == 201 ? r.json().value("id").toInteger() : 0;
    }

    QJsonObject waitFinished(qint64 id, int ms = 15000)
    {
        QElapsedTimer t;
        t.start();
        QJsonObject job;
        while (t.elapsed() < ms) {
            job = ts->get(QString("/api/v1/jobs/%1").arg(id)).json();
            if (job.value("state") == "failed" || job.value("state") == "completed")
                break;
            QTest::qWait(50);
        }
        return job;
    }

    QString failureOf(const QString &url)
    {
        const qint64 id = submit(url);
        if (!id)
            return "not accepted";
        const QJsonObject job = waitFinished(id);
        if (job.value("state") != "failed")
            return "state " + job.value("state").toString();
        return job.value("error").toString();
    }

private slots:
    void init()
    {
        ts = std::make_unique<TestServer>(config());
        scenario =
            ts->upload(R"({"version": "1.3", "cues": [{"start": 0, "end": 1, "text": "hi"}]})",
                       "scenario.json");
        QVERIFY(!scenario.isEmpty());
    }
    void cleanup() { ts.reset(); }

    void fetchesIntoTheStoreThenDispatches()
    {
        const QByteArray video = mp4Like(40000);
        origin.answers["/clip.mp4"] = {200, "video/mp4", video};
        origin.answers["/moved"] = {302, "text/plain", "", "/clip.mp4"};
        WsClient node;
        QVERIFY(node.open(ts->url("/ws/node").toString().replace("http", "ws")));
        node.send("hello", composeHello());
        QVERIFY(node.waitFor("welcome") >= 0);

        const HttpResult r = ts->request("POST", "/api/v1/jobs",
                                         QJsonDocument(composeJob(origin.url("/moved"))).toJson());
        QCOMPARE(r.status, 201); // accepted at once, before any byte is fetched
        const QJsonObject pending =
            r.json().value("input").toObject().value("files").toArray()[1].toObject();
        QCOMPARE(pending.value("url").toString(), origin.url("/moved"));
        QVERIFY(!pending.contains("file"));
        const qint64 id = r.json().value("id").toInteger();

        // The task goes out once the file is stored, naming it by its SHA-256.
        const int at = node.waitFor("task.assign");
        QVERIFY(at >= 0);
        QJsonObject clip;
        for (const QJsonValue f :
             node.received[at].data.value("input").toObject().value("files").toArray())
            if (f.toObject().value("path") == "clip.mp4")
                clip = f.toObject();
        QCOMPARE(clip.value("file").toString(), sha256(video));
        QFile stored(ts->dataDir() + "/files/" + sha256(video));
        QVERIFY(stored.open(QIODevice::ReadOnly));
        QCOMPARE(stored.readAll(), video);
        // The job keeps where the file came from beside its hash.
        const QJsonObject job = ts->get(QString("/api/v1/jobs/%1").arg(id)).json();
        const QJsonObject file =
            job.value("input").toObject().value("files").toArray()[1].toObject();
        QCOMPARE(file.value("file").toString(), sha256(video));
        QCOMPARE(file.value("url").toString(), origin.url("/moved"));
        QVERIFY(origin.requested.contains("/moved") && origin.requested.contains("/clip.mp4"));
        QDir uploads(ts->dataDir() + "/uploads");
        QCOMPARE(uploads.entryList({"fetch-*"}, QDir::Files).size(), 0); // no temporary left
    }

    void silentOriginTimesOutAndTheServerStaysResponsive()
    {
        origin.answers["/silent.mp4"] = Origin::Answer{};
        origin.answers["/silent.mp4"].silent = true;
        WsClient node;
        QVERIFY(node.open(ts->url("/ws/node").toString().replace("http", "ws")));
        node.send("hello", composeHello());
        QVERIFY(node.waitFor("welcome") >= 0);
        const qint64 id = submit(origin.url("/silent.mp4"));
        QVERIFY(id);
        // While the origin is silent: the server answers, explains the wait, dispatches nothing.
        QElapsedTimer t;
        t.start();
        QCOMPARE(ts->get("/health").status, 200);
        QVERIFY2(t.elapsed() < 1500, qPrintable(QString::number(t.elapsed())));
        const QString why = ts->get(QString("/api/v1/jobs/%1/explain").arg(id))
                                .json()
                                .value("reasons")
                                .toArray()
                                .first()
                                .toString();
        QVERIFY2(why.contains("fetching its input from " + origin.url("/silent.mp4")),
                 qPrintable(why));
        const QJsonObject job = waitFinished(id);
        QCOMPARE(job.value("state").toString(), QString("failed"));
        QCOMPARE(job.value("error").toString(),
                 "input_fetch_failed: input 'clip.mp4': " + origin.url("/silent.mp4") +
                     " did not answer within 2 s");
        for (const Envelope &e : node.received)
            QVERIFY(e.type != "task.assign");
        const QJsonArray tasks =
            ts->get(QString("/api/v1/jobs/%1/tasks").arg(id)).json().value("tasks").toArray();
        QCOMPARE(tasks.first().toObject().value("state").toString(), QString("canceled"));
    }

    // Canceling a job stops its fetch: the origin sees the connection closed.
    void cancelStopsTheFetch()
    {
        ServerConfig patient = config();
        patient.fetchTimeoutS = 60; // only the cancel can close the connection here
        ts = std::make_unique<TestServer>(patient);
        scenario =
            ts->upload(R"({"version": "1.3", "cues": [{"start": 0, "end": 1, "text": "hi"}]})",
                       "scenario.json");
        origin.answers["/held.mp4"] = Origin::Answer{};
        origin.answers["/held.mp4"].silent = true;
        origin.held.clear();
        const qint64 id = submit(origin.url("/held.mp4"));
        QVERIFY(id);
        QTRY_COMPARE_WITH_TIMEOUT(origin.held.size(), 1, 1500);
        QPointer<QTcpSocket> socket = origin.held.first();
        QCOMPARE(ts->request("POST", QString("/api/v1/jobs/%1/cancel").arg(id)).status, 200);
        QTRY_VERIFY_WITH_TIMEOUT(!socket || socket->state() == QAbstractSocket::UnconnectedState,
                                 1500);
        QCOMPARE(ts->get(QString("/api/v1/jobs/%1").arg(id)).json().value("state").toString(),
                 QString("canceled"));
    }

    void refusedConnectionFailsTheJob()
    {
        QTcpServer closed;
        QVERIFY(closed.listen(QHostAddress::LocalHost, 0));
        const quint16 port = closed.serverPort();
        closed.close();
        const QString url = QString("http://127.0.0.1:%1/clip.mp4").arg(port);
        QCOMPARE(failureOf(url),
                 "input_fetch_failed: input 'clip.mp4': " + url + " refused the connection");
    }

    void htmlPageIsNotAVideo()
    {
        origin.answers["/page"] = {200, "text/html; charset=utf-8",
                                   "<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
                                   "<body>please sign in</body></html>\n"};
        QCOMPARE(failureOf(origin.url("/page")),
                 "input_fetch_failed: input 'clip.mp4': " + origin.url("/page") +
                     " is an HTML page, not a video");
        QCOMPARE(failureOf(origin.url("/nothing-here")),
                 "input_fetch_failed: input 'clip.mp4': " + origin.url("/nothing-here") +
                     " answered 404 Whatever");
    }

    void overTheSizeLimit()
    {
        origin.answers["/big.mp4"] = {200, "video/mp4", mp4Like(200 * 1024)};
        QCOMPARE(failureOf(origin.url("/big.mp4")),
                 "input_fetch_failed: input 'clip.mp4': " + origin.url("/big.mp4") +
                     " is 200.0 KiB, over the 64.0 KiB limit");
        // Without a Content-Length the bytes are counted as they come.
        Origin::Answer streamed{200, "video/mp4", mp4Like(200 * 1024)};
        streamed.noLength = true;
        origin.answers["/stream.mp4"] = streamed;
        QCOMPARE(failureOf(origin.url("/stream.mp4")),
                 "input_fetch_failed: input 'clip.mp4': " + origin.url("/stream.mp4") +
                     " is over the 64.0 KiB limit (more than that was sent)");
        QDir uploads(ts->dataDir() + "/uploads");
        QCOMPARE(uploads.entryList({"fetch-*"}, QDir::Files).size(), 0);
    }

    void redirectOnlyToHttp()
    {
        origin.answers["/away"] = {302, "text/plain", "", "http://localhost:1/clip.mp4"};
        QCOMPARE(failureOf(origin.url("/away")),
                 "input_fetch_failed: input 'clip.mp4': " + origin.url("/away") +
                     " redirected to http://localhost:1/clip.mp4, a host this server does not "
                     "fetch from (--fetch-allow)");
        origin.answers["/to-ftp"] = {301, "text/plain", "", "ftp://127.0.0.1/clip.mp4"};
        const QString error = failureOf(origin.url("/to-ftp"));
        QVERIFY2(error.startsWith("input_fetch_failed: input 'clip.mp4': " + origin.url("/to-ftp") +
                                  " redirected to ftp://127.0.0.1/clip.mp4"),
                 qPrintable(error));
    }

    void badUrlsAreRefusedAtSubmit()
    {
        const auto refuse = [this](const QString &url) {
            const HttpResult r =
                ts->request("POST", "/api/v1/jobs", QJsonDocument(composeJob(url)).toJson());
            return QString("%1 %2").arg(r.status).arg(
                r.json().value("error").toObject().value("message").toString());
        };
        QCOMPARE(refuse("ftp://example.com/clip.mp4"),
                 "400 input.files[1].url is a ftp: URL; only http and https are fetched");
        QCOMPARE(refuse("http://user:secret@example.com/clip.mp4"),
                 "400 input.files[1].url holds a user name or password; credentials are not "
                 "accepted in input URLs");
        QCOMPARE(refuse("clip.mp4"), "400 input.files[1].url is not an absolute URL");
        // Only the hosts of --fetch-allow (the server's network is not the client's to read).
        QCOMPARE(refuse("http://10.1.2.3/clip.mp4"),
                 "400 input.files[1].url: http://10.1.2.3 is not a scheme and host this server "
                 "fetches from (allowed: http://127.0.0.1)");
        QVERIFY(refuse("http://example.com/" + QString(3000, 'a')).startsWith("400 "));
        // The main file is read at submit: it must be uploaded.
        QJsonObject job = composeJob(origin.url("/clip.mp4"));
        job.insert(
            "input",
            QJsonObject{{"main", "clip.json"},
                        {"files", QJsonArray{QJsonObject{{"path", "clip.json"},
                                                         {"url", origin.url("/clip.json")}}}}});
        const HttpResult r = ts->request("POST", "/api/v1/jobs", QJsonDocument(job).toJson());
        QCOMPARE(r.status, 400);
        QVERIFY2(r.json().value("error").toObject().value("message").toString().contains(
                     "is named by URL: upload the main file"),
                 r.body.constData());
    }

    // A server restarted while a job waits for its URL fetches it again.
    void resumesAfterARestart()
    {
        origin.answers["/late.mp4"] = Origin::Answer{};
        origin.answers["/late.mp4"].silent = true;
        const qint64 id = submit(origin.url("/late.mp4"));
        QVERIFY(id);
        const ServerConfig c = [this] {
            ServerConfig s = config();
            s.port = 0;
            s.dataDir = ts->dataDir();
            return s;
        }();
        ts->server.reset(); // the fetch is dropped with the server
        const QByteArray video = mp4Like(5000);
        origin.answers["/late.mp4"] = {200, "video/mp4", video};
        ts->server = std::make_unique<FarmServer>(c);
        QVERIFY(ts->server->start());
        QElapsedTimer t;
        t.start();
        QString file;
        while (t.elapsed() < 10000 && file.isEmpty()) {
            file = ts->get(QString("/api/v1/jobs/%1").arg(id))
                       .json()
                       .value("input")
                       .toObject()
                       .value("files")
                       .toArray()[1]
                       .toObject()
                       .value("file")
                       .toString();
            QTest::qWait(50);
        }
        QCOMPARE(file, sha256(video));
    }
};

QTEST_MAIN(TestUrlInput)
#include "tst_urlinput.moc"
