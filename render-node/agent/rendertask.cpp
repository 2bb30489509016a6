#include "rendertask.h"

#include "bundlelayout.h"
#include "inputcache.h"
#include "outputupload.h"
#include "protocol/message.h"
#include "renderer/childprotocol.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QProcessEnvironment>
#include <QSaveFile>

#include <atomic>
#include <csignal>
#include <sys/prctl.h>
#include <unistd.h>

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

QString fileNameOf(const QString &bundlePath)
{
    return bundlePath.mid(bundlePath.lastIndexOf('/') + 1);
}
} // namespace

RenderTask::RenderTask(TaskSpec spec, std::shared_ptr<const Engine> engine,
                       const NodeConfig &config, QNetworkAccessManager *network, InputCache *inputs,
                       TaskSlot slot, QObject *parent)
    : QObject(parent)
    , m_spec(std::move(spec))
    , m_engine(std::move(engine))
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
    m_fetchTimer.setInterval(kFetchNoteMs);
    connect(&m_fetchTimer, &QTimer::timeout, this, [this] {
        appendLog(QString("fetching inputs: %1 of %2 file(s) ready")
                      .arg(m_cached.size())
                      .arg(m_spec.files.size()));
    });
}

RenderTask::~RenderTask()
{
    // Only reached at shutdown or with the owner: end the child here, synchronously (its group
    // gets SIGKILL, so the wait is short), since no event loop will reap it for us.
    m_finished = true;
    releaseInput();
    for (OutputUpload *u : std::as_const(m_uploads))
        u->abort();
    if (m_child) {
        disconnect(m_child, nullptr, this, nullptr);
        signalGroup(SIGKILL);
        if (m_child->state() != QProcess::NotRunning) {
            m_child->kill();
            m_child->waitForFinished(5000);
        }
    }
    removeWorkDir();
}

qint64 RenderTask::childPid() const
{
    return m_child && m_child->state() != QProcess::NotRunning ? m_childPid : 0;
}

void RenderTask::start()
{
    const BundleFile *main = m_spec.mainFile();
    appendLog(QString("fetching input %1 (%2)%3")
                  .arg(m_spec.main, main ? main->file : QString())
                  .arg(m_spec.files.size() > 1
                           ? QString(" and %1 more file(s)").arg(m_spec.files.size() - 1)
                           : QString()));
    m_fetchTimer.start();
    requestInputs();
}

void RenderTask::requestInputs()
{
    while (!m_finished && m_nextFetch < m_spec.files.size() &&
           m_nextFetch - m_cached.size() < kParallelFetches) {
        const BundleFile file = m_spec.files.at(m_nextFetch++);
        m_inputTickets.append(m_inputs->request(
            file.file, fileNameOf(file.path), this,
            [this, path = file.path](const QString &cached, const QString &error) {
                onInputReady(path, cached, error);
            }));
    }
}

void RenderTask::releaseInput()
{
    if (m_inputs)
        for (quint64 ticket : std::as_const(m_inputTickets))
            m_inputs->release(ticket);
    m_inputTickets.clear();
}

void RenderTask::cancel()
{
    if (m_canceled)
        return;
    m_canceled = true;
    m_finished = true;
    stopWork();
}

void RenderTask::signalGroup(int signal) const
{
    // The child leads its own process group (setsid at start): its pid is the group's id.
    if (m_childPid > 0)
        ::kill(-pid_t(m_childPid), signal);
}

void RenderTask::stopWork()
{
    m_progressTimer.stop();
    m_previewTimer.stop();
    m_pendingPreview.reset();
    m_logTimer.stop();
    m_fetchTimer.stop();
    releaseInput();
    for (OutputUpload *u : std::as_const(m_uploads))
        u->abort();
    if (m_child && m_child->state() != QProcess::NotRunning) {
        // SIGTERM lets Blender and friends end cleanly; whatever is left of the group after
        // the grace period, or once the leader is gone, gets SIGKILL. The workdir goes once
        // nothing writes to it.
        disconnect(m_child, nullptr, this, nullptr);
        connect(m_child, &QProcess::finished, this, [this] {
            signalGroup(SIGKILL);
            removeWorkDir();
            deleteLater();
        });
        signalGroup(SIGTERM);
        QTimer::singleShot(kKillGraceMs, this, [this] {
            signalGroup(SIGKILL);
            if (m_child)
                m_child->kill();
        });
        return;
    }
    signalGroup(SIGKILL); // anything the finished child left behind
    removeWorkDir();
    deleteLater();
}

void RenderTask::removeWorkDir()
{
    QDir(m_workDir).removeRecursively();
}

void RenderTask::onInputReady(const QString &bundlePath, const QString &cachedPath,
                              const QString &error)
{
    if (m_finished)
        return;
    if (!error.isEmpty())
        return fail(m_spec.files.size() > 1 ? QString("%1: %2").arg(bundlePath, error) : error);
    m_cached.insert(bundlePath, cachedPath);
    if (m_cached.size() < m_spec.files.size())
        return requestInputs();
    startChild();
}

