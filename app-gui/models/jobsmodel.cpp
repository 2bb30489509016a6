#include "models/jobsmodel.h"

#include <QColor>
#include <QHash>
#include <QLocale>
#include <QPainter>
#include <QPixmap>

namespace farm::gui {

QColor stateColor(const QString &state)
{
    static const QHash<QString, QColor> colors{
        {"queued", QColor(0x8a, 0x8f, 0x98)},    {"assigned", QColor(0x3d, 0x8b, 0xd6)},
        {"active", QColor(0x2f, 0x80, 0xed)},    {"running", QColor(0x2f, 0x80, 0xed)},
        {"completed", QColor(0x27, 0xae, 0x60)}, {"done", QColor(0x27, 0xae, 0x60)},
        {"failed", QColor(0xd6, 0x45, 0x45)},    {"canceled", QColor(0xb0, 0x7d, 0x2b)},
        {"paused", QColor(0x9b, 0x59, 0xb6)},    {"idle", QColor(0x27, 0xae, 0x60)},
        {"busy", QColor(0x2f, 0x80, 0xed)},      {"draining", QColor(0xb0, 0x7d, 0x2b)},
        {"disabled", QColor(0x8a, 0x8f, 0x98)},  {"offline", QColor(0xd6, 0x45, 0x45)}};
    return colors.value(state, QColor(Qt::gray));
}

QIcon stateIcon(const QString &state)
{
    static QHash<QString, QIcon> cache;
    if (const auto it = cache.constFind(state); it != cache.cend())
        return *it;
    // A shape per meaning, so a state reads without its colour too.
    enum Shape { Ring, Play, Check, Cross, Slash, Bars, Dash };
    static const QHash<QString, Shape> shapes{
        {"queued", Ring},   {"assigned", Play},   {"active", Play},    {"running", Play},
        {"busy", Play},     {"completed", Check}, {"done", Check},     {"idle", Check},
        {"failed", Cross},  {"offline", Cross},   {"canceled", Slash}, {"paused", Bars},
        {"draining", Bars}, {"disabled", Dash}};
    QPixmap pixmap(32, 32);
    pixmap.fill(Qt::transparent);
    QPainter p(&pixmap);
    p.setRenderHint(QPainter::Antialiasing);
    const QColor c = stateColor(state);
    p.setPen(QPen(c, 4, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
    switch (shapes.value(state, Ring)) {
    case Ring:
        p.drawEllipse(QRectF(6, 6, 20, 20));
        break;
    case Play:
        p.setBrush(c);
        p.drawPolygon(QPolygonF({QPointF(9, 6), QPointF(26, 16), QPointF(9, 26)}));
        break;
    case Check:
        p.drawPolyline(QPolygonF({QPointF(6, 17), QPointF(13, 24), QPointF(26, 8)}));
        break;
    case Cross:
        p.drawLine(QPointF(8, 8), QPointF(24, 24));
        p.drawLine(QPointF(24, 8), QPointF(8, 24));
        break;
    case Slash:
        p.drawEllipse(QRectF(6, 6, 20, 20));
        p.drawLine(QPointF(9, 23), QPointF(23, 9));
        break;
    case Bars:
        p.drawLine(QPointF(11, 7), QPointF(11, 25));
        p.drawLine(QPointF(21, 7), QPointF(21, 25));
        break;
    case Dash:
        p.drawLine(QPointF(7, 16), QPointF(25, 16));
        break;
    }
    p.end();
    return *cache.insert(state, QIcon(pixmap));
}

JobsModel::JobsModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

int JobsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_jobs.size());
}

int JobsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant JobsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    static const char *names[] = {"ID",     "Name",    "Type",     "State", "Progress",
                                  "Frames", "Created", "Priority", "Owner", "Elapsed"};
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0 ||
        section >= ColumnCount)
        return {};
    return tr(names[section]);
}

QVariant JobsModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_jobs.size())
        return {};
    const Job &j = m_jobs.at(index.row());
    if (role == JobIdRole)
        return j.id;
    if (role == ProgressRole)
        return j.progress;
    if (role == Qt::ForegroundRole && index.column() == State)
        return stateColor(toString(j.state));
    if (role == Qt::DecorationRole && index.column() == State)
        return stateIcon(toString(j.state));
    if (role == Qt::ToolTipRole && !j.error.isEmpty())
        return j.error;
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Id:
        return QString("#%1").arg(j.id);
    case Name:
        return j.spec.name;
    case Type: // whatever the server calls it, known to this client or not
        return j.spec.type;
    case State:
        return toString(j.state);
    case Progress:
        return QString("%1%").arg(int(j.progress * 100 + 0.5));
    case Frames:
        return QString("%1  (%2/%3 tasks)").arg(j.spec.frames).arg(j.tasks.done).arg(j.tasks.total);
    case Created:
        return QLocale().toString(j.createdAt.toLocalTime(), QLocale::ShortFormat);
    case Priority:
        return j.spec.priority;
    case Owner:
        return j.owner;
    case Elapsed:
        return elapsedText(j, QDateTime::currentDateTimeUtc());
    }
    return {};
}

