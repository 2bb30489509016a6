#include "widgets/jobdetails.h"

#include "client/jobtypes.h"
#include "models/jobsmodel.h"
#include "widgets/frameviewer.h"
#include "widgets/icons.h"
#include "widgets/progressdelegate.h"
#include "widgets/videoplayer.h"

#include <QCollator>
#include <QDesktopServices>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QImage>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollArea>
#include <QScrollBar>
#include <QSplitter>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QStyle>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTimer>
#include <QUrl>
#include <QVBoxLayout>

namespace farm::gui {

JobDetails::JobDetails(client::ApiClient *api, QWidget *parent)
    : QWidget(parent)
    , m_api(api)
    , m_title(new QLabel(this))
    , m_summary(new QLabel(this))
    , m_settings(new QLabel(this))
    , m_explain(new QLabel(this))
    , m_inputFiles(new QListWidget(this))
    , m_cancel(new QPushButton(tr("Cancel job"), this))
    , m_taskView(new QTableView(this))
    , m_frames(new QListWidget(this))
    , m_live(new QWidget(this))
    , m_liveRegion(new QStackedWidget(this))
    , m_tabs(new QTabWidget(this))
    , m_log(new QPlainTextEdit(this))
    , m_logTimer(new QTimer(this))
    , m_framesMenu(new QMenu(this))
    , m_tasksMenu(new QMenu(this))
    , m_liveView(new QLabel(m_live))
    , m_liveText(new QLabel(m_live))
{
    QFont big = m_title->font();
    big.setPointSizeF(big.pointSizeF() * 1.25);
    big.setBold(true);
    m_title->setFont(big);
    m_title->setObjectName("jobTitle");
    m_summary->setObjectName("jobSummary");
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_summary->setWordWrap(true);
    m_summary->setTextFormat(Qt::RichText);
    m_settings->setObjectName("jobSettings");
    m_settings->setTextFormat(Qt::PlainText);
    m_settings->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_settings->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_inputFiles->setObjectName("jobFiles");
    m_inputFiles->setSelectionMode(QAbstractItemView::NoSelection);
    m_cancel->setObjectName("cancelJob");
    connect(m_cancel, &QPushButton::clicked, this, [this] { emit cancelRequested(m_job.id); });

    m_taskView->setModel(&m_tasks);
    m_taskView->setItemDelegateForColumn(TasksModel::Progress,
                                         new ProgressDelegate(TasksModel::State, this));
    m_taskView->verticalHeader()->hide();
    m_taskView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_taskView->setAlternatingRowColors(true);
    m_taskView->setShowGrid(false);
    m_taskView->horizontalHeader()->setStretchLastSection(true);
    m_taskView->horizontalHeader()->setDefaultAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    m_taskView->verticalHeader()->setDefaultSectionSize(26);
    m_taskView->horizontalHeader()->resizeSection(TasksModel::Index, 44);
    m_taskView->horizontalHeader()->resizeSection(TasksModel::Progress, 160);
    m_taskView->horizontalHeader()->resizeSection(TasksModel::Node, 140);
    m_taskView->setObjectName("tasks");
    m_taskView->setContextMenuPolicy(Qt::CustomContextMenu);
    m_tasksMenu->setObjectName("tasksMenu");
    QAction *requeue = m_tasksMenu->addAction(themedIcon("view-refresh", QStyle::SP_BrowserReload),
                                              tr("Re-&queue (render again)"));
    requeue->setObjectName("requeueTask");
    connect(requeue, &QAction::triggered, this, &JobDetails::requeueSelectedTasks);
    connect(m_taskView, &QWidget::customContextMenuRequested, this, [this](const QPoint &pos) {
        const QModelIndex at = m_taskView->indexAt(pos);
        if (at.isValid() && !m_taskView->selectionModel()->isRowSelected(at.row()))
            m_taskView->selectRow(at.row());
        m_tasksMenu->popup(m_taskView->viewport()->mapToGlobal(pos));
    });
    connect(m_taskView->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex &current) {
                if (current.isValid() && current.row() < m_tasks.tasks().size())
                    showLog(m_tasks.tasks()[current.row()].id);
            });

