#include "widgets/mainwindow.h"

#include "dialogs/submitdialog.h"
#include "models/dropbundle.h"
#include "widgets/connectionbar.h"
#include "widgets/filedrop.h"
#include "widgets/jobdetails.h"
#include "widgets/progressdelegate.h"
#include "widgets/submitflow.h"

#include <QCloseEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QMenuBar>
#include <QMimeData>
#include <QProgressBar>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

namespace farm::gui {

namespace {

constexpr int kJobsPageSize = 500;

QTableView *makeTable(QWidget *parent)
{
    auto *view = new QTableView(parent);
    view->verticalHeader()->hide();
    view->verticalHeader()->setDefaultSectionSize(28);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setSelectionMode(QAbstractItemView::SingleSelection);
    view->setAlternatingRowColors(true);
    view->setShowGrid(false);
    view->setWordWrap(false);
    view->horizontalHeader()->setHighlightSections(false);
    view->horizontalHeader()->setDefaultAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    view->horizontalHeader()->setStretchLastSection(true);
    return view;
}

} // namespace

MainWindow::MainWindow(QSettings *settings, QWidget *parent)
    : QMainWindow(parent)
    , m_settings(settings)
{
    setWindowTitle(tr("Farmhand"));
    setAcceptDrops(true);
    buildUi();
    buildMenus();
    wireEvents();
    if (m_settings) {
        m_bar->setUrl(m_settings->value("connection/url").toString());
        restoreGeometry(m_settings->value("window/geometry").toByteArray());
    }
    resize(size().expandedTo(QSize(1180, 720)));
}

MainWindow::~MainWindow()
{
    m_events.disconnect(this);
}

void MainWindow::buildUi()
{
    m_bar = new ConnectionBar(this);
    connect(m_bar, &ConnectionBar::connectRequested, this,
            [this](const QUrl &url, const QString &token) { connectTo(url, token); });

    m_jobsView = makeTable(this);
    m_jobsView->setObjectName("jobs");
    m_jobsView->setModel(&m_jobs);
    m_jobsView->setSortingEnabled(true);
    m_jobsView->horizontalHeader()->setSortIndicator(JobsModel::Id, Qt::DescendingOrder);
    m_jobsView->setItemDelegateForColumn(JobsModel::Progress,
                                         new ProgressDelegate(JobsModel::State, this));
    auto *h = m_jobsView->horizontalHeader();
    h->resizeSection(JobsModel::Id, 56);
    h->resizeSection(JobsModel::Name, 240);
    h->resizeSection(JobsModel::Type, 96);
    h->resizeSection(JobsModel::State, 96);
    h->resizeSection(JobsModel::Progress, 190);
    h->resizeSection(JobsModel::Frames, 170);
    connect(m_jobsView->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &MainWindow::onCurrentJobChanged);

    m_details = new JobDetails(&m_api, this);
    connect(m_details, &JobDetails::cancelRequested, this, &MainWindow::cancelJob);
    connect(m_details, &JobDetails::errorOccurred, this,
            [this](const QString &m) { showMessage(m, true); });

    auto *split = new QSplitter(Qt::Vertical, this);
    split->addWidget(m_jobsView);
    split->addWidget(m_details);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);

    m_nodesView = makeTable(this);
    m_nodesView->setObjectName("nodes");
    m_nodesView->setModel(&m_nodes);
    m_nodesView->horizontalHeader()->resizeSection(NodesModel::Name, 200);
    m_nodesView->horizontalHeader()->resizeSection(NodesModel::Gpus, 260);

    m_tabs = new QTabWidget(this);
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(split, tr("Jobs"));
    m_tabs->addTab(m_nodesView, tr("Nodes"));

    auto *central = new QWidget(this);
    auto *layout = new QVBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(m_bar);
    layout->addWidget(m_tabs, 1);
    setCentralWidget(central);

    m_status = new QLabel(tr("Drop a model, a folder or a .zip here to render it."), this);
    m_upload = new QProgressBar(this);
    m_upload->setObjectName("uploadProgress");
    m_upload->setMaximumWidth(260);
    m_upload->setRange(0, 1000);
    m_upload->hide();
    statusBar()->addWidget(m_status, 1);
    statusBar()->addPermanentWidget(m_upload);
}

void MainWindow::buildMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Submit files…"), QKeySequence::Open, this, &MainWindow::chooseFiles);
    file->addAction(tr("Submit a &folder…"), this, &MainWindow::chooseFolder);
    file->addAction(tr("&Refresh"), QKeySequence::Refresh, this, &MainWindow::refresh);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
}

