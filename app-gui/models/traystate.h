#pragma once

#include "model/job.h"

#include <QHash>
#include <QImage>
#include <QObject>

namespace farm::gui {

/// What the system tray shows, apart from the QSystemTrayIcon (which the offscreen platform
/// lacks): the farm's progress drawn into the icon and the notifications of job transitions.
/// It is fed the jobs the window holds: the list as loaded (setJobs) and live changes (update,
/// remove). A job notifies when it is seen going from a state that is not final to completed
/// or failed: once per transition (a repeated event says nothing), never for what the first
/// list of a server already holds, nor for a job first seen already final.
class TrayState : public QObject
{
    Q_OBJECT
public:
    struct Notification
    {
        qint64 job = 0;
        JobState state = JobState::Completed; // completed or failed
        QString title;
        QString text;
    };

    explicit TrayState(QObject *parent = nullptr);

    /// A server's job list. The first after reset() only learns the states; a later one (a
    /// refresh, a reconnect) notifies for the jobs that finished meanwhile.
    void setJobs(const QList<Job> &jobs);
    void update(const Job &job);
    void remove(qint64 id);
    /// Another server: forget every job; the next list is a first load again.
    void reset();

    /// Jobs running now and their mean progress (0..1).
    int activeJobs() const;
    double farmProgress() const;
    QString toolTip() const;
    /// The tray icon: `base` (the app's icon) with a ring of the farm's progress around it and
    /// the number of running jobs; the base alone when nothing runs.
    QImage iconImage(int size = 64) const;
    void setBaseIcon(const QImage &base) { m_base = base; }
    /// Every notification sent so far, oldest first.
    const QList<Notification> &sent() const { return m_sent; }

    /// The ring's colours, for checks.
    static QColor progressColor();
    static QColor trackColor();

signals:
    void notify(const farm::gui::TrayState::Notification &n);
    /// The icon or tooltip changed (progress, running count).
    void changed();

private:
    void see(const Job &job, bool quiet);

    QHash<qint64, Job> m_jobs;
    QList<Notification> m_sent;
    QImage m_base;
    bool m_loaded = false;
};

} // namespace farm::gui
