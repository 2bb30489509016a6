#pragma once

#include "client/apiclient.h"
#include "client/bundleuploader.h"
#include "client/eventsclient.h"
#include "models/jobsmodel.h"
#include "models/nodesmodel.h"

#include <QHash>
#include <QMainWindow>
#include <QPointer>
#include <QSet>

class QLabel;
class QProgressBar;
class QSettings;
class QTableView;
class QTabWidget;

namespace farm::gui {

class ConnectionBar;
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
    client::ApiClient *api() { return &m_api; }
    /// The server's job types (GET /api/v1/job-types), empty until they arrived.
    const QList<client::JobTypeInfo> &jobTypes() const { return m_types; }

signals:
    /// The jobs table holds the server's list (after connect or refresh).
    void jobsLoaded();
    void submissionFinished(int jobsCreated);
    void jobTypesLoaded();

protected:
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dragMoveEvent(QDragMoveEvent *event) override;
    void dropEvent(QDropEvent *event) override;
    void closeEvent(QCloseEvent *event) override;

private:
    void buildUi();
    void buildMenus();
    void wireEvents();
    void refresh();
    void onCurrentJobChanged();
    void cancelJob(qint64 id);
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
    bool m_connected = false;
    quint64 m_connection = 0; // answers for an older connection are dropped
};

} // namespace farm::gui
