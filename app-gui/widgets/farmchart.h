#pragma once

#include <QJsonObject>
#include <QWidget>

class QChart;
class QLabel;
class QLineSeries;
class QValueAxis;

namespace farm::gui {

/// The farm's last hour (GET /api/v1/farm/history?window=hour): frames finished per minute and
/// the busy share of the slots online, one point per bucket, drawn with Qt Charts.
class FarmChart : public QWidget
{
    Q_OBJECT
public:
    explicit FarmChart(QWidget *parent = nullptr);

    /// Draws one answer of /api/v1/farm/history; a malformed one clears the chart and says so.
    void setHistory(const QJsonObject &history);
    void clear(const QString &why);

    /// x: minutes before the answer's end (negative), y: frames per minute.
    QLineSeries *throughput() const { return m_frames; }
    /// x as above, y: percent of the slots online busy.
    QLineSeries *utilisation() const { return m_busy; }
    QString summary() const;

private:
    QChart *m_chart = nullptr;
    QLineSeries *m_frames = nullptr;
    QLineSeries *m_busy = nullptr;
    QValueAxis *m_x = nullptr;
    QValueAxis *m_framesAxis = nullptr;
    QValueAxis *m_busyAxis = nullptr;
    QLabel *m_summary = nullptr;
};

} // namespace farm::gui
