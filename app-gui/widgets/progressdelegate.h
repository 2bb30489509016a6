#pragma once

#include <QStyledItemDelegate>

namespace farm::gui {

/// Draws a row's progress (JobsModel::ProgressRole, 0..1) as a slim rounded bar tinted with the
/// colour of the row's state column.
class ProgressDelegate : public QStyledItemDelegate
{
    Q_OBJECT
public:
    ProgressDelegate(int stateColumn, QObject *parent = nullptr);
    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;

private:
    int m_stateColumn;
};

} // namespace farm::gui
