#pragma once

#include "client/jobtypes.h"

#include <QDialog>
#include <QJsonObject>

class QLabel;
class QLineEdit;
class QSpinBox;

namespace farm::gui {

class SchemaForm;

/// "Encode video…" of a completed job (POST /api/v1/jobs/{id}/encode): the video settings are
/// a form drawn from the served `encode` type's schema (SchemaForm), with the new job's name
/// and priority. Checked as the server checks before anything is sent.
class EncodeDialog : public QDialog
{
    Q_OBJECT
public:
    /// `jobs`: the names of the completed jobs whose frames are encoded (one new job each).
    EncodeDialog(const client::JobTypeInfo &encodeType, const QStringList &jobs, int priority,
                 QWidget *parent = nullptr);

    SchemaForm *form() const { return m_form; }
    /// The request body: {"settings", "priority"} and "name" when one was typed (one job only).
    QJsonObject body() const;

    void accept() override;

private:
    client::JobTypeInfo m_type;
    QLineEdit *m_name;
    QSpinBox *m_priority;
    SchemaForm *m_form;
    QLabel *m_error;
};

} // namespace farm::gui
