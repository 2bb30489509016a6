#include "widgets/progressdelegate.h"

#include "models/jobsmodel.h"

#include <QApplication>
#include <QPainter>
#include <QPainterPath>

namespace farm::gui {

ProgressDelegate::ProgressDelegate(int stateColumn, QObject *parent)
    : QStyledItemDelegate(parent)
    , m_stateColumn(stateColumn)
{}

void ProgressDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option,
                             const QModelIndex &index) const
{
    // Selection/hover background first, without text.
    QStyleOptionViewItem bg = option;
    initStyleOption(&bg, index);
    bg.text.clear();
    const QWidget *widget = option.widget;
    QStyle *style = widget ? widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &bg, painter, widget);

    const double progress = qBound(0.0, index.data(JobsModel::ProgressRole).toDouble(), 1.0);
    const QColor tint =
        index.sibling(index.row(), m_stateColumn).data(Qt::ForegroundRole).value<QColor>();
    const QRect area = option.rect.adjusted(6, 0, -6, 0);
    const int barHeight = qMin(area.height() - 8, 14);
    // The label keeps a fixed width so "100%" always fits; the bar takes the rest.
    const int labelWidth = option.fontMetrics.horizontalAdvance("100%") + 8;
    const QRectF bar(area.left(), area.center().y() - barHeight / 2.0 + 1,
                     qBound(0, area.width() - labelWidth, 220), barHeight);

    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setPen(Qt::NoPen);
    painter->setBrush(option.palette.color(QPalette::Mid).lighter(135));
    painter->drawRoundedRect(bar, barHeight / 2.0, barHeight / 2.0);
    if (progress > 0) {
        QPainterPath clip;
        clip.addRoundedRect(bar, barHeight / 2.0, barHeight / 2.0);
        painter->setClipPath(clip);
        painter->setBrush(tint.isValid() ? tint : option.palette.color(QPalette::Highlight));
        painter->drawRect(QRectF(bar.left(), bar.top(), bar.width() * progress, bar.height()));
        painter->setClipping(false);
    }
    painter->setPen(option.state & QStyle::State_Selected
                        ? option.palette.color(QPalette::HighlightedText)
                        : option.palette.color(QPalette::Text));
    const QRectF label(bar.right() + 8, option.rect.top(), area.right() - bar.right() - 8,
                       option.rect.height());
    painter->drawText(label, Qt::AlignVCenter | Qt::AlignLeft,
                      QString("%1%").arg(int(progress * 100 + 0.5)));
    painter->restore();
}

QSize ProgressDelegate::sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    QSize s = QStyledItemDelegate::sizeHint(option, index);
    return {qMax(s.width(), 120), s.height()};
}

} // namespace farm::gui