    m_log->setObjectName("taskLog");
    m_log->setReadOnly(true);
    m_log->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_log->setMaximumBlockCount(50000);
    m_log->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_log->setPlaceholderText(tr("Select a task to read its log."));
    m_logTimer->setInterval(1000);
    connect(m_logTimer, &QTimer::timeout, this, &JobDetails::fetchLog);

    m_frames->setObjectName("frames");
    m_frames->setViewMode(QListView::IconMode);
    m_frames->setIconSize(QSize(160, 120));
    m_frames->setGridSize(QSize(176, 146));
    m_frames->setResizeMode(QListView::Adjust);
    m_frames->setMovement(QListView::Static);
    m_frames->setUniformItemSizes(true);
    m_frames->setToolTip(tr("Double-click to open"));
    connect(m_frames, &QListWidget::itemActivated, this, [this](QListWidgetItem *item) {
        const QString name = item->data(Qt::UserRole).toString();
        if (isImage(name))
            viewFrame(name);
        else if (isVideo(name))
            playVideo(name);
        else
            openOutput(name);
    });
    m_frames->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_frames->setContextMenuPolicy(Qt::CustomContextMenu);
    m_framesMenu->setObjectName("framesMenu");
    auto addOutputAction = [this](const char *name, const QString &text, QIcon icon,
                                  std::function<void()> run) {
        QAction *a = m_framesMenu->addAction(icon, text);
        a->setObjectName(name);
        connect(a, &QAction::triggered, this, std::move(run));
        return a;
    };
    addOutputAction("viewOutput", tr("&View…"),
                    themedIcon("zoom-in", QStyle::SP_FileDialogContentsView), [this] {
                        for (const QString &n : selectedOutputs())
                            if (isImage(n))
                                return void(viewFrame(n));
                            else if (isVideo(n))
                                return playVideo(n);
                    });
    addOutputAction("openOutput", tr("&Open with the desktop's application"),
                    themedIcon("document-open", QStyle::SP_DialogOpenButton), [this] {
                        for (const QString &n : selectedOutputs())
                            openOutput(n);
                    });
    addOutputAction("revealOutput", tr("Save to Downloads and &reveal"),
                    themedIcon("folder-open", QStyle::SP_DirOpenIcon), [this] {
                        for (const QString &n : selectedOutputs())
                            revealOutput(n);
                    });
    addOutputAction("saveOutput", tr("&Save as…"),
                    themedIcon("document-save", QStyle::SP_DialogSaveButton), [this] {
                        const QStringList names = selectedOutputs();
                        if (names.size() == 1) {
                            const QString path =
                                QFileDialog::getSaveFileName(this, tr("Save output"), names[0]);
                            if (!path.isEmpty())
                                saveOutput(names[0], path);
                            return;
                        }
                        const QString dir =
                            QFileDialog::getExistingDirectory(this, tr("Save outputs into"));
                        for (const QString &n : names)
                            if (!dir.isEmpty())
                                saveOutput(n, QDir(dir).filePath(n));
                    });
    m_framesMenu->addSeparator();
    addOutputAction("saveAllOutputs", tr("Save &all as a zip…"),
                    themedIcon("document-save-as", QStyle::SP_DialogSaveButton), [this] {
                        const QString path = QFileDialog::getSaveFileName(
                            this, tr("Save every output"),
                            QString("job-%1-outputs.zip").arg(m_job.id), tr("Zip (*.zip)"));
                        if (!path.isEmpty())
                            saveAll(path);
                    });
    connect(m_frames, &QWidget::customContextMenuRequested, this, [this](const QPoint &pos) {
        if (QListWidgetItem *item = m_frames->itemAt(pos); item && !item->isSelected()) {
            m_frames->clearSelection();
            item->setSelected(true);
        }
        m_framesMenu->popup(m_frames->viewport()->mapToGlobal(pos));
    });
    m_opener = [](const QUrl &url) { return QDesktopServices::openUrl(url); };
    // Same size as a thumbnail, so the layout does not jump when images arrive.
    QPixmap placeholder(m_frames->iconSize());
    placeholder.fill(palette().color(QPalette::Midlight));
    m_placeholder = QIcon(placeholder);

