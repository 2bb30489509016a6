#pragma once

#include "model/task.h"

#include <QAbstractTableModel>

namespace farm::gui {

/// The tasks of one job, in task order; task.updated events for other jobs are ignored.
class TasksModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { Index, Frames, State, Progress, Node, Attempts, Error, ColumnCount };

    explicit TasksModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    void setTasks(qint64 jobId, const QList<Task> &tasks);
    void upsert(const Task &task);
    void clear();
    qint64 jobId() const { return m_jobId; }
    const QList<Task> &tasks() const { return m_tasks; }

private:
    qint64 m_jobId = 0;
    QList<Task> m_tasks;
};

} // namespace farm::gui
