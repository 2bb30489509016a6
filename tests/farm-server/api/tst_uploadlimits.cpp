// Upload creates are limited per client and in total, and each chunk may carry its SHA-256:
// a real FarmServer on loopback, a second client from another loopback address, and the C++
// Uploader of farmctl/farm-gui against the same server.
#include "apiclient.h"
#include "client/uploader.h"
#include "files/filestore.h"

#include <QFileInfo>
#include <QHostAddress>

using namespace farm::server;
using namespace farm::server::test;

namespace {

QString sha(const QByteArray &data)
{
    return QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex();
}

QByteArray pattern(qint64 size, int seed)
{
    QByteArray data(size, Qt::Uninitialized);
    for (qint64 i = 0; i < size; ++i)
        data[i] = char((i * 131 + seed * 7 + (i >> 11)) & 0xff);
    return data;
}

QJsonObject createBody(qint64 size, int seed, const QString &name = "part.bin")
{
    return {{"name", name}, {"size", size}, {"sha256", QString(sha(pattern(8, seed)))}};
}

} // namespace

class TestUploadLimits : public QObject
{
    Q_OBJECT
private:
    std::unique_ptr<TestServer> s;

    void setLimits(const std::function<void(UploadLimits &)> &change)
    {
        UploadLimits l;
        change(l);
        s->server->files().setUploadLimits(l);
    }

