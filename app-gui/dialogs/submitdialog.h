#pragma once

#include "model/job.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QSettings;
class QSpinBox;

namespace farm::gui {

/// The values of the dialog, detached from its widgets (uploads outlive the dialog).
struct SubmitOptions
{
    QString name; // empty: each file's name
    QString frames = QStringLiteral("1");
    int chunk = 1, width = 640, height = 480, spp = 16, priority = 50;
    bool turntable = false;
    bool orthographic = false;              // camera.projection (model jobs)
    QString type = QStringLiteral("model"); // model | templates
    int views = kDefaultTemplateViews;      // templates only
    QStringList passes{QStringLiteral("rgb")};
    qsizetype fileCount = 1;

    /// The validated job for one file once its upload gave `sha256`.
    Result<JobSpec> specFor(const QString &filePath, const QString &sha256) const;
};

/// Job settings for one or many dropped files. The last values are remembered in `settings`
/// (group "submit") so the next drop starts from them.
class SubmitDialog : public QDialog
{
    Q_OBJECT
public:
    SubmitDialog(const QStringList &files, QSettings *settings, QWidget *parent = nullptr);

    QStringList files() const { return m_files; }
    SubmitOptions options() const;
    Result<JobSpec> specFor(const QString &filePath, const QString &sha256) const
    {
        return options().specFor(filePath, sha256);
    }
    /// The JSON the server will receive for `filePath` (specFor(...)->toJson()).
    QJsonObject specJson(const QString &filePath, const QString &sha256) const;

    void accept() override;

private:
    void loadSettings();
    void saveSettings() const;
    /// Shows the fields of the chosen type; with `resetPasses` ticks that type's default passes.
    void typeChanged(bool resetPasses);
    QStringList checkedPasses() const;
    void setPasses(const QStringList &passes);

    QStringList m_files;
    QSettings *m_settings;
    QLineEdit *m_name;
    QLineEdit *m_frames;
    QSpinBox *m_chunk;
    QSpinBox *m_width;
    QSpinBox *m_height;
    QSpinBox *m_spp;
    QSpinBox *m_priority;
    QCheckBox *m_turntable;
    QCheckBox *m_orthographic;
    QComboBox *m_type;
    QSpinBox *m_views;
    QList<QCheckBox *> m_passes; // one per kRenderPasses entry, object name "pass_<name>"
    QFormLayout *m_form = nullptr;
    QLabel *m_error;
};

} // namespace farm::gui