QString JobsModel::elapsedText(const Job &job, const QDateTime &now)
{
    const QDateTime from = job.startedAt.isValid() ? job.startedAt : job.createdAt;
    if (!from.isValid() || (!job.startedAt.isValid() && !isFinal(job.state)))
        return {}; // not started yet
    const QDateTime to = isFinal(job.state) && job.finishedAt.isValid() ? job.finishedAt : now;
    const qint64 s = std::max<qint64>(0, from.secsTo(to));
    if (s < 60)
        return tr("%1 s").arg(s);
    if (s < 3600)
        return tr("%1 min %2 s").arg(s / 60).arg(s % 60);
    return tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

int JobsModel::stateRank(JobState state)
{
    // What needs the artist's eyes first: failures, then work in progress, then the rest.
    switch (state) {
    case JobState::Failed:
        return 0;
    case JobState::Active:
        return 1;
    case JobState::Paused:
        return 2;
    case JobState::Queued:
        return 3;
    case JobState::Completed:
        return 4;
    case JobState::Canceled:
        return 5;
    }
    return 6;
}

bool JobsModel::lessThan(const Job &a, const Job &b) const
{
    auto key = [this](const Job &j) -> QVariant {
        switch (m_sortColumn) {
        case Name:
            return j.spec.name.toLower();
        case Type:
            return j.spec.type;
        case State:
            return stateRank(j.state);
        case Progress:
            return j.progress;
        case Frames:
            return j.tasks.total;
        case Created:
            return j.createdAt;
        case Priority:
            return j.spec.priority;
        case Owner:
            return j.owner;
        case Elapsed:
            return j.startedAt.isValid()
                       ? j.startedAt.secsTo(isFinal(j.state) && j.finishedAt.isValid()
                                                ? j.finishedAt
                                                : QDateTime::currentDateTimeUtc())
                       : -1;
        default:
            return j.id;
        }
    };
    const auto cmp = QVariant::compare(key(a), key(b));
    // Ties fall back to the id so the order is total and stable across updates.
    if (cmp == QPartialOrdering::Equivalent || cmp == QPartialOrdering::Unordered)
        return m_sortColumn == State || m_order == Qt::DescendingOrder ? a.id > b.id : a.id < b.id;
    return m_order == Qt::AscendingOrder ? cmp == QPartialOrdering::Less
                                         : cmp == QPartialOrdering::Greater;
}

int JobsModel::insertPosition(const Job &job) const
{
    const auto it = std::lower_bound(m_jobs.begin(), m_jobs.end(), job,
                                     [this](const Job &a, const Job &b) { return lessThan(a, b); });
    return int(it - m_jobs.begin());
}

void JobsModel::sort(int column, Qt::SortOrder order)
{
    if (column < 0 || column >= ColumnCount)
        return;
    emit layoutAboutToBeChanged({}, QAbstractItemModel::VerticalSortHint);
    const QModelIndexList before = persistentIndexList();
    QList<qint64> ids;
    for (const QModelIndex &i : before)
        ids.append(m_jobs.at(i.row()).id);
    m_sortColumn = column;
    m_order = order;
    std::stable_sort(m_jobs.begin(), m_jobs.end(),
                     [this](const Job &a, const Job &b) { return lessThan(a, b); });
    QModelIndexList after;
    for (int i = 0; i < before.size(); ++i)
        after.append(index(rowOf(ids[i]), before[i].column()));
    changePersistentIndexList(before, after);
    emit layoutChanged({}, QAbstractItemModel::VerticalSortHint);
}

void JobsModel::setJobs(const QList<Job> &jobs)
{
    beginResetModel();
    m_jobs = jobs;
    std::stable_sort(m_jobs.begin(), m_jobs.end(),
                     [this](const Job &a, const Job &b) { return lessThan(a, b); });
    endResetModel();
}

void JobsModel::upsert(const Job &job)
{
    const int old = rowOf(job.id);
    if (old < 0) {
        const int row = insertPosition(job);
        beginInsertRows({}, row, row);
        m_jobs.insert(row, job);
        endInsertRows();
        return;
    }
    m_jobs[old] = job;
    emit dataChanged(index(old, 0), index(old, ColumnCount - 1));
    // A changed sort key moves the row (a move, not remove+insert, keeps the selection).
    Job moving = m_jobs.takeAt(old);
    const int row = insertPosition(moving);
    m_jobs.insert(old, std::move(moving));
    if (row == old)
        return;
    if (!beginMoveRows({}, old, old, {}, row > old ? row + 1 : row))
        return;
    m_jobs.move(old, row);
    endMoveRows();
}

void JobsModel::remove(qint64 id)
{
    const int row = rowOf(id);
    if (row < 0)
        return;
    beginRemoveRows({}, row, row);
    m_jobs.removeAt(row);
    endRemoveRows();
}

int JobsModel::rowOf(qint64 id) const
{
    for (int i = 0; i < m_jobs.size(); ++i)
        if (m_jobs.at(i).id == id)
            return i;
    return -1;
}

const Job *JobsModel::jobAt(int row) const
{
    return row >= 0 && row < m_jobs.size() ? &m_jobs.at(row) : nullptr;
}

const Job *JobsModel::job(qint64 id) const
{
    return jobAt(rowOf(id));
}

} // namespace farm::gui
