#include "widgets/mainwindow.h"

#include "dialogs/submitdialog.h"
#include "models/dropbundle.h"
#include "widgets/connectionbar.h"
#include "widgets/farmchart.h"
#include "widgets/filedrop.h"
#include "widgets/icons.h"
#include "widgets/jobactions.h"
#include "widgets/jobdetails.h"
#include "widgets/progressdelegate.h"
#include "widgets/submitflow.h"

#include <QAction>
#include <QCloseEvent>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollBar>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QSystemTrayIcon>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>

namespace farm::gui {

namespace {

constexpr int kJobsPageSize = 500;
constexpr int kFarmRefreshMs = 10000; // the chart's buckets are a minute long
constexpr int kNodesRefreshMs = 5000; // as often as nodes send heartbeats by default

QTableView *makeTable(QWidget *parent)
{
    auto *view = new QTableView(parent);
    view->verticalHeader()->hide();
    view->verticalHeader()->setDefaultSectionSize(28);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    view->setContextMenuPolicy(Qt::CustomContextMenu);
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
    if (!m_settings || !m_settings->contains("window/geometry"))
        resize(1180, 720);
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

    m_actions = new JobActions(&m_api, this);
    connect(m_actions, &JobActions::jobUpdated, this, [this](const Job &job) {
        m_jobs.upsert(job);
        m_trayState.update(job);
        m_details->jobChanged(job);
        onSelectionChanged();
    });
    connect(m_actions, &JobActions::jobDeleted, this, [this](qint64 id) {
        if (m_jobs.job(id))
            --m_total;
        m_jobs.remove(id);
        m_trayState.remove(id);
        if (m_details->jobId() == id)
            m_details->showJob(nullptr);
        updateCounts();
    });
    connect(m_actions, &JobActions::message, this, &MainWindow::showMessage);
    connect(m_actions, &JobActions::jobCreated, this, [this](const Job &job) {
        if (!m_jobs.job(job.id))
            ++m_total;
        m_jobs.upsert(job);
        m_trayState.update(job);
        selectJob(job.id);
        updateCounts();
    });
    connect(m_actions, &JobActions::explained, this, [this](qint64 id, const QStringList &reasons) {
        m_details->showExplanation(id, reasons);
        showMessage(tr("Job %1: %2")
                        .arg(id)
                        .arg(reasons.isEmpty() ? tr("nothing holds it back") : reasons.join("; ")));
    });

    m_jobsView = makeTable(this);
    m_jobsView->setObjectName("jobs");
    m_jobsView->setModel(&m_jobs);
    m_jobsView->setSortingEnabled(true);
    m_jobsView->horizontalHeader()->setSortIndicator(JobsModel::State, Qt::AscendingOrder);
    m_jobsView->setItemDelegateForColumn(JobsModel::Progress,
                                         new ProgressDelegate(JobsModel::State, this));
    m_jobsView->setMinimumHeight(120);
    auto *h = m_jobsView->horizontalHeader();
    h->resizeSection(JobsModel::Id, 56);
    h->resizeSection(JobsModel::Name, 240);
    h->resizeSection(JobsModel::Type, 96);
    h->resizeSection(JobsModel::State, 110);
    h->resizeSection(JobsModel::Progress, 190);
    h->resizeSection(JobsModel::Frames, 150);
    h->resizeSection(JobsModel::Created, 140);
    h->resizeSection(JobsModel::Priority, 64);
    h->resizeSection(JobsModel::Owner, 80);
    connect(m_jobsView->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &MainWindow::onCurrentJobChanged);
    connect(m_jobsView->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &MainWindow::onSelectionChanged);
    connect(&m_jobs, &QAbstractItemModel::dataChanged, this, &MainWindow::onSelectionChanged);
    connect(m_jobsView, &QWidget::customContextMenuRequested, this, [this](const QPoint &pos) {
        const QModelIndex at = m_jobsView->indexAt(pos);
        if (at.isValid() && !m_jobsView->selectionModel()->isRowSelected(at.row()))
            m_jobsView->selectRow(at.row());
        m_actions->menu()->popup(m_jobsView->viewport()->mapToGlobal(pos));
    });
    // The shortcuts work wherever the focus is in the window.
    addActions(m_actions->actions());

    m_details = new JobDetails(&m_api, this);
    connect(m_details, &JobDetails::cancelRequested, this, &MainWindow::cancelJob);
    connect(m_details, &JobDetails::errorOccurred, this,
            [this](const QString &m) { showMessage(m, true); });

    // Fixed regions: the list keeps its rows, the details their room; the user moves the
    // handle and the window remembers where.
    m_split = new QSplitter(Qt::Vertical, this);
    m_split->setObjectName("jobsSplit");
    m_split->setChildrenCollapsible(false);
    // Filter by state and search by name, above the list.
    m_search = new QLineEdit(this);
    m_search->setObjectName("jobSearch");
    m_search->setPlaceholderText(tr("Search jobs by name"));
    m_search->setClearButtonEnabled(true);
    m_stateFilter = new QComboBox(this);
    m_stateFilter->setObjectName("stateFilter");
    m_stateFilter->addItem(tr("All states"), QString());
    for (JobState st : {JobState::Failed, JobState::Active, JobState::Paused, JobState::Queued,
                        JobState::Completed, JobState::Canceled})
        m_stateFilter->addItem(stateIcon(toString(st)), toString(st), toString(st));
    m_filterDelay = new QTimer(this);
    m_filterDelay->setSingleShot(true);
    m_filterDelay->setInterval(250);
    connect(m_filterDelay, &QTimer::timeout, this, &MainWindow::refresh);
    connect(m_search, &QLineEdit::textChanged, m_filterDelay, qOverload<>(&QTimer::start));
    connect(m_stateFilter, &QComboBox::currentIndexChanged, this, &MainWindow::refresh);
    // In the tab bar's corner: the filter costs no height (800x600 screens).
    m_filterBar = new QWidget(this);
    m_filterBar->setObjectName("jobFilter");
    auto *filterLayout = new QHBoxLayout(m_filterBar);
    filterLayout->setContentsMargins(4, 1, 4, 1);
    filterLayout->addWidget(m_stateFilter);
    filterLayout->addWidget(m_search);
    m_search->setMinimumWidth(180);
    m_split->addWidget(m_jobsView);
    m_split->addWidget(m_details);
    m_split->setStretchFactor(0, 2);
    m_split->setStretchFactor(1, 3);
    m_split->setSizes({260, 420});

    m_nodesView = makeTable(this);
    m_nodesView->setObjectName("nodes");
    m_nodesView->setModel(&m_nodes);
    m_nodesView->horizontalHeader()->resizeSection(NodesModel::Name, 140);
    m_nodesView->horizontalHeader()->resizeSection(NodesModel::Gpus, 180);
    m_nodesView->horizontalHeader()->resizeSection(NodesModel::Current, 220);
    m_nodesMenu = new QMenu(this);
    m_nodesMenu->setObjectName("nodesMenu");
    const struct
    {
        const char *action, *text, *icon;
        QStyle::StandardPixmap fallback;
    } nodeActions[] = {
        {"drain", "&Drain (finish running work, take no more)", "media-playback-pause",
         QStyle::SP_MediaPause},
        {"disable", "D&isable", "process-stop", QStyle::SP_BrowserStop},
        {"enable", "&Enable", "media-playback-start", QStyle::SP_MediaPlay},
    };
    for (const auto &n : nodeActions) {
        QAction *a = m_nodesMenu->addAction(themedIcon(n.icon, n.fallback), tr(n.text));
        a->setObjectName(QString("%1Node").arg(n.action));
        connect(a, &QAction::triggered, this,
                [this, action = QString(n.action)] { nodeAction(action); });
        m_needServer.append(a);
    }
    connect(m_nodesView, &QWidget::customContextMenuRequested, this, [this](const QPoint &pos) {
        const QModelIndex at = m_nodesView->indexAt(pos);
        if (at.isValid() && !m_nodesView->selectionModel()->isRowSelected(at.row()))
            m_nodesView->selectRow(at.row());
        m_nodesMenu->popup(m_nodesView->viewport()->mapToGlobal(pos));
    });

    m_tabs = new QTabWidget(this);
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(m_split, tr("Jobs"));
    m_tabs->addTab(m_nodesView, tr("Nodes"));
    m_farmChart = new FarmChart(this);
    m_farmChart->setObjectName("farmChart");
    m_tabs->addTab(m_farmChart, tr("Farm"));
    m_tabs->setCornerWidget(m_filterBar, Qt::TopRightCorner);
    connect(m_tabs, &QTabWidget::currentChanged, this,
            [this](int index) { m_filterBar->setVisible(index == 0); });

    m_banner = new QLabel(this);
    m_banner->setObjectName("serverBanner");
    m_banner->setWordWrap(true);
    m_banner->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_banner->setStyleSheet("background: #7a2323; color: white; padding: 8px 12px;");
    m_banner->hide();

    auto *central = new QWidget(this);
    auto *layout = new QVBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(m_bar);
    layout->addWidget(m_banner);
    layout->addWidget(m_tabs, 1);
    setCentralWidget(central);

    // Shown over the window while files are dragged over it.
    m_dropOverlay = new QLabel(tr("Drop to render"), central);
    m_dropOverlay->setObjectName("dropHighlight");
    static_cast<QLabel *>(m_dropOverlay)->setAlignment(Qt::AlignCenter);
    m_dropOverlay->setAttribute(Qt::WA_TransparentForMouseEvents);
    m_dropOverlay->setStyleSheet("background: rgba(61, 142, 240, 60); color: white;"
                                 "border: 3px dashed #3d8ef0; font-size: 20pt;");
    m_dropOverlay->hide();

    m_status = new QLabel(tr("Drop a model, a folder or a .zip here to render it."), this);
    m_status->setObjectName("statusMessage");
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_upload = new QProgressBar(this);
    m_upload->setObjectName("uploadProgress");
    m_upload->setMaximumWidth(260);
    m_upload->setRange(0, 1000);
    m_upload->hide();
    statusBar()->addWidget(m_status, 1);
    m_counts = new QLabel(this);
    m_counts->setObjectName("farmCounts");
    // The list holds the server's jobs a page at a time (GET /api/v1/jobs answers at most
    // kJobsPageSize): the next page comes with this button or on scrolling to the end.
    m_moreJobs = new QPushButton(tr("Load more"), this);
    m_moreJobs->setObjectName("moreJobs");
    m_moreJobs->setFlat(true);
    m_moreJobs->hide();
    connect(m_moreJobs, &QPushButton::clicked, this, &MainWindow::loadMoreJobs);
    connect(m_jobsView->verticalScrollBar(), &QScrollBar::valueChanged, this, [this](int value) {
        if (value > 0 && value == m_jobsView->verticalScrollBar()->maximum())
            loadMoreJobs();
    });
    statusBar()->addPermanentWidget(m_upload);
    statusBar()->addPermanentWidget(m_counts);
    statusBar()->addPermanentWidget(m_moreJobs);

    // The elapsed time of running jobs moves on by itself.
    auto *tick = new QTimer(this);
    connect(tick, &QTimer::timeout, this, [this] {
        if (m_jobs.rowCount() > 0)
            emit m_jobs.dataChanged(m_jobs.index(0, JobsModel::Elapsed),
                                    m_jobs.index(m_jobs.rowCount() - 1, JobsModel::Elapsed),
                                    {Qt::DisplayRole});
    });
    tick->start(1000);

    // Load, GPU use and current work change with each heartbeat, which sends no event: while
    // the Nodes tab shows, its rows are read again at the heartbeat's pace (rows are updated in
    // place, so the selection stays).
    auto *nodesTick = new QTimer(this);
    connect(nodesTick, &QTimer::timeout, this, [this] {
        if (!m_connected || !isVisible() || m_tabs->currentWidget() != m_nodesView ||
            m_nodeListsInFlight > 0)
            return;
        const quint64 connection = m_connection;
        m_api.nodes([this, connection](Result<QList<Node>> r) {
            if (connection != m_connection || !r)
                return;
            for (const Node &node : std::as_const(*r))
                m_nodes.upsert(node);
        });
    });
    nodesTick->start(kNodesRefreshMs);

    // The farm chart: read when its tab is opened and then every kFarmRefreshMs while it shows.
    auto *farmTick = new QTimer(this);
    connect(farmTick, &QTimer::timeout, this, &MainWindow::refreshFarmChart);
    farmTick->start(kFarmRefreshMs);
    connect(m_tabs, &QTabWidget::currentChanged, this, [this] { refreshFarmChart(); });

    m_retry = new QTimer(this);
    m_retry->setSingleShot(true);
    m_retry->setInterval(2000);
    connect(m_retry, &QTimer::timeout, this, [this] {
        if (!m_connected && m_api.baseUrl().isValid())
            connectTo(m_api.baseUrl(), m_api.token());
    });

    const QIcon appIcon = windowIcon().isNull()
                              ? themedIcon("applications-graphics", QStyle::SP_ComputerIcon)
                              : windowIcon();
    m_trayState.setBaseIcon(appIcon.pixmap(64, 64).toImage());
    if (QSystemTrayIcon::isSystemTrayAvailable()) {
        m_tray = new QSystemTrayIcon(appIcon, this);
        m_tray->setToolTip(m_trayState.toolTip());
        connect(&m_trayState, &TrayState::changed, m_tray, [this] {
            m_tray->setToolTip(m_trayState.toolTip());
            m_tray->setIcon(QIcon(QPixmap::fromImage(m_trayState.iconImage())));
        });
        connect(&m_trayState, &TrayState::notify, m_tray, [this](const TrayState::Notification &n) {
            m_tray->showMessage(n.title, n.text,
                                n.state == JobState::Failed ? QSystemTrayIcon::Critical
                                                            : QSystemTrayIcon::Information);
        });
        connect(m_tray, &QSystemTrayIcon::activated, this, [this] {
            showNormal();
            raise();
            activateWindow();
        });
        m_tray->show();
    }
    if (m_settings)
        m_split->restoreState(m_settings->value("window/jobsSplit").toByteArray());
    setServerAvailable(false);
}

void MainWindow::buildMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *submit =
        file->addAction(themedIcon("document-open", QStyle::SP_DialogOpenButton),
                        tr("&Submit files…"), QKeySequence::Open, this, &MainWindow::chooseFiles);
    QAction *folder = file->addAction(themedIcon("folder-open", QStyle::SP_DirOpenIcon),
                                      tr("Submit a &folder…"), this, &MainWindow::chooseFolder);
    QAction *refreshAction =
        file->addAction(themedIcon("view-refresh", QStyle::SP_BrowserReload), tr("&Refresh"),
                        QKeySequence::Refresh, this, &MainWindow::refresh);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
    m_needServer.append({submit, folder, refreshAction});

