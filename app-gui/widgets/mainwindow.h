#pragma once

#include "client/apiclient.h"
#include "client/bundleuploader.h"
#include "client/eventsclient.h"
#include "models/jobsmodel.h"
#include "models/nodesmodel.h"
#include "models/traystate.h"

#include <QHash>
#include <QMainWindow>
#include <QPointer>
#include <QSet>

class QComboBox;
class QLabel;
class QLineEdit;
class QMenu;
class QProgressBar;
class QPushButton;
class QSettings;
class QSplitter;
class QSystemTrayIcon;
class QTableView;
class QTabWidget;
class QTimer;
class QToolBar;

namespace farm::gui {

class ConnectionBar;
class FarmChart;
class JobActions;
class JobDetails;
class SubmitFlow;

/// The desktop client: connection bar, live jobs table with details, nodes tab; what is dropped
/// onto it at once (files, a folder, a .zip) is submitted as one job.
class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(QSettings *settings, QWidget *parent = nullptr);
    ~MainWindow() override;

    void connectTo(const QUrl &url, const QString &token = {});
    /// Gathers the bundle of these files and folders, asks for the job's type and settings
    /// (SubmitDialog), then uploads the bundle and creates its job.
    void submitPaths(const QStringList &paths);
    /// Uploads one bundle and creates its job without asking (the dialog's answer, or tests).
    void startSubmission(const client::BundleSource &source,
                         std::function<Result<JobSpec>(const JobInput &)> build);
    void selectJob(qint64 id);

    JobsModel *jobsModel() { return &m_jobs; }
    NodesModel *nodesModel() { return &m_nodes; }
    QTableView *jobsView() { return m_jobsView; }
    JobDetails *details() { return m_details; }
    ConnectionBar *connectionBar() { return m_bar; }
    JobActions *jobActions() { return m_actions; }
    /// Filters the jobs list: `state` a job state name or empty for all; `text` searched in names.
    void setFilter(const QString &state, const QString &text);
    /// Jobs (0), Nodes (1) and Farm (2, the throughput chart).
    QTabWidget *tabs() { return m_tabs; }
    QMenu *nodesMenu() { return m_nodesMenu; }
    /// The banner over the window while the server cannot be reached (hidden otherwise).
    QLabel *banner() { return m_banner; }
    /// The status bar line (selectable: errors can be copied).
    QString statusText() const;
    /// "N jobs on the farm", kept current by the live events.
    QString countsText() const;
    /// The ids of the selected jobs, in row order.
    QList<qint64> selectedJobs() const;
    /// Selects these jobs (the first becomes current and fills the details pane).
    void selectJobs(const QList<qint64> &ids);
    client::ApiClient *api() { return &m_api; }
    /// Fetches the next page of the jobs list (the server answers at most 500 jobs a page);
    /// also done by the "Load more" button and on scrolling to the list's end.
    void loadMoreJobs();
    /// The server has more jobs (for this filter) than the list holds.
    bool hasMoreJobs() const;
    /// The tray's icon and notifications, fed by the jobs this window holds (the
    /// QSystemTrayIcon shows them where the desktop has a tray).
    TrayState *trayState() { return &m_trayState; }
    /// The server's job types (GET /api/v1/job-types), empty until they arrived.
    const QList<client::JobTypeInfo> &jobTypes() const { return m_types; }

signals:
    /// The jobs table holds the server's list (after connect or refresh).
    void jobsLoaded();
    void submissionFinished(int jobsCreated);
    void jobTypesLoaded();

protected:
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dragLeaveEvent(QDragLeaveEvent *event) override;
    void dragMoveEvent(QDragMoveEvent *event) override;
    void dropEvent(QDropEvent *event) override;
    void closeEvent(QCloseEvent *event) override;

private:
    void buildUi();
    void buildMenus();
    void wireEvents();
    void refresh();
    void refreshFarmChart();
    client::JobQuery jobQuery() const;
    void onCurrentJobChanged();
    void cancelJob(qint64 id);
    void onSelectionChanged();
    void setServerAvailable(bool available, const QString &why = {});
    void showDropHighlight(bool on);
    void updateCounts();
    void nodeAction(const QString &action);
    /// Whether a job passes the state filter and the search text (events are checked here;
    /// the list itself comes filtered from the server).
    bool matchesFilter(const Job &job) const;
    void chooseFiles();
    void chooseFolder();
    /// Fetches the job types, then runs `then` (at once when they are here already).
    void withJobTypes(std::function<void()> then);
    void showMessage(const QString &text, bool error = false);

    QSettings *m_settings;
    client::ApiClient m_api;
    client::EventsClient m_events;
    JobsModel m_jobs;
    NodesModel m_nodes;
    ConnectionBar *m_bar = nullptr;
    QTabWidget *m_tabs = nullptr;
    QTableView *m_jobsView = nullptr;
    QTableView *m_nodesView = nullptr;
    JobDetails *m_details = nullptr;
    QLabel *m_status = nullptr;
    QLabel *m_banner = nullptr;
    QLabel *m_counts = nullptr;
    QWidget *m_filterBar = nullptr;
    QLineEdit *m_search = nullptr;
    QComboBox *m_stateFilter = nullptr;
    QTimer *m_filterDelay = nullptr;
    QWidget *m_dropOverlay = nullptr;
    QToolBar *m_toolbar = nullptr;
    QSplitter *m_split = nullptr;
    JobActions *m_actions = nullptr;
    QMenu *m_nodesMenu = nullptr;
    QList<QAction *> m_needServer; // greyed while the server cannot be reached
    QTimer *m_retry = nullptr;
    QSystemTrayIcon *m_tray = nullptr;
    TrayState m_trayState;
    qint64 m_total = 0;
    QProgressBar *m_upload = nullptr;
    QPointer<SubmitFlow> m_flow;
    QList<client::JobTypeInfo> m_types;
    qint64 m_pendingSelect = 0;
    // Events that arrive while a job list is loading are newer than it: replayed on top of it.
    int m_listsInFlight = 0;
    QHash<qint64, Job> m_lateJobs;
    QSet<qint64> m_lateDeletes;
    int m_nodeListsInFlight = 0;
    QHash<qint64, Node> m_lateNodes;
    QPushButton *m_moreJobs = nullptr;
    FarmChart *m_farmChart = nullptr;
    bool m_pageInFlight = false;
    QString m_nextPage;           // the server's cursor of the page after the rows held
    bool m_keyedPaging = true;    // false: an older server pages by offset only
    quint64 m_listGeneration = 0; // a page asked for before a refresh is dropped
    bool m_connected = false;
    quint64 m_connection = 0; // answers for an older connection are dropped
};

} // namespace farm::gui
