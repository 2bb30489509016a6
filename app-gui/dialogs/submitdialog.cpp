#include "dialogs/submitdialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
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

SubmitDialog::SubmitDialog(const QStringList &files, QSettings *settings, QWidget *parent)
    : QDialog(parent)
    , m_files(files)
    , m_settings(settings)
    , m_name(new QLineEdit(this))
    , m_frames(new QLineEdit("1", this))
    , m_chunk(spinBox(this, "chunk", 1, 10000, 1))
    , m_width(spinBox(this, "width", 16, 8192, 640))
    , m_height(spinBox(this, "height", 16, 8192, 480))
    , m_spp(spinBox(this, "spp", 1, 4096, 16))
    , m_priority(spinBox(this, "priority", 0, 100, 50))
    , m_turntable(new QCheckBox(tr("Turntable (orbit the camera over the frames)"), this))
    , m_orthographic(new QCheckBox(tr("Orthographic camera (parallel rays)"), this))
    , m_type(new QComboBox(this))
    , m_views(spinBox(this, "views", 1, kMaxTemplateViews, kDefaultTemplateViews))
    , m_error(new QLabel(this))
{
    m_type->setObjectName("type");
    m_type->addItem(tr("Model render"), "model");
    m_type->addItem(tr("Pose templates"), "templates");
    m_views->setToolTip(tr("Views on a sphere around the object"));
    auto *passes = new QHBoxLayout;
    for (const QString &pass : kRenderPasses) {
        auto *box = new QCheckBox(pass, this);
        box->setObjectName("pass_" + pass);
        box->setChecked(pass == "rgb");
        m_passes.append(box);
        passes->addWidget(box);
    }
    passes->addStretch();
    setWindowTitle(files.size() == 1 ? tr("Submit %1").arg(QFileInfo(files.first()).fileName())
                                     : tr("Submit %n files", nullptr, int(files.size())));
    m_name->setObjectName("name");
    m_frames->setObjectName("frames");
    m_turntable->setObjectName("turntable");
    m_orthographic->setObjectName("orthographic");
    m_error->setObjectName("error");
    m_error->setStyleSheet("color: #d64545;");
    m_error->setWordWrap(true);
    m_error->hide();
    if (files.size() == 1)
        m_name->setText(QFileInfo(files.first()).fileName());
    else
        m_name->setPlaceholderText(tr("each file's name"));
    m_frames->setPlaceholderText("1-24, 30, 40-60:2");
    m_width->setSuffix(" px");
    m_height->setSuffix(" px");

    auto *size = new QHBoxLayout;
    size->addWidget(m_width);
    size->addWidget(new QLabel("×", this));
    size->addWidget(m_height);

    auto *form = m_form = new QFormLayout;
    form->addRow(tr("Job type"), m_type);
    form->addRow(tr("Views"), m_views);
    form->addRow(tr("Name"), m_name);
    form->addRow(tr("Frames"), m_frames);
    form->addRow(tr("Frames per task"), m_chunk);
    form->addRow(tr("Size"), size);
    form->addRow(tr("Samples per pixel"), m_spp);
    form->addRow(tr("Priority"), m_priority);
    form->addRow(QString(), m_turntable);
    form->addRow(QString(), m_orthographic);
    form->addRow(tr("Passes"), passes);
    connect(m_type, &QComboBox::currentIndexChanged, this, [this] { typeChanged(true); });

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Upload and render"));
    connect(buttons, &QDialogButtonBox::accepted, this, &SubmitDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &SubmitDialog::reject);

    auto *files_ = new QLabel(this);
    QStringList names;
    for (const QString &f : files)
        names.append(QFileInfo(f).fileName());
    files_->setText(names.join(", "));
    files_->setWordWrap(true);
    files_->setStyleSheet("color: palette(mid);");

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(files_);
    layout->addLayout(form);
    layout->addWidget(m_error);
    layout->addWidget(buttons);
    loadSettings();
    typeChanged(false);
}

void SubmitDialog::typeChanged(bool resetPasses)
{
    // Frames, chunks and the turntable mean nothing to a template set; views only to it.
    const bool templates = m_type->currentData().toString() == "templates";
    m_form->setRowVisible(m_views, templates);
    m_form->setRowVisible(m_frames, !templates);
    m_form->setRowVisible(m_chunk, !templates);
    m_form->setRowVisible(m_turntable, !templates);
    m_form->setRowVisible(m_orthographic, !templates); // template cameras are pinholes
    if (resetPasses)
        setPasses(templates ? QStringList{"rgb", "mask", "xyz"} : QStringList{"rgb"});
}

