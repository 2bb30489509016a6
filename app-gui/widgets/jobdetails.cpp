#include "widgets/jobdetails.h"

#include "client/jobtypes.h"
#include "models/jobsmodel.h"
#include "widgets/progressdelegate.h"

#include <QDesktopServices>
#include <QDir>
#include <QFile>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QImage>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollArea>
#include <QSplitter>
#include <QStyle>
#include <QTableView>
#include <QTemporaryDir>
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

    m_frames->setObjectName("frames");
    m_frames->setViewMode(QListView::IconMode);
    m_frames->setIconSize(QSize(160, 120));
    m_frames->setGridSize(QSize(176, 146));
    m_frames->setResizeMode(QListView::Adjust);
    m_frames->setMovement(QListView::Static);
    m_frames->setUniformItemSizes(true);
    m_frames->setToolTip(tr("Double-click to open"));
    connect(m_frames, &QListWidget::itemActivated, this,
            [this](QListWidgetItem *item) { openOutput(item->data(Qt::UserRole).toString()); });
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

    // The partial image of the frame rendering now, left of the finished frames.
    m_live->setObjectName("livePreview");
    m_liveView->setObjectName("livePreviewImage");
    m_liveView->setFixedSize(320, 240);
    m_liveView->setAlignment(Qt::AlignCenter);
    m_liveView->setStyleSheet("background: #0a0d11;");
    m_liveText->setObjectName("livePreviewCaption");
    m_liveText->setAlignment(Qt::AlignHCenter);
    auto *liveLayout = new QVBoxLayout(m_live);
    liveLayout->setContentsMargins(0, 0, 6, 0);
    auto *liveTitle = new QLabel(tr("<b>Rendering now</b>"), m_live);
    liveLayout->addWidget(liveTitle);
    liveLayout->addWidget(m_liveView);
    liveLayout->addWidget(m_liveText);
    liveLayout->addStretch(1);
    m_live->hide();
    auto *framesRow = new QWidget(this);
    auto *framesLayout = new QHBoxLayout(framesRow);
    framesLayout->setContentsMargins(0, 0, 0, 0);
    framesLayout->addWidget(m_live);
    framesLayout->addWidget(m_frames, 1);

    // What the job renders: its settings (whatever its type) beside its input bundle.
    auto *input = new QWidget(this);
    auto *inputLayout = new QHBoxLayout(input);
    inputLayout->setContentsMargins(0, 0, 0, 0);
    auto *settingsScroll = new QScrollArea(input);
    settingsScroll->setWidget(m_settings);
    settingsScroll->setWidgetResizable(true);
    inputLayout->addWidget(settingsScroll, 1);
    inputLayout->addWidget(m_inputFiles, 1);

    auto *split = new QSplitter(Qt::Vertical, this);
    split->addWidget(input);
    split->addWidget(m_taskView);
    split->addWidget(framesRow);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 2);
    split->setStretchFactor(2, 3);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(10, 6, 10, 6);
    layout->addLayout(header);
    layout->addWidget(split, 1);
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
        updateHeader();
        return;
    }
    const bool same = job->id == m_job.id;
    m_job = *job;
    if (!same)
        m_tasks.clear();
    updateHeader();
    const quint64 gen = m_generation;
    m_api->jobTasks(job->id, [this, gen, id = job->id](Result<QList<Task>> r) {
        if (gen != m_generation)
            return;
        if (!r)
            return emit errorOccurred(r.error().message);
        m_tasks.setTasks(id, *r);
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
        m_live->show();
    });
}

void JobDetails::hideLive()
{
    m_liveTask = 0;
    m_liveFrame = -1;
    m_liveImage = QImage();
    m_liveView->clear();
    m_liveText->clear();
    m_live->hide();
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
    if (name.isEmpty() || !m_job.id)
        return;
    const quint64 gen = m_generation;
    const qint64 jobId = m_job.id;
    m_api->fetchOutput(jobId, name, [this, gen, jobId, name](Result<QByteArray> r) {
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
        if (!m_opener(QUrl::fromLocalFile(path)))
            emit errorOccurred(tr("no application opens %1").arg(name));
    });
}

void JobDetails::addThumbnail(const QString &output)
{
    if (m_thumbnails.contains(output) || m_thumbnails.size() >= kMaxThumbnails)
        return;
    m_thumbnails.insert(output);
    if (isVideo(output)) { // no thumbnail to fetch: the whole video would come
        auto *item = new QListWidgetItem(style()->standardIcon(QStyle::SP_MediaPlay), output);
        item->setData(Qt::UserRole, output);
        item->setTextAlignment(Qt::AlignHCenter);
        item->setToolTip(tr("%1: double-click to play").arg(output));
        m_frames->insertItem(0, item); // videos first: the job's result
        return;
    }
    auto *item = new QListWidgetItem(m_placeholder, output);
    item->setData(Qt::UserRole, output);
    item->setTextAlignment(Qt::AlignHCenter);
    // Keep the list in output-name order (frame order) whatever order previews land in.
    int row = 0;
    while (row < m_frames->count() &&
           (isVideo(m_frames->item(row)->data(Qt::UserRole).toString()) ||
            m_frames->item(row)->data(Qt::UserRole).toString() < output))
        ++row;
    m_frames->insertItem(row, item);
    const quint64 gen = m_generation;
    m_api->fetchOutput(m_job.id, output, [this, gen, output](Result<QByteArray> r) {
        if (gen != m_generation || !r)
            return;
        const QImage image = QImage::fromData(*r);
        if (image.isNull())
            return;
        for (int i = 0; i < m_frames->count(); ++i)
            if (m_frames->item(i)->data(Qt::UserRole).toString() == output)
                m_frames->item(i)->setIcon(QPixmap::fromImage(image.scaled(
                    m_frames->iconSize(), Qt::KeepAspectRatio, Qt::SmoothTransformation)));
    });
}

} // namespace farm::gui
