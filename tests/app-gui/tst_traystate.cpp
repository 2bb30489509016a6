// The tray's logic without a tray (the offscreen platform has none): job events in, the icon's
// pixels and the notifications it would send out.
#include "models/traystate.h"

#include <QImage>
#include <QSignalSpy>
#include <QtTest>

#include <cmath>

using namespace farm;
using farm::gui::TrayState;

namespace {

/// A job as the server's events carry it (decoded the way the events client does).
Job jobEvent(qint64 id, const char *state, double progress = 0, const QString &error = {})
{
    const auto job = Job::fromJson({{"id", id},
                                    {"name", QString("shot %1").arg(id)},
                                    {"type", "model"},
                                    {"state", state},
                                    {"progress", progress},
                                    {"error", error}});
    if (!job)
        qFatal("%s", qPrintable(job.error().message));
    return *job;
}

/// The colour on the ring `degrees` clockwise from twelve o'clock of a 64 px icon.
QColor ringAt(const QImage &icon, double degrees)
{
    const double size = icon.width(), ring = size * 0.14;
    const double r = (size - ring) / 2, a = degrees * M_PI / 180;
    return icon.pixelColor(int(size / 2 + r * std::sin(a)), int(size / 2 - r * std::cos(a)));
}

bool near(const QColor &a, const QColor &b)
{
    return std::abs(a.red() - b.red()) < 24 && std::abs(a.green() - b.green()) < 24 &&
           std::abs(a.blue() - b.blue()) < 24 && a.alpha() > 200;
}

} // namespace

class TestTrayState : public QObject
{
    Q_OBJECT
private slots:
    void notifiesFinishedAndFailedOnceEach()
    {
        TrayState tray;
        QSignalSpy notified(&tray, &TrayState::notify);
        // The first list: finished and failed jobs are old news.
        tray.setJobs(
            {jobEvent(1, "active", 0.25), jobEvent(2, "completed"), jobEvent(3, "failed", 0, "x")});
        QCOMPARE(notified.count(), 0);
        QCOMPARE(tray.activeJobs(), 1);
        QCOMPARE(tray.farmProgress(), 0.25);
        QCOMPARE(tray.toolTip(), QString("Farmhand: 1 job(s) running, 25% done"));

        tray.update(jobEvent(1, "active", 0.5));
        QCOMPARE(notified.count(), 0);
        tray.update(jobEvent(1, "completed", 1));
        QCOMPARE(tray.sent().size(), 1);
        QCOMPARE(tray.sent().last().job, 1);
        QVERIFY(tray.sent().last().state == JobState::Completed);
        QCOMPARE(tray.sent().last().title, QString("Job finished"));
        QCOMPARE(tray.sent().last().text, QString("#1 shot 1"));
        tray.update(jobEvent(1, "completed", 1)); // the same event again: nothing new
        QCOMPARE(tray.sent().size(), 1);

        // A new job runs and fails: one notification with the reason.
        tray.update(jobEvent(4, "queued"));
        tray.update(jobEvent(4, "active", 0.1));
        tray.update(jobEvent(4, "failed", 0.1, "frame 3: out of memory"));
        tray.update(jobEvent(4, "failed", 0.1, "frame 3: out of memory"));
        QCOMPARE(tray.sent().size(), 2);
        QVERIFY(tray.sent().last().state == JobState::Failed);
        QCOMPARE(tray.sent().last().title, QString("Job failed"));
        QCOMPARE(tray.sent().last().text, QString("#4 shot 4: frame 3: out of memory"));

        // Canceled by a user: no notification; first seen already finished: none either.
        tray.update(jobEvent(5, "active"));
        tray.update(jobEvent(5, "canceled"));
        tray.update(jobEvent(6, "completed"));
        QCOMPARE(tray.sent().size(), 2);

        // Re-run: a new transition, a new notification.
        tray.update(jobEvent(1, "queued"));
        tray.update(jobEvent(1, "completed", 1));
        QCOMPARE(tray.sent().size(), 3);

        // A later list (a reconnect): what finished meanwhile notifies, once.
        tray.update(jobEvent(7, "active", 0.5));
        tray.setJobs({jobEvent(7, "completed", 1), jobEvent(8, "completed", 1)});
        QCOMPARE(tray.sent().size(), 4);
        QCOMPARE(tray.sent().last().job, 7);
        tray.setJobs({jobEvent(7, "completed", 1)});
        QCOMPARE(tray.sent().size(), 4);
        QCOMPARE(notified.count(), 4);

        // Another server: its first list is quiet again.
        tray.reset();
        tray.setJobs({jobEvent(1, "failed", 0, "y")});
        QCOMPARE(tray.sent().size(), 4);
        QCOMPARE(tray.activeJobs(), 0);
        QCOMPARE(tray.toolTip(), QString("Farmhand: no job running"));
    }

    void iconShowsTheFarmsProgress()
    {
        TrayState tray;
        QImage base(64, 64, QImage::Format_ARGB32);
        base.fill(QColor(200, 40, 40));
        tray.setBaseIcon(base);
        // Nothing runs: the app's icon alone, no ring.
        QImage idle = tray.iconImage();
        QCOMPARE(idle.size(), QSize(64, 64));
        QVERIFY(near(ringAt(idle, 45), QColor(200, 40, 40)));
        QVERIFY(near(idle.pixelColor(32, 32), QColor(200, 40, 40)));

        // Two jobs at 0.25 and 0.75: half the ring, clockwise from the top, is filled.
        QSignalSpy changed(&tray, &TrayState::changed);
        tray.setJobs(
            {jobEvent(1, "active", 0.25), jobEvent(2, "active", 0.75), jobEvent(3, "queued")});
        QVERIFY(changed.count() >= 1);
        QCOMPARE(tray.farmProgress(), 0.5);
        QImage half = tray.iconImage();
        for (double deg : {20.0, 90.0, 160.0})
            QVERIFY2(near(ringAt(half, deg), TrayState::progressColor()),
                     qPrintable(QString("%1 deg: %2").arg(deg).arg(ringAt(half, deg).name())));
        for (double deg : {200.0, 270.0, 340.0})
            QVERIFY2(near(ringAt(half, deg), TrayState::trackColor()),
                     qPrintable(QString("%1 deg: %2").arg(deg).arg(ringAt(half, deg).name())));
        // The base icon sits inside the ring; the running count is drawn in the middle.
        QVERIFY(near(half.pixelColor(16, 16), QColor(200, 40, 40)));
        QVERIFY(!near(half.pixelColor(32, 32), QColor(200, 40, 40)));

        // One finishes: the other's 0.75 is the farm's progress now.
        tray.update(jobEvent(1, "completed", 1));
        QImage most = tray.iconImage();
        QVERIFY(near(ringAt(most, 250), TrayState::progressColor()));
        QVERIFY(near(ringAt(most, 290), TrayState::trackColor()));
        // All done: the plain icon again.
        tray.update(jobEvent(2, "completed", 1));
        QVERIFY(near(ringAt(tray.iconImage(), 45), QColor(200, 40, 40)));
        QCOMPARE(tray.sent().size(), 2);
    }
};

QTEST_MAIN(TestTrayState)
#include "tst_traystate.moc"
