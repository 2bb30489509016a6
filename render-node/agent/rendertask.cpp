#include "rendertask.h"

#include "inputcache.h"
#include "outputupload.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QProcessEnvironment>

#include <atomic>
#include <csignal>
#include <sys/prctl.h>

Q_LOGGING_CATEGORY(lcTask, "farm.node.task")

namespace farm::node {

namespace {
constexpr int kLogFlushBytes = 16 * 1024;
// A runaway child must not flood the server's task log.
constexpr qint64 kMaxLogBytes = 4 * 1024 * 1024;
constexpr int kMaxLineBytes = 64 * 1024;
// Each run gets its own workdir: a canceled run may still be dying (and about to delete its
// dir) when the same task id is assigned here again.
std::atomic<quint64> s_runs{0};

// Splits complete lines off `buffer`; with `all` the unterminated rest counts as a line too.
QStringList takeLines(QByteArray &buffer, bool all)
{
    QStringList lines;
    qsizetype start = 0;
    for (qsizetype nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n', start)) {
        lines.append(QString::fromUtf8(buffer.mid(start, nl - start)).trimmed());
        start = nl + 1;
    }
    buffer.remove(0, start);
    if (all || buffer.size() > kMaxLineBytes) {
        if (!buffer.isEmpty())
            lines.append(QString::fromUtf8(buffer).trimmed());
        buffer.clear();
    }
    lines.removeAll(QString());
    return lines;
}
} // namespace

RenderTask::RenderTask(TaskSpec spec, const NodeConfig &config, QNetworkAccessManager *network,
                       InputCache *inputs, TaskSlot slot, QObject *parent)
    : QObject(parent)
    , m_spec(std::move(spec))
    , m_config(config)
    , m_slot(std::move(slot))
    , m_network(network)
    , m_inputs(inputs)
    , m_workDir(QDir(config.cacheDir).filePath(QString("tasks/%1-%2").arg(m_spec.id).arg(++s_runs)))
{
    m_progressTimer.setSingleShot(true);
    connect(&m_progressTimer, &QTimer::timeout, this, [this] {
        if (m_pendingProgress)
            reportProgress(m_pendingProgress->first, m_pendingProgress->second);
    });
    m_logTimer.setSingleShot(true);
    m_logTimer.setInterval(kLogFlushMs);
    connect(&m_logTimer, &QTimer::timeout, this, &RenderTask::flushLog);
    m_previewTimer.setSingleShot(true);
    connect(&m_previewTimer, &QTimer::timeout, this, &RenderTask::sendPreview);
}

RenderTask::~RenderTask()
{
    // Only reached at shutdown or with the owner: end the child here, synchronously (it gets
    // SIGKILL, so the wait is short), since no event loop will reap it for us.
    m_finished = true;
    releaseInput();
    for (OutputUpload *u : std::as_const(m_uploads))
        u->abort();
    if (m_child) {
        disconnect(m_child, nullptr, this, nullptr);
        if (m_child->state() != QProcess::NotRunning) {
            m_child->kill();
            m_child->waitForFinished(5000);
        }
    }
    removeWorkDir();
}

qint64 RenderTask::childPid() const
{
    return m_child ? m_child->processId() : 0;
}

void RenderTask::start()
{
    appendLog(QString("fetching input %1 (%2)").arg(m_spec.inputName, m_spec.inputSha));
    m_inputTicket = m_inputs->request(
        m_spec.inputSha, m_spec.inputName, this,
        [this](const QString &path, const QString &error) { onInputReady(path, error); });
}

void RenderTask::releaseInput()
{
    if (m_inputTicket && m_inputs)
        m_inputs->release(m_inputTicket);
    m_inputTicket = 0;
}

void RenderTask::cancel()
{
    if (m_canceled)
        return;
    m_canceled = true;
    m_finished = true;
    stopWork();
}

void RenderTask::stopWork()
{
    m_progressTimer.stop();
    m_previewTimer.stop();
    m_pendingPreview.reset();
    m_logTimer.stop();
    releaseInput();
    for (OutputUpload *u : std::as_const(m_uploads))
        u->abort();
    if (m_child && m_child->state() != QProcess::NotRunning) {
        // Reap the killed child asynchronously; the workdir goes once nothing writes to it.
        disconnect(m_child, nullptr, this, nullptr);
        connect(m_child, &QProcess::finished, this, [this] {
            removeWorkDir();
            deleteLater();
        });
        m_child->kill();
        return;
    }
    removeWorkDir();
    deleteLater();
}

void RenderTask::removeWorkDir()
{
    QDir(m_workDir).removeRecursively();
}

void RenderTask::onInputReady(const QString &path, const QString &error)
{
    if (!error.isEmpty())
        return fail(error);
    startChild(path);
}

void RenderTask::startChild(const QString &inputPath)
{
    QDir(m_workDir).removeRecursively(); // leftovers of an earlier attempt
    if (!QDir().mkpath(m_workDir))
        return fail(QString("cannot create work directory %1").arg(m_workDir));
    if (m_config.childProgram.isEmpty())
        return fail("no render program configured on this node");

    m_child = new QProcess(this);
    m_child->setProgram(m_config.childProgram);
    // A template set writes into a directory (rgb_N.png, ..., cameras.json): the workdir.
    const QString output = m_spec.isTemplates() ? QDir(m_workDir).absolutePath() + '/'
                                                : QDir(m_workDir).filePath("frame_####.png");
    QStringList args = m_spec.renderArguments(inputPath, output, m_config.threadsPerTask());
    // The slot decides the device; the preview file is replaced in place, never announced as
    // an output.
    args << "--device" << (m_slot.isGpu() ? "cuda" : "cpu") //
         << "--preview" << QDir(m_workDir).filePath("preview.jpg") << "--preview-interval"
         << QString::number(kChildPreviewIntervalS);
    m_child->setArguments(args);
    QString envNote;
    if (m_slot.isGpu()) {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("CUDA_VISIBLE_DEVICES", m_slot.cudaDevice);
        m_child->setProcessEnvironment(env);
        envNote = QString("CUDA_VISIBLE_DEVICES=%1 ").arg(m_slot.cudaDevice);
    }
    m_child->setWorkingDirectory(m_workDir);
    // The child must not outlive the agent, even when the agent is killed with SIGKILL.
    m_child->setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGKILL); });
    connect(m_child, &QProcess::readyReadStandardOutput, this, &RenderTask::onStdout);
    connect(m_child, &QProcess::readyReadStandardError, this, &RenderTask::onStderr);
    connect(m_child, &QProcess::finished, this, &RenderTask::onChildFinished);
    connect(m_child, &QProcess::errorOccurred, this, &RenderTask::onChildError);
    appendLog(QString("slot %1 (%2)").arg(m_slot.index).arg(m_slot.isGpu() ? "GPU" : "CPU"));
    appendLog(QString("running %1%2 %3")
                  .arg(envNote, m_child->program(), m_child->arguments().join(' ')));
    m_child->start(QIODevice::ReadOnly);
}