    auto *header = new QHBoxLayout;
    auto *titles = new QVBoxLayout;
    titles->addWidget(m_title);
    titles->addWidget(m_summary);
    m_explain->setObjectName("jobExplain");
    m_explain->setWordWrap(true);
    m_explain->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_explain->setStyleSheet("color: #f2c94c;");
    titles->addWidget(m_explain);
    header->addLayout(titles, 1);
    header->addWidget(m_cancel, 0, Qt::AlignTop);

    // The partial image of the frame rendering now, left of the finished frames, in a region
    // of its own size whether or not a frame renders: nothing moves when it appears.
    m_live->setObjectName("livePreview");
    m_liveView->setObjectName("livePreviewImage");
    m_liveView->setFixedSize(208, 156);
    m_liveView->setAlignment(Qt::AlignCenter);
    m_liveView->setStyleSheet("background: #0a0d11;");
    m_liveText->setObjectName("livePreviewCaption");
    m_liveText->setAlignment(Qt::AlignHCenter);
    auto *liveLayout = new QVBoxLayout(m_live);
    liveLayout->setContentsMargins(0, 0, 0, 0);
    auto *liveTitle = new QLabel(tr("<b>Rendering now</b>"), m_live);
    liveLayout->addWidget(liveTitle);
    liveLayout->addWidget(m_liveView);
    liveLayout->addWidget(m_liveText);
    liveLayout->addStretch(1);
    auto *idle = new QLabel(tr("No frame of this job is rendering."), m_liveRegion);
    idle->setObjectName("liveIdle");
    idle->setAlignment(Qt::AlignCenter);
    idle->setWordWrap(true);
    idle->setStyleSheet("color: palette(placeholder-text); border: 1px dashed palette(mid);");
    m_liveRegion->addWidget(idle);
    m_liveRegion->addWidget(m_live);
    m_liveRegion->setFixedWidth(214);
    m_liveRegion->setObjectName("liveRegion");
    auto *framesRow = new QWidget(this);
    auto *framesLayout = new QHBoxLayout(framesRow);
    framesLayout->setContentsMargins(0, 4, 0, 0);
    framesLayout->addWidget(m_liveRegion);
    framesLayout->addWidget(m_frames, 1);

    // Tasks beside the log of the selected one.
    auto *taskSplit = new QSplitter(Qt::Horizontal, this);
    taskSplit->setChildrenCollapsible(false);
    taskSplit->addWidget(m_taskView);
    taskSplit->addWidget(m_log);
    taskSplit->setStretchFactor(0, 1);
    taskSplit->setStretchFactor(1, 1);

    // What the job renders: its settings (whatever its type) beside its input bundle.
    auto *input = new QWidget(this);
    auto *inputLayout = new QHBoxLayout(input);
    inputLayout->setContentsMargins(0, 4, 0, 0);
    auto *settingsScroll = new QScrollArea(input);
    settingsScroll->setWidget(m_settings);
    settingsScroll->setWidgetResizable(true);
    inputLayout->addWidget(settingsScroll, 1);
    inputLayout->addWidget(m_inputFiles, 1);

