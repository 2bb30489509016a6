#include "widgets/jobactions.h"

#include "dialogs/encodedialog.h"
#include "widgets/icons.h"

#include <QAction>
#include <QInputDialog>
#include <QMenu>
#include <QMessageBox>
#include <QPointer>
#include <QPushButton>

#include <memory>

namespace farm::gui {

namespace {

struct ActionInfo
{
    const char *text;
    const char *objectName;
    const char *icon;
    QStyle::StandardPixmap fallback;
    QKeySequence shortcut;
    const char *tip;
};

const ActionInfo &info(JobActions::Kind kind)
{
    static const ActionInfo table[JobActions::KindCount] = {
        {"&Cancel", "cancelJobs", "process-stop", QStyle::SP_BrowserStop,
         QKeySequence(Qt::CTRL | Qt::Key_K), "Cancel the selected jobs"},
        {"&Pause", "pauseJobs", "media-playback-pause", QStyle::SP_MediaPause,
         QKeySequence(Qt::CTRL | Qt::Key_P), "Pause: queued frames wait, running ones finish"},
        {"Res&ume", "resumeJobs", "media-playback-start", QStyle::SP_MediaPlay,
         QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_P), "Resume the paused jobs"},
        {"&Retry", "retryJobs", "view-refresh", QStyle::SP_BrowserReload,
         QKeySequence(Qt::CTRL | Qt::Key_R), "Retry the failed and canceled frames"},
        {"Re-r&un", "rerunJobs", "edit-redo", QStyle::SP_ArrowForward,
         QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R), "Render every frame again"},
        {"Pr&iority…", "priorityJobs", "go-up", QStyle::SP_ArrowUp,
         QKeySequence(Qt::CTRL | Qt::Key_I), "Set the priority (0-100) of the selected jobs"},
        {"&Delete…", "deleteJobs", "edit-delete", QStyle::SP_TrashIcon,
         QKeySequence(QKeySequence::Delete), "Delete the finished jobs and their outputs"},
        {"&Why not running?", "explainJobs", "help-about", QStyle::SP_MessageBoxQuestion,
         QKeySequence(Qt::CTRL | Qt::Key_E), "Ask the server why the job is not running"},
        {"E&ncode video…", "encodeJobs", "video-x-generic", QStyle::SP_MediaPlay,
         QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_V),
         "Encode the finished frames into a video (a new job; nothing is rendered again)"},
    };
    return table[kind];
}

const char *apiName(JobActions::Kind kind)
{
    static const char *names[JobActions::KindCount] = {
        "cancel", "pause", "resume", "retry", "rerun", "priority", "delete", "explain", "encode"};
    return names[kind];
}

} // namespace

JobActions::JobActions(client::ApiClient *api, QWidget *window)
    : QObject(window)
    , m_api(api)
    , m_window(window)
    , m_menu(new QMenu(window))
{
    m_menu->setObjectName("jobsMenu");
    for (int k = 0; k < KindCount; ++k) {
        const ActionInfo &i = info(Kind(k));
        auto *a = new QAction(themedIcon(i.icon, i.fallback), tr(i.text), window);
        a->setObjectName(i.objectName);
        a->setShortcut(i.shortcut);
        a->setToolTip(
            QString("%1 (%2)").arg(tr(i.tip), i.shortcut.toString(QKeySequence::NativeText)));
        a->setStatusTip(tr(i.tip));
        connect(a, &QAction::triggered, this, [this, k] { trigger(Kind(k)); });
        m_actions.append(a);
        if (k == Delete || k == Explain || k == Encode)
            m_menu->addSeparator();
        m_menu->addAction(a);
    }
    updateEnabled();
}

bool JobActions::allowed(Kind kind, JobState state)
{
    using S = JobState;
    switch (kind) {
    case Cancel:
    case Priority:
        return state == S::Queued || state == S::Active || state == S::Paused;
    case Pause:
        return state == S::Queued || state == S::Active;
    case Resume:
        return state == S::Paused;
    case Retry:
        return state == S::Failed || state == S::Canceled;
    case Rerun:
    case Delete:
        return state == S::Completed || state == S::Failed || state == S::Canceled;
    case Explain:
        return !isFinal(state);
    case Encode:
        return state == S::Completed;
    case KindCount:
        break;
    }
    return false;
}

void JobActions::setSelection(const QList<Job> &jobs)
{
    m_selection = jobs;
    updateEnabled();
}

QList<qint64> JobActions::selection() const
{
    QList<qint64> ids;
    for (const Job &j : m_selection)
        ids.append(j.id);
    return ids;
}

void JobActions::setAvailable(bool available)
{
    m_available = available;
    updateEnabled();
}

void JobActions::setJobTypes(const QList<client::JobTypeInfo> &types)
{
    m_types = types;
    updateEnabled();
}

QList<qint64> JobActions::applicable(Kind kind) const
{
    QList<qint64> ids;
    for (const Job &j : m_selection)
        if (allowed(kind, j.state))
            ids.append(j.id);
    return ids;
}