    QMenu *jobs = menuBar()->addMenu(tr("&Jobs"));
    jobs->addActions(m_actions->menu()->actions());

    m_toolbar = addToolBar(tr("Jobs"));
    m_toolbar->setObjectName("jobsToolbar");
    m_toolbar->setMovable(false);
    m_toolbar->setIconSize(QSize(20, 20));
    m_toolbar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_toolbar->addAction(submit);
    m_toolbar->addSeparator();
    for (QAction *a : m_actions->actions())
        m_toolbar->addAction(a);
    setServerAvailable(m_connected);
}

void MainWindow::wireEvents()
{
    auto upsertJob = [this](const Job &job) {
        if (!matchesFilter(job)) {
            if (m_jobs.job(job.id)) // it left the filter (a state change)
                m_jobs.remove(job.id);
            m_trayState.remove(job.id);
            return;
        }
        if (m_listsInFlight > 0) {
            m_lateJobs.insert(job.id, job);
            m_lateDeletes.remove(job.id);
        }
        if (!m_jobs.job(job.id))
            ++m_total;
        m_jobs.upsert(job);
        m_trayState.update(job);
        m_details->jobChanged(job);
        if (job.id == m_pendingSelect)
            selectJob(job.id);
        updateCounts();
    };
    connect(&m_events, &client::EventsClient::jobCreated, this, upsertJob);
    connect(&m_events, &client::EventsClient::jobUpdated, this, [this, upsertJob](const Job &job) {
        // A job not held while the list holds only its first pages is on a later page: it
        // comes with that page (inserting it now would shift the next page's offset).
        if (!m_jobs.job(job.id) && hasMoreJobs() && m_listsInFlight == 0)
            return;
        upsertJob(job);
    });
    connect(&m_events, &client::EventsClient::jobDeleted, this, [this](qint64 id) {
        if (m_listsInFlight > 0) {
            m_lateJobs.remove(id);
            m_lateDeletes.insert(id);
        }
        if (m_jobs.job(id))
            --m_total;
        m_jobs.remove(id);
        m_trayState.remove(id);
        if (m_details->jobId() == id)
            m_details->showJob(nullptr);
        updateCounts();
    });
    connect(&m_events, &client::EventsClient::taskUpdated, m_details, &JobDetails::taskChanged);
    connect(&m_events, &client::EventsClient::nodeUpdated, this, [this](const Node &node) {
        if (m_nodeListsInFlight > 0)
            m_lateNodes.insert(node.id, node);
        m_nodes.upsert(node);
        updateCounts();
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
        setServerAvailable(true);
        refresh(); // events missed while the socket was down
    });
    connect(&m_events, &client::EventsClient::disconnected, this, [this] {
        if (!m_connected)
            return;
        m_bar->setState(ConnectionBar::State::Degraded, tr("Live updates lost, reconnecting…"));
        setServerAvailable(false, tr("The farm server at %1 does not answer; reconnecting…")
                                      .arg(m_api.baseUrl().authority()));
    });
}

void MainWindow::connectTo(const QUrl &url, const QString &token)
{
    ++m_connection;
    m_retry->stop();
    m_listsInFlight = m_nodeListsInFlight = 0;
    const bool sameServer = url == m_api.baseUrl() && token == m_api.token();
    m_connected = false;
    m_types.clear();
    m_actions->setJobTypes({});
    m_events.close();
    if (!sameServer) {
        // Nothing of the previous server stays on screen.
        m_pendingSelect = 0;
        m_lateJobs.clear();
        m_lateDeletes.clear();
        m_lateNodes.clear();
        m_details->showJob(nullptr);
        m_jobs.setJobs({});
        m_trayState.reset(); // the next server's first list notifies nothing
        m_nodes.setNodes({});
        m_total = 0;
        updateCounts();
    }
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
            QString message = r.error().message;
            if (r.error().code == "unauthorized")
                message =
                    token.isEmpty()
                        ? tr("This server needs a token: enter it and connect again.")
                        : tr("Wrong token: the server at %1 refused it.").arg(url.authority());
            else if (r.error().code == "forbidden")
                message = tr("The server at %1 refuses this token: %2")
                              .arg(url.authority(), r.error().message);
            m_bar->setState(ConnectionBar::State::Failed, message);
            // A server that is down may come up: try again; a refused token will not change.
            if (r.error().code == "unreachable") {
                m_retry->start();
                message = tr("The farm server does not answer (%1). Trying again every %2 s…")
                              .arg(message)
                              .arg(m_retry->interval() / 1000);
            }
            setServerAvailable(false, message);
            return;
        }
        m_connected = true;
        m_bar->setState(ConnectionBar::State::Degraded,
                        tr("Connected to %1 (farm-server %2), opening live updates…")
                            .arg(url.authority(), r->version));
        setServerAvailable(true);
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
        m_actions->setJobTypes(m_types);
        emit jobTypesLoaded();
        then();
    });
}