void RenderTask::onStdout()
{
    m_stdoutBuffer += m_child->readAllStandardOutput();
    for (const QString &line : takeLines(m_stdoutBuffer, false))
        handleStdoutLine(line);
}

void RenderTask::onStderr()
{
    m_stderrBuffer += m_child->readAllStandardError();
    for (const QString &line : takeLines(m_stderrBuffer, false)) {
        if (m_childError.isEmpty() && line.startsWith("error:"))
            m_childError = line;
        appendLog(line);
    }
}

void RenderTask::handleStdoutLine(const QString &line)
{
    if (line.startsWith("PROGRESS ")) {
        const QStringList parts = line.split(' ', Qt::SkipEmptyParts);
        bool okFraction = false, okFrame = false;
        const double fraction = parts.value(1).toDouble(&okFraction);
        const int frame = parts.value(2).toInt(&okFrame);
        if (parts.size() == 3 && okFraction && okFrame && fraction >= 0.0 && fraction <= 1.0)
            return reportProgress(fraction, frame);
    } else if (line.startsWith("FRAME ")) {
        return handleFrame(line.mid(6).trimmed());
    } else if (line.startsWith("OUTPUT ")) {
        return handleOutput(line.mid(7).trimmed());
    } else if (line.startsWith("CAMERAS ")) {
        return handleCameras(line.mid(8).trimmed());
    } else if (line.startsWith("PREVIEW ")) {
        return handlePreview(line.mid(8).trimmed());
    } else if (m_childError.isEmpty() && line.startsWith("error:")) {
        m_childError = line;
    }
    appendLog(line);
}

