#pragma once

#include "client/jobtypes.h"
#include "model/job.h"
#include "models/dropbundle.h"

#include <QDialog>

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

    /// The job once the bundle's upload gave its `input`; the envelope checked like the server
    /// does (JobSpec::fromJson).
    Result<JobSpec> specFor(const JobInput &input, const QString &defaultName) const;
};

/// Settings of one job for one bundle. The form is drawn from the chosen type's schema
/// (SchemaForm); the types offered are those that take the main file. The bundle's files and
/// the side files it lacks are shown before anything is uploaded. The values of each type are
/// remembered in `settings` (group "submit/presets/<type>") and come back the next time.
class SubmitDialog : public QDialog
{
    Q_OBJECT
public:
    SubmitDialog(const DropBundle &bundle, const QList<client::JobTypeInfo> &types,
                 QSettings *settings, QWidget *parent = nullptr);

    const DropBundle &bundle() const { return m_bundle; }
    SubmitOptions options() const;
    /// The JSON the server will receive once the upload gave `input`.
    QJsonObject specJson(const JobInput &input) const;
    SchemaForm *form() const { return m_form; }
    /// The type chosen now (nullptr when no type takes the main file).
    const client::JobTypeInfo *currentType() const;

    void accept() override;

private:
    void mainChanged();
    void typeChanged();
    void showBundle();
    void loadPreset();
    void savePreset() const;
    /// Checks the job as the server would, without an upload; the message is shown.
    Result<void> check() const;

    DropBundle m_bundle;
    QList<client::JobTypeInfo> m_types;
    QSettings *m_settings;
    QString m_shownType; // the type whose form is drawn
    QLabel *m_summary;
    QComboBox *m_main;
    QListWidget *m_files;
    QLabel *m_missing;
    QComboBox *m_type;
    QLabel *m_typeText;
    QLineEdit *m_name;
    QLineEdit *m_frames;
    QSpinBox *m_chunk;
    QSpinBox *m_priority;
    QFormLayout *m_job;
    SchemaForm *m_form;
    QLabel *m_error;
    QPushButton *m_ok;
};

} // namespace farm::gui
