#include "models/nodesmodel.h"

#include <QLocale>
#include <QRegularExpression>
#include <QSet>

#include "models/jobsmodel.h"

namespace farm::gui {

namespace {
const GpuSample *sampleOf(const Node &n, const QString &uuid)
{
    for (const GpuSample &s : n.gpuLoad)
        if (s.uuid == uuid)
            return &s;
    return nullptr;
}
} // namespace

NodesModel::NodesModel(QObject *parent)
    : QAbstractTableModel(parent)
{}

int NodesModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_nodes.size());
}

int NodesModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant NodesModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    static const char *names[] = {"Name", "State", "Version",   "CPU load", "Cores",
                                  "RAM",  "GPUs",  "Rendering", "Engines",  "Last seen"};
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0 ||
        section >= ColumnCount)
        return {};
    return tr(names[section]);
}

QVariant NodesModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_nodes.size())
        return {};
    const Node &n = m_nodes.at(index.row());
    if (role == Qt::ForegroundRole && index.column() == State)
        return stateColor(toString(n.state));
    if (role == Qt::DecorationRole && index.column() == State)
        return stateIcon(toString(n.state));
    if (role == Qt::ToolTipRole && index.column() == Gpus) {
        QStringList lines;
        for (const GpuInfo &g : n.caps.gpus) {
            QString line = QString("%1 — %2 MiB, CC %3, driver %4, %5")
                               .arg(g.name)
                               .arg(g.vramMb)
                               .arg(g.computeCapability, g.driver, g.uuid);
            if (const GpuSample *s = sampleOf(n, g.uuid))
                line += tr("; %1% busy, %2 of %3 MiB in use")
                            .arg(qRound(s->utilization * 100))
                            .arg(s->memoryUsedMb)
                            .arg(s->memoryTotalMb);
            lines.append(line);
        }
        return lines.join('\n');
    }
    if (role == Qt::ToolTipRole && index.column() == Load && n.load)
        return tr("1-minute load average %1 on %2 cores").arg(*n.load, 0, 'f', 2).arg(n.caps.cores);
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Name:
        return n.caps.name;
    case State:
        return toString(n.state);
    case Version:
        return n.caps.version.isEmpty() ? tr("unknown") : n.caps.version;
    case Load:
        // Reported by connected nodes in each heartbeat; unknown before the first one.
        if (!n.load)
            return n.state == NodeState::Offline ? QString() : tr("—");
        return QString("%1 (%2%)")
            .arg(*n.load, 0, 'f', 2)
            .arg(qRound(*n.load * 100.0 / std::max(1, n.caps.cores)));
    case Cores:
        return n.caps.cores;
    case Ram:
        return QString("%1 GiB").arg(double(n.caps.ramMb) / 1024.0, 0, 'f', 1);
    case Gpus: {
        if (n.caps.gpus.isEmpty())
            return tr("none");
        QStringList names;
        for (const GpuInfo &g : n.caps.gpus) {
            QString text =
                QString("%1 %2 GiB").arg(g.name).arg(double(g.vramMb) / 1024.0, 0, 'f', 0);
            // Utilisation only where the node reports it (NVML).
            if (const GpuSample *s = sampleOf(n, g.uuid))
                text += tr(" · %1% busy").arg(qRound(s->utilization * 100));
            names.append(text);
        }
        return names.join(", ");
    }
    case Current: {
        QStringList work;
        for (const NodeTask &t : n.tasks)
            work.append(t.jobId <= 0 ? tr("task %1").arg(t.task)
                        : t.frames.contains(QRegularExpression("[-,]"))
                            ? tr("job %1 frames %2").arg(t.jobId).arg(t.frames)
                            : tr("job %1 frame %2").arg(t.jobId).arg(t.frames));
        if (work.isEmpty()) // a server before `tasks`: the ids
            for (qint64 t : n.running)
                work.append(tr("task %1").arg(t));
        if (n.state == NodeState::Offline)
            return QString();
        return QString("%1/%2  %3")
            .arg(n.running.size())
            .arg(n.caps.slotCount)
            .arg(work.join(", "));
    }
    case Engines: {
        QStringList list;
        for (const EngineInfo &e : n.caps.engines)
            list.append(e.version.isEmpty() ? e.name : e.name + ' ' + e.version);
        return list.join(", ");
    }
    case LastSeen: {
        if (!n.lastSeen.isValid())
            return tr("never");
        const qint64 s = n.lastSeen.secsTo(QDateTime::currentDateTimeUtc());
        if (n.state != NodeState::Offline && s < 60)
            return tr("now");
        return s < 120    ? tr("%1 s ago").arg(std::max<qint64>(0, s))
               : s < 7200 ? tr("%1 min ago").arg(s / 60)
                          : QLocale().toString(n.lastSeen.toLocalTime(), QLocale::ShortFormat);
    }
    }
    return {};
}

void NodesModel::setNodes(const QList<Node> &nodes)
{
    // Rows are removed, replaced and inserted rather than reset, so a refresh keeps the
    // view's selection and scroll position.
    QSet<qint64> ids;
    for (const Node &n : nodes)
        ids.insert(n.id);
    for (int i = int(m_nodes.size()) - 1; i >= 0; --i) {
        if (ids.contains(m_nodes[i].id))
            continue;
        beginRemoveRows({}, i, i);
        m_nodes.removeAt(i);
        endRemoveRows();
    }
    for (const Node &n : nodes)
        upsert(n);
}

void NodesModel::upsert(const Node &node)
{
    for (int i = 0; i < m_nodes.size(); ++i) {
        if (m_nodes[i].id == node.id) {
            m_nodes[i] = node;
            emit dataChanged(index(i, 0), index(i, ColumnCount - 1));
            return;
        }
    }
    int row = 0;
    while (row < m_nodes.size() && m_nodes[row].caps.name < node.caps.name)
        ++row;
    beginInsertRows({}, row, row);
    m_nodes.insert(row, node);
    endInsertRows();
}

} // namespace farm::gui