void MainWindow::refreshFarmChart()
{
    if (!m_connected || !isVisible() || m_tabs->currentWidget() != m_farmChart)
        return;
    const quint64 connection = m_connection;
    m_api.send("GET", "/api/v1/farm/history?window=hour", {}, {},
               [this, connection](Result<QByteArray> r) {
                   if (connection != m_connection)
                       return;
                   if (!r)
                       return m_farmChart->clear(r.error().message);
                   m_farmChart->setHistory(QJsonDocument::fromJson(*r).object());
               });
}

client::JobQuery MainWindow::jobQuery() const
{
    client::JobQuery query;
    query.limit = kJobsPageSize;
    if (const QString state = m_stateFilter->currentData().toString(); !state.isEmpty())
        query.states = {state};
    query.search = m_search->text().trimmed();
    return query;
}

bool MainWindow::hasMoreJobs() const
{
    // A full last page sends a cursor too: its next page is empty, and the counts say so.
    return m_connected && m_jobs.rowCount() < m_total && (!m_nextPage.isEmpty() || !m_keyedPaging);
}

void MainWindow::loadMoreJobs()
{
    if (!hasMoreJobs() || m_listsInFlight > 0 || m_pageInFlight)
        return;
    m_pageInFlight = true;
    const quint64 connection = m_connection;
    const quint64 generation = m_listGeneration;
    client::JobQuery query = jobQuery();
    // Keyed: the page after the last row the server sent, whatever was added or deleted since.
    // A server without cursors gets an offset: the rows held (live events keep them current).
    if (m_keyedPaging)
        query.after = m_nextPage;
    else
        query.offset = m_jobs.rowCount();
    m_api.listJobs(query, [this, connection, generation](Result<client::JobPage> r) {
        if (connection != m_connection || generation != m_listGeneration)
            return; // the list was loaded again (filter, reconnect) meanwhile
        m_pageInFlight = false;
        if (!r)
            return showMessage(r.error().message, true);
        m_nextPage = r->next;
        for (const Job &job : r->jobs)
            if (!m_jobs.job(job.id)) { // a row held already is as new or newer (live events)
                m_jobs.upsert(job);
                m_trayState.update(job);
            }
        m_total = r->total;
        updateCounts();
        emit jobsLoaded();
    });
    updateCounts();
}