void RenderTask::startChild()
{
    m_fetchTimer.stop();
    QDir(m_workDir).removeRecursively(); // leftovers of an earlier attempt
    if (!QDir().mkpath(m_workDir))
        return fail(QString("cannot create work directory %1").arg(m_workDir));
    const QString workDir = QFileInfo(m_workDir).absoluteFilePath();

    QList<CachedBundleFile> files;
    for (const BundleFile &f : std::as_const(m_spec.files))
        files.append({f.path, m_cached.value(f.path)});
    if (auto laid = layOutBundle(QDir(workDir).filePath("input"), files); !laid)
        return fail(laid.error().message);
    // The tickets stay held until the task ends: an evicted file whose link the child still
    // reads would free no space anyway.

    const LaunchContext context{m_spec, workDir, QDir(workDir).filePath("input/" + m_spec.main),
                                m_slot, m_config.threadsPerTask()};
    auto launch = m_engine->launch(context);
    if (!launch)
        return fail(launch.error().message);
    m_launch = std::move(*launch);
    for (const auto &[name, content] : std::as_const(m_launch.files)) {
        QSaveFile file(QDir(workDir).filePath(name));
        if (!file.open(QIODevice::WriteOnly) || file.write(content) != content.size() ||
            !file.commit())
            return fail(QString("cannot write %1 into the work directory").arg(name));
    }
    m_reader = m_engine->reader(m_spec);

    m_child = new QProcess(this);
    m_child->setProgram(m_launch.program);
    m_child->setArguments(m_launch.arguments);
    QString envNote;
    if (!m_launch.environment.isEmpty()) {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        for (auto it = m_launch.environment.cbegin(); it != m_launch.environment.cend(); ++it) {
            env.insert(it.key(), it.value());
            envNote += QString("%1=%2 ").arg(it.key(), it.value());
        }
        m_child->setProcessEnvironment(env);
    }
    m_child->setWorkingDirectory(m_launch.workDir.isEmpty() ? workDir : m_launch.workDir);
    // Its own process group, so a cancel reaches everything it starts; and it must not outlive
    // the agent, even when the agent is killed with SIGKILL.
    m_child->setChildProcessModifier([] {
        ::setsid();
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    });
    connect(m_child, &QProcess::readyReadStandardOutput, this, &RenderTask::onStdout);
    connect(m_child, &QProcess::readyReadStandardError, this, &RenderTask::onStderr);
    connect(m_child, &QProcess::finished, this, &RenderTask::onChildFinished);
    connect(m_child, &QProcess::errorOccurred, this, &RenderTask::onChildError);
    appendLog(QString("slot %1 (%2), engine %3")
                  .arg(m_slot.index)
                  .arg(m_slot.isGpu() ? "GPU" : "CPU", m_engine->name()));
    appendLog(QString("running %1%2 %3")
                  .arg(envNote, m_child->program(), m_child->arguments().join(' ')));
    m_child->start(QIODevice::ReadOnly);
    // Known as soon as the fork happened, so a cancel that comes before `started` still
    // reaches the group (0 when the start failed).
    m_childPid = m_child->processId();
}

void RenderTask::onStdout()
{
    m_stdoutBuffer += m_child->readAllStandardOutput();
    readLines(m_stdoutBuffer, ChildOutputReader::Stream::Stdout, false);
}

void RenderTask::onStderr()
{
    m_stderrBuffer += m_child->readAllStandardError();
    readLines(m_stderrBuffer, ChildOutputReader::Stream::Stderr, false);
}

void RenderTask::readLines(QByteArray &buffer, ChildOutputReader::Stream stream, bool all)
{
    for (const QString &line : takeLines(buffer, all))
        for (const ChildEvent &event : m_reader->translate(line, stream))
            handleEvent(event);
}

void RenderTask::handleEvent(const ChildEvent &event)
{
    using Kind = ChildEvent::Kind;
    switch (event.kind) {
    case Kind::Error:
        if (m_childError.isEmpty())
            m_childError = event.text;
        return appendLog(event.text);
    case Kind::Log:
        return appendLog(event.text);
    case Kind::Progress:
        if (event.fraction >= 0.0 && event.fraction <= 1.0)
            reportProgress(event.fraction, event.frame);
        return;
    case Kind::Frame:
        return handleFrame(event);
    case Kind::Output:
        return handleOutput(event);
    case Kind::Cameras:
        return handleCameras(event);
    case Kind::Preview:
        return handlePreview(event);
    }
}

QString RenderTask::ownFile(const QString &path) const
{
    const QFileInfo info(path);
    if (path.isEmpty() || !info.isAbsolute() || info.isSymLink() || !info.isFile() ||
        info.canonicalPath() != QFileInfo(m_workDir).canonicalFilePath() ||
        !isValidOutputName(info.fileName()))
        return {};
    return info.fileName();
}

