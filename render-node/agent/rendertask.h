#pragma once

#include "engines/engine.h"
#include "nodeconfig.h"
#include "taskspec.h"

#include <QElapsedTimer>
#include <QHash>
#include <QNetworkAccessManager>
#include <QObject>
#include <QPointer>
#include <QProcess>
#include <QSet>
#include <QStringList>
#include <QTimer>

#include <memory>
#include <optional>

namespace farm::node {

class InputCache;
class OutputUpload;

/// Runs one assigned task in its engine: fetch the bundle's files into the cache, lay them out
/// under `<workdir>/input/`, start the engine's child in its own process group, upload every
/// frame as soon as the child reports it, then report done or failed. The engine builds the
/// child's command and reads its output; this class knows no engine. Progress is throttled to
/// at most 4 updates a second and log lines are batched; at most one preview a
/// kPreviewIntervalMs goes on to the server, the newest.
class RenderTask : public QObject
{
    Q_OBJECT
public:
    static constexpr int kProgressIntervalMs = 250;
    static constexpr int kLogFlushMs = 500;
    static constexpr int kPreviewIntervalMs = 2000;
    /// The server's limit on a preview (docs/API.md, `task.partial`); larger ones are not sent.
    static constexpr qint64 kMaxPreviewBytes = 256 * 1024;
    /// Bundle files fetched at once (a bundle may hold thousands).
    static constexpr int kParallelFetches = 8;
    /// While inputs download, a task log line this often: the server counts it as progress,
    /// so a long download is not taken for a hung task (farm-server --no-progress-timeout).
    static constexpr int kFetchNoteMs = 60 * 1000;
    /// A cancel sends SIGTERM to the child's process group, SIGKILL after this long.
    static constexpr int kKillGraceMs = 2000;

    RenderTask(TaskSpec spec, std::shared_ptr<const Engine> engine, const NodeConfig &config,
               QNetworkAccessManager *network, InputCache *inputs, TaskSlot slot = {},
               QObject *parent = nullptr);
    ~RenderTask() override;

    qint64 id() const { return m_spec.id; }
    const TaskSpec &spec() const { return m_spec; }
    const TaskSlot &slot() const { return m_slot; }
    /// Process id of the render child (also its process group), 0 when none runs.
    qint64 childPid() const;

    void start();
    /// Kills the child's process group and stops transfers; emits nothing more. Like a
    /// finished task, it deletes itself once its child is gone, so owners only drop their
    /// pointer.
    void cancel();

signals:
    void progress(qint64 task, double fraction, int frame);
    void log(qint64 task, const QString &text);
    /// A partial image of `frame` after `samples` of `spp` samples per pixel (JPEG bytes).
    void preview(qint64 task, int frame, int samples, int spp, const QByteArray &jpeg);
    /// `error` is empty when every frame was rendered and uploaded; `code` names a failure the
    /// server acts on (errc::InvalidInput: not retried), else it is empty.
    void finished(qint64 task, const QStringList &outputs, const QString &error,
                  const QString &code);
    /// The server refused an output because the task is no longer this node's (its lease
    /// expired, it went to another node or it ended): the task stopped as on a cancel and
    /// emits nothing more; `finished` does not follow.
    void lost(qint64 task, const QString &why);

private:
    void requestInputs();
    void onInputReady(const QString &bundlePath, const QString &cachedPath, const QString &error);
    void releaseInput();
    void startChild();
    void onStdout();
    void onStderr();
    void readLines(QByteArray &buffer, ChildOutputReader::Stream stream, bool all);
    void onChildFinished(int exitCode, QProcess::ExitStatus status);
    void onChildError(QProcess::ProcessError error);
    void handleEvent(const ChildEvent &event);
    /// A FRAME, OUTPUT or CAMERAS event names a file in the workdir to upload (once, however
    /// often it is named).
    void handleFrame(const ChildEvent &event);
    void handleOutput(const ChildEvent &event);
    void handleCameras(const ChildEvent &event);
    /// Reads the JPEG now (the child replaces it atomically and may write the next one any
    /// moment) and sends it when the rate limit allows.
    void handlePreview(const ChildEvent &event);
    void sendPreview();
    /// Checks that `path` is a file the child wrote into this task's workdir; empty if not.
    QString ownFile(const QString &path) const;
    void upload(const QString &fileName, int frame);
    void startUpload(const QString &fileName, int frame);
    void reportProgress(double fraction, int frame);
    void appendLog(const QString &line);
    void flushLog();
    void tryComplete();
    void fail(const QString &error, const QString &code = {});
    void finish(const QString &error, const QString &code = {});
    void lose(const QString &why);
    void stopWork();
    /// Sends `signal` to the child's whole process group (it and everything it started).
    void signalGroup(int signal) const;
    void removeWorkDir();

    TaskSpec m_spec;
    std::shared_ptr<const Engine> m_engine;
    NodeConfig m_config;
    TaskSlot m_slot;
    QNetworkAccessManager *m_network;
    QPointer<InputCache> m_inputs;
    QList<quint64> m_inputTickets;
    qsizetype m_nextFetch = 0;
    QHash<QString, QString> m_cached; // bundle path -> cached file
    QString m_workDir;
    QProcess *m_child = nullptr;
    qint64 m_childPid = 0;
    EngineLaunch m_launch;
    std::unique_ptr<ChildOutputReader> m_reader;
    QList<OutputUpload *> m_uploads;
    QStringList m_outputs;
    QSet<int> m_framesReported; // FRAME lines: frames (or template views) completed
    int m_cameraFiles = 0;      // CAMERAS lines
    // A frame's main image waits for the frame's pass files: the server takes a landed main
    // image as "frame complete" when it re-queues a task.
    QHash<int, int> m_passUploads;
    QHash<int, QString> m_waitingMain;
    QByteArray m_stdoutBuffer;
    QByteArray m_stderrBuffer;
    QString m_childError; // the child's first error line
    bool m_childExited = false;
    bool m_finished = false;
    bool m_canceled = false;

    QElapsedTimer m_sinceProgress;
    std::optional<std::pair<double, int>> m_pendingProgress;
    QTimer m_progressTimer;
    QString m_logBuffer;
    qint64 m_logBytes = 0;
    QTimer m_logTimer;
    QTimer m_fetchTimer;

    struct PendingPreview
    {
        int frame = 0;
        int samples = 0;
        int spp = 0;
        QByteArray jpeg;
    };
    std::optional<PendingPreview> m_pendingPreview;
    QElapsedTimer m_sincePreview;
    QTimer m_previewTimer;
    bool m_previewTooLargeLogged = false;
};

} // namespace farm::node