void MainWindow::refresh()
{
    if (!m_connected)
        return;
    const quint64 connection = m_connection;
    const client::JobQuery query = jobQuery();
    ++m_listGeneration;
    m_pageInFlight = false;
    if (m_listsInFlight++ == 0) {
        m_lateJobs.clear();
        m_lateDeletes.clear();
    }
    m_api.listJobs(query, [this, connection, query](Result<client::JobPage> r) {
        if (connection != m_connection)
            return;
        --m_listsInFlight;
        if (!r)
            return showMessage(r.error().message, true);
        const qint64 current = m_details->jobId();
        const QList<qint64> selected = selectedJobs();
        QList<Job> jobs;
        for (const Job &job : r->jobs)
            if (!m_lateDeletes.contains(job.id) && !m_lateJobs.contains(job.id))
                jobs.append(job);
        jobs.append(m_lateJobs.values());
        m_jobs.setJobs(jobs);
        m_trayState.setJobs(jobs);
        m_nextPage = r->next;
        // A full page without a cursor: a server from before keyed paging.
        m_keyedPaging = !r->next.isEmpty() || r->jobs.size() < query.limit;
        m_jobs.sort(m_jobsView->horizontalHeader()->sortIndicatorSection(),
                    m_jobsView->horizontalHeader()->sortIndicatorOrder());
        m_total = r->total;
        if (current) {
            QList<qint64> again = selected;
            again.removeAll(current);
            again.prepend(current);
            selectJobs(again);
            // The details are loaded again from the server (after a reconnect they may be
            // stale or empty), whether or not the selection moved.
            if (const Job *job = m_jobs.job(current))
                m_details->showJob(job);
        }
        updateCounts();
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
        updateCounts();
    });
}

