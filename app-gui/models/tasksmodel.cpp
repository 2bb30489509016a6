#include "models/tasksmodel.h"

#include "models/jobsmodel.h"

namespace farm::gui {

TasksModel::TasksModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

int TasksModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_tasks.size());
}

int TasksModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TasksModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    static const char *names[] = {"#", "Frames", "State", "Progress", "Node", "Attempts", "Error"};
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0 ||
        section >= ColumnCount)
        return {};
    return tr(names[section]);
}

QVariant TasksModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_tasks.size())
        return {};
    const Task &t = m_tasks.at(index.row());
    if (role == JobsModel::ProgressRole)
        return t.progress;
    if (role == Qt::ForegroundRole && index.column() == State)
        return stateColor(toString(t.state));
    if (role == Qt::DecorationRole && index.column() == State)
        return stateIcon(toString(t.state));
    if (role == Qt::ToolTipRole && !t.error.isEmpty())
        return t.error;
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Index:
        return t.index;
    case Frames:
        return t.frames;
    case State:
        return toString(t.state);
    case Progress:
        return QString("%1%").arg(int(t.progress * 100 + 0.5));
    case Node:
        return t.nodeName.isEmpty() ? QString("–") : t.nodeName;
    case Attempts:
        return t.attempts;
    case Error:
        return t.error;
    }
    return {};
}

void TasksModel::setTasks(qint64 jobId, const QList<Task> &tasks)
{
    beginResetModel();
    m_jobId = jobId;
    m_tasks = tasks;
    std::sort(m_tasks.begin(), m_tasks.end(),
              [](const Task &a, const Task &b) { return a.index < b.index; });
    endResetModel();
}

void TasksModel::clear()
{
    setTasks(0, {});
}

void TasksModel::upsert(const Task &task)
{
    if (task.jobId != m_jobId || m_jobId == 0)
        return;
    for (int i = 0; i < m_tasks.size(); ++i) {
        if (m_tasks[i].id == task.id) {
            m_tasks[i] = task;
            emit dataChanged(index(i, 0), index(i, ColumnCount - 1));
            return;
        }
    }
    int row = 0;
    while (row < m_tasks.size() && m_tasks[row].index < task.index)
        ++row;
    beginInsertRows({}, row, row);
    m_tasks.insert(row, task);
    endInsertRows();
}

} // namespace farm::gui
