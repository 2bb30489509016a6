#include "models/traystate.h"

#include "protocol/states.h"

#include <QPainter>
#include <QPainterPath>

namespace farm::gui {

TrayState::TrayState(QObject *parent)
    : QObject(parent)
{}

QColor TrayState::progressColor()
{
    return QColor(61, 142, 240); // the app's accent (drop highlight, progress bars)
}

QColor TrayState::trackColor()
{
    return QColor(70, 70, 70);
}

void TrayState::setJobs(const QList<Job> &jobs)
{
    const bool quiet = !m_loaded;
    m_loaded = true;
    QHash<qint64, Job> before;
    before.swap(m_jobs);
    for (const Job &job : jobs) {
        if (const auto it = before.constFind(job.id); it != before.cend())
            m_jobs.insert(job.id, *it); // the transition is judged against what was seen
        see(job, quiet);
    }
    emit changed();
}

void TrayState::update(const Job &job)
{
    see(job, false);
    emit changed();
}

void TrayState::remove(qint64 id)
{
    if (m_jobs.remove(id))
        emit changed();
}

void TrayState::reset()
{
    m_jobs.clear();
    m_loaded = false;
    emit changed();
}

void TrayState::see(const Job &job, bool quiet)
{
    const auto it = m_jobs.constFind(job.id);
    const bool wasRunning = it != m_jobs.cend() && !isFinal(it->state);
    m_jobs.insert(job.id, job);
    if (quiet || !wasRunning || (job.state != JobState::Completed && job.state != JobState::Failed))
        return;
    Notification n;
    n.job = job.id;
    n.state = job.state;
    const bool failed = job.state == JobState::Failed;
    n.title = failed ? tr("Job failed") : tr("Job finished");
    n.text = QString("#%1 %2").arg(job.id).arg(job.spec.name);
    if (failed && !job.error.isEmpty())
        n.text += ": " + job.error;
    m_sent.append(n);
    emit notify(n);
}

int TrayState::activeJobs() const
{
    int n = 0;
    for (const Job &job : m_jobs)
        n += job.state == JobState::Active;
    return n;
}

double TrayState::farmProgress() const
{
    int n = 0;
    double sum = 0;
    for (const Job &job : m_jobs)
        if (job.state == JobState::Active) {
            ++n;
            sum += std::clamp(job.progress, 0.0, 1.0);
        }
    return n == 0 ? 0.0 : sum / n;
}

QString TrayState::toolTip() const
{
    const int active = activeJobs();
    return active == 0 ? tr("Farmhand: no job running")
                       : tr("Farmhand: %n job(s) running, %1% done", nullptr, active)
                             .arg(int(100 * farmProgress()));
}

QImage TrayState::iconImage(int size) const
{
    QImage image(size, size, QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::transparent);
    QPainter p(&image);
    p.setRenderHint(QPainter::Antialiasing);
    const int active = activeJobs();
    const double ring = size * 0.14; // the ring's width
    const QRectF outer(ring / 2, ring / 2, size - ring, size - ring);
    if (!m_base.isNull()) {
        // Inside the ring while jobs run, the whole icon otherwise.
        const QRectF inner =
            active > 0 ? outer.adjusted(ring, ring, -ring, -ring) : QRectF(0, 0, size, size);
        p.drawImage(inner, m_base);
    }
    if (active == 0)
        return image;
    p.setPen(QPen(trackColor(), ring, Qt::SolidLine, Qt::FlatCap));
    p.drawEllipse(outer);
    // Clockwise from twelve o'clock; Qt's angles are 1/16 degree, counter-clockwise.
    const int span = -int(std::round(360 * 16 * farmProgress()));
    p.setPen(QPen(progressColor(), ring, Qt::SolidLine, Qt::FlatCap));
    if (span != 0)
        p.drawArc(outer, 90 * 16, span);
    // The number of running jobs in the middle, on a dark disc so it reads on any base icon.
    const QRectF badge(size * 0.3, size * 0.3, size * 0.4, size * 0.4);
    p.setPen(Qt::NoPen);
    p.setBrush(QColor(20, 20, 20, 220));
    p.drawEllipse(badge);
    QFont font = p.font();
    font.setPixelSize(int(size * (active > 9 ? 0.16 : 0.24)));
    font.setBold(true);
    p.setFont(font);
    p.setPen(Qt::white);
    p.drawText(badge, Qt::AlignCenter,
               active > 99 ? QStringLiteral("99+") : QString::number(active));
    return image;
}

} // namespace farm::gui
