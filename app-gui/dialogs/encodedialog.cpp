#include "dialogs/encodedialog.h"

#include "widgets/schemaform.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace farm::gui {

EncodeDialog::EncodeDialog(const client::JobTypeInfo &encodeType, const QStringList &jobs,
                           int priority, QWidget *parent)
    : QDialog(parent)
    , m_type(encodeType)
    , m_name(new QLineEdit(this))
    , m_priority(new QSpinBox(this))
    , m_form(new SchemaForm(this))
    , m_error(new QLabel(this))
{
    setObjectName("encodeDialog");
    setWindowTitle(jobs.size() == 1 ? tr("Encode video of %1").arg(jobs.first())
                                    : tr("Encode video of %n job(s)", nullptr, int(jobs.size())));
    auto *intro = new QLabel(
        tr("The finished frames become a video in a new job; nothing is rendered again."), this);
    intro->setWordWrap(true);
    m_name->setObjectName("encodeName");
    m_name->setPlaceholderText(jobs.size() == 1 ? tr("%1 (video)").arg(jobs.first())
                                                : tr("each job's name + \" (video)\""));
    m_name->setEnabled(jobs.size() == 1);
    m_name->setMaxLength(200);
    m_priority->setObjectName("encodePriority");
    m_priority->setRange(0, 100);
    m_priority->setValue(priority);
    m_form->setObjectName("encodeSettings");
    m_form->setSchema(encodeType.schema);
    m_error->setObjectName("encodeError");
    m_error->setStyleSheet("color: #d64545;");
    m_error->setWordWrap(true);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->hide();

    auto *job = new QFormLayout;
    job->addRow(tr("Name"), m_name);
    job->addRow(tr("Priority"), m_priority);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Encode"));
    connect(buttons, &QDialogButtonBox::accepted, this, &EncodeDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &EncodeDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addLayout(job);
    layout->addWidget(m_form, 1);
    layout->addWidget(m_error);
    layout->addWidget(buttons);
}

QJsonObject EncodeDialog::body() const
{
    QJsonObject out{{"settings", m_form->values()}, {"priority", m_priority->value()}};
    if (m_name->isEnabled() && !m_name->text().trimmed().isEmpty())
        out.insert("name", m_name->text().trimmed());
    return out;
}

void EncodeDialog::accept()
{
    const auto ok = client::settings::checkSettings(m_type.schema, m_form->values());
    if (!ok) {
        m_error->setText(ok.error().message);
        m_error->show();
        return;
    }
    QDialog::accept();
}

} // namespace farm::gui