void RenderTask::handleFrame(const ChildEvent &event)
{
    const QString name = ownFile(event.path);
    if (name.isEmpty())
        return fail(QString("renderer reported an unusable output: '%1'").arg(event.text));
    if (m_framesReported.contains(event.frame))
        return appendLog(QString("frame %1 reported again; uploaded once").arg(event.frame));
    m_framesReported.insert(event.frame);
    appendLog(QString("frame %1 written: %2").arg(event.frame).arg(name));
    if (m_passUploads.value(event.frame) > 0 && !m_outputs.contains(name))
        m_waitingMain.insert(event.frame, name);
    else
        upload(name, event.frame);
}

void RenderTask::handleOutput(const ChildEvent &event)
{
    const QString name = ownFile(event.path);
    if (name.isEmpty())
        return fail(QString("renderer reported an unusable output: '%1'").arg(event.text));
    upload(name, event.frame);
}

void RenderTask::handleCameras(const ChildEvent &event)
{
    const QString name = ownFile(event.path);
    if (name.isEmpty())
        return fail(QString("renderer reported an unusable output: '%1'").arg(event.text));
    ++m_cameraFiles;
    upload(name, -1);
}

void RenderTask::handlePreview(const ChildEvent &event)
{
    // A bad preview is not worth failing a render over: it is logged and skipped.
    const QString name = ownFile(event.path);
    if (event.samples < 1 || name.isEmpty())
        return appendLog(QString("ignoring an unusable preview line: '%1'").arg(event.text));
    if (m_framesReported.contains(event.frame))
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
    m_pendingPreview = PendingPreview{event.frame, event.samples, event.spp, file.readAll()};
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
    emit preview(m_spec.id, p.frame, p.samples, p.spp, p.jpeg);
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
    const QString path = QString("/api/v1/tasks/%1/outputs/%2").arg(m_spec.id).arg(fileName);
    auto *upload =
        new OutputUpload(m_network, m_config.apiUrl(path), m_config.bearer(),
                         QDir(m_workDir).filePath(fileName), m_config.uploadRetryMs, this);
    upload->followServer([config = m_config, path] { return config.apiUrl(path); });
    m_uploads.append(upload);
    connect(upload, &OutputUpload::refused, this, [this, upload](const QString &why) {
        m_uploads.removeOne(upload);
        upload->deleteLater();
        lose(why);
    });
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
    readLines(m_stdoutBuffer, ChildOutputReader::Stream::Stdout, true);
    readLines(m_stderrBuffer, ChildOutputReader::Stream::Stderr, true);
    if (m_finished)
        return;
    m_childExited = true;
    const QString detail = m_childError.isEmpty() ? QString() : ": " + m_childError;
    if (status == QProcess::CrashExit)
        return fail("render process crashed" + detail);
    if (exitCode == childprotocol::kExitInvalidInput) // the input is unusable: say only why
        return fail(m_childError.isEmpty()                ? QString("the task's input is unusable")
                    : m_childError.startsWith(u"error: ") ? m_childError.mid(7)
                                                          : m_childError,
                    errc::InvalidInput);
    if (exitCode != 0)
        return fail(QString("render process exited with code %1").arg(exitCode) + detail);
    tryComplete();
}

void RenderTask::onChildError(QProcess::ProcessError error)
{
    if (error == QProcess::FailedToStart)
        fail(QString("cannot start render process %1: %2")
                 .arg(m_launch.program, m_child->errorString()));
}

void RenderTask::tryComplete()
{
    if (m_finished || !m_childExited || !m_uploads.isEmpty())
        return;
    if (m_framesReported.size() != m_launch.expectedFrames)
        return fail(QString("renderer finished but reported %1 of %2 %3")
                        .arg(m_framesReported.size())
                        .arg(m_launch.expectedFrames)
                        .arg(m_launch.unit));
    if (m_launch.expectsCameraFiles && m_cameraFiles == 0)
        return fail("renderer finished a template set without its camera files");
    appendLog(QString("uploaded %1 output(s)").arg(m_outputs.size()));
    finish({});
}

void RenderTask::fail(const QString &error, const QString &code)
{
    if (m_finished)
        return;
    appendLog("task failed: " + error);
    finish(error, code);
}

void RenderTask::lose(const QString &why)
{
    if (m_finished)
        return;
    qCWarning(lcTask).noquote() << "task" << m_spec.id
                                << "is no longer this node's, stopping it:" << why;
    // Like a cancel: the child goes and nothing more is reported for the task.
    m_canceled = true;
    m_finished = true;
    stopWork();
    emit lost(m_spec.id, why);
}

void RenderTask::finish(const QString &error, const QString &code)
{
    if (m_finished)
        return;
    qCInfo(lcTask).noquote() << "task" << m_spec.id
                             << (error.isEmpty() ? QString("done") : "failed: " + error);
    flushLog();
    m_finished = true;
    stopWork();
    emit finished(m_spec.id, m_outputs, error, code);
}

} // namespace farm::node
