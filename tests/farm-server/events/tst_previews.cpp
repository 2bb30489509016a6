// Live previews: task.partial from a node over a real /ws/node socket, kept by the server,
// announced on /ws/events and served at GET /api/v1/tasks/{id}/preview.
#include "api/apiclient.h"
#include "events/budgets.h"
#include "events/previewstore.h"

#include <QBuffer>
#include <QImage>

using namespace farm;
using namespace farm::server;
using namespace farm::server::test;

namespace {

QByteArray encode(const QImage &image, const char *format, int quality = 80)
{
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    if (!image.save(&buffer, format, quality))
        qFatal("cannot encode %s", format);
    return bytes;
}

QImage gradient(int w, int h)
{
    QImage img(w, h, QImage::Format_RGB888);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            img.setPixel(x, y, qRgb(x * 255 / w, y * 255 / h, 90));
    return img;
}

QJsonObject partial(qint64 task, const QByteArray &jpeg, int samples = 2, int frame = 1)
{
    return {{"task", task},
            {"frame", frame},
            {"samples", samples},
            {"spp", 16},
            {"jpeg", QString::fromLatin1(jpeg.toBase64())}};
}

} // namespace

class TestPreviews : public QObject
{
    Q_OBJECT

    std::unique_ptr<TestServer> s;
    QString sha;

    QUrl ws(const QString &path) const
    {
        return QUrl(QString("ws://127.0.0.1:%1%2").arg(s->server->port()).arg(path));
    }
    /// Connects a node, submits a job of `frames` and returns the task the node got.
    qint64 nodeWithTask(WsClient &node, const QString &name, const QString &frames = "1")
    {
        if (!node.open(ws("/ws/node")))
            return 0;
        node.send("hello", nodeHello(name));
        s->post("/api/v1/jobs", jobBody(sha, frames, 1));
        const int assign = node.waitFor("task.assign");
        if (assign < 0)
            return 0;
        const qint64 task = node.received[assign].data.value("task").toInteger();
        node.send("task.accepted", {{"task", task}});
        return task;
    }

private slots:
    void init()
    {
        s = std::make_unique<TestServer>();
        sha = s->upload("model bytes");
    }
    void cleanup() { s.reset(); }

    void jpegSizeParsesRealFiles()
    {
        const auto size = jpegImageSize(encode(gradient(96, 40), "JPG"));
        QVERIFY(size.ok());
        QCOMPARE(*size, QSize(96, 40));
        QVERIFY(!jpegImageSize(encode(gradient(8, 8), "PNG")).ok());
        QByteArray cut = encode(gradient(64, 64), "JPG");
        cut.truncate(20); // SOI + a segment that claims more bytes than there are
        cut.append("\xFF\xD9");
        QVERIFY(!jpegImageSize(cut).ok());
        QVERIFY(!jpegImageSize(QByteArray("\xFF\xD8\xFF\xD9", 4)).ok()); // no frame header
    }

    void partialIsKeptServedAndDropped()
    {
        WsClient events;
        QVERIFY(events.open(ws("/ws/events")));
        WsClient node;
        const qint64 task = nodeWithTask(node, "n1", "1-2");
        QVERIFY(task > 0);
        QCOMPARE(s->get(QString("/api/v1/tasks/%1/preview").arg(task)).status, 404);

        const QByteArray jpeg = encode(gradient(128, 96), "JPG");
        node.send("task.partial", partial(task, jpeg, 4, 2));
        const int e = events.waitFor("task.partial");
        QVERIFY(e >= 0);
        const QJsonObject ev = events.received[e].data;
        QCOMPARE(ev.value("task").toInteger(), task);
        QCOMPARE(ev.value("frame").toInt(), 2);
        QCOMPARE(ev.value("samples").toInt(), 4);
        QCOMPARE(ev.value("spp").toInt(), 16);
        QCOMPARE(ev.value("width").toInt(), 128);
        const auto got = s->get(ev.value("url").toString());
        QCOMPARE(got.status, 200);
        QCOMPARE(got.contentType, QByteArray("image/jpeg"));
        QCOMPARE(got.body, jpeg);
        QCOMPARE(QImage::fromData(got.body, "JPG").size(), QSize(128, 96));

        // A newer one replaces it, with a new URL.
        const QByteArray newer = encode(gradient(64, 48), "JPG");
        node.send("task.partial", partial(task, newer, 8, 2));
        const int e2 = events.waitFor("task.partial", e + 1);
        QVERIFY(e2 >= 0);
        QVERIFY(events.received[e2].data.value("url") != ev.value("url"));
        QCOMPARE(s->get(QString("/api/v1/tasks/%1/preview").arg(task)).body, newer);
        QCOMPARE(s->server->previews().count(), 1);

        // The task ends: its preview goes.
        for (int f : {1, 2})
            QCOMPARE(s->putOutput(node.secret(), task, frameFileName(f), "png").status, 200);
        node.send("task.done",
                  {{"task", task}, {"outputs", QJsonArray{"frame_0001.png", "frame_0002.png"}}});
        QVERIFY(events.waitFor("task.updated", 0, [task](const QJsonObject &t) {
            return t.value("id").toInteger() == task && t.value("state").toString() == "done";
        }) >= 0);
        const auto gone = s->get(QString("/api/v1/tasks/%1/preview").arg(task));
        QCOMPARE(gone.status, 404);
        QCOMPARE(gone.errorCode(), QString("not_found"));
        QCOMPARE(s->server->previews().count(), 0);
        QCOMPARE(s->get("/api/v1/tasks/999/preview").status, 404);
    }