void MainWindow::wireEvents()
{
    auto upsertJob = [this](const Job &job) {
        if (m_listsInFlight > 0) {
            m_lateJobs.insert(job.id, job);
            m_lateDeletes.remove(job.id);
        }
        m_jobs.upsert(job);
        m_details->jobChanged(job);
        if (job.id == m_pendingSelect)
            selectJob(job.id);
    };
    connect(&m_events, &client::EventsClient::jobCreated, this, upsertJob);
    connect(&m_events, &client::EventsClient::jobUpdated, this, upsertJob);
    connect(&m_events, &client::EventsClient::jobDeleted, this, [this](qint64 id) {
        if (m_listsInFlight > 0) {
            m_lateJobs.remove(id);
            m_lateDeletes.insert(id);
        }
        m_jobs.remove(id);
        if (m_details->jobId() == id)
            m_details->showJob(nullptr);
    });
    connect(&m_events, &client::EventsClient::taskUpdated, m_details, &JobDetails::taskChanged);
    connect(&m_events, &client::EventsClient::nodeUpdated, this, [this](const Node &node) {
        if (m_nodeListsInFlight > 0)
            m_lateNodes.insert(node.id, node);
        m_nodes.upsert(node);
    });
    connect(&m_events, &client::EventsClient::preview, this,
            [this](qint64, qint64 jobId, int, const QString &output) {
                m_details->outputLanded(jobId, output);
            });
    connect(&m_events, &client::EventsClient::partialPreview, m_details,
            &JobDetails::partialLanded);
    connect(&m_events, &client::EventsClient::connected, this, [this] {
        m_bar->setState(ConnectionBar::State::Connected,
                        tr("Connected to %1 · live").arg(m_api.baseUrl().authority()));
        refresh(); // events missed while the socket was down
    });
    connect(&m_events, &client::EventsClient::disconnected, this, [this] {
        if (m_connected)
            m_bar->setState(ConnectionBar::State::Degraded, tr("Live updates lost, reconnecting…"));
    });
}

void MainWindow::connectTo(const QUrl &url, const QString &token)
{
    ++m_connection;
    m_listsInFlight = m_nodeListsInFlight = 0;
    m_connected = false;
    m_types.clear();
    m_events.close();
    m_api.setBaseUrl(url);
    m_api.setToken(token);
    m_bar->setUrl(url.toString());
    m_bar->setToken(token);
    m_bar->setState(ConnectionBar::State::Connecting, tr("Connecting to %1…").arg(url.authority()));
    if (m_settings)
        m_settings->setValue("connection/url", url.toString());
    const quint64 connection = m_connection;
    m_api.status([this, connection, url, token](Result<client::ServerStatus> r) {
        if (connection != m_connection)
            return;
        if (!r) {
            m_bar->setState(ConnectionBar::State::Failed, r.error().message);
            return;
        }
        m_connected = true;
        m_bar->setState(ConnectionBar::State::Degraded,
                        tr("Connected to %1 (farm-server %2), opening live updates…")
                            .arg(url.authority(), r->version));
        m_events.open(url, token);
        refresh();
        withJobTypes([] {});
    });
}

void MainWindow::withJobTypes(std::function<void()> then)
{
    if (!m_types.isEmpty())
        return then();
    const quint64 connection = m_connection;
    m_api.jobTypes([this, connection, then](Result<QList<client::JobTypeInfo>> r) {
        if (connection != m_connection)
            return;
        if (!r)
            return showMessage(tr("Cannot read the server's job types: %1").arg(r.error().message),
                               true);
        m_types = *r;
        m_details->setJobTypes(m_types);
        emit jobTypesLoaded();
        then();
    });
}

void MainWindow::refresh()
{
    if (!m_connected)
        return;
    const quint64 connection = m_connection;
    client::JobQuery query;
    query.limit = kJobsPageSize;
    if (m_listsInFlight++ == 0) {
        m_lateJobs.clear();
        m_lateDeletes.clear();
    }
    m_api.listJobs(query, [this, connection](Result<client::JobPage> r) {
        if (connection != m_connection)
            return;
        --m_listsInFlight;
        if (!r)
            return showMessage(r.error().message, true);
        const qint64 selected = m_details->jobId();
        QList<Job> jobs;
        for (const Job &job : r->jobs)
            if (!m_lateDeletes.contains(job.id) && !m_lateJobs.contains(job.id))
                jobs.append(job);
        jobs.append(m_lateJobs.values());
        m_jobs.setJobs(jobs);
        m_jobs.sort(m_jobsView->horizontalHeader()->sortIndicatorSection(),
                    m_jobsView->horizontalHeader()->sortIndicatorOrder());
        if (selected)
            selectJob(selected);
        showMessage(r->total == 1 ? tr("1 job on the farm")
                                  : tr("%1 jobs on the farm").arg(r->total));
        emit jobsLoaded();
    });
    if (m_nodeListsInFlight++ == 0)
        m_lateNodes.clear();
    m_api.nodes([this, connection](Result<QList<Node>> r) {
        if (connection != m_connection)
            return;
        --m_nodeListsInFlight;
        if (!r)
            return showMessage(r.error().message, true);
        m_nodes.setNodes(*r);
        for (const Node &node : std::as_const(m_lateNodes))
            m_nodes.upsert(node);
        m_tabs->setTabText(1, tr("Nodes (%1)").arg(r->size()));
    });
}