bool MainWindow::matchesFilter(const Job &job) const
{
    const QString state = m_stateFilter->currentData().toString();
    const QString text = m_search->text().trimmed();
    return (state.isEmpty() || toString(job.state) == state) &&
           (text.isEmpty() || job.spec.name.contains(text, Qt::CaseInsensitive) ||
            QString::number(job.id) == text);
}

void MainWindow::setFilter(const QString &state, const QString &text)
{
    const QSignalBlocker blockCombo(m_stateFilter);
    const QSignalBlocker blockSearch(m_search);
    m_stateFilter->setCurrentIndex(std::max(0, m_stateFilter->findData(state)));
    m_search->setText(text);
    refresh();
}

void MainWindow::updateCounts()
{
    m_tabs->setTabText(1, tr("Nodes (%1)").arg(m_nodes.rowCount()));
    m_total = std::max<qint64>(m_total, m_jobs.rowCount());
    const bool filtered =
        !m_search->text().trimmed().isEmpty() || !m_stateFilter->currentData().toString().isEmpty();
    m_counts->setText(filtered       ? tr("%n job(s) match the filter", nullptr, int(m_total))
                      : m_total == 1 ? tr("1 job on the farm")
                                     : tr("%1 jobs on the farm").arg(m_total));
    if (m_moreJobs) {
        m_moreJobs->setVisible(hasMoreJobs());
        m_moreJobs->setEnabled(!m_pageInFlight);
        m_moreJobs->setText(m_pageInFlight ? tr("Loading…")
                                           : tr("%1 shown, load %2 more")
                                                 .arg(m_jobs.rowCount())
                                                 .arg(std::min<qint64>(
                                                     kJobsPageSize, m_total - m_jobs.rowCount())));
    }
}