    m_tabs->setObjectName("detailTabs");
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(framesRow, themedIcon("image-x-generic", QStyle::SP_FileIcon), tr("Frames"));
    m_tabs->addTab(taskSplit, themedIcon("view-list-details", QStyle::SP_FileDialogDetailedView),
                   tr("Tasks and log"));
    m_tabs->addTab(input, themedIcon("document-properties", QStyle::SP_FileDialogInfoView),
                   tr("Settings and input"));

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(10, 6, 10, 6);
    layout->addLayout(header);
    layout->addWidget(m_tabs, 1);
    showJob(nullptr);
}

int JobDetails::thumbnailCount() const
{
    return m_frames->count();
}

void JobDetails::showJob(const Job *job)
{
    ++m_generation;
    m_explain->clear();
    m_thumbnails.clear();
    m_frames->clear();
    hideLive();
    if (!job) {
        m_job = Job();
        m_tasks.clear();
        m_logTask = 0;
        m_logTimer->stop();
        m_log->clear();
        updateHeader();
        return;
    }
    const bool same = job->id == m_job.id;
    m_job = *job;
    if (!same) {
        m_tasks.clear();
        m_logTask = 0;
        m_logTimer->stop();
        m_log->clear();
    }
    updateHeader();
    const quint64 gen = m_generation;
    m_api->jobTasks(job->id, [this, gen, id = job->id](Result<QList<Task>> r) {
        if (gen != m_generation)
            return;
        if (!r)
            return emit errorOccurred(r.error().message);
        m_tasks.setTasks(id, *r);
        // The log shown is the running task's, else the one shown before, else the first.
        qint64 logTask = 0;
        for (const Task &t : std::as_const(*r))
            if (t.state == TaskState::Running && !logTask)
                logTask = t.id;
        for (const Task &t : std::as_const(*r))
            if (t.id == m_logTask && !logTask)
                logTask = t.id;
        if (!logTask && !r->isEmpty())
            logTask = r->first().id;
        if (logTask)
            showLog(logTask);
        // A running task may have sent a partial image before this job was opened.
        for (const Task &t : std::as_const(*r))
            if (t.state == TaskState::Running && m_liveTask == 0)
                fetchPartial(t.id, -1, 0, 0);
    });
    loadOutputs();
}

void JobDetails::updateHeader()
{
    if (m_job.id == 0) {
        m_title->setText(tr("No job selected"));
        m_summary->setText(tr("Drop a model, a folder or a .zip onto this window to render it."));
        m_settings->clear();
        m_inputFiles->clear();
        m_cancel->setEnabled(false);
        return;
    }
    const QStringList rows = settingsRows();
    m_settings->setText(rows.isEmpty() ? tr("(no settings)") : rows.join('\n'));
    m_inputFiles->clear();
    m_inputFiles->addItems(inputFiles());
    const JobSpec &s = m_job.spec;
    m_title->setText(QString("#%1  %2").arg(m_job.id).arg(s.name.toHtmlEscaped()));
    const qsizetype sideFiles = s.input.files.size() - 1;
    const QString input = sideFiles > 1
                              ? tr("%1 and %2 side files").arg(s.input.mainName()).arg(sideFiles)
                          : sideFiles == 1 ? tr("%1 and 1 side file").arg(s.input.mainName())
                                           : s.input.mainName();
    QString summary =
        QString("<span style='color:%1'><b>%2</b></span> · %3% · %4 · frames %5 "
                "· %6")
            .arg(stateColor(toString(m_job.state)).name(), toString(m_job.state))
            .arg(int(m_job.progress * 100 + 0.5))
            .arg(s.type.toHtmlEscaped(), s.frames.toHtmlEscaped(), input.toHtmlEscaped());
    if (!m_job.error.isEmpty())
        summary +=
            QString("<br><span style='color:#d64545'>%1</span>").arg(m_job.error.toHtmlEscaped());
    m_summary->setText(summary);
    m_cancel->setEnabled(m_available && !isFinal(m_job.state));
}

void JobDetails::setAvailable(bool available)
{
    m_available = available;
    updateHeader();
}