void MainWindow::selectJob(qint64 id)
{
    const int row = m_jobs.rowOf(id);
    if (row < 0) {
        m_pendingSelect = id; // selected when its job.created event arrives
        return;
    }
    m_pendingSelect = 0;
    m_jobsView->selectRow(row);
    m_jobsView->scrollTo(m_jobs.index(row, 0));
}

void MainWindow::onCurrentJobChanged()
{
    const Job *job = m_jobs.jobAt(m_jobsView->currentIndex().row());
    if (job && job->id == m_details->jobId())
        return; // the row only moved
    m_details->showJob(job);
}

void MainWindow::cancelJob(qint64 id)
{
    m_api.cancelJob(id, [this](Result<Job> r) {
        if (!r)
            return showMessage(r.error().message, true);
        m_jobs.upsert(*r);
        m_details->jobChanged(*r);
        showMessage(tr("Job %1 canceled").arg(r->id));
    });
}

void MainWindow::chooseFiles()
{
    QStringList patterns;
    for (const QString &e : client::allExtensions(m_types))
        patterns.append("*." + e);
    const QString filter =
        patterns.isEmpty()
            ? tr("All files (*)")
            : tr("Files a job type takes (%1);;All files (*)").arg(patterns.join(' '));
    const QStringList files = QFileDialog::getOpenFileNames(
        this, tr("Submit files as one job"),
        m_settings ? m_settings->value("submit/dir").toString() : QString(), filter);
    if (!files.isEmpty() && m_settings)
        m_settings->setValue("submit/dir", QFileInfo(files.first()).absolutePath());
    submitPaths(files);
}

void MainWindow::chooseFolder()
{
    const QString dir = QFileDialog::getExistingDirectory(
        this, tr("Submit a folder as one job"),
        m_settings ? m_settings->value("submit/dir").toString() : QString());
    if (dir.isEmpty())
        return;
    if (m_settings)
        m_settings->setValue("submit/dir", dir);
    submitPaths({dir});
}

void MainWindow::submitPaths(const QStringList &paths)
{
    if (paths.isEmpty())
        return;
    if (!m_connected)
        return showMessage(tr("Connect to a farm server before submitting."), true);
    withJobTypes([this, paths] {
        const auto bundle = DropBundle::fromPaths(paths, client::allExtensions(m_types));
        if (!bundle)
            return showMessage(bundle.error().message, true);
        auto *dialog = new SubmitDialog(*bundle, m_types, m_settings, this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        connect(dialog, &QDialog::accepted, this, [this, dialog] {
            const SubmitOptions options = dialog->options();
            const QString name = dialog->bundle().main().section('/', -1);
            startSubmission(dialog->bundle().source(), [options, name](const JobInput &input) {
                return options.specFor(input, name);
            });
        });
        dialog->open();
    });
}

void MainWindow::startSubmission(const client::BundleSource &source,
                                 std::function<Result<JobSpec>(const JobInput &)> build)
{
    if (m_flow)
        return showMessage(tr("An upload is still running."), true);
    m_flow = new SubmitFlow(&m_api, source, std::move(build), this);
    m_upload->setValue(0);
    m_upload->show();
    const qsizetype count = source.isArchive() ? 1 : source.files.size();
    connect(m_flow, &SubmitFlow::progress, this,
            [this, count](qint64 done, qint64 total, const QString &path) {
                m_upload->setValue(total > 0 ? int(1000 * done / total) : 1000);
                m_upload->setFormat(tr("%n file(s) %p%", nullptr, int(count)));
                if (!path.isEmpty())
                    showMessage(tr("Uploading %1…").arg(path));
            });
    connect(m_flow, &SubmitFlow::jobCreated, this, [this](const Job &job) {
        m_jobs.upsert(job);
        selectJob(job.id);
    });
    connect(m_flow, &SubmitFlow::failed, this, [this](const QString &name, const Error &e) {
        showMessage(tr("%1: %2").arg(name, e.message), true);
    });
    connect(m_flow, &SubmitFlow::finished, this, [this](int created) {
        m_upload->hide();
        if (created > 0)
            showMessage(tr("Job submitted"));
        m_flow->deleteLater();
        emit submissionFinished(created);
    });
    m_flow->start();
}

void MainWindow::showMessage(const QString &text, bool error)
{
    m_status->setText(text);
    m_status->setStyleSheet(error ? "color: #d64545;" : QString());
}

void MainWindow::dragEnterEvent(QDragEnterEvent *event)
{
    if (FileDrop::accepts(event->mimeData()))
        event->acceptProposedAction();
    else
        event->ignore();
}

void MainWindow::dragMoveEvent(QDragMoveEvent *event)
{
    if (FileDrop::accepts(event->mimeData()))
        event->acceptProposedAction();
    else
        event->ignore();
}

void MainWindow::dropEvent(QDropEvent *event)
{
    const QStringList paths = FileDrop::localPaths(event->mimeData());
    if (paths.isEmpty())
        return event->ignore();
    event->acceptProposedAction();
    submitPaths(paths);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    if (m_settings)
        m_settings->setValue("window/geometry", saveGeometry());
    QMainWindow::closeEvent(event);
}

} // namespace farm::gui