void MainWindow::selectJob(qint64 id)
{
    const int row = m_jobs.rowOf(id);
    if (row < 0) {
        m_pendingSelect = id; // selected when its job.created event arrives
        return;
    }
    m_pendingSelect = 0;
    // Not selectRow(): that one adds to the selection while Ctrl is held.
    m_jobsView->selectionModel()->setCurrentIndex(
        m_jobs.index(row, 0), QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    m_jobsView->scrollTo(m_jobs.index(row, 0));
}

void MainWindow::selectJobs(const QList<qint64> &ids)
{
    QItemSelection selection;
    for (qint64 id : ids)
        if (const int row = m_jobs.rowOf(id); row >= 0)
            selection.select(m_jobs.index(row, 0), m_jobs.index(row, JobsModel::ColumnCount - 1));
    if (selection.isEmpty())
        return;
    const QModelIndex first = m_jobs.index(m_jobs.rowOf(ids.first()), 0);
    m_jobsView->selectionModel()->setCurrentIndex(first, QItemSelectionModel::NoUpdate);
    m_jobsView->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect);
    onCurrentJobChanged();
}

QList<qint64> MainWindow::selectedJobs() const
{
    QList<qint64> ids;
    for (const QModelIndex &index : m_jobsView->selectionModel()->selectedRows())
        if (const Job *job = m_jobs.jobAt(index.row()))
            ids.append(job->id);
    return ids;
}

