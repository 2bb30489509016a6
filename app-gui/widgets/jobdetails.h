#pragma once

#include "client/apiclient.h"
#include "models/tasksmodel.h"

#include <QIcon>
#include <QImage>
#include <QPointer>
#include <QSet>
#include <QWidget>

#include <functional>
#include <memory>

class QLabel;
class QListWidget;
class QListWidgetItem;
class QMenu;
class QPlainTextEdit;
class QPushButton;
class QStackedWidget;
class QTabWidget;
class QTableView;
class QTimer;
class QTemporaryDir;
class QUrl;

namespace farm::gui {

class FrameViewer;
class VideoPlayer;

/// The selected job: header, Cancel, its input bundle and settings (key = value rows for any job
/// type), its tasks and thumbnails of the frames rendered so far.
class JobDetails : public QWidget
{
    Q_OBJECT
public:
    /// Outputs listed at most (a template set of 42 views holds ~170 files).
    static constexpr int kMaxThumbnails = 5000;

    explicit JobDetails(client::ApiClient *api, QWidget *parent = nullptr);
    ~JobDetails() override;

    /// Shows `job` (nullptr: nothing selected) and loads its tasks and outputs.
    void showJob(const Job *job);
    qint64 jobId() const { return m_job.id; }
    /// False while the server cannot be reached: the job's buttons are greyed.
    void setAvailable(bool available);
    /// The server's answer to "why is this job not running" (shown under the header).
    void showExplanation(qint64 jobId, const QStringList &reasons);
    QString explanation() const;
    /// The server's job types: settings rows follow the type's schema order when it is known.
    void setJobTypes(const QList<client::JobTypeInfo> &types);

    // Live updates from /ws/events; those of other jobs are ignored.
    void jobChanged(const Job &job);
    void taskChanged(const Task &task);
    void outputLanded(qint64 jobId, const QString &output);
    /// A running frame has a new partial image on the server (`task.partial`).
    void partialLanded(qint64 taskId, qint64 jobId, int frame, int samples, int spp);

    /// The task whose partial image is shown, 0 when none.
    qint64 liveTask() const { return m_liveTask; }
    /// The partial image shown (null when none) and its caption.
    QImage liveImage() const { return m_liveImage; }
    QString liveCaption() const;

    TasksModel *tasksModel() { return &m_tasks; }
    /// The job's settings as shown: "width = 640", "camera.mode = turntable".
    QStringList settingsRows() const;
    /// The bundle paths of the job's input as shown, main file first.
    QStringList inputFiles() const;
    int thumbnailCount() const;

    /// Opens an output with the desktop's application for it: fetched into a temporary folder
    /// of this window, then handed to the opener (the Open action; a data file's double-click).
    void openOutput(const QString &name);
    /// Plays a video output in the app's own player (VideoPlayer), fetched like openOutput; a
    /// video's entry plays on double-click.
    void playVideo(const QString &name);
    /// The player of the last video played (nullptr before one, or once closed).
    VideoPlayer *videoPlayer() const;
    /// What opens a fetched file; QDesktopServices::openUrl unless a test sets another.
    void setOpener(std::function<bool(const QUrl &)> opener) { m_opener = std::move(opener); }
    /// Videos (an encode task's MP4) are listed with the frames, with a play icon.
    static bool isVideo(const QString &output);
    /// Images get a thumbnail; other outputs (.npy, .json, .exr) an icon with their name.
    static bool isImage(const QString &output);
    /// Output names in the order shown: videos first, then numerically ("frame_2" before
    /// "frame_10", "rgb_9" before "rgb_10").
    static bool outputLess(const QString &a, const QString &b);
    /// Output names as listed, in order.
    QStringList outputNames() const;

    /// The full-size frame viewer on this job's frames, at `output` (an image of the job).
    FrameViewer *viewFrame(const QString &output);
    /// Downloads one output to `filePath`; `done` gets the error message (empty: saved).
    void saveOutput(const QString &name, const QString &filePath,
                    std::function<void(const QString &)> done = {});
    /// Downloads every output as the server's zip (GET /api/v1/jobs/{id}/archive).
    void saveAll(const QString &filePath, std::function<void(const QString &)> done = {});
    /// Saves the output under the downloads folder and shows it in the file manager.
    void revealOutput(const QString &name);
    /// The task whose log is shown (0: none) and the log's text.
    qint64 logTask() const { return m_logTask; }
    QString logText() const;
    /// Shows the log of this task of the job; it follows while the task runs.
    void showLog(qint64 taskId);
    QMenu *framesMenu() const { return m_framesMenu; }
    QMenu *tasksMenu() const { return m_tasksMenu; }
    QTabWidget *tabs() const { return m_tabs; }

signals:
    void cancelRequested(qint64 jobId);
    void errorOccurred(const QString &message);

private:
    /// Fetches an output into this window's temporary folder, then hands `then` its path.
    void fetchToOpen(const QString &name, std::function<void(const QString &)> then);
    void updateHeader();
    void loadOutputs();
    void addThumbnail(const QString &output);
    void fetchPartial(qint64 taskId, int frame, int samples, int spp);
    void hideLive();
    void fetchLog();
    void requeueSelectedTasks();
    QStringList selectedOutputs() const;

    client::ApiClient *m_api;
    Job m_job;
    QList<client::JobTypeInfo> m_types;
    TasksModel m_tasks;
    QSet<QString> m_thumbnails;
    QLabel *m_title;
    QLabel *m_summary;
    QLabel *m_settings;
    QLabel *m_explain;
    bool m_available = true;
    QListWidget *m_inputFiles;
    QPushButton *m_cancel;
    QTableView *m_taskView;
    QListWidget *m_frames;
    QWidget *m_live;
    QStackedWidget *m_liveRegion;
    QTabWidget *m_tabs;
    QPlainTextEdit *m_log;
    QTimer *m_logTimer;
    qint64 m_logTask = 0;
    bool m_logInFlight = false;
    QMenu *m_framesMenu;
    QMenu *m_tasksMenu;
    QPointer<FrameViewer> m_viewer;
    QPointer<VideoPlayer> m_player;
    QLabel *m_liveView;
    QLabel *m_liveText;
    qint64 m_liveTask = 0;
    std::function<bool(const QUrl &)> m_opener;
    std::unique_ptr<QTemporaryDir> m_openDir;
    int m_liveFrame = -1;
    QImage m_liveImage;
    QIcon m_placeholder;
    quint64 m_generation = 0; // drops answers for a job no longer shown
};

} // namespace farm::gui