QString RenderTask::ownFile(const QString &path) const
{
    const QFileInfo info(path);
    if (!info.isAbsolute() || !info.isFile() ||
        info.canonicalPath() != QFileInfo(m_workDir).canonicalFilePath() ||
        !isValidOutputName(info.fileName()))
        return {};
    return info.fileName();
}

void RenderTask::handleFrame(const QString &rest)
{
    const qsizetype space = rest.indexOf(' ');
    bool okFrame = false;
    const int frame = rest.left(space).toInt(&okFrame);
    const QString name = space > 0 ? ownFile(rest.mid(space + 1).trimmed()) : QString();
    if (!okFrame || name.isEmpty())
        return fail(QString("renderer reported an unusable output: 'FRAME %1'").arg(rest));
    if (m_framesReported.contains(frame))
        return appendLog(QString("frame %1 reported again; uploaded once").arg(frame));
    m_framesReported.insert(frame);
    appendLog(QString("frame %1 written: %2").arg(frame).arg(name));
    if (m_passUploads.value(frame) > 0 && !m_outputs.contains(name))
        m_waitingMain.insert(frame, name);
    else
        upload(name, frame);
}

void RenderTask::handleOutput(const QString &rest)
{
    const QStringList parts = rest.split(' ');
    bool okFrame = false;
    const int frame = parts.value(0).toInt(&okFrame);
    const QString name = parts.size() >= 3 ? ownFile(parts.mid(2).join(' ')) : QString();
    if (!okFrame || name.isEmpty())
        return fail(QString("renderer reported an unusable output: 'OUTPUT %1'").arg(rest));
    upload(name, frame);
}

void RenderTask::handleCameras(const QString &rest)
{
    const QString name = ownFile(rest);
    if (name.isEmpty())
        return fail(QString("renderer reported an unusable output: 'CAMERAS %1'").arg(rest));
    ++m_cameraFiles;
    upload(name, -1);
}

void RenderTask::handlePreview(const QString &rest)
{
    // A bad preview is not worth failing a render over: it is logged and skipped.
    const QStringList parts = rest.split(' ');
    bool okFrame = false, okSamples = false;
    const int frame = parts.value(0).toInt(&okFrame);
    const int samples = parts.value(1).toInt(&okSamples);
    const QString name = parts.size() >= 3 ? ownFile(parts.mid(2).join(' ')) : QString();
    if (!okFrame || !okSamples || samples < 1 || name.isEmpty())
        return appendLog(QString("ignoring an unusable preview line: 'PREVIEW %1'").arg(rest));
    if (m_framesReported.contains(frame))
        return; // the finished frame is already on its way
    QFile file(QDir(m_workDir).filePath(name));
    if (file.size() > kMaxPreviewBytes) {
        if (!std::exchange(m_previewTooLargeLogged, true))
            appendLog(QString("preview of %1 bytes exceeds %2; previews are not sent")
                          .arg(file.size())
                          .arg(kMaxPreviewBytes));
        return;
    }
    if (!file.open(QIODevice::ReadOnly))
        return;
    m_pendingPreview = PendingPreview{frame, samples, file.readAll()};
    const qint64 since = m_sincePreview.isValid() ? m_sincePreview.elapsed() : kPreviewIntervalMs;
    if (since >= kPreviewIntervalMs)
        sendPreview();
    else if (!m_previewTimer.isActive())
        m_previewTimer.start(int(kPreviewIntervalMs - since));
}

void RenderTask::sendPreview()
{
    if (m_finished || !m_pendingPreview)
        return;
    PendingPreview p = std::move(*m_pendingPreview);
    m_pendingPreview.reset();
    if (m_framesReported.contains(p.frame))
        return; // the frame finished while this waited: the real image supersedes it
    m_sincePreview.start();
    emit preview(m_spec.id, p.frame, p.samples, m_spec.settings.spp, p.jpeg);
}

void RenderTask::upload(const QString &fileName, int frame)
{
    if (m_outputs.contains(fileName))
        return;
    m_outputs.append(fileName); // in the child's order; uploads may finish in any order
    if (frame >= 0)
        m_passUploads[frame] += 1;
    startUpload(fileName, frame);
}

