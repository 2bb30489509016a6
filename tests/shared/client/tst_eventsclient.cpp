#include "client/eventsclient.h"
#include "fakefarmserver.h"
#include "protocol/message.h"

#include <QSignalSpy>
#include <QtTest>

using namespace farm;
using farm::client::EventsClient;
using farm::testing::FakeFarmServer;

class TestEventsClient : public QObject
{
    Q_OBJECT
private slots:
    void eventsUrl_data()
    {
        QTest::addColumn<QString>("base");
        QTest::addColumn<QString>("expected");
        QTest::newRow("http") << "http://farm:8420"
                              << "ws://farm:8420/ws/events";
        QTest::newRow("https") << "https://farm.example.org"
                               << "wss://farm.example.org/ws/events";
        QTest::newRow("prefix") << "http://h:1/farm/"
                                << "ws://h:1/farm/ws/events";
    }

    void eventsUrl()
    {
        QFETCH(QString, base);
        QTEST(EventsClient::eventsUrl(QUrl(base)).toString(), "expected");
    }

    void emitsTypedEventsAndIgnoresJunk()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.files.insert(QString(64, 'a'), "x");
        EventsClient events;
        QSignalSpy connected(&events, &EventsClient::connected);
        QSignalSpy created(&events, &EventsClient::jobCreated);
        QSignalSpy updated(&events, &EventsClient::jobUpdated);
        QSignalSpy deleted(&events, &EventsClient::jobDeleted);
        QSignalSpy tasks(&events, &EventsClient::taskUpdated);
        QSignalSpy previews(&events, &EventsClient::preview);
        QSignalSpy nodes(&events, &EventsClient::nodeUpdated);
        QSignalSpy ignored(&events, &EventsClient::frameIgnored);
        events.open(fake.url(), "tok");
        QVERIFY(connected.wait(5000));
        QCOMPARE(fake.lastAuthorization, QByteArray("Bearer tok"));

        JobSpec spec;
        spec.input.main = "cube.obj";
        spec.input.files = {{"cube.obj", QString(64, 'a')}};
        spec.name = "cube";
        spec.frames = "1-2";
        const qint64 id = fake.addJob(spec).id;
        QTRY_COMPARE(created.count(), 1);
        QCOMPARE(created.first().first().value<Job>().spec.name, QString("cube"));

        fake.broadcastRaw("this is not json");
        fake.broadcastRaw(R"({"type": "job.exploded", "seq": 9, "data": {}})");
        fake.broadcastRaw(R"({"type": "job.updated", "seq": 10, "data": {"id": "x"}})");
        fake.setJobState(id, JobState::Active, 0.25);
        QTRY_COMPARE(updated.count(), 1);
        QCOMPARE(ignored.count(), 3);
        QCOMPARE(updated.first().first().value<Job>().progress, 0.25);
        QVERIFY(events.isConnected());

        fake.completeJob(id, "png");
        QTRY_COMPARE(updated.count(), 2);
        QCOMPARE(tasks.count(), 2);
        QCOMPARE(previews.count(), 2);
        QCOMPARE(previews.last().at(3).toString(), QString("frame_0002.png"));
        QCOMPARE(previews.last().at(2).toInt(), 2);

        Node n;
        n.id = 3;
        n.caps.name = "gpu-box";
        n.state = NodeState::Idle;
        fake.broadcast(msg::NodeUpdated, n.toJson());
        fake.broadcast(msg::JobDeleted, {{"id", id}});
        QTRY_COMPARE(deleted.count(), 1);
        QCOMPARE(deleted.first().first().toLongLong(), id);
        QCOMPARE(nodes.count(), 1);
        QCOMPARE(nodes.first().first().value<Node>().caps.name, QString("gpu-box"));
    }

    void reconnectsAfterDrop()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        EventsClient events;
        events.setBackoff(20, 100);
        QSignalSpy connected(&events, &EventsClient::connected);
        QSignalSpy disconnected(&events, &EventsClient::disconnected);
        events.open(fake.url());
        QVERIFY(connected.wait(5000));
        fake.dropEventClients();
        QTRY_COMPARE(disconnected.count(), 1);
        QTRY_COMPARE(connected.count(), 2);
        QTRY_COMPARE(fake.eventClients(), 1);
        events.close();
        QTRY_COMPARE(fake.eventClients(), 0);
        QCOMPARE(connected.count(), 2);
    }

    void retriesWhileServerRefuses()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.acceptWebSockets = false;
        EventsClient events;
        events.setBackoff(20, 50);
        QSignalSpy errors(&events, &EventsClient::connectionError);
        QSignalSpy connected(&events, &EventsClient::connected);
        events.open(fake.url());
        QTRY_VERIFY(errors.count() >= 2); // it keeps trying
        fake.acceptWebSockets = true;
        QVERIFY(connected.wait(5000));
    }
};

QTEST_GUILESS_MAIN(TestEventsClient)
#include "tst_eventsclient.moc"
