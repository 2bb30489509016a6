#include "client/uploader.h"
#include "fakefarmserver.h"

#include <QCryptographicHash>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace farm;
using farm::client::ApiClient;
using farm::client::Uploader;
using farm::testing::FakeFarmServer;

class TestUploader : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;

    QByteArray randomBytes(qint64 size, quint32 seed)
    {
        QByteArray data(size, Qt::Uninitialized);
        QRandomGenerator gen(seed);
        for (qint64 i = 0; i < size; ++i)
            data[i] = char(gen.bounded(256));
        return data;
    }

    QString writeFile(const QString &name, const QByteArray &data)
    {
        QFile f(m_dir.filePath(name));
        if (!f.open(QIODevice::WriteOnly) || f.write(data) != data.size())
            return {};
        return f.fileName();
    }

    static QString sha(const QByteArray &data)
    {
        return QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex();
    }

private slots:
    void hashFileStreamsBlocks()
    {
        // Crosses several 1 MiB blocks and ends mid-block.
        const QByteArray data = randomBytes(2 * 1024 * 1024 + 12345, 7);
        const QString path = writeFile("big.bin", data);
        const auto h = Uploader::hashFile(path);
        QVERIFY(h.ok());
        QCOMPARE(*h, sha(data));
        QVERIFY(!Uploader::hashFile(m_dir.filePath("missing.bin")).ok());
    }

    void uploadsMultiChunkFileWithResume()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.chunkSize = 64 * 1024;
        const QByteArray data = randomBytes(5 * 64 * 1024 + 999, 1); // 6 chunks, short last one
        const QString path = writeFile("model.glb", data);
        // An earlier, interrupted client already delivered chunks 0 and 2.
        fake.preReceive("model.glb", data, {0, 2});

        ApiClient api(fake.url());
        Uploader up(&api);
        QSignalSpy done(&up, &Uploader::finished);
        QSignalSpy failed(&up, &Uploader::failed);
        QList<qint64> progress;
        connect(&up, &Uploader::progress, this, [&](qint64 sent, qint64 total) {
            QCOMPARE(total, qint64(data.size()));
            progress.append(sent);
        });
        up.start(path);
        QVERIFY(done.wait(10000));
        QCOMPARE(failed.count(), 0);
        QCOMPARE(done.first().first().toString(), sha(data));
        QCOMPARE(up.sha256(), sha(data));
        QCOMPARE(fake.files.value(sha(data)), data);
        QList<int> sent = fake.putChunks;
        std::sort(sent.begin(), sent.end());
        QCOMPARE(sent, (QList<int>{1, 3, 4, 5}));
        QCOMPARE(up.sentChunks(), (QList<int>{1, 3, 4, 5}));
        QVERIFY(!progress.isEmpty());
        QCOMPARE(progress.first(), qint64(2 * 64 * 1024)); // resumed chunks count at once
        QCOMPARE(progress.last(), qint64(data.size()));
        QVERIFY(std::is_sorted(progress.begin(), progress.end()));
        QVERIFY(!up.isRunning());
    }

    void knownFileIsNotSentAgain()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        const QByteArray data = randomBytes(200 * 1024, 2);
        fake.files.insert(sha(data), data);
        ApiClient api(fake.url());
        Uploader up(&api);
        QSignalSpy done(&up, &Uploader::finished);
        up.start(writeFile("known.stl", data));
        QVERIFY(done.wait(10000));
        QVERIFY(fake.putChunks.isEmpty());
        // HEAD /api/v1/files/{sha} answered 200: no upload session was opened at all.
        QCOMPARE(fake.requestLog, QStringList{"HEAD /api/v1/files/" + sha(data)});
    }

    void retriesFailedChunks()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.chunkSize = 32 * 1024;
        fake.failPuts = 2;
        const QByteArray data = randomBytes(100 * 1024, 3);
        ApiClient api(fake.url());
        Uploader up(&api);
        up.setRetryDelay(5);
        QSignalSpy done(&up, &Uploader::finished);
        up.start(writeFile("retry.obj", data));
        QVERIFY(done.wait(10000));
        QCOMPARE(fake.files.value(sha(data)), data);
        QCOMPARE(fake.requestLog.filter("PUT").size(), 4 + 2);
    }

    void givesUpAfterMaxAttempts()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.failPuts = 1000;
        ApiClient api(fake.url());
        Uploader up(&api);
        up.setRetryDelay(1);
        up.setMaxAttempts(3);
        QSignalSpy failed(&up, &Uploader::failed);
        up.start(writeFile("doomed.obj", randomBytes(1000, 4)));
        QVERIFY(failed.wait(10000));
        const auto error = failed.first().first().value<Error>();
        QCOMPARE(error.code, QString("internal"));
        QVERIFY2(error.message.contains("chunk 0") && error.message.contains("disk hiccup"),
                 qPrintable(error.message));
        QCOMPARE(fake.requestLog.filter("PUT").size(), 3);
        QVERIFY(fake.files.isEmpty());
    }

    void chunksCarryTheirChecksum()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.chunkSize = 32 * 1024;
        const QByteArray data = randomBytes(3 * 32 * 1024 + 5, 8); // 4 chunks, short last one
        ApiClient api(fake.url());
        Uploader up(&api);
        QSignalSpy done(&up, &Uploader::finished);
        up.start(writeFile("sums.obj", data));
        QVERIFY(done.wait(10000));
        QCOMPARE(fake.putChunks, (QList<int>{0, 1, 2, 3}));
        QCOMPARE(fake.chunkChecksums.size(), 4);
        for (int i = 0; i < 4; ++i)
            QCOMPARE(QString::fromLatin1(fake.chunkChecksums[i]),
                     sha(data.mid(i * 32 * 1024, 32 * 1024)));
    }

    void damagedChunkIsSentAgain()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.chunkSize = 32 * 1024;
        fake.corruptPuts = 1; // chunk 0 arrives damaged once and is refused by its checksum
        const QByteArray data = randomBytes(2 * 32 * 1024, 9);
        ApiClient api(fake.url());
        Uploader up(&api);
        up.setRetryDelay(1);
        QSignalSpy done(&up, &Uploader::finished);
        QSignalSpy failed(&up, &Uploader::failed);
        up.start(writeFile("damaged.obj", data));
        QVERIFY(done.wait(10000));
        QCOMPARE(failed.count(), 0);
        QCOMPARE(fake.requestLog.filter("PUT").size(), 3);
        QCOMPARE(fake.putChunks, (QList<int>{0, 1})); // the damaged copy was never kept
        QCOMPARE(fake.files.value(sha(data)), data);
    }

    void abortAbandonsTheSession()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.chunkSize = 16 * 1024;
        const QByteArray data = randomBytes(8 * 16 * 1024, 10);
        ApiClient api(fake.url());
        Uploader up(&api);
        QSignalSpy failed(&up, &Uploader::failed);
        QSignalSpy done(&up, &Uploader::finished);
        // Stop once the first chunk is on the server, the session open.
        connect(&up, &Uploader::progress, this, [&](qint64 sent, qint64) {
            if (sent >= 16 * 1024 && up.isRunning())
                up.abort();
        });
        up.start(writeFile("abandoned.obj", data));
        QTRY_COMPARE_WITH_TIMEOUT(fake.deletedUploads.size(), 1, 10000);
        QVERIFY(!up.isRunning());
        QCOMPARE(done.count(), 0);
        QCOMPARE(failed.count(), 0);
        QVERIFY(fake.putChunks.size() < 8);
        QVERIFY(fake.files.isEmpty());
    }

    void refusesMissingFileAndBadName()
    {
        ApiClient api(QUrl("http://127.0.0.1:1"));
        Uploader up(&api);
        QSignalSpy failed(&up, &Uploader::failed);
        up.start(m_dir.filePath("nope.obj"));
        QCOMPARE(failed.count(), 1);
        QCOMPARE(failed.first().first().value<Error>().code, QString("io"));
        up.start(writeFile("ok.obj", "v 0 0 0\n"), "../escape.obj");
        QCOMPARE(failed.count(), 2);
        QCOMPARE(failed.last().first().value<Error>().code, QString("invalid_field"));
    }

    void reportsHashMismatchFromServer()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.intercept =
            [](const FakeFarmServer::Request &r) -> std::optional<FakeFarmServer::Response> {
            if (r.path.endsWith("/complete"))
                return FakeFarmServer::Response{
                    400, farm::testing::errorBody("hash_mismatch", "uploaded bytes do not match")};
            return std::nullopt;
        };
        ApiClient api(fake.url());
        Uploader up(&api);
        QSignalSpy failed(&up, &Uploader::failed);
        up.start(writeFile("mismatch.obj", randomBytes(5000, 5)));
        QVERIFY(failed.wait(10000));
        QCOMPARE(failed.first().first().value<Error>().code, QString("hash_mismatch"));
    }
};

QTEST_GUILESS_MAIN(TestUploader)
#include "tst_uploader.moc"