void RenderTask::startUpload(const QString &fileName, int frame)
{
    auto *upload = new OutputUpload(
        m_network,
        m_config.apiUrl(QString("/api/v1/tasks/%1/outputs/%2").arg(m_spec.id).arg(fileName)),
        m_config.token, QDir(m_workDir).filePath(fileName), m_config.uploadRetryMs, this);
    m_uploads.append(upload);
    connect(upload, &OutputUpload::finished, this, [this, upload, frame](const QString &error) {
        m_uploads.removeOne(upload);
        upload->deleteLater();
        if (!error.isEmpty())
            return fail(error);
        if (frame >= 0 && --m_passUploads[frame] == 0 && m_waitingMain.contains(frame))
            this->upload(m_waitingMain.take(frame), frame);
        tryComplete();
    });
    upload->start();
}

void RenderTask::reportProgress(double fraction, int frame)
{
    if (m_finished)
        return;
    if (m_sinceProgress.isValid() && m_sinceProgress.elapsed() < kProgressIntervalMs) {
        m_pendingProgress = std::make_pair(fraction, frame);
        if (!m_progressTimer.isActive())
            m_progressTimer.start(int(kProgressIntervalMs - m_sinceProgress.elapsed()));
        return;
    }
    m_pendingProgress.reset();
    m_sinceProgress.start();
    emit progress(m_spec.id, fraction, frame);
}

void RenderTask::appendLog(const QString &line)
{
    if (m_finished || m_logBytes > kMaxLogBytes)
        return;
    m_logBytes += line.size() + 1;
    m_logBuffer += (m_logBytes > kMaxLogBytes ? QString("[log truncated]") : line) + '\n';
    if (m_logBuffer.size() >= kLogFlushBytes)
        flushLog();
    else if (!m_logTimer.isActive())
        m_logTimer.start();
}

void RenderTask::flushLog()
{
    m_logTimer.stop();
    if (m_logBuffer.isEmpty() || m_canceled)
        return;
    const QString text = std::exchange(m_logBuffer, QString());
    emit log(m_spec.id, text);
}

void RenderTask::onChildFinished(int exitCode, QProcess::ExitStatus status)
{
    onStdout();
    onStderr();
    for (const QString &line : takeLines(m_stdoutBuffer, true))
        handleStdoutLine(line);
    for (const QString &line : takeLines(m_stderrBuffer, true)) {
        if (m_childError.isEmpty() && line.startsWith("error:"))
            m_childError = line;
        appendLog(line);
    }
    if (m_finished)
        return;
    m_childExited = true;
    const QString detail = m_childError.isEmpty() ? QString() : ": " + m_childError;
    if (status == QProcess::CrashExit)
        return fail("render process crashed" + detail);
    if (exitCode != 0)
        return fail(QString("render process exited with code %1").arg(exitCode) + detail);
    tryComplete();
}

void RenderTask::onChildError(QProcess::ProcessError error)
{
    if (error == QProcess::FailedToStart)
        fail(QString("cannot start render process %1: %2")
                 .arg(m_config.childProgram, m_child->errorString()));
}

void RenderTask::tryComplete()
{
    if (m_finished || !m_childExited || !m_uploads.isEmpty())
        return;
    const int expected = m_spec.isTemplates() ? m_spec.settings.views : m_spec.frames.size();
    const QString unit = m_spec.isTemplates() ? "views" : "frames";
    if (m_framesReported.size() != expected)
        return fail(QString("renderer finished but reported %1 of %2 %3")
                        .arg(m_framesReported.size())
                        .arg(expected)
                        .arg(unit));
    if (m_spec.isTemplates() && m_cameraFiles == 0)
        return fail("renderer finished a template set without its camera files");
    appendLog(QString("uploaded %1 output(s)").arg(m_outputs.size()));
    finish({});
}

void RenderTask::fail(const QString &error)
{
    if (m_finished)
        return;
    appendLog("task failed: " + error);
    finish(error);
}

void RenderTask::finish(const QString &error)
{
    if (m_finished)
        return;
    qCInfo(lcTask).noquote() << "task" << m_spec.id
                             << (error.isEmpty() ? QString("done") : "failed: " + error);
    flushLog();
    m_finished = true;
    stopWork();
    emit finished(m_spec.id, m_outputs, error);
}

} // namespace farm::node