    void canceledJobDropsPreview()
    {
        WsClient node;
        const qint64 task = nodeWithTask(node, "n1");
        QVERIFY(task > 0);
        node.send("task.partial", partial(task, encode(gradient(32, 32), "JPG")));
        QTRY_COMPARE(s->server->previews().count(), 1);
        const qint64 job = s->store().task(task)->task.jobId;
        QCOMPARE(s->post(QString("/api/v1/jobs/%1/cancel").arg(job), {}).status, 200);
        QCOMPARE(s->server->previews().count(), 0);
        QCOMPARE(s->get(QString("/api/v1/tasks/%1/preview").arg(task)).status, 404);
    }

    void badPartialsAreRefused_data()
    {
        QTest::addColumn<QString>("what");
        QTest::addColumn<QString>("code");
        QTest::addColumn<QString>("message");
        QTest::newRow("too big") << "big"
                                 << "too_large"
                                 << "at most 262144 bytes";
        QTest::newRow("png") << "png"
                             << "invalid_field"
                             << "not a JPEG image";
        QTest::newRow("truncated") << "truncated"
                                   << "invalid_field"
                                   << "not a JPEG image";
        QTest::newRow("huge image") << "huge"
                                    << "invalid_field"
                                    << "1024 pixels";
        QTest::newRow("not base64") << "base64"
                                    << "invalid_field"
                                    << "base64";
        QTest::newRow("samples > spp") << "samples"
                                       << "invalid_field"
                                       << "'samples'";
        QTest::newRow("unknown task") << "unknown"
                                      << "not_found"
                                      << "does not exist";
        QTest::newRow("other node's task") << "other"
                                           << "not_assigned"
                                           << "not assigned";
    }

    void badPartialsAreRefused()
    {
        QFETCH(QString, what);
        QFETCH(QString, code);
        QFETCH(QString, message);
        WsClient node;
        const qint64 task = nodeWithTask(node, "n1", "1-2");
        QVERIFY(task > 0);
        WsClient other; // a second node with a task of its own
        QVERIFY(other.open(ws("/ws/node")));
        other.send("hello", nodeHello("n2"));
        QVERIFY(other.waitFor("welcome") >= 0);

        const QByteArray good = encode(gradient(64, 48), "JPG");
        QJsonObject msg = partial(task, good);
        WsClient *sender = &node;
        if (what == "big") {
            // A real JPEG of noise at full quality, over the limit (and, in base64, under the
            // size of a message: a larger one closes the socket).
            QImage noise(450, 450, QImage::Format_RGB888);
            quint32 seed = 1;
            for (int y = 0; y < noise.height(); ++y)
                for (int x = 0; x < noise.width(); ++x) {
                    seed = seed * 1664525u + 1013904223u;
                    noise.setPixel(x, y, seed >> 8);
                }
            const QByteArray big = encode(noise, "JPG", 100);
            QVERIFY(big.size() > PreviewStore::kMaxBytes);
            QVERIFY(big.size() * 4 / 3 + 1000 < budget::kNodeMaxMessageBytes);
            msg = partial(task, big);
        } else if (what == "png") {
            msg = partial(task, encode(gradient(64, 48), "PNG"));
        } else if (what == "truncated") {
            msg = partial(task, good.left(good.size() / 2));
        } else if (what == "huge") {
            msg = partial(task, encode(gradient(1500, 20), "JPG"));
        } else if (what == "base64") {
            msg.insert("jpeg", "this is *not* base64!");
        } else if (what == "samples") {
            msg.insert("samples", 17);
        } else if (what == "unknown") {
            msg.insert("task", 4242);
        } else if (what == "other") {
            sender = &other;
        }
        const int from = sender->received.size();
        sender->send("task.partial", msg);
        const int i = sender->waitFor("error", from);
        QVERIFY(i >= 0);
        QCOMPARE(sender->received[i].data.value("code").toString(), code);
        QVERIFY2(sender->received[i].data.value("message").toString().contains(message),
                 qPrintable(sender->received[i].data.value("message").toString()));
        QCOMPARE(s->server->previews().count(), 0);
        QCOMPARE(s->get(QString("/api/v1/tasks/%1/preview").arg(task)).status, 404);

        // The connection and the server stay: the node's next good preview is taken.
        QVERIFY(!sender->closed);
        node.send("task.partial", partial(task, good));
        QTRY_COMPARE(s->server->previews().count(), 1);
        QCOMPARE(s->get(QString("/api/v1/tasks/%1/preview").arg(task)).body, good);
    }
};

QTEST_GUILESS_MAIN(TestPreviews)
#include "tst_previews.moc"