void JobDetails::showExplanation(qint64 jobId, const QStringList &reasons)
{
    if (jobId != m_job.id)
        return;
    m_explain->setText(reasons.isEmpty()
                           ? tr("Why not running: nothing holds it back.")
                           : tr("Why not running: %1").arg(reasons.join(QStringLiteral("; "))));
}

QString JobDetails::explanation() const
{
    return m_explain->text();
}

void JobDetails::setJobTypes(const QList<client::JobTypeInfo> &types)
{
    m_types = types;
    updateHeader();
}

QStringList JobDetails::settingsRows() const
{
    const client::JobTypeInfo *type = client::findJobType(m_types, m_job.spec.type);
    QStringList rows;
    for (const auto &[key, value] :
         client::settings::flatten(m_job.spec.settings, type ? type->schema : QJsonObject()))
        rows.append(key + " = " + value);
    return rows;
}

QStringList JobDetails::inputFiles() const
{
    const JobInput &in = m_job.spec.input;
    QStringList files;
    if (!in.main.isEmpty())
        files.append(in.main);
    for (const BundleFile &f : in.files)
        if (f.path != in.main)
            files.append(f.path);
    if (!in.archive.isEmpty())
        files.append(tr("archive %1").arg(in.archive.left(12)));
    return files;
}

void JobDetails::jobChanged(const Job &job)
{
    if (job.id != m_job.id)
        return;
    const bool finishedNow = !isFinal(m_job.state) && isFinal(job.state);
    m_job = job;
    updateHeader();
    if (finishedNow)
        loadOutputs(); // catch frames whose preview event was missed
}

void JobDetails::taskChanged(const Task &task)
{
    if (task.jobId != m_job.id)
        return;
    m_tasks.upsert(task);
    if (task.id == m_logTask) {
        const bool live = task.state == TaskState::Running || task.state == TaskState::Assigned;
        if (live && !m_logTimer->isActive())
            m_logTimer->start();
        if (!live)
            fetchLog(); // the last lines; fetchLog stops following a finished task
    } else if (task.state == TaskState::Running && m_logTask && [&] {
                   for (const Task &t : m_tasks.tasks())
                       if (t.id == m_logTask)
                           return t.state != TaskState::Running && t.state != TaskState::Assigned;
                   return true;
               }()) {
        showLog(task.id); // follow the work as it moves to the next task
    }
    if (task.id == m_liveTask && task.state != TaskState::Running &&
        task.state != TaskState::Assigned)
        hideLive();
}

void JobDetails::outputLanded(qint64 jobId, const QString &output)
{
    if (jobId != m_job.id)
        return;
    addThumbnail(output);
    // The finished frame replaces its partial image.
    static const QRegularExpression frameName("^frame_(\\d+)\\.");
    const auto m = frameName.match(output);
    if (m_liveTask && m.hasMatch() && (m_liveFrame < 0 || m.captured(1).toInt() == m_liveFrame))
        hideLive();
}

void JobDetails::partialLanded(qint64 taskId, qint64 jobId, int frame, int samples, int spp)
{
    if (jobId == m_job.id)
        fetchPartial(taskId, frame, samples, spp);
}

void JobDetails::fetchPartial(qint64 taskId, int frame, int samples, int spp)
{
    const quint64 gen = m_generation;
    m_api->taskPreview(taskId, [this, gen, taskId, frame, samples, spp](Result<QByteArray> r) {
        if (gen != m_generation || !r)
            return; // none (yet), or the job is no longer shown
        if (frame >= 0 && m_thumbnails.contains(frameFileName(frame)))
            return; // that frame finished meanwhile
        const QImage image = QImage::fromData(*r, "JPG");
        if (image.isNull())
            return;
        m_liveTask = taskId;
        m_liveFrame = frame;
        m_liveImage = image;
        m_liveView->setPixmap(QPixmap::fromImage(
            image.scaled(m_liveView->size(), Qt::KeepAspectRatio, Qt::SmoothTransformation)));
        m_liveText->setText(
            frame < 0 ? tr("partial image")
                      : tr("frame %1 · %2 of %3 samples").arg(frame).arg(samples).arg(spp));
        m_liveRegion->setCurrentWidget(m_live);
    });
}