void JobActions::updateEnabled()
{
    for (int k = 0; k < KindCount; ++k)
        m_actions[k]->setEnabled(m_available && !applicable(Kind(k)).isEmpty() &&
                                 (k != Encode || client::findJobType(m_types, "encode")));
}

void JobActions::trigger(Kind kind)
{
    const QList<qint64> ids = applicable(kind);
    if (ids.isEmpty() || !m_available)
        return;
    switch (kind) {
    case Priority: {
        bool ok = false;
        const int current = m_selection.first().spec.priority;
        const int value = QInputDialog::getInt(
            m_window, tr("Priority"),
            tr("Priority of %n job(s) (0-100, higher first):", nullptr, int(ids.size())), current,
            0, 100, 1, &ok);
        if (ok)
            setPriority(ids, value);
        return;
    }
    case Delete: {
        if (m_confirm)
            return;
        m_confirm =
            new QMessageBox(QMessageBox::Warning, tr("Delete jobs"),
                            tr("Delete %n job(s) with their outputs? This cannot be undone.",
                               nullptr, int(ids.size())),
                            QMessageBox::Cancel, m_window);
        m_confirm->setObjectName("confirmDelete");
        QPushButton *yes = m_confirm->addButton(tr("Delete"), QMessageBox::DestructiveRole);
        yes->setObjectName("confirmDeleteButton");
        m_confirm->setDefaultButton(QMessageBox::Cancel);
        m_confirm->setAttribute(Qt::WA_DeleteOnClose);
        connect(m_confirm, &QMessageBox::finished, this, [this, yes, ids] {
            const bool confirmed = m_confirm && m_confirm->clickedButton() == yes;
            m_confirm = nullptr;
            if (confirmed)
                remove(ids);
        });
        m_confirm->open();
        return;
    }
    case Encode: {
        const client::JobTypeInfo *type = client::findJobType(m_types, "encode");
        if (!type || m_encodeDialog)
            return;
        QStringList names;
        int priority = 0;
        for (const Job &j : m_selection)
            if (ids.contains(j.id)) {
                names.append(j.spec.name);
                priority = std::max(priority, j.spec.priority);
            }
        auto *dialog = new EncodeDialog(*type, names, priority, m_window);
        m_encodeDialog = dialog;
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        connect(dialog, &QDialog::finished, this, [this, dialog, ids](int result) {
            m_encodeDialog = nullptr;
            if (result == QDialog::Accepted)
                encode(ids, dialog->body());
        });
        dialog->open();
        return;
    }
    case Explain:
        for (qint64 id : ids)
            m_api->explainJob(id, [this, id](Result<QStringList> r) {
                if (!r)
                    return emit message(tr("Job %1: %2").arg(id).arg(r.error().message), true);
                emit explained(id, *r);
            });
        return;
    default:
        post(QString::fromLatin1(apiName(kind)), ids);
    }
}

void JobActions::setPriority(const QList<qint64> &ids, int priority)
{
    post("priority", ids, QJsonObject{{"priority", priority}});
}

void JobActions::post(const QString &action, const QList<qint64> &ids, const QJsonObject &body)
{
    // One summary line once every answer is in: "3 jobs paused" or the first error.
    struct Tally
    {
        int left = 0;
        int ok = 0;
        QString error;
    };
    auto tally = std::make_shared<Tally>();
    tally->left = int(ids.size());
    QPointer<JobActions> self(this);
    for (qint64 id : ids)
        m_api->jobAction(id, action, body, [self, tally, id, action](Result<Job> r) {
            if (!self)
                return;
            if (r) {
                ++tally->ok;
                emit self->jobUpdated(*r);
            } else if (tally->error.isEmpty()) {
                tally->error = tr("Job %1: %2").arg(id).arg(r.error().message);
            }
            if (--tally->left > 0)
                return;
            if (!tally->error.isEmpty())
                emit self->message(tally->error, true);
            else
                emit self->message(tr("%n job(s): %1 done", nullptr, tally->ok).arg(action), false);
        });
}

void JobActions::encode(const QList<qint64> &ids, const QJsonObject &body)
{
    QPointer<JobActions> self(this);
    for (qint64 id : ids)
        m_api->jobAction(id, "encode", body, [self, id](Result<Job> r) {
            if (!self)
                return;
            if (!r)
                return emit self->message(tr("Job %1: %2").arg(id).arg(r.error().message), true);
            emit self->jobCreated(*r);
            emit self->message(tr("Job %1: its video is encoded by job %2").arg(id).arg(r->id),
                               false);
        });
}

void JobActions::remove(const QList<qint64> &ids)
{
    QPointer<JobActions> self(this);
    auto left = std::make_shared<int>(int(ids.size()));
    auto failed = std::make_shared<QString>();
    for (qint64 id : ids)
        m_api->deleteJob(id, [self, id, left, failed](Result<void> r) {
            if (!self)
                return;
            if (r)
                emit self->jobDeleted(id);
            else if (failed->isEmpty())
                *failed = tr("Job %1: %2").arg(id).arg(r.error().message);
            if (--*left > 0)
                return;
            emit self->message(failed->isEmpty() ? tr("Deleted") : *failed, !failed->isEmpty());
        });
}

} // namespace farm::gui
