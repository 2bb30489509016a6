#include "dialogs/submitdialog.h"

#include "widgets/schemaform.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QUrl>
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

QJsonObject parseObject(const QVariant &stored)
{
    return QJsonDocument::fromJson(stored.toString().toUtf8()).object();
}

QString compact(const QJsonObject &o)
{
    return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact));
}

/// Splits a preset's settings into what `schema` takes (`accepted`) and what it refuses
/// (`dropped`: one line each, naming the key and why).
void sortPresetValues(const QJsonObject &schema, const QJsonObject &values, const QString &prefix,
                      QJsonObject &accepted, QStringList &dropped)
{
    namespace settings = client::settings;
    for (auto it = values.begin(); it != values.end(); ++it) {
        const QString key = prefix + it.key();
        const QJsonObject field = settings::fieldAt(schema, key);
        if (field.isEmpty()) {
            dropped.append(QObject::tr("%1 (this type has no such setting now)").arg(key));
        } else if (field.value("type").toString() == "object" && it.value().isObject()) {
            sortPresetValues(schema, it.value().toObject(), key + '.', accepted, dropped);
        } else if (const auto ok = settings::checkValue(field, it.value(), "settings." + key);
                   !ok) {
            dropped.append(ok.error().message);
        } else {
            settings::insertAt(accepted, key, it.value());
        }
    }
}

} // namespace

QString SubmitOptions::urlPath(const QString &url)
{
    return QUrl(url).fileName(QUrl::FullyDecoded);
}

Result<JobSpec> SubmitOptions::specFor(const JobInput &input, const QString &defaultName) const
{
    JobInput in = input;
    if (!url.isEmpty() && in.archive.isEmpty())
        in.files.append(BundleFile{urlPath(url), QString(), url});
    QJsonObject json{{"name", name.isEmpty() ? defaultName : name},
                     {"type", type},
                     {"priority", priority},
                     {"input", in.toJson()},
                     {"settings", settings}};
    if (frames) { // a type without frames renders once: no frame range, no chunks
        json.insert("frames", frameRange);
        json.insert("chunk", chunk);
    }
    return JobSpec::fromJson(json);
}

