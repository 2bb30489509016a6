#pragma once

#include <QUrl>
#include <QWidget>

class QAudioOutput;
class QLabel;
class QMediaPlayer;
class QSlider;
class QToolButton;
class QVideoSink;
class QVideoWidget;

namespace farm::gui {

/// Plays a video output inside the app (Qt Multimedia: QMediaPlayer into a QVideoWidget) with
/// play/pause, a position slider that seeks, the time, and sound with a mute button when the
/// machine has an audio output. Qt 6.4 picks its media backend from QT_MEDIA_BACKEND; the
/// player asks for FFmpeg's (the one Debian's libqt6multimedia6 builds against libavcodec) unless
/// the environment names one: GStreamer's crashes without a display here.
class VideoPlayer : public QWidget
{
    Q_OBJECT
public:
    explicit VideoPlayer(QWidget *parent = nullptr);
    ~VideoPlayer() override;

    /// Opens a local file and starts playing it; `title` names it in the window title.
    void play(const QUrl &source, const QString &title = {});
    void play();
    void pause();
    /// Jumps to `ms` from the start.
    void seek(qint64 ms);

    QUrl source() const;
    qint64 position() const;
    qint64 duration() const;
    bool isPlaying() const;
    /// Whether the file has a sound track (played where an audio output exists).
    bool hasAudio() const;
    /// Where the decoded frames go (the video widget's sink): tests read frames from it.
    QVideoSink *videoSink() const;
    /// The last error of the media backend (empty: none).
    QString errorText() const;
    QMediaPlayer *player() const { return m_player; }

    /// Sets QT_MEDIA_BACKEND to ffmpeg unless it is set already (before any QMediaPlayer).
    static void chooseBackend();

signals:
    void errorOccurred(const QString &message);

private:
    void updateTime();

    QMediaPlayer *m_player;
    QAudioOutput *m_audio = nullptr; // only when the machine has an audio output
    QVideoWidget *m_video;
    QToolButton *m_playPause;
    QToolButton *m_mute;
    QSlider *m_seek;
    QLabel *m_time;
    QLabel *m_error;
    bool m_dragging = false;
};

} // namespace farm::gui
