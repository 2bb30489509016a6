#include "widgets/videoplayer.h"

#include "widgets/icons.h"

#include <QAudioDevice>
#include <QAudioOutput>
#include <QHBoxLayout>
#include <QLabel>
#include <QMediaDevices>
#include <QMediaPlayer>
#include <QSlider>
#include <QToolButton>
#include <QVBoxLayout>
#include <QVideoSink>
#include <QVideoWidget>

namespace farm::gui {

namespace {

QString clock(qint64 ms)
{
    const qint64 s = ms / 1000;
    return QString("%1:%2.%3").arg(s / 60).arg(s % 60, 2, 10, QChar('0')).arg((ms % 1000) / 100);
}

} // namespace

void VideoPlayer::chooseBackend()
{
    if (qEnvironmentVariableIsEmpty("QT_MEDIA_BACKEND"))
        qputenv("QT_MEDIA_BACKEND", "ffmpeg");
}

VideoPlayer::VideoPlayer(QWidget *parent)
    : QWidget(parent, Qt::Window)
    , m_player((chooseBackend(), new QMediaPlayer(this)))
    , m_video(new QVideoWidget(this))
    , m_playPause(new QToolButton(this))
    , m_mute(new QToolButton(this))
    , m_seek(new QSlider(Qt::Horizontal, this))
    , m_time(new QLabel(this))
    , m_error(new QLabel(this))
{
    setObjectName("videoPlayer");
    setWindowTitle(tr("Video"));
    m_video->setObjectName("video");
    m_video->setMinimumSize(320, 180);
    m_player->setVideoOutput(m_video);
    // Without an audio device Qt 6.4's FFmpeg backend crashes on an audio output: sound only
    // where there is somewhere to play it.
    if (!QMediaDevices::audioOutputs().isEmpty()) {
        m_audio = new QAudioOutput(this);
        m_player->setAudioOutput(m_audio);
    }
    m_playPause->setObjectName("playPause");
    m_playPause->setShortcut(Qt::Key_Space);
    m_mute->setObjectName("mute");
    m_mute->setCheckable(true);
    m_mute->setIcon(themedIcon("audio-volume-high", QStyle::SP_MediaVolume));
    m_mute->setToolTip(m_audio ? tr("Mute") : tr("No audio output on this machine"));
    m_mute->setEnabled(m_audio != nullptr);
    m_seek->setObjectName("seek");
    m_seek->setRange(0, 0);
    m_time->setObjectName("time");
    m_time->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->setObjectName("videoError");
    m_error->setStyleSheet("color: #d64545;");
    m_error->setWordWrap(true);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->hide();

    auto *controls = new QHBoxLayout;
    controls->addWidget(m_playPause);
    controls->addWidget(m_seek, 1);
    controls->addWidget(m_time);
    controls->addWidget(m_mute);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_video, 1);
    layout->addWidget(m_error);
    layout->addLayout(controls);
    resize(800, 520);

    connect(m_playPause, &QToolButton::clicked, this, [this] { isPlaying() ? pause() : play(); });
    connect(m_mute, &QToolButton::toggled, this, [this](bool muted) {
        if (m_audio)
            m_audio->setMuted(muted);
        m_mute->setIcon(muted ? themedIcon("audio-volume-muted", QStyle::SP_MediaVolumeMuted)
                              : themedIcon("audio-volume-high", QStyle::SP_MediaVolume));
    });
    connect(m_seek, &QSlider::sliderPressed, this, [this] { m_dragging = true; });
    connect(m_seek, &QSlider::sliderReleased, this, [this] {
        m_dragging = false;
        seek(m_seek->value());
    });
    connect(m_seek, &QSlider::actionTriggered, this, [this](int action) {
        if (action != QAbstractSlider::SliderMove) // page steps, keys: seek at once
            QMetaObject::invokeMethod(
                this, [this] { seek(m_seek->value()); }, Qt::QueuedConnection);
    });
    connect(m_player, &QMediaPlayer::durationChanged, this, [this](qint64 ms) {
        m_seek->setRange(0, int(ms));
        m_seek->setPageStep(int(std::max<qint64>(1000, ms / 10)));
        updateTime();
    });
    connect(m_player, &QMediaPlayer::positionChanged, this, [this](qint64 ms) {
        if (!m_dragging)
            m_seek->setValue(int(ms));
        updateTime();
    });
    connect(m_player, &QMediaPlayer::playbackStateChanged, this, [this] {
        m_playPause->setIcon(isPlaying()
                                 ? themedIcon("media-playback-pause", QStyle::SP_MediaPause)
                                 : themedIcon("media-playback-start", QStyle::SP_MediaPlay));
        m_playPause->setToolTip(isPlaying() ? tr("Pause (Space)") : tr("Play (Space)"));
    });
    connect(m_player, &QMediaPlayer::errorOccurred, this,
            [this](QMediaPlayer::Error, const QString &message) {
                const QString text = message.isEmpty() ? tr("This video cannot be played.")
                                                       : tr("Cannot play: %1").arg(message);
                m_error->setText(text);
                m_error->show();
                emit errorOccurred(text);
            });
    emit m_player->playbackStateChanged(m_player->playbackState()); // the button's first icon
    updateTime();
}

VideoPlayer::~VideoPlayer()
{
    m_player->stop();
}

void VideoPlayer::play(const QUrl &source, const QString &title)
{
    m_error->hide();
    m_error->clear();
    setWindowTitle(title.isEmpty() ? source.fileName() : title);
    m_player->setSource(source);
    m_player->play();
}

void VideoPlayer::play()
{
    if (m_player->mediaStatus() == QMediaPlayer::EndOfMedia)
        m_player->setPosition(0);
    m_player->play();
}

void VideoPlayer::pause()
{
    m_player->pause();
}

void VideoPlayer::seek(qint64 ms)
{
    m_player->setPosition(std::clamp<qint64>(ms, 0, std::max<qint64>(0, m_player->duration())));
}

QUrl VideoPlayer::source() const
{
    return m_player->source();
}

qint64 VideoPlayer::position() const
{
    return m_player->position();
}

qint64 VideoPlayer::duration() const
{
    return m_player->duration();
}

bool VideoPlayer::isPlaying() const
{
    return m_player->playbackState() == QMediaPlayer::PlayingState;
}

bool VideoPlayer::hasAudio() const
{
    return m_player->hasAudio();
}

QVideoSink *VideoPlayer::videoSink() const
{
    return m_video->videoSink();
}

QString VideoPlayer::errorText() const
{
    return m_error->isHidden() ? QString() : m_error->text();
}

void VideoPlayer::updateTime()
{
    m_time->setText(clock(m_player->position()) + " / " + clock(m_player->duration()));
}

} // namespace farm::gui