SubmitDialog::SubmitDialog(const DropBundle &bundle, const QList<client::JobTypeInfo> &types,
                           QSettings *settings, const QString &server, QWidget *parent)
    : QDialog(parent)
    , m_bundle(bundle)
    , m_types(types)
    , m_settings(settings)
    , m_server(server)
    , m_summary(new QLabel(this))
    , m_main(new QComboBox(this))
    , m_files(new QListWidget(this))
    , m_missing(new QLabel(this))
    , m_leftOut(new QLabel(this))
    , m_type(new QComboBox(this))
    , m_typeText(new QLabel(this))
    , m_name(new QLineEdit(this))
    , m_frames(new QLineEdit("1", this))
    , m_chunk(spinBox(this, "chunk", 1, 10000, 1))
    , m_priority(spinBox(this, "priority", 0, 100, 50))
    , m_job(new QFormLayout)
    , m_preset(new QComboBox(this))
    , m_savePreset(new QPushButton(tr("Save as…"), this))
    , m_deletePreset(new QPushButton(tr("Delete"), this))
    , m_presetNote(new QLabel(this))
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
    m_leftOut->setObjectName("leftOut");
    m_leftOut->setWordWrap(true);
    m_leftOut->setStyleSheet("color: #d6a345;");
    m_leftOut->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_leftOut->hide();
    m_type->setObjectName("type");
    m_typeText->setObjectName("typeDescription");
    m_typeText->setWordWrap(true);
    {
        // Quieter than the form's text, yet readable on both themes (palette(mid) is nearly the
        // dark theme's background): 70 % text over 30 % window.
        QPalette pal = m_typeText->palette();
        const QColor text = pal.color(QPalette::WindowText), window = pal.color(QPalette::Window);
        pal.setColor(QPalette::WindowText,
                     QColor::fromRgbF(0.7f * text.redF() + 0.3f * window.redF(),
                                      0.7f * text.greenF() + 0.3f * window.greenF(),
                                      0.7f * text.blueF() + 0.3f * window.blueF()));
        m_typeText->setPalette(pal);
    }
    m_name->setObjectName("name");
    m_name->setPlaceholderText(tr("the main file's name"));
    m_frames->setObjectName("frames");
    m_frames->setPlaceholderText("1-24, 30, 40-60:2");
    m_form->setObjectName("settings");
    m_preset->setObjectName("preset");
    m_preset->setMinimumWidth(180);
    m_preset->setToolTip(tr("Named settings kept for this server and job type"));
    m_savePreset->setObjectName("savePreset");
    m_savePreset->setAutoDefault(false);
    m_deletePreset->setObjectName("deletePreset");
    m_deletePreset->setAutoDefault(false);
    m_presetNote->setObjectName("presetNote");
    m_presetNote->setWordWrap(true);
    m_presetNote->setStyleSheet("color: #d6a345;");
    m_presetNote->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_presetNote->hide();
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
    m_url = new QLineEdit(this);
    m_url->setObjectName("inputUrl");
    m_url->setClearButtonEnabled(true);
    m_urlHint = new QLabel(this);
    m_urlHint->setObjectName("inputUrlHint");
    m_urlHint->setWordWrap(true);
    m_urlHint->setPalette(m_typeText->palette());
    m_job->addRow(tr("File by URL"), m_url);
    m_job->addRow(QString(), m_urlHint);
    m_job->addRow(tr("Frames"), m_frames);
    m_job->addRow(tr("Frames per task"), m_chunk);
    m_job->addRow(tr("Priority"), m_priority);
    auto *presetRow = new QHBoxLayout;
    presetRow->addWidget(m_preset, 1);
    presetRow->addWidget(m_savePreset);
    presetRow->addWidget(m_deletePreset);
    m_job->addRow(tr("Preset"), presetRow);
    m_job->addRow(QString(), m_presetNote);
    connect(m_preset, &QComboBox::activated, this, [this](int index) {
        if (const QString name = m_preset->itemData(index).toString(); !name.isEmpty())
            applyPreset(name);
    });
    connect(m_savePreset, &QPushButton::clicked, this, [this] {
        bool ok = false;
        const QString name = QInputDialog::getText(
            this, tr("Save preset"),
            tr("Name of the preset (for %1 on this server):").arg(m_type->currentText()),
            QLineEdit::Normal, m_preset->currentData().toString(), &ok);
        if (!ok)
            return;
        if (const auto saved = savePreset(name); !saved) {
            m_error->setText(saved.error().message);
            m_error->show();
        }
    });
    connect(m_deletePreset, &QPushButton::clicked, this, [this] {
        if (const QString name = m_preset->currentData().toString(); !name.isEmpty())
            deletePreset(name);
    });

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
    layout->addWidget(m_leftOut);
    layout->addLayout(m_job);
    layout->addWidget(scroll, 1);
    layout->addWidget(m_error);
    layout->addWidget(buttons);
    resize(620, 760);

    if (m_settings) {
        m_frames->setText(remembered("frames", "submit/frames", "1").toString());
        m_chunk->setValue(remembered("chunk", "submit/chunk", 1).toInt());
        m_priority->setValue(remembered("priority", "submit/priority", 50).toInt());
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
    const QString lastType = m_settings ? remembered("type", "submit/type").toString() : QString();
    const QSignalBlocker block(m_type);
    m_type->clear();
    for (const client::JobTypeInfo *t : client::jobTypesFor(m_types, m_bundle.main()))
        m_type->addItem(t->label.isEmpty() ? t->name : t->label, t->name);
    int index = m_type->findData(previous);
    if (index < 0)
        index = m_type->findData(lastType);
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
    const QStringList leftOut = m_bundle.leftOut();
    const client::JobTypeInfo *type = currentType();
    const QString takes = !type ? QString()
                          : type->sideExtensions.isEmpty()
                              ? tr("they take their main file alone")
                              : tr("they take .%1").arg(type->sideExtensions.join(", ."));
    m_leftOut->setVisible(!leftOut.isEmpty());
    m_leftOut->setText(
        leftOut.isEmpty() ? QString()
        : m_bundle.isArchive()
            ? tr("The archive holds files %1 jobs do not take beside the main file (%2); remove "
                 "them from the archive:\n%3")
                  .arg(type ? type->name : QString(), takes, leftOut.join('\n'))
            : tr("Left out, not uploaded: %1 jobs do not take these beside the main file (%2):\n%3")
                  .arg(type ? type->name : QString(), takes, leftOut.join('\n')));
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
        saveLastUsed(); // switching back brings the values back
    m_shownType = type ? type->name : QString();
    // The type decides what may travel beside the main file: the rest is left out (named).
    m_bundle.setSideExtensions(type ? type->sideExtensions : QStringList{"*"});
    showBundle();
    m_typeText->setText(type ? type->description
                             : tr("No job type on this server takes %1 files.")
                                   .arg(m_bundle.main().section('/', -1)));
    m_job->setRowVisible(m_url, urlApplies());
    m_job->setRowVisible(m_urlHint, urlApplies());
    if (type) {
        QStringList side = type->sideExtensions;
        side.removeAll("*");
        const QString label = type->label.isEmpty() ? type->name : type->label;
        m_url->setPlaceholderText("https://media.example.com/file" +
                                  (side.isEmpty() ? QString() : "." + side.first()));
        m_urlHint->setText(
            tr("Optional: the farm server fetches this file (http or https) into the job "
               "instead of an upload%1.")
                .arg(side.isEmpty() ? QString()
                                    : tr(" (%1 jobs take .%2 beside the main file)")
                                          .arg(label, side.join(", ."))));
    }
    m_job->setRowVisible(m_frames, type && type->frames);
    m_job->setRowVisible(m_chunk, type && type->frames);
    m_form->setSchema(type ? type->schema : QJsonObject());
    m_presetNote->hide();
    loadLastUsed();
    showPresets();
    m_ok->setEnabled(type && m_bundle.missing().isEmpty() &&
                     (!m_bundle.isArchive() || m_bundle.leftOut().isEmpty()));
}

