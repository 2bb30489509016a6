#include "widgets/farmchart.h"

#include <QChart>
#include <QChartView>
#include <QDateTime>
#include <QJsonArray>
#include <QLabel>
#include <QLineSeries>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>

namespace farm::gui {

FarmChart::FarmChart(QWidget *parent)
    : QWidget(parent)
{
    m_chart = new QChart;
    m_chart->setTheme(palette().color(QPalette::Window).lightness() < 128
                          ? QChart::ChartThemeDark
                          : QChart::ChartThemeLight);
    m_chart->setBackgroundBrush(palette().color(QPalette::Base));
    m_chart->setTitle(tr("The last hour"));
    m_frames = new QLineSeries(m_chart);
    m_frames->setName(tr("Frames per minute"));
    m_busy = new QLineSeries(m_chart);
    m_busy->setName(tr("Slots busy (%)"));
    m_chart->addSeries(m_frames);
    m_chart->addSeries(m_busy);

    m_x = new QValueAxis(m_chart);
    m_x->setTitleText(tr("Minutes ago"));
    m_x->setLabelFormat("%d");
    m_x->setRange(-60, 0);
    m_framesAxis = new QValueAxis(m_chart);
    m_framesAxis->setTitleText(tr("Frames per minute"));
    m_framesAxis->setLabelFormat("%g");
    m_framesAxis->setRange(0, 1);
    m_busyAxis = new QValueAxis(m_chart);
    m_busyAxis->setTitleText(tr("Slots busy (%)"));
    m_busyAxis->setLabelFormat("%d");
    m_busyAxis->setRange(0, 100);
    m_chart->addAxis(m_x, Qt::AlignBottom);
    m_chart->addAxis(m_framesAxis, Qt::AlignLeft);
    m_chart->addAxis(m_busyAxis, Qt::AlignRight);
    m_frames->attachAxis(m_x);
    m_frames->attachAxis(m_framesAxis);
    m_busy->attachAxis(m_x);
    m_busy->attachAxis(m_busyAxis);

    auto *view = new QChartView(m_chart, this);
    view->setObjectName("farmChartView");
    view->setRenderHint(QPainter::Antialiasing);
    m_summary = new QLabel(tr("Waiting for the server…"), this);
    m_summary->setObjectName("farmChartSummary");
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_summary);
    layout->addWidget(view, 1);
}

void FarmChart::clear(const QString &why)
{
    m_frames->clear();
    m_busy->clear();
    m_summary->setText(why);
}

void FarmChart::setHistory(const QJsonObject &history)
{
    const int bucketS = history.value("bucket_s").toInt();
    const QJsonArray buckets = history.value("buckets").toArray();
    const QDateTime end = QDateTime::fromString(history.value("end").toString(), Qt::ISODateWithMs);
    if (bucketS <= 0 || buckets.isEmpty() || !end.isValid())
        return clear(tr("The server's farm history could not be read."));
    const int slotsOnline = history.value("slots_online").toInt();
    QList<QPointF> frames, busy;
    double peak = 0;
    for (const QJsonValue &v : buckets) {
        const QJsonObject b = v.toObject();
        const QDateTime start =
            QDateTime::fromString(b.value("start").toString(), Qt::ISODateWithMs);
        // A bucket is drawn at its end, in minutes before the answer's end.
        const double x = start.isValid() ? (start.msecsTo(end) / -60000.0) + bucketS / 60.0 : 0;
        const double perMinute = b.value("frames").toDouble() * 60.0 / bucketS;
        peak = std::max(peak, perMinute);
        frames.append({x, perMinute});
        const double share =
            slotsOnline > 0 ? b.value("busy_s").toDouble() / (bucketS * slotsOnline) : 0;
        busy.append({x, std::clamp(share * 100.0, 0.0, 100.0)});
    }
    m_frames->replace(frames);
    m_busy->replace(busy);
    m_x->setRange(std::min(-1.0, frames.first().x() - bucketS / 60.0), 0);
    m_framesAxis->setRange(0, std::max(1.0, peak * 1.15));
    m_framesAxis->applyNiceNumbers();
    const int total = history.value("frames").toInt();
    m_summary->setText(
        tr("%1 in the last hour, %2 online now; buckets of %3 s, from the server's task records")
            .arg(total == 1 ? tr("1 frame") : tr("%1 frames").arg(total))
            .arg(slotsOnline == 1 ? tr("1 slot") : tr("%1 slots").arg(slotsOnline))
            .arg(bucketS));
}

QString FarmChart::summary() const
{
    return m_summary->text();
}

} // namespace farm::gui
