#pragma once

#include "model/node.h"

#include <QAbstractTableModel>

namespace farm::gui {

/// Render nodes by name; node.updated events insert or replace by id.
class NodesModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column {
        Name,
        State,
        Version,
        Load,
        Cores,
        Ram,
        Gpus,
        Current,
        Engines,
        LastSeen,
        ColumnCount
    };

    explicit NodesModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    void setNodes(const QList<Node> &nodes);
    void upsert(const Node &node);
    const QList<Node> &nodes() const { return m_nodes; }
    const Node *nodeAt(int row) const
    {
        return row >= 0 && row < m_nodes.size() ? &m_nodes[row] : nullptr;
    }

private:
    QList<Node> m_nodes;
};

} // namespace farm::gui