QString SubmitDialog::scope() const
{
    // Percent-encoded, a URL is one key segment ('/' would open groups).
    QString server = QUrl(m_server).toString(QUrl::NormalizePathSegments);
    while (server.endsWith('/')) // "http://host:8080/" is "http://host:8080"
        server.chop(1);
    return "submit/servers/" + (server.isEmpty()
                                    ? QStringLiteral("none")
                                    : QString::fromLatin1(server.toUtf8().toPercentEncoding()));
}

QVariant SubmitDialog::remembered(const QString &key, const QString &legacyKey,
                                  const QVariant &fallback) const
{
    if (!m_settings)
        return fallback;
    const QString scoped = scope() + '/' + key;
    if (m_settings->contains(scoped))
        return m_settings->value(scoped);
    return m_settings->value(legacyKey, fallback);
}

void SubmitDialog::loadLastUsed()
{
    if (m_shownType.isEmpty())
        return;
    const QJsonObject saved =
        m_typeValues.contains(m_shownType)
            ? m_typeValues.value(m_shownType)
            : parseObject(remembered("last/" + m_shownType, "submit/presets/" + m_shownType));
    if (!saved.isEmpty())
        m_form->applyValues(saved);
}

void SubmitDialog::saveLastUsed()
{
    if (!m_shownType.isEmpty())
        m_typeValues.insert(m_shownType, m_form->values());
}

QJsonObject SubmitDialog::presets() const
{
    if (!m_settings || m_shownType.isEmpty())
        return {};
    return parseObject(m_settings->value(scope() + "/presets/" + m_shownType));
}

QStringList SubmitDialog::presetNames() const
{
    QStringList names = presets().keys();
    names.sort(Qt::CaseInsensitive);
    return names;
}

void SubmitDialog::showPresets()
{
    const QString current = m_preset->currentData().toString();
    const QSignalBlocker block(m_preset);
    m_preset->clear();
    const QStringList names = presetNames();
    m_preset->addItem(names.isEmpty() ? tr("no preset saved") : tr("choose a preset…"));
    for (const QString &name : names)
        m_preset->addItem(name, name);
    m_preset->setCurrentIndex(qMax(0, m_preset->findData(current)));
    const bool usable = m_settings && !m_shownType.isEmpty();
    m_preset->setEnabled(usable && !names.isEmpty());
    m_savePreset->setEnabled(usable);
    m_deletePreset->setEnabled(usable && m_preset->currentIndex() > 0);
}

Result<void> SubmitDialog::savePreset(const QString &rawName)
{
    const QString name = rawName.simplified();
    if (!m_settings || m_shownType.isEmpty())
        return makeError("no_type", tr("Choose a job type before saving a preset."));
    if (name.isEmpty() || name.size() > 80)
        return makeError("invalid_field", tr("A preset needs a name of 1 to 80 characters."));
    QJsonObject all = presets();
    QJsonObject preset{{"settings", m_form->values()}, {"priority", m_priority->value()}};
    if (const client::JobTypeInfo *type = currentType(); type && type->frames) {
        preset.insert("frames", m_frames->text().trimmed());
        preset.insert("chunk", m_chunk->value());
    }
    all.insert(name, preset);
    m_settings->setValue(scope() + "/presets/" + m_shownType, compact(all));
    m_settings->sync();
    m_preset->addItem(name, name); // chosen below
    showPresets();
    m_preset->setCurrentIndex(m_preset->findData(name));
    m_deletePreset->setEnabled(true);
    m_presetNote->hide();
    return {};
}

