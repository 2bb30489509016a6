#include "dialogs/submitdialog.h"

#include "widgets/schemaform.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFormLayout>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

namespace farm::gui {

namespace {

QSpinBox *spinBox(QWidget *parent, const char *name, int min, int max, int value)
{
    auto *box = new QSpinBox(parent);
    box->setObjectName(name);
    box->setRange(min, max);
    box->setValue(value);
    return box;
}

} // namespace

Result<JobSpec> SubmitOptions::specFor(const JobInput &input, const QString &defaultName) const
{
    QJsonObject json{{"name", name.isEmpty() ? defaultName : name},
                     {"type", type},
                     {"priority", priority},
                     {"input", input.toJson()},
                     {"settings", settings}};
    if (frames) { // a type without frames renders once: no frame range, no chunks
        json.insert("frames", frameRange);
        json.insert("chunk", chunk);
    }
    return JobSpec::fromJson(json);
}

SubmitDialog::SubmitDialog(const DropBundle &bundle, const QList<client::JobTypeInfo> &types,
                           QSettings *settings, QWidget *parent)
    : QDialog(parent)
    , m_bundle(bundle)
    , m_types(types)
    , m_settings(settings)
    , m_summary(new QLabel(this))
    , m_main(new QComboBox(this))
    , m_files(new QListWidget(this))
    , m_missing(new QLabel(this))
    , m_type(new QComboBox(this))
    , m_typeText(new QLabel(this))
    , m_name(new QLineEdit(this))
    , m_frames(new QLineEdit("1", this))
    , m_chunk(spinBox(this, "chunk", 1, 10000, 1))
    , m_priority(spinBox(this, "priority", 0, 100, 50))
    , m_job(new QFormLayout)
    , m_form(new SchemaForm(this))
    , m_error(new QLabel(this))
{
    m_summary->setObjectName("bundleSummary");
    m_summary->setWordWrap(true);
    m_main->setObjectName("main");
    m_main->addItems(bundle.candidates());
    m_main->setCurrentText(bundle.main());
    m_files->setObjectName("bundleFiles");
    m_files->setMaximumHeight(80);
    m_files->setSelectionMode(QAbstractItemView::NoSelection);
    m_missing->setObjectName("missing");
    m_missing->setWordWrap(true);
    m_missing->setStyleSheet("color: #d64545;");
    m_missing->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_type->setObjectName("type");
    m_typeText->setObjectName("typeDescription");
    m_typeText->setWordWrap(true);
    m_typeText->setStyleSheet("color: palette(mid);");
    m_name->setObjectName("name");
    m_name->setPlaceholderText(tr("the main file's name"));
    m_frames->setObjectName("frames");
    m_frames->setPlaceholderText("1-24, 30, 40-60:2");
    m_form->setObjectName("settings");
    m_error->setObjectName("error");
    m_error->setStyleSheet("color: #d64545;");
    m_error->setWordWrap(true);
    m_error->hide();

    auto *files = new QFormLayout;
    files->addRow(tr("Main file"), m_main);
    files->addRow(tr("Files"), m_files);
    files->setRowVisible(m_main, bundle.candidates().size() > 1);

    m_job->addRow(tr("Job type"), m_type);
    m_job->addRow(QString(), m_typeText);
    m_job->addRow(tr("Name"), m_name);
    m_job->addRow(tr("Frames"), m_frames);
    m_job->addRow(tr("Frames per task"), m_chunk);
    m_job->addRow(tr("Priority"), m_priority);

    auto *scroll = new QScrollArea(this);
    scroll->setWidget(m_form);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setMinimumHeight(260);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_ok = buttons->button(QDialogButtonBox::Ok);
    m_ok->setText(tr("Upload and render"));
    connect(buttons, &QDialogButtonBox::accepted, this, &SubmitDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &SubmitDialog::reject);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_summary);
    layout->addLayout(files);
    layout->addWidget(m_missing);
    layout->addLayout(m_job);
    layout->addWidget(scroll, 1);
    layout->addWidget(m_error);
    layout->addWidget(buttons);
    resize(620, 760);

    if (m_settings) {
        m_frames->setText(m_settings->value("submit/frames", "1").toString());
        m_chunk->setValue(m_settings->value("submit/chunk", 1).toInt());
        m_priority->setValue(m_settings->value("submit/priority", 50).toInt());
    }
    connect(m_main, &QComboBox::currentTextChanged, this, &SubmitDialog::mainChanged);
    connect(m_type, &QComboBox::currentIndexChanged, this, &SubmitDialog::typeChanged);
    mainChanged();
}

const client::JobTypeInfo *SubmitDialog::currentType() const
{
    return client::findJobType(m_types, m_type->currentData().toString());
}