QStringList SubmitDialog::checkedPasses() const
{
    QStringList out;
    for (const QCheckBox *box : m_passes)
        if (box->isChecked())
            out.append(box->text());
    return out;
}

void SubmitDialog::setPasses(const QStringList &passes)
{
    for (QCheckBox *box : m_passes)
        box->setChecked(passes.contains(box->text()));
}

SubmitOptions SubmitDialog::options() const
{
    SubmitOptions o;
    o.name = m_name->text().trimmed();
    o.frames = m_frames->text().trimmed();
    o.chunk = m_chunk->value();
    o.width = m_width->value();
    o.height = m_height->value();
    o.spp = m_spp->value();
    o.priority = m_priority->value();
    o.turntable = m_turntable->isChecked();
    o.orthographic = m_orthographic->isChecked();
    o.type = m_type->currentData().toString();
    o.views = m_views->value();
    o.passes = checkedPasses();
    o.fileCount = m_files.size();
    return o;
}

Result<JobSpec> SubmitOptions::specFor(const QString &filePath, const QString &sha256) const
{
    const QString fileName = QFileInfo(filePath).fileName();
    QString jobName = name.isEmpty() ? fileName : name;
    if (!name.isEmpty() && fileCount > 1)
        jobName = QString("%1 – %2").arg(name, fileName);
    QJsonObject settings{{"width", width},
                         {"height", height},
                         {"spp", spp},
                         {"passes", QJsonArray::fromStringList(passes)}};
    QJsonObject json{{"name", jobName},
                     {"type", type},
                     {"priority", priority},
                     {"input", QJsonObject{{"file", sha256}, {"name", fileName}}}};
    if (type == "templates") { // a template set has no frames, chunks or camera mode
        settings.insert("views", views);
    } else {
        json.insert("frames", frames);
        json.insert("chunk", chunk);
        QJsonObject camera{{"mode", turntable ? "turntable" : "still"}};
        if (orthographic)
            camera.insert("projection", "orthographic");
        settings.insert("camera", camera);
    }
    json.insert("settings", settings);
    // The same validation the server runs, so mistakes show here rather than after an upload.
    return JobSpec::fromJson(json);
}

QJsonObject SubmitDialog::specJson(const QString &filePath, const QString &sha256) const
{
    const auto spec = specFor(filePath, sha256);
    return spec ? spec->toJson() : QJsonObject{};
}

void SubmitDialog::accept()
{
    for (const QString &file : m_files) {
        const auto spec = specFor(file, QString(64, '0'));
        if (!spec) {
            m_error->setText(spec.error().message);
            m_error->show();
            return;
        }
    }
    m_error->hide();
    saveSettings();
    QDialog::accept();
}

void SubmitDialog::loadSettings()
{
    if (!m_settings)
        return;
    m_settings->beginGroup("submit");
    m_frames->setText(m_settings->value("frames", m_frames->text()).toString());
    m_chunk->setValue(m_settings->value("chunk", m_chunk->value()).toInt());
    m_width->setValue(m_settings->value("width", m_width->value()).toInt());
    m_height->setValue(m_settings->value("height", m_height->value()).toInt());
    m_spp->setValue(m_settings->value("spp", m_spp->value()).toInt());
    m_priority->setValue(m_settings->value("priority", m_priority->value()).toInt());
    m_turntable->setChecked(m_settings->value("turntable", false).toBool());
    m_orthographic->setChecked(m_settings->value("orthographic", false).toBool());
    m_type->setCurrentIndex(qMax(0, m_type->findData(m_settings->value("type", "model"))));
    m_views->setValue(m_settings->value("views", m_views->value()).toInt());
    setPasses(m_settings->value("passes", QStringList{"rgb"}).toStringList());
    m_settings->endGroup();
}

void SubmitDialog::saveSettings() const
{
    if (!m_settings)
        return;
    m_settings->beginGroup("submit");
    m_settings->setValue("frames", m_frames->text().trimmed());
    m_settings->setValue("chunk", m_chunk->value());
    m_settings->setValue("width", m_width->value());
    m_settings->setValue("height", m_height->value());
    m_settings->setValue("spp", m_spp->value());
    m_settings->setValue("priority", m_priority->value());
    m_settings->setValue("turntable", m_turntable->isChecked());
    m_settings->setValue("orthographic", m_orthographic->isChecked());
    m_settings->setValue("type", m_type->currentData().toString());
    m_settings->setValue("views", m_views->value());
    m_settings->setValue("passes", checkedPasses());
    m_settings->endGroup();
    m_settings->sync();
}

} // namespace farm::gui