bool SubmitDialog::applyPreset(const QString &name)
{
    const QJsonObject all = presets();
    if (!all.contains(name))
        return false;
    const QJsonObject preset = all.value(name).toObject();
    const client::JobTypeInfo *type = currentType();
    QJsonObject accepted;
    QStringList dropped;
    sortPresetValues(type ? type->schema : QJsonObject(), preset.value("settings").toObject(), {},
                     accepted, dropped);
    m_form->reset();
    m_form->applyValues(accepted);
    if (preset.contains("priority"))
        m_priority->setValue(preset.value("priority").toInt(m_priority->value()));
    if (type && type->frames) {
        if (preset.contains("frames"))
            m_frames->setText(preset.value("frames").toString());
        if (preset.contains("chunk"))
            m_chunk->setValue(preset.value("chunk").toInt(m_chunk->value()));
    }
    m_preset->setCurrentIndex(qMax(0, m_preset->findData(name)));
    m_deletePreset->setEnabled(true);
    m_presetNote->setText(
        dropped.isEmpty()
            ? QString()
            : tr("Left out of preset \"%1\" (the job type changed since it was saved):\n%2")
                  .arg(name, dropped.join('\n')));
    m_presetNote->setVisible(!dropped.isEmpty());
    return true;
}

void SubmitDialog::deletePreset(const QString &name)
{
    QJsonObject all = presets();
    if (!m_settings || !all.contains(name))
        return;
    all.remove(name);
    const QString key = scope() + "/presets/" + m_shownType;
    if (all.isEmpty())
        m_settings->remove(key);
    else
        m_settings->setValue(key, compact(all));
    m_settings->sync();
    m_preset->setCurrentIndex(0);
    showPresets();
}

QString SubmitDialog::presetNote() const
{
    return m_presetNote->isHidden() ? QString() : m_presetNote->text();
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
    o.url = urlApplies() ? m_url->text().trimmed() : QString();
    return o;
}

bool SubmitDialog::urlApplies() const
{
    const client::JobTypeInfo *type = currentType();
    return type && !m_bundle.isArchive() && !type->sideExtensions.isEmpty();
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
    if (m_bundle.isArchive() && !m_bundle.leftOut().isEmpty())
        return makeError("invalid_field", m_leftOut->text());
    const SubmitOptions o = options();
    if (!o.url.isEmpty()) {
        // Checked here before any upload; the server checks again (the hosts it fetches from,
        // the length) and its answer is shown as it comes.
        if (const QString problem = inputUrlProblem(o.url); !problem.isEmpty())
            return makeError("invalid_field", tr("File by URL: %1 %2").arg(o.url, problem));
        const QString name = SubmitOptions::urlPath(o.url);
        if (name.isEmpty() || !type->takesBeside(name)) {
            const QStringList side = type->sideExtensions;
            return makeError("invalid_field",
                             tr("File by URL: the URL's path must end in a file name %1 jobs "
                                "take beside the main file (.%2), not \"%3\"")
                                 .arg(type->label.isEmpty() ? type->name : type->label,
                                      side.join(", ."),
                                      name.isEmpty() ? QUrl(o.url).path() : name));
        }
        if (m_bundle.files().contains(name))
            return makeError(
                "invalid_field",
                tr("File by URL: the job already has a file %1; drop one of the two").arg(name));
    }
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
        // The values of every type filled in here are remembered, not only the one sent.
        saveLastUsed();
        for (auto it = m_typeValues.cbegin(); it != m_typeValues.cend(); ++it)
            m_settings->setValue(scope() + "/last/" + it.key(), compact(it.value()));
        m_settings->setValue(scope() + "/type", m_shownType);
        m_settings->setValue(scope() + "/frames", m_frames->text().trimmed());
        m_settings->setValue(scope() + "/chunk", m_chunk->value());
        m_settings->setValue(scope() + "/priority", m_priority->value());
        m_settings->sync();
    }
    QDialog::accept();
}

} // namespace farm::gui
