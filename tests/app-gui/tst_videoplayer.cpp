// Video outputs play inside the app: a real MP4 (H.264 + AAC, made by FFmpeg here) decoded by
// Qt Multimedia's FFmpeg backend under the offscreen platform; frames reach the video sink
// with the video's colours, the position advances, pause holds it, seek jumps.
#include "widgets/videoplayer.h"

#include <QMediaPlayer>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QVideoFrame>
#include <QVideoSink>
#include <QtTest>

using farm::gui::VideoPlayer;

namespace {

enum class Hue { Other, Red, Blue };

Hue hueOf(const QColor &c)
{
    if (c.red() > 180 && c.green() < 70 && c.blue() < 70)
        return Hue::Red;
    if (c.blue() > 180 && c.red() < 70 && c.green() < 70)
        return Hue::Blue;
    return Hue::Other;
}

} // namespace

class TestVideoPlayer : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_video;

private slots:
    void initTestCase()
    {
        // One second red, one second blue, 25 fps, with a 440 Hz tone.
        const QString ffmpeg = QStandardPaths::findExecutable("ffmpeg");
        if (ffmpeg.isEmpty())
            QSKIP("ffmpeg is not installed (scripts/setup-deps.sh --test)");
        m_video = m_dir.filePath("red-blue.mp4");
        QProcess p;
        p.start(ffmpeg, {"-loglevel",
                         "error",
                         "-y",
                         "-f",
                         "lavfi",
                         "-i",
                         "color=c=red:s=160x120:r=25:d=1",
                         "-f",
                         "lavfi",
                         "-i",
                         "color=c=blue:s=160x120:r=25:d=1",
                         "-f",
                         "lavfi",
                         "-i",
                         "sine=frequency=440:duration=2",
                         "-filter_complex",
                         "[0:v][1:v]concat=n=2:v=1:a=0[v]",
                         "-map",
                         "[v]",
                         "-map",
                         "2:a",
                         "-c:v",
                         "libx264",
                         "-pix_fmt",
                         "yuv420p",
                         "-c:a",
                         "aac",
                         m_video});
        QVERIFY(p.waitForFinished(60000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
    }

    void playsPausesAndSeeks()
    {
        VideoPlayer player;
        player.show();
        QList<Hue> hues;
        qint64 positionAtFirstFrame = -1;
        connect(player.videoSink(), &QVideoSink::videoFrameChanged, this,
                [&](const QVideoFrame &frame) {
                    const QImage image = frame.toImage();
                    if (image.isNull())
                        return;
                    if (positionAtFirstFrame < 0)
                        positionAtFirstFrame = player.position();
                    hues.append(hueOf(image.pixelColor(image.width() / 2, image.height() / 2)));
                });
        player.play(QUrl::fromLocalFile(m_video), "red-blue.mp4");
        QCOMPARE(player.windowTitle(), QString("red-blue.mp4"));
        QTRY_VERIFY_WITH_TIMEOUT(player.position() > 200, 20000);
        QVERIFY(player.isPlaying());
        QVERIFY(player.hasAudio());
        QVERIFY2(std::abs(player.duration() - 2000) <= 100,
                 qPrintable(QString::number(player.duration())));
        QVERIFY(!hues.isEmpty());
        QVERIFY(hues.first() == Hue::Red); // the first second is red
        QVERIFY(!hues.contains(Hue::Blue) || player.position() >= 900);

        player.pause();
        QTRY_VERIFY(!player.isPlaying());
        const qint64 held = player.position();
        QTest::qWait(400);
        QCOMPARE(player.position(), held);

        // Into the blue second: frames from there are blue.
        const int before = hues.size();
        player.seek(1500);
        player.play();
        QTRY_VERIFY_WITH_TIMEOUT(hues.size() > before + 2, 20000);
        QVERIFY(player.position() >= 1500);
        QVERIFY(hues.last() == Hue::Blue);
        QTRY_VERIFY_WITH_TIMEOUT(player.player()->mediaStatus() == QMediaPlayer::EndOfMedia, 20000);
        QVERIFY(player.errorText().isEmpty());
        // Played to the end, the play button starts it over.
        const int ended = hues.size();
        player.play();
        QTRY_VERIFY_WITH_TIMEOUT(hues.size() > ended, 20000);
        QTRY_VERIFY_WITH_TIMEOUT(player.position() > 0, 20000);
    }

    void namesAFileItCannotPlay()
    {
        const QString bad = m_dir.filePath("not-a-video.mp4");
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray("\0\0\0\x20"
                           "ftypisom but nothing else",
                           28));
        f.close();
        VideoPlayer player;
        QSignalSpy errors(&player, &VideoPlayer::errorOccurred);
        player.play(QUrl::fromLocalFile(bad));
        QTRY_VERIFY_WITH_TIMEOUT(!player.errorText().isEmpty(), 20000);
        QVERIFY(player.errorText().startsWith("Cannot play") ||
                player.errorText().startsWith("This video"));
        QCOMPARE(errors.count(), 1);
    }
};

QTEST_MAIN(TestVideoPlayer)
#include "tst_videoplayer.moc"