void JobDetails::hideLive()
{
    m_liveTask = 0;
    m_liveFrame = -1;
    m_liveImage = QImage();
    m_liveView->clear();
    m_liveText->clear();
    m_liveRegion->setCurrentIndex(0);
}

QString JobDetails::liveCaption() const
{
    return m_liveText->text();
}

void JobDetails::loadOutputs()
{
    const quint64 gen = m_generation;
    m_api->jobOutputs(m_job.id, [this, gen](Result<QList<client::OutputInfo>> r) {
        if (gen != m_generation)
            return;
        if (!r)
            return emit errorOccurred(r.error().message);
        for (const client::OutputInfo &o : *r)
            addThumbnail(o.name);
        m_frames->scrollToTop();
    });
}

JobDetails::~JobDetails() = default;

bool JobDetails::isVideo(const QString &output)
{
    static const QRegularExpression video(QStringLiteral("\\.(mp4|webm|m4v|mov)$"),
                                          QRegularExpression::CaseInsensitiveOption);
    return video.match(output).hasMatch();
}

void JobDetails::openOutput(const QString &name)
{
    fetchToOpen(name, [this, name](const QString &path) {
        if (!m_opener(QUrl::fromLocalFile(path)))
            emit errorOccurred(tr("no application opens %1").arg(name));
    });
}

void JobDetails::playVideo(const QString &name)
{
    fetchToOpen(name, [this, name, jobId = m_job.id](const QString &path) {
        if (!m_player) {
            m_player = new VideoPlayer(this);
            m_player->setAttribute(Qt::WA_DeleteOnClose);
            connect(m_player, &VideoPlayer::errorOccurred, this, &JobDetails::errorOccurred);
        }
        m_player->play(QUrl::fromLocalFile(path), tr("Job %1 · %2").arg(jobId).arg(name));
        m_player->show();
        m_player->raise();
    });
}

VideoPlayer *JobDetails::videoPlayer() const
{
    return m_player;
}

void JobDetails::fetchToOpen(const QString &name, std::function<void(const QString &)> then)
{
    if (name.isEmpty() || !m_job.id)
        return;
    const quint64 gen = m_generation;
    const qint64 jobId = m_job.id;
    m_api->fetchOutput(jobId, name, [this, gen, jobId, name, then](Result<QByteArray> r) {
        if (gen != m_generation)
            return;
        if (!r)
            return emit errorOccurred(tr("cannot fetch %1: %2").arg(name, r.error().message));
        if (!m_openDir)
            m_openDir = std::make_unique<QTemporaryDir>();
        // The job in the name: two jobs' video.mp4 are two files.
        const QString path = m_openDir->filePath(QString("job%1-%2").arg(jobId).arg(name));
        QFile file(path);
        if (!m_openDir->isValid() || !file.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
            file.write(*r) != r->size())
            return emit errorOccurred(tr("cannot write %1 to open it").arg(path));
        file.close();
        then(path);
    });
}

bool JobDetails::isImage(const QString &output)
{
    static const QRegularExpression image(QStringLiteral("\\.(png|jpe?g|bmp|webp)$"),
                                          QRegularExpression::CaseInsensitiveOption);
    return image.match(output).hasMatch();
}

bool JobDetails::outputLess(const QString &a, const QString &b)
{
    if (isVideo(a) != isVideo(b))
        return isVideo(a);
    // By frame or view, then pass: rgb_9 and frame_0009 before their 10th sibling.
    const FramePass fa = FramePass::of(a), fb = FramePass::of(b);
    if (!fa.frame.isEmpty() && !fb.frame.isEmpty() && fa.frame != fb.frame)
        return fa.frame.toInt() < fb.frame.toInt();
    if (fa.frame.isEmpty() != fb.frame.isEmpty())
        return fb.frame.isEmpty(); // data files (poses, instances) go last
    static const QCollator numeric = [] {
        QCollator c;
        c.setNumericMode(true);
        c.setCaseSensitivity(Qt::CaseInsensitive);
        return c;
    }();
    return numeric.compare(a, b) < 0;
}

