#pragma once

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

#include <optional>

namespace farm::node {

class InputCache;
class OutputUpload;

/// Where a task renders: a GPU slot runs its child with `--device cuda` and
/// CUDA_VISIBLE_DEVICES=<cudaDevice>, a CPU slot (empty cudaDevice) with `--device cpu`.
struct TaskSlot
{
    int index = 0;
    QString cudaDevice;
    bool isGpu() const { return !cudaDevice.isEmpty(); }
};

/// Runs one assigned task: fetch the input into the cache, render it in a child process,
/// upload every frame as soon as the child reports it, then report done or failed.
/// Progress is throttled to at most 4 updates a second and log lines are batched. The child
/// writes a JPEG of the frame so far every kChildPreviewIntervalS (`PREVIEW` lines); at most
/// one a kPreviewIntervalMs goes on to the server, the newest.
class RenderTask : public QObject
{
    Q_OBJECT
public:
    static constexpr int kProgressIntervalMs = 250;
    static constexpr int kLogFlushMs = 500;
    static constexpr double kChildPreviewIntervalS = 1.5;
    static constexpr int kPreviewIntervalMs = 2000;
    /// The server's limit on a preview (docs/API.md, `task.partial`); larger ones are not sent.
    static constexpr qint64 kMaxPreviewBytes = 256 * 1024;

    RenderTask(TaskSpec spec, const NodeConfig &config, QNetworkAccessManager *network,
               InputCache *inputs, TaskSlot slot = {}, QObject *parent = nullptr);
    ~RenderTask() override;

    qint64 id() const { return m_spec.id; }
    const TaskSpec &spec() const { return m_spec; }
    const TaskSlot &slot() const { return m_slot; }
    /// Process id of the render child, 0 when none runs.
    qint64 childPid() const;

    void start();
    /// Kills the child and stops transfers; emits nothing more. Like a finished task, it
    /// deletes itself once its child is gone, so owners only drop their pointer.
    void cancel();

signals:
    void progress(qint64 task, double fraction, int frame);
    void log(qint64 task, const QString &text);
    /// A partial image of `frame` after `samples` of `spp` samples per pixel (JPEG bytes).
    void preview(qint64 task, int frame, int samples, int spp, const QByteArray &jpeg);
    /// `error` is empty when every frame was rendered and uploaded.
    void finished(qint64 task, const QStringList &outputs, const QString &error);

private:
    void releaseInput();
    void onInputReady(const QString &path, const QString &error);
    void startChild(const QString &inputPath);
    void onStdout();
    void onStderr();
    void onChildFinished(int exitCode, QProcess::ExitStatus status);
    void onChildError(QProcess::ProcessError error);
    void handleStdoutLine(const QString &line);
    /// FRAME <frame> <path>, OUTPUT <frame> <pass> <path> and CAMERAS <path>: each names a
    /// file in the workdir to upload (once, however often it is named).
    void handleFrame(const QString &rest);
    void handleOutput(const QString &rest);
    void handleCameras(const QString &rest);
    /// PREVIEW <frame> <samples> <path>: reads the JPEG now (the child replaces it atomically
    /// and may write the next one any moment) and sends it when the rate limit allows.
    void handlePreview(const QString &rest);
    void sendPreview();
    /// Checks that `path` is a file the child wrote into this task's workdir; empty if not.
    QString ownFile(const QString &path) const;
    void upload(const QString &fileName, int frame);
    void startUpload(const QString &fileName, int frame);
    void reportProgress(double fraction, int frame);
    void appendLog(const QString &line);
    void flushLog();
    void tryComplete();
    void fail(const QString &error);
    void finish(const QString &error);
    void stopWork();
    void removeWorkDir();

    TaskSpec m_spec;
    NodeConfig m_config;
    TaskSlot m_slot;
    QNetworkAccessManager *m_network;
    QPointer<InputCache> m_inputs;
    quint64 m_inputTicket = 0;
    QString m_workDir;
    QProcess *m_child = nullptr;
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
    QString m_childError; // first "error:" line of the child
    bool m_childExited = false;
    QString m_childFailure;
    bool m_finished = false;
    bool m_canceled = false;

    QElapsedTimer m_sinceProgress;
    std::optional<std::pair<double, int>> m_pendingProgress;
    QTimer m_progressTimer;
    QString m_logBuffer;
    qint64 m_logBytes = 0;
    QTimer m_logTimer;

    struct PendingPreview
    {
        int frame = 0;
        int samples = 0;
        QByteArray jpeg;
    };
    std::optional<PendingPreview> m_pendingPreview;
    QElapsedTimer m_sincePreview;
    QTimer m_previewTimer;
    bool m_previewTooLargeLogged = false;
};

} // namespace farm::node