QString MainWindow::statusText() const
{
    return m_status->text();
}

QString MainWindow::countsText() const
{
    return m_counts->text();
}

void MainWindow::onCurrentJobChanged()
{
    const Job *job = m_jobs.jobAt(m_jobsView->currentIndex().row());
    if (job && job->id == m_details->jobId())
        return; // the row only moved
    m_details->showJob(job);
}

void MainWindow::onSelectionChanged()
{
    QList<Job> jobs;
    for (const QModelIndex &index : m_jobsView->selectionModel()->selectedRows())
        if (const Job *job = m_jobs.jobAt(index.row()))
            jobs.append(*job);
    m_actions->setSelection(jobs);
}

void MainWindow::setServerAvailable(bool available, const QString &why)
{
    m_actions->setAvailable(available);
    for (QAction *a : std::as_const(m_needServer))
        a->setEnabled(available);
    m_details->setAvailable(available);
    if (available) {
        m_banner->hide();
        return;
    }
    if (why.isEmpty())
        return;
    m_banner->setText(why);
    m_banner->show();
}

void MainWindow::nodeAction(const QString &action)
{
    for (const QModelIndex &index : m_nodesView->selectionModel()->selectedRows()) {
        const Node *node = m_nodes.nodeAt(index.row());
        if (!node)
            continue;
        m_api.nodeAction(node->id, action, [this, action](Result<Node> r) {
            if (!r)
                return showMessage(r.error().message, true);
            m_nodes.upsert(*r);
            showMessage(tr("Node %1: %2").arg(r->caps.name, toString(r->state)));
        });
    }
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
        auto *dialog =
            new SubmitDialog(*bundle, m_types, m_settings, m_api.baseUrl().toString(), this);
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
        m_trayState.update(job);
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
    if (FileDrop::accepts(event->mimeData())) {
        event->acceptProposedAction();
        showDropHighlight(true);
    } else {
        event->ignore();
    }
}

void MainWindow::dragLeaveEvent(QDragLeaveEvent *event)
{
    showDropHighlight(false);
    QMainWindow::dragLeaveEvent(event);
}

void MainWindow::showDropHighlight(bool on)
{
    if (on) {
        m_dropOverlay->setGeometry(centralWidget()->rect());
        m_dropOverlay->raise();
    }
    m_dropOverlay->setVisible(on);
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
    showDropHighlight(false);
    const QStringList paths = FileDrop::localPaths(event->mimeData());
    if (paths.isEmpty())
        return event->ignore();
    event->acceptProposedAction();
    submitPaths(paths);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    if (m_settings) {
        m_settings->setValue("window/geometry", saveGeometry());
        m_settings->setValue("window/jobsSplit", m_split->saveState());
    }
    QMainWindow::closeEvent(event);
}

} // namespace farm::gui