QStringList JobDetails::outputNames() const
{
    QStringList names;
    for (int i = 0; i < m_frames->count(); ++i)
        names.append(m_frames->item(i)->data(Qt::UserRole).toString());
    return names;
}

QStringList JobDetails::selectedOutputs() const
{
    QStringList names;
    for (QListWidgetItem *item : m_frames->selectedItems())
        names.append(item->data(Qt::UserRole).toString());
    return names;
}

void JobDetails::addThumbnail(const QString &output)
{
    if (m_thumbnails.contains(output) || m_thumbnails.size() >= kMaxThumbnails)
        return;
    m_thumbnails.insert(output);
    QIcon icon = m_placeholder;
    QString tip = tr("%1: double-click to view").arg(output);
    if (isVideo(output)) { // no thumbnail to fetch: the whole video would come
        icon = style()->standardIcon(QStyle::SP_MediaPlay);
        tip = tr("%1: double-click to play").arg(output);
    } else if (!isImage(output)) { // data (.npy, .json, .exr): its name on a file icon
        icon = output.endsWith(".json")  ? themedIcon("text-x-generic", QStyle::SP_FileIcon)
               : output.endsWith(".exr") ? themedIcon("image-x-generic", QStyle::SP_FileIcon)
                                         : themedIcon("application-x-generic", QStyle::SP_FileIcon);
        tip = tr("%1: double-click to open, right-click to save").arg(output);
    }
    auto *item = new QListWidgetItem(icon, output);
    item->setData(Qt::UserRole, output);
    item->setTextAlignment(Qt::AlignHCenter);
    item->setToolTip(tip);
    // Keep the list in order whatever order previews land in.
    int lo = 0, hi = m_frames->count();
    while (lo < hi) {
        const int mid = (lo + hi) / 2;
        if (outputLess(m_frames->item(mid)->data(Qt::UserRole).toString(), output))
            lo = mid + 1;
        else
            hi = mid;
    }
    m_frames->insertItem(lo, item);
    if (m_viewer)
        m_viewer->addOutputs({output});
    if (!isImage(output))
        return;
    const quint64 gen = m_generation;
    m_api->fetchOutput(m_job.id, output, [this, gen, output](Result<QByteArray> r) {
        if (gen != m_generation || !r)
            return;
        const QImage image = QImage::fromData(*r);
        if (image.isNull())
            return;
        // 16-bit passes (depth, instance ids) in false colour, as the viewer shows them.
        const QImage shown = FalseColour::of(image, FramePass::of(output).pass).image;
        for (int i = 0; i < m_frames->count(); ++i)
            if (m_frames->item(i)->data(Qt::UserRole).toString() == output)
                m_frames->item(i)->setIcon(QPixmap::fromImage(shown.scaled(
                    m_frames->iconSize(), Qt::KeepAspectRatio, Qt::SmoothTransformation)));
    });
}

FrameViewer *JobDetails::viewFrame(const QString &output)
{
    if (!m_viewer || m_viewer->property("job").toLongLong() != m_job.id) {
        if (m_viewer)
            m_viewer->deleteLater();
        m_viewer = new FrameViewer(m_api, m_job.id, outputNames(), this);
        m_viewer->setProperty("job", m_job.id);
        m_viewer->setAttribute(Qt::WA_DeleteOnClose);
    }
    m_viewer->showOutput(output);
    m_viewer->show();
    m_viewer->raise();
    return m_viewer;
}