void SubmitDialog::mainChanged()
{
    if (m_main->currentText() != m_bundle.main())
        (void)m_bundle.setMain(m_main->currentText());
    showBundle();
    // The types that take this main file; the last one used first when it is among them.
    const QString previous = m_type->currentData().toString();
    const QString remembered = m_settings ? m_settings->value("submit/type").toString() : QString();
    const QSignalBlocker block(m_type);
    m_type->clear();
    for (const client::JobTypeInfo *t : client::jobTypesFor(m_types, m_bundle.main()))
        m_type->addItem(t->label.isEmpty() ? t->name : t->label, t->name);
    int index = m_type->findData(previous);
    if (index < 0)
        index = m_type->findData(remembered);
    m_type->setCurrentIndex(qMax(0, index));
    typeChanged();
}

void SubmitDialog::showBundle()
{
    const QString mainName = m_bundle.main().section('/', -1);
    const QStringList files = m_bundle.files();
    setWindowTitle(tr("Submit %1").arg(mainName));
    const QString root = QDir::toNativeSeparators(m_bundle.root()).toHtmlEscaped();
    if (m_bundle.isArchive())
        m_summary->setText(tr("<b>%1</b> from the archive %2 (%3 files, unpacked on the server)")
                               .arg(m_bundle.main().toHtmlEscaped(),
                                    m_bundle.source().archive.section('/', -1).toHtmlEscaped())
                               .arg(files.size()));
    else if (files.size() == 1)
        m_summary->setText(tr("<b>%1</b> from %2").arg(mainName.toHtmlEscaped(), root));
    else if (files.size() == 2)
        m_summary->setText(
            tr("<b>%1</b> and 1 side file from %2").arg(mainName.toHtmlEscaped(), root));
    else
        m_summary->setText(
            tr("<b>%1</b> and %2 side files from %3")
                .arg(mainName.toHtmlEscaped(), QString::number(files.size() - 1), root));
    m_files->clear();
    m_files->addItems(files);
    const QStringList missing = m_bundle.missing();
    m_missing->setVisible(!missing.isEmpty());
    m_missing->setText(missing.isEmpty()
                           ? QString()
                           : tr("Missing side files (add them beside the model, or drop the "
                                "whole folder):\n%1")
                                 .arg(missing.join('\n')));
}

void SubmitDialog::typeChanged()
{
    const client::JobTypeInfo *type = currentType();
    if (!m_shownType.isEmpty() && (!type || type->name != m_shownType))
        savePreset(); // switching back brings the values back
    m_shownType = type ? type->name : QString();
    m_typeText->setText(type ? type->description
                             : tr("No job type on this server takes %1 files.")
                                   .arg(m_bundle.main().section('/', -1)));
    m_job->setRowVisible(m_frames, type && type->frames);
    m_job->setRowVisible(m_chunk, type && type->frames);
    m_form->setSchema(type ? type->schema : QJsonObject());
    loadPreset();
    m_ok->setEnabled(type && m_bundle.missing().isEmpty());
}

void SubmitDialog::loadPreset()
{
    if (!m_settings || m_shownType.isEmpty())
        return;
    const QByteArray saved = m_settings->value("submit/presets/" + m_shownType).toString().toUtf8();
    if (!saved.isEmpty())
        m_form->applyValues(QJsonDocument::fromJson(saved).object());
}

void SubmitDialog::savePreset() const
{
    if (!m_settings || m_shownType.isEmpty())
        return;
    m_settings->setValue(
        "submit/presets/" + m_shownType,
        QString::fromUtf8(QJsonDocument(m_form->values()).toJson(QJsonDocument::Compact)));
}

SubmitOptions SubmitDialog::options() const
{
    SubmitOptions o;
    const client::JobTypeInfo *type = currentType();
    o.name = m_name->text().trimmed();
    o.type = type ? type->name : QString();
    o.frames = type ? type->frames : true;
    o.frameRange = m_frames->text().trimmed();
    o.chunk = m_chunk->value();
    o.priority = m_priority->value();
    o.settings = m_form->values();
    return o;
}

QJsonObject SubmitDialog::specJson(const JobInput &input) const
{
    const auto spec = options().specFor(input, m_bundle.main().section('/', -1));
    return spec ? spec->toJson() : QJsonObject{};
}

Result<void> SubmitDialog::check() const
{
    const client::JobTypeInfo *type = currentType();
    if (!type)
        return makeError("no_type", m_typeText->text());
    if (!m_bundle.missing().isEmpty())
        return makeError("missing_file",
                         tr("The bundle lacks side files; add them and drop it again."));
    const SubmitOptions o = options();
    JobInput placeholder;
    placeholder.archive = QString(64, '0');
    const auto spec = o.specFor(placeholder, m_bundle.main().section('/', -1));
    if (!spec)
        return spec.error();
    return client::settings::checkSettings(type->schema, o.settings);
}

void SubmitDialog::accept()
{
    const auto ok = check();
    if (!ok) {
        m_error->setText(ok.error().message);
        m_error->show();
        return;
    }
    m_error->hide();
    if (m_settings) {
        savePreset();
        m_settings->setValue("submit/type", m_shownType);
        m_settings->setValue("submit/frames", m_frames->text().trimmed());
        m_settings->setValue("submit/chunk", m_chunk->value());
        m_settings->setValue("submit/priority", m_priority->value());
        m_settings->sync();
    }
    QDialog::accept();
}

} // namespace farm::gui