    /// One HTTP request from another loopback address (127.0.0.2): another client to the server.
    HttpResult requestFrom(const QString &source, const QByteArray &method, const QString &path,
                           const QByteArray &body = {})
    {
        QTcpSocket raw;
        if (!raw.bind(QHostAddress(source)))
            qFatal("cannot bind %s", qPrintable(source));
        raw.connectToHost(QHostAddress::LocalHost, s->server->port());
        for (int i = 0; i < 500 && raw.state() != QAbstractSocket::ConnectedState; ++i)
            QTest::qWait(10); // the server runs on this thread: never block it
        raw.write(method + ' ' + path.toUtf8() +
                  " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                  QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
        QByteArray answer;
        HttpResult r;
        for (int i = 0; i < 1000; ++i) {
            answer += raw.readAll();
            const qsizetype end = answer.indexOf("\r\n\r\n");
            if (end > 0) {
                const QByteArray head = answer.left(end).toLower();
                const qsizetype cl = head.indexOf("content-length:");
                const qint64 length = cl < 0 ? 0
                                             : head.mid(cl + 15, head.indexOf("\r\n", cl) - cl - 15)
                                                   .trimmed()
                                                   .toLongLong();
                if (answer.size() >= end + 4 + length) {
                    r.status = answer.mid(9, 3).toInt();
                    r.body = answer.mid(end + 4, length);
                    return r;
                }
            }
            QTest::qWait(10);
        }
        return r;
    }

    HttpResult putChunk(const QString &id, int index, const QByteArray &data,
                        const QByteArray &checksum)
    {
        QNetworkRequest req(s->url(QString("/api/v1/uploads/%1/chunks/%2").arg(id).arg(index)));
        req.setHeader(QNetworkRequest::ContentTypeHeader, "application/octet-stream");
        if (!checksum.isNull())
            req.setRawHeader(FileStore::kChunkChecksumHeader, checksum);
        QNetworkReply *reply = s->net.sendCustomRequest(req, "PUT", data);
        QSignalSpy finished(reply, &QNetworkReply::finished);
        finished.wait(20000);
        HttpResult r;
        r.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        r.body = reply->readAll();
        reply->deleteLater();
        return r;
    }

    static QString message(const HttpResult &r)
    {
        return r.json().value("error").toObject().value("message").toString();
    }

private slots:
    void init() { s = std::make_unique<TestServer>(); }
    void cleanup() { s.reset(); }

    void clientKey_data()
    {
        QTest::addColumn<QString>("peer");
        QTest::addColumn<QString>("key");
        QTest::newRow("IPv4") << "192.168.1.20"
                              << "192.168.1.20";
        QTest::newRow("IPv4-mapped IPv6") << "::ffff:10.0.0.5"
                                          << "10.0.0.5";
        QTest::newRow("IPv6 host in its /64") << "2001:db8:1:2:aaaa:bbbb:cccc:dddd"
                                              << "2001:db8:1:2::/64";
        QTest::newRow("another host of the same /64") << "2001:db8:1:2::7"
                                                      << "2001:db8:1:2::/64";
    }
    void clientKey()
    {
        QFETCH(QString, peer);
        QFETCH(QString, key);
        QCOMPARE(FileStore::clientKey(QHostAddress(peer)), key);
    }

    void perClientCountIsLimited()
    {
        setLimits([](UploadLimits &l) { l.perClientCount = 3; });
        QStringList ids;
        for (int i = 0; i < 3; ++i) {
            const auto r = s->post("/api/v1/uploads", createBody(100, i));
            QCOMPARE(r.status, 201);
            ids.append(r.json().value("id").toString());
        }
        const auto refused = s->post("/api/v1/uploads", createBody(100, 3));
        QCOMPARE(refused.status, 429);
        QCOMPARE(refused.errorCode(), QString("too_many_uploads"));
        QVERIFY2(message(refused).contains("127.0.0.1 already holds 3 open uploads") &&
                     message(refused).contains("DELETE /api/v1/uploads/{id}"),
                 qPrintable(message(refused)));
        // Another client (another address) is not held up by this one.
        const auto other = requestFrom("127.0.0.2", "POST", "/api/v1/uploads",
                                       QJsonDocument(createBody(100, 3)).toJson());
        QCOMPARE(other.status, 201);
        // GET /api/v1/uploads lists the caller's own uploads and the limits.
        const auto mine = s->get("/api/v1/uploads").json();
        QCOMPARE(mine.value("client").toString(), QString("127.0.0.1"));
        QStringList listed;
        for (const QJsonValue &v : mine.value("uploads").toArray())
            listed.append(v.toObject().value("id").toString());
        QCOMPARE(listed.size(), 3);
        for (const QString &id : ids)
            QVERIFY(listed.contains(id));
        QCOMPARE(mine.value("limits").toObject().value("per_client_count").toInt(), 3);
        const auto theirs = requestFrom("127.0.0.2", "GET", "/api/v1/uploads").json();
        QCOMPARE(theirs.value("uploads").toArray().size(), 1);
    }

    void reservedBytesAreLimited()
    {
        setLimits([](UploadLimits &l) {
            l.perClientBytes = 1000;
            l.totalBytes = 1500;
        });
        QCOMPARE(s->post("/api/v1/uploads", createBody(600, 1)).status, 201);
        auto r = s->post("/api/v1/uploads", createBody(401, 2));
        QCOMPARE(r.status, 429);
        QCOMPARE(r.errorCode(), QString("too_many_uploads"));
        QVERIFY2(message(r).contains("reserve 600 bytes; 401 more would pass the 1000 bytes"),
                 qPrintable(message(r)));
        QCOMPARE(s->post("/api/v1/uploads", createBody(400, 2)).status, 201); // exactly 1000
        // The server-wide total: 1000 reserved, 600 more from another client pass 1500.
        r = requestFrom("127.0.0.2", "POST", "/api/v1/uploads",
                        QJsonDocument(createBody(600, 3)).toJson());
        QCOMPARE(r.status, 507);
        QCOMPARE(r.errorCode(), QString("insufficient_storage"));
        QVERIFY2(message(r).contains("open uploads reserve 1000 bytes; 600 more would pass the "
                                     "server's 1500 bytes"),
                 qPrintable(message(r)));
        QCOMPARE(requestFrom("127.0.0.2", "POST", "/api/v1/uploads",
                             QJsonDocument(createBody(500, 3)).toJson())
                     .status,
                 201);
    }

    void totalCountIsLimited()
    {
        setLimits([](UploadLimits &l) { l.totalCount = 2; });
        QCOMPARE(s->post("/api/v1/uploads", createBody(10, 1)).status, 201);
        QCOMPARE(requestFrom("127.0.0.2", "POST", "/api/v1/uploads",
                             QJsonDocument(createBody(10, 2)).toJson())
                     .status,
                 201);
        const auto r = requestFrom("127.0.0.3", "POST", "/api/v1/uploads",
                                   QJsonDocument(createBody(10, 3)).toJson());
        QCOMPARE(r.status, 507);
        QCOMPARE(r.errorCode(), QString("insufficient_storage"));
        QVERIFY2(message(r).contains("the server holds 2 open uploads"), qPrintable(message(r)));
    }

    void diskFreeSpaceIsRespected()
    {
        const qint64 free = FileStore::freeDiskBytes(s->dataDir());
        QVERIFY(free > 0);
        // A margin bigger than the disk's free space: no byte may be reserved.
        setLimits([free](UploadLimits &l) { l.diskMargin = free + 1024LL * 1024 * 1024 * 1024; });
        const auto r = s->post("/api/v1/uploads", createBody(100, 1));
        QCOMPARE(r.status, 507);
        QCOMPARE(r.errorCode(), QString("insufficient_storage"));
        QVERIFY2(message(r).contains("the data dir's disk has"), qPrintable(message(r)));
        setLimits([](UploadLimits &) {});
        QCOMPARE(s->post("/api/v1/uploads", createBody(100, 1)).status, 201);
    }

    void completingAndDeletingFreeRoom()
    {
        setLimits([](UploadLimits &l) {
            l.perClientCount = 2;
            l.perClientBytes = 2000;
        });
        const QByteArray data = pattern(1000, 42);
        auto a = s->post("/api/v1/uploads",
                         {{"name", "a.bin"}, {"size", data.size()}, {"sha256", sha(data)}});
        QCOMPARE(a.status, 201);
        auto b = s->post("/api/v1/uploads", createBody(1000, 2));
        QCOMPARE(b.status, 201);
        QCOMPARE(s->post("/api/v1/uploads", createBody(10, 3)).status, 429);

        // Deleting frees the slot and the bytes, and removes the .part file.
        const QString bId = b.json().value("id").toString();
        const QString bPart = s->dataDir() + "/uploads/" + bId + ".part";
        QVERIFY(QFile::exists(bPart));
        QCOMPARE(s->request("DELETE", "/api/v1/uploads/" + bId).status, 204);
        QVERIFY(!QFile::exists(bPart));
        QCOMPARE(s->get("/api/v1/uploads/" + bId).status, 404);
        QCOMPARE(s->request("DELETE", "/api/v1/uploads/" + bId).status, 404);
        auto c = s->post("/api/v1/uploads", createBody(1000, 3));
        QCOMPARE(c.status, 201);
        QCOMPARE(s->post("/api/v1/uploads", createBody(10, 4)).status, 429);

        // Completing frees them too.
        const QString aId = a.json().value("id").toString();
        QCOMPARE(putChunk(aId, 0, data, sha(data).toLatin1()).status, 200);
        const auto done = s->request("POST", "/api/v1/uploads/" + aId + "/complete");
        QCOMPARE(done.status, 200);
        QCOMPARE(done.json().value("file").toString(), sha(data));
        QCOMPARE(s->post("/api/v1/uploads", createBody(1000, 4)).status, 201);
    }

    void sameFileResumesTheOpenUpload()
    {
        setLimits([](UploadLimits &l) { l.perClientCount = 1; });
        const QByteArray data = pattern(FileStore::kChunkSize + 10, 5);
        const QJsonObject body{{"name", "big.bin"}, {"size", data.size()}, {"sha256", sha(data)}};
        auto first = s->post("/api/v1/uploads", body);
        QCOMPARE(first.status, 201);
        const QString id = first.json().value("id").toString();
        const QByteArray tail = data.mid(FileStore::kChunkSize);
        QCOMPARE(putChunk(id, 1, tail, sha(tail).toLatin1()).status, 200);
        // A retried or restarted client asks again: the same session, no second reservation.
        auto again = s->post("/api/v1/uploads", body);
        QCOMPARE(again.status, 200);
        QCOMPARE(again.json().value("id").toString(), id);
        QCOMPARE(again.json().value("received").toArray(), QJsonArray{1});
        // Another client asking for the same bytes gets a session of its own.
        const auto other =
            requestFrom("127.0.0.2", "POST", "/api/v1/uploads", QJsonDocument(body).toJson());
        QCOMPARE(other.status, 201);
        QVERIFY(other.json().value("id").toString() != id);
    }

    void partFileGrowsWithTheChunks()
    {
        const QByteArray data = pattern(FileStore::kChunkSize + 10, 6);
        const auto r = s->post("/api/v1/uploads",
                               {{"name", "big.bin"}, {"size", data.size()}, {"sha256", sha(data)}});
        const QString id = r.json().value("id").toString();
        const QString part = s->dataDir() + "/uploads/" + id + ".part";
        QCOMPARE(QFileInfo(part).size(), 0); // nothing reserved on disk up front
        const QByteArray tail = data.mid(FileStore::kChunkSize);
        QCOMPARE(putChunk(id, 1, tail, {}).status, 200); // the checksum is optional
        QCOMPARE(QFileInfo(part).size(), data.size());
        QCOMPARE(s->request("POST", "/api/v1/uploads/" + id + "/complete").errorCode(),
                 QString("incomplete"));
        const QByteArray head = data.left(FileStore::kChunkSize);
        QCOMPARE(putChunk(id, 0, head, sha(head).toLatin1()).status, 200);
        QCOMPARE(s->request("POST", "/api/v1/uploads/" + id + "/complete").status, 200);
        QVERIFY(s->get("/api/v1/files/" + sha(data)).body == data);
    }

    void wrongChunkChecksumIsRefusedByNumber()
    {
        const QByteArray data = pattern(2 * FileStore::kChunkSize + 333, 7); // 3 chunks
        const auto created =
            s->post("/api/v1/uploads",
                    {{"name", "three.bin"}, {"size", data.size()}, {"sha256", sha(data)}});
        QCOMPARE(created.status, 201);
        const QString id = created.json().value("id").toString();
        auto chunk = [&](int n) {
            return data.mid(n * FileStore::kChunkSize, FileStore::kChunkSize);
        };

        // Chunk 2 damaged on the way: its bytes no longer match the hash the client sent.
        QByteArray damaged = chunk(2);
        damaged[100] = char(damaged[100] ^ 1);
        const QString said = sha(chunk(2));
        auto r = putChunk(id, 2, damaged, said.toLatin1());
        QCOMPARE(r.status, 400);
        QCOMPARE(r.errorCode(), QString("chunk_checksum"));
        QVERIFY2(message(r).contains(QString("chunk 2 of upload %1 has SHA-256 %2, the client said "
                                             "%3; send it again")
                                         .arg(id, sha(damaged), said)),
                 qPrintable(message(r)));
        QCOMPARE(s->get("/api/v1/uploads/" + id).json().value("received").toArray(), QJsonArray{});
        // Not a hash at all.
        r = putChunk(id, 2, chunk(2), "xyz");
        QCOMPARE(r.status, 400);
        QCOMPARE(r.errorCode(), QString("invalid_field"));
        QVERIFY2(message(r).contains(FileStore::kChunkChecksumHeader), qPrintable(message(r)));

        // Sent again intact (upper-case hex is fine), and the rest: the upload completes.
        r = putChunk(id, 2, chunk(2), said.toUpper().toLatin1());
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value("received").toArray(), QJsonArray{2});
        for (int n : {0, 1})
            QCOMPARE(putChunk(id, n, chunk(n), sha(chunk(n)).toLatin1()).status, 200);
        r = s->request("POST", "/api/v1/uploads/" + id + "/complete");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value("file").toString(), sha(data));
        QCOMPARE(sha(s->get("/api/v1/files/" + sha(data)).body), sha(data));
    }

    void mismatchAtCompleteDropsTheUpload()
    {
        // Bytes sent without checksums that are not the file announced: complete refuses them
        // and drops the session, so asking again starts afresh instead of resuming it.
        const QByteArray data = pattern(500, 11);
        const QJsonObject body{{"name", "x.bin"}, {"size", data.size()}, {"sha256", sha(data)}};
        const QString id = s->post("/api/v1/uploads", body).json().value("id").toString();
        QCOMPARE(putChunk(id, 0, pattern(500, 12), {}).status, 200);
        auto r = s->request("POST", "/api/v1/uploads/" + id + "/complete");
        QCOMPARE(r.status, 400);
        QCOMPARE(r.errorCode(), QString("hash_mismatch"));
        QCOMPARE(s->get("/api/v1/uploads/" + id).status, 404);
        QVERIFY(!QFile::exists(s->dataDir() + "/uploads/" + id + ".part"));
        r = s->post("/api/v1/uploads", body);
        QCOMPARE(r.status, 201);
        QVERIFY(r.json().value("id").toString() != id);
        QCOMPARE(r.json().value("received").toArray(), QJsonArray{});
    }

    void reservationsSurviveARestart()
    {
        const QByteArray data = pattern(3000, 8);
        const auto created =
            s->post("/api/v1/uploads",
                    {{"name", "kept.bin"}, {"size", data.size()}, {"sha256", sha(data)}});
        QCOMPARE(created.status, 201);
        const QString id = created.json().value("id").toString();
        // A new server on the same data dir: the open upload still counts in the total.
        ServerConfig config;
        config.port = 0;
        config.dataDir = s->dataDir();
        s->server.reset();
        s->server = std::make_unique<FarmServer>(config);
        QVERIFY(s->server->start().ok());
        setLimits([](UploadLimits &l) { l.totalBytes = 4000; });
        auto r = s->post("/api/v1/uploads", createBody(1001, 1));
        QCOMPARE(r.status, 507);
        QVERIFY2(message(r).contains("open uploads reserve 3000 bytes"), qPrintable(message(r)));
        QCOMPARE(putChunk(id, 0, data, sha(data).toLatin1()).status, 200);
        QCOMPARE(s->request("POST", "/api/v1/uploads/" + id + "/complete").status, 200);
        QCOMPARE(s->post("/api/v1/uploads", createBody(1001, 1)).status, 201);
    }

    void cppUploaderEndToEnd()
    {
        using farm::client::ApiClient;
        using farm::client::Uploader;
        QTemporaryDir dir;
        const QByteArray data = pattern(FileStore::kChunkSize + 4321, 9);
        QFile f(dir.filePath("scene.glb"));
        QVERIFY(f.open(QIODevice::WriteOnly) && f.write(data) == data.size());
        f.close();
        ApiClient api(s->url(""));
        Uploader up(&api);
        QSignalSpy done(&up, &Uploader::finished);
        QSignalSpy failed(&up, &Uploader::failed);
        up.start(f.fileName());
        QVERIFY(done.wait(30000));
        QCOMPARE(failed.count(), 0);
        QCOMPARE(done.first().first().toString(), sha(data));
        QCOMPARE(up.sentChunks(), (QList<int>{0, 1}));
        QCOMPARE(sha(s->get("/api/v1/files/" + sha(data)).body), sha(data));
        QCOMPARE(s->get("/api/v1/uploads").json().value("uploads").toArray().size(), 0);

        // Aborted after its first chunk: the session is abandoned and its bytes freed.
        const QByteArray other = pattern(FileStore::kChunkSize + 99, 10);
        QFile g(dir.filePath("other.glb"));
        QVERIFY(g.open(QIODevice::WriteOnly) && g.write(other) == other.size());
        g.close();
        connect(&up, &Uploader::progress, this, [&] {
            if (up.sentChunks().size() == 1 && up.isRunning())
                up.abort();
        });
        up.start(g.fileName());
        QTRY_VERIFY_WITH_TIMEOUT(!up.isRunning(), 30000);
        QCOMPARE(up.sentChunks(), QList<int>{0}); // the session was open, one chunk in
        QCOMPARE(failed.count(), 0);
        QTRY_COMPARE_WITH_TIMEOUT(
            s->get("/api/v1/uploads").json().value("uploads").toArray().size(), 0, 10000);
        QCOMPARE(s->get("/api/v1/files/" + sha(other)).status, 404);
    }
};

QTEST_GUILESS_MAIN(TestUploadLimits)
#include "tst_uploadlimits.moc"
