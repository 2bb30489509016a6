#pragma once

#include "client/jobtypes.h"
#include "model/job.h"
#include "models/dropbundle.h"

#include <QDialog>
#include <QHash>

class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;
class QSettings;
class QSpinBox;

namespace farm::gui {

class SchemaForm;

/// The job of one bundle, detached from the dialog's widgets (the upload outlives the dialog).
struct SubmitOptions
{
    QString name; // empty: the main file's name
    QString type;
    bool frames = true; // whether the type takes frames and chunk
    QString frameRange = QStringLiteral("1");
    int chunk = 1;
    int priority = 50;
    QJsonObject settings;
    /// A side file named by URL ("File by URL"): the server fetches it into the job (docs/API.md,
    /// "Input by URL"); empty: none.
    QString url;

    /// The file `url` names in the bundle: its path's last segment, decoded.
    static QString urlPath(const QString &url);
    /// The job once the bundle's upload gave its `input`; the envelope checked like the server
    /// does (JobSpec::fromJson).
    Result<JobSpec> specFor(const JobInput &input, const QString &defaultName) const;
};

/// Settings of one job for one bundle. The form is drawn from the chosen type's schema
/// (SchemaForm); the types offered are those that take the main file. The bundle's files and
/// the side files it lacks are shown before anything is uploaded.
///
/// Remembered in `settings`, per server (its URL) and job type: the values last submitted
/// (they come back the next time) and named presets (save the form under a name, pick one to
/// fill the form, delete one). Group "submit/servers/<percent-encoded URL>/": `type`, `frames`,
/// `chunk`, `priority`, `last/<type>` (the form's values as JSON) and `presets/<type>` (a JSON
/// object: name -> {settings, frames, chunk, priority}).
class SubmitDialog : public QDialog
{
    Q_OBJECT
public:
    /// `server`: the farm server's URL the job goes to (empty: values kept for no server).
    SubmitDialog(const DropBundle &bundle, const QList<client::JobTypeInfo> &types,
                 QSettings *settings, const QString &server = {}, QWidget *parent = nullptr);

    const DropBundle &bundle() const { return m_bundle; }
    SubmitOptions options() const;
    /// The JSON the server will receive once the upload gave `input`.
    QJsonObject specJson(const JobInput &input) const;
    SchemaForm *form() const { return m_form; }
    /// The type chosen now (nullptr when no type takes the main file).
    const client::JobTypeInfo *currentType() const;

    void accept() override;

    /// The names of the presets saved for this server and the current type, sorted.
    QStringList presetNames() const;
    /// Saves the form (settings, frames, chunk, priority) under `name` for this server and type;
    /// a preset of that name is replaced.
    Result<void> savePreset(const QString &name);
    /// Resets the form to the schema's defaults, then fills it from the preset: only keys the
    /// current schema still has, and only values it accepts; what is dropped is named in the
    /// note under the preset row (presetNote()). False when there is no such preset.
    bool applyPreset(const QString &name);
    void deletePreset(const QString &name);
    /// What applying the last preset left out (empty when everything fitted).
    QString presetNote() const;

private:
    void mainChanged();
    void typeChanged();
    void showBundle();
    void loadLastUsed();
    void saveLastUsed();
    void showPresets();
    /// This server's group in the settings ("submit/servers/<encoded URL>").
    QString scope() const;
    /// A value of this server's group; before per-server groups existed, the values were kept
    /// under "submit/" for every server: read there when this server has none yet.
    QVariant remembered(const QString &key, const QString &legacyKey,
                        const QVariant &fallback = {}) const;
    QJsonObject presets() const;
    /// Checks the job as the server would, without an upload; the message is shown.
    Result<void> check() const;

    DropBundle m_bundle;
    QList<client::JobTypeInfo> m_types;
    QSettings *m_settings;
    QString m_server;
    QString m_shownType;                      // the type whose form is drawn
    QHash<QString, QJsonObject> m_typeValues; // the form of each type shown, until accepted
    QLabel *m_summary;
    QComboBox *m_main;
    QListWidget *m_files;
    QLabel *m_missing;
    QLabel *m_leftOut;
    QComboBox *m_type;
    QLabel *m_typeText;
    QLineEdit *m_name;
    QLineEdit *m_frames;
    QSpinBox *m_chunk;
    QSpinBox *m_priority;
    QFormLayout *m_job;
    QComboBox *m_preset;
    QPushButton *m_savePreset;
    QPushButton *m_deletePreset;
    QLabel *m_presetNote;
    SchemaForm *m_form;
    QLabel *m_error;
    QPushButton *m_ok;
    QLineEdit *m_url = nullptr;
    QLabel *m_urlHint = nullptr;

    /// Whether "File by URL" is offered: the type takes side files and the bundle is no .zip.
    bool urlApplies() const;
};

} // namespace farm::gui
