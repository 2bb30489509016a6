#pragma once

#include "client/apiclient.h"
#include "models/tasksmodel.h"

#include <QIcon>
#include <QSet>
#include <QWidget>

class QLabel;
class QListWidget;
class QPushButton;
class QTableView;

namespace farm::gui {

/// The selected job: header, Cancel, its tasks and thumbnails of the frames rendered so far.
class JobDetails : public QWidget
{
    Q_OBJECT
public:
    static constexpr int kMaxThumbnails = 120;

    explicit JobDetails(client::ApiClient *api, QWidget *parent = nullptr);

    /// Shows `job` (nullptr: nothing selected) and loads its tasks and outputs.
    void showJob(const Job *job);
    qint64 jobId() const { return m_job.id; }

    // Live updates from /ws/events; those of other jobs are ignored.
    void jobChanged(const Job &job);
    void taskChanged(const Task &task);
    void outputLanded(qint64 jobId, const QString &output);

    TasksModel *tasksModel() { return &m_tasks; }
    int thumbnailCount() const;

signals:
    void cancelRequested(qint64 jobId);
    void errorOccurred(const QString &message);

private:
    void updateHeader();
    void loadOutputs();
    void addThumbnail(const QString &output);

    client::ApiClient *m_api;
    Job m_job;
    TasksModel m_tasks;
    QSet<QString> m_thumbnails;
    QLabel *m_title;
    QLabel *m_summary;
    QPushButton *m_cancel;
    QTableView *m_taskView;
    QListWidget *m_frames;
    QIcon m_placeholder;
    quint64 m_generation = 0; // drops answers for a job no longer shown
};

} // namespace farm::gui