void JobDetails::saveOutput(const QString &name, const QString &filePath,
                            std::function<void(const QString &)> done)
{
    m_api->downloadOutput(m_job.id, name, filePath, [this, name, filePath, done](Result<qint64> r) {
        const QString error = r ? QString() : tr("cannot save %1: %2").arg(name, r.error().message);
        if (!error.isEmpty())
            emit errorOccurred(error);
        if (done)
            done(error);
    });
}

void JobDetails::saveAll(const QString &filePath, std::function<void(const QString &)> done)
{
    m_api->downloadArchive(m_job.id, filePath, [this, done](Result<qint64> r) {
        const QString error =
            r ? QString() : tr("cannot save the outputs: %1").arg(r.error().message);
        if (!error.isEmpty())
            emit errorOccurred(error);
        if (done)
            done(error);
    });
}

void JobDetails::revealOutput(const QString &name)
{
    QString base = QStandardPaths::writableLocation(QStandardPaths::DownloadLocation);
    if (base.isEmpty())
        base = QDir::homePath();
    const QString dir = QDir(base).filePath(QString("Farmhand/job-%1").arg(m_job.id));
    QDir().mkpath(dir);
    saveOutput(name, QDir(dir).filePath(name), [this, dir](const QString &error) {
        if (error.isEmpty() && !m_opener(QUrl::fromLocalFile(dir)))
            emit errorOccurred(tr("no file manager opens %1").arg(dir));
    });
}

void JobDetails::showLog(qint64 taskId)
{
    if (taskId != m_logTask) {
        m_logTask = taskId;
        m_log->clear();
    }
    for (int row = 0; row < m_tasks.tasks().size(); ++row)
        if (m_tasks.tasks()[row].id == taskId && m_taskView->currentIndex().row() != row) {
            const QSignalBlocker block(m_taskView->selectionModel());
            m_taskView->selectRow(row);
        }
    fetchLog();
    m_logTimer->start();
}

QString JobDetails::logText() const
{
    return m_log->toPlainText();
}

void JobDetails::fetchLog()
{
    if (!m_logTask || m_logInFlight)
        return;
    m_logInFlight = true;
    const qint64 taskId = m_logTask;
    const quint64 gen = m_generation;
    constexpr qint64 kLogTail = 1 << 20; // the last MiB: what a person scrolls through
    m_api->taskLogTail(taskId, kLogTail, [this, taskId, gen](Result<QString> r) {
        m_logInFlight = false;
        if (gen != m_generation || taskId != m_logTask)
            return;
        bool running = false;
        for (const Task &t : m_tasks.tasks())
            if (t.id == taskId)
                running = t.state == TaskState::Running || t.state == TaskState::Assigned ||
                          t.state == TaskState::Queued;
        if (!running)
            m_logTimer->stop();
        const QString text = r ? *r : QString();
        if (!r && r.error().code != "not_found")
            return;
        if (text == m_log->toPlainText())
            return;
        // Follow the end while the reader is at the end; leave them where they scrolled to.
        QScrollBar *bar = m_log->verticalScrollBar();
        const bool atEnd = bar->value() >= bar->maximum() - 2;
        const int keep = bar->value();
        if (text.startsWith(m_log->toPlainText()) && !m_log->toPlainText().isEmpty()) {
            QTextCursor end(m_log->document());
            end.movePosition(QTextCursor::End);
            end.insertText(text.mid(m_log->toPlainText().size()));
        } else {
            m_log->setPlainText(text);
        }
        bar->setValue(atEnd ? bar->maximum() : keep);
    });
}

void JobDetails::requeueSelectedTasks()
{
    for (const QModelIndex &index : m_taskView->selectionModel()->selectedRows()) {
        if (index.row() >= m_tasks.tasks().size())
            continue;
        m_api->requeueTask(m_tasks.tasks()[index.row()].id, [this](Result<Task> r) {
            if (!r)
                return emit errorOccurred(r.error().message);
            taskChanged(*r);
        });
    }
}

} // namespace farm::gui
