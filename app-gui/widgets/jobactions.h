#pragma once

#include "client/apiclient.h"

#include <QHash>
#include <QList>
#include <QObject>

class QAction;
class QMenu;
class QDialog;
class QMessageBox;
class QWidget;

namespace farm::gui {

/// The job actions of the desktop client (docs/API.md "Job lifecycle"): cancel, pause, resume,
/// retry, re-run, priority, delete (confirmed) and "why is this not running", as QActions with
/// icons and shortcuts shared by the toolbar, the jobs' context menu and the keyboard. They act
/// on every selected job and are enabled only where the server would accept them.
class JobActions : public QObject
{
    Q_OBJECT
public:
    enum Kind { Cancel, Pause, Resume, Retry, Rerun, Priority, Delete, Explain, Encode, KindCount };

    JobActions(client::ApiClient *api, QWidget *window);

    QAction *action(Kind kind) const { return m_actions[kind]; }
    QList<QAction *> actions() const { return m_actions; }
    /// The jobs' context menu (the same actions).
    QMenu *menu() const { return m_menu; }

    /// The jobs the actions apply to (the selected rows).
    void setSelection(const QList<Job> &jobs);
    QList<qint64> selection() const;
    /// False while the server cannot be reached: every action is greyed.
    void setAvailable(bool available);
    /// The server's job types: "Encode video…" draws its form from the `encode` type's schema
    /// (and is greyed on a server without one).
    void setJobTypes(const QList<client::JobTypeInfo> &types);

    /// Whether the server accepts `kind` for a job in `state` (the lifecycle table).
    static bool allowed(Kind kind, JobState state);

    /// Runs `kind` on the selected jobs that allow it (Delete asks first; Priority asks the
    /// value). Tests call it as a click would.
    void trigger(Kind kind);
    void setPriority(const QList<qint64> &ids, int priority);
    /// POST /api/v1/jobs/{id}/encode for each job with `body` ({"settings", "name",
    /// "priority"}); each new job is announced by jobCreated.
    void encode(const QList<qint64> &ids, const QJsonObject &body);
    /// The "Encode video…" dialog (null when none is open).
    QDialog *pendingEncode() const { return m_encodeDialog; }
    /// The confirmation shown by Delete (null when none is open).
    QMessageBox *pendingConfirmation() const { return m_confirm; }

signals:
    void jobUpdated(const farm::Job &job);
    void jobDeleted(qint64 id);
    /// A job the actions created (an encode of a finished job's frames).
    void jobCreated(const farm::Job &job);
    /// Reasons a job is not running (the explain endpoint).
    void explained(qint64 id, const QStringList &reasons);
    void message(const QString &text, bool error);

private:
    void post(const QString &action, const QList<qint64> &ids, const QJsonObject &body = {});
    void remove(const QList<qint64> &ids);
    QList<qint64> applicable(Kind kind) const;
    void updateEnabled();

    client::ApiClient *m_api;
    QWidget *m_window;
    QList<QAction *> m_actions;
    QMenu *m_menu;
    QList<Job> m_selection;
    QMessageBox *m_confirm = nullptr;
    QDialog *m_encodeDialog = nullptr;
    QList<client::JobTypeInfo> m_types;
    bool m_available = false;
};

} // namespace farm::gui
