#pragma once

#include "model/job.h"

#include <QAbstractTableModel>
#include <QColor>
#include <QIcon>
#include <QList>

namespace farm::gui {

/// Jobs as rows, kept sorted by the current sort column while events update them.
class JobsModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column {
        Id,
        Name,
        Type,
        State,
        Progress,
        Frames,
        Created,
        Priority,
        Owner,
        Elapsed,
        ColumnCount
    };
    /// "4 min 10 s" from the start (or the submit) to the end, or to now while it runs.
    static QString elapsedText(const Job &job, const QDateTime &now);
    /// Progress column: 0..1 as double, read by ProgressDelegate.
    static constexpr int ProgressRole = Qt::UserRole + 1;
    static constexpr int JobIdRole = Qt::UserRole + 2;

    explicit JobsModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;
    void sort(int column, Qt::SortOrder order) override;

    /// Replaces all rows (a fresh GET /api/v1/jobs).
    void setJobs(const QList<Job> &jobs);
    /// job.created / job.updated: inserts or replaces by id, keeping the sort.
    void upsert(const Job &job);
    void remove(qint64 id);

    int rowOf(qint64 id) const;
    const Job *jobAt(int row) const;
    const Job *job(qint64 id) const;
    int sortColumn() const { return m_sortColumn; }
    /// Sorting by state (ascending) puts failed, then active, paused, queued, completed and
    /// canceled jobs first; the newest first within a state.
    static int stateRank(JobState state);
    Qt::SortOrder sortOrder() const { return m_order; }

private:
    bool lessThan(const Job &a, const Job &b) const;
    int insertPosition(const Job &job) const;

    QList<Job> m_jobs;
    int m_sortColumn = State; // failed and active first, newest first within a state
    Qt::SortOrder m_order = Qt::AscendingOrder;
};

/// Colour for a job or task state name ("completed" → green), shared by the views.
QColor stateColor(const QString &state);
/// An icon whose shape tells the state (ring queued, play running, check done, cross failed,
/// slash canceled, bars paused/draining, dash disabled), drawn in the state's colour.
QIcon stateIcon(const QString &state);

} // namespace farm::gui
