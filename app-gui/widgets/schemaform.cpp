#include "widgets/schemaform.h"

#include "client/jobtypes.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QMap>
#include <QRegularExpressionValidator>
#include <QSpinBox>
#include <QVBoxLayout>

#include <climits>
#include <cmath>

namespace farm::gui {

namespace settings = client::settings;

namespace {

const char *kFromScene = QT_TRANSLATE_NOOP("SchemaForm", "from the scene");

QJsonValue valueAt(const QJsonObject &values, const QString &dottedKey)
{
    const qsizetype dot = dottedKey.indexOf('.');
    if (dot < 0)
        return values.value(dottedKey);
    return valueAt(values.value(dottedKey.left(dot)).toObject(), dottedKey.mid(dot + 1));
}

int clampInt(double v)
{
    return int(std::clamp(v, double(INT_MIN + 1), double(INT_MAX)));
}

bool sameValue(const QJsonValue &a, const QJsonValue &b)
{
    if (a.isDouble() && b.isDouble())
        return a.toDouble() == b.toDouble();
    return a == b;
}

} // namespace

SchemaForm::SchemaForm(QWidget *parent)
    : QWidget(parent)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
}

void SchemaForm::setSchema(const QJsonObject &objectSchema)
{
    m_schema = objectSchema;
    m_fields.clear();
    delete m_body;
    m_body = new QWidget(this);
    auto *sections = new QVBoxLayout(m_body);
    sections->setContentsMargins(0, 0, 0, 0);
    // Never squeezed below its natural size: a scroll area around the form scrolls instead.
    sections->setSizeConstraint(QLayout::SetMinimumSize);
    addFields(objectSchema, {}, sections, nullptr);
    layout()->addWidget(m_body);
    m_body->show(); // a child added to a shown form stays hidden until shown
    reset();
}

void SchemaForm::addFields(const QJsonObject &objectSchema, const QString &prefix,
                           QVBoxLayout *into, QFormLayout *nestedForm)
{
    QMap<QString, QFormLayout *> groups; // top level: one section per group
    const QJsonObject props = objectSchema.value("properties").toObject();
    for (const QString &key : settings::orderedKeys(objectSchema)) {
        const QJsonObject f = props.value(key).toObject();
        const QString label = f.value("label").toString(key);
        QFormLayout *form = nestedForm;
        if (!form) {
            const QString group = f.value("group").toString();
            if (f.value("type").toString() != "object" && !groups.contains(group)) {
                auto *box = new QGroupBox(group.isEmpty() ? tr("Settings") : group, m_body);
                box->setObjectName("group:" + group);
                auto *groupForm = new QFormLayout(box);
                groupForm->setFieldGrowthPolicy(QFormLayout::FieldsStayAtSizeHint);
                groups.insert(group, groupForm);
                into->addWidget(box);
            }
            form = groups.value(group);
        }
        if (f.value("type").toString() == "object") {
            auto *box = new QGroupBox(label, m_body);
            box->setObjectName(prefix + key);
            box->setToolTip(f.value("description").toString());
            auto *inner = new QFormLayout(box);
            inner->setFieldGrowthPolicy(QFormLayout::FieldsStayAtSizeHint);
            if (nestedForm)
                nestedForm->addRow(box);
            else
                into->addWidget(box);
            addFields(f, prefix + key + '.', into, inner);
            continue;
        }
        Field field;
        field.key = prefix + key;
        field.parentKey = prefix.isEmpty() ? QString() : prefix.chopped(1);
        field.schema = f;
        field.form = form;
        field.optional = !f.contains("default");
        QWidget *editor = makeEditor(field);
        editor->setToolTip(f.value("description").toString());
        auto *rowLabel = new QLabel(label, m_body);
        rowLabel->setToolTip(editor->toolTip());
        form->addRow(rowLabel, editor);
        field.editor = editor;
        m_fields.append(field);
    }
}

QWidget *SchemaForm::makeEditor(Field &field)
{
    const QJsonObject &f = field.schema;
    const QString type = f.value("type").toString();
    const QJsonArray values = f.value("enum").toArray();
    auto notify = [this] {
        updateVisibility();
        emit changed();
    };
    QWidget *editor = nullptr;
    if (!values.isEmpty() && type != "array") {
        auto *combo = new QComboBox(m_body);
        if (field.optional)
            combo->addItem(tr(kFromScene), QVariant());
        for (const QJsonValue &v : values)
            combo->addItem(settings::valueText(v), v.toVariant());
        connect(combo, &QComboBox::currentIndexChanged, this, notify);
        editor = combo;
    } else if (type == "integer") {
        auto *spin = new QSpinBox(m_body);
        const int lo =
            f.contains("minimum") ? clampInt(f.value("minimum").toDouble()) : INT_MIN + 1;
        const int hi = f.contains("maximum") ? clampInt(f.value("maximum").toDouble()) : INT_MAX;
        // An optional field's "unset" state is the value below its minimum, shown as text.
        spin->setRange(field.optional ? lo - 1 : lo, hi);
        if (field.optional)
            spin->setSpecialValueText(tr(kFromScene));
        if (f.value("subtype").toString() == "pixels")
            spin->setSuffix(" px");
        connect(spin, &QSpinBox::valueChanged, this, notify);
        editor = spin;
    } else if (type == "number") {
        auto *spin = new QDoubleSpinBox(m_body);
        spin->setDecimals(3);
        const double lo = f.contains("minimum") ? f.value("minimum").toDouble() : -1e12;
        const double hi = f.contains("maximum") ? f.value("maximum").toDouble() : 1e12;
        spin->setRange(field.optional ? lo - 1 : lo, hi);
        if (field.optional)
            spin->setSpecialValueText(tr(kFromScene));
        connect(spin, &QDoubleSpinBox::valueChanged, this, notify);
        editor = spin;
    } else if (type == "boolean") {
        auto *box = new QCheckBox(m_body);
        box->setTristate(field.optional); // partially checked: the scene's own value
        connect(box, &QCheckBox::stateChanged, this, notify);
        editor = box;
    } else if (type == "array" && !f.value("items").toObject().value("enum").toArray().isEmpty()) {
        auto *row = new QWidget(m_body);
        auto *layout = new QHBoxLayout(row);
        layout->setContentsMargins(0, 0, 0, 0);
        for (const QJsonValue &v : f.value("items").toObject().value("enum").toArray()) {
            auto *box = new QCheckBox(settings::valueText(v), row);
            box->setObjectName(field.key + ':' + settings::valueText(v));
            box->setProperty("farmValue", v.toVariant());
            connect(box, &QCheckBox::toggled, this, notify);
            field.items.append(box);
            layout->addWidget(box);
        }
        layout->addStretch();
        editor = row;
    } else {
        auto *line = new QLineEdit(m_body);
        if (f.contains("maxLength"))
            line->setMaxLength(f.value("maxLength").toInt());
        if (f.contains("pattern") && type == "string") {
            const QRegularExpression re(
                QRegularExpression::anchoredPattern(f.value("pattern").toString()));
            if (re.isValid())
                line->setValidator(new QRegularExpressionValidator(re, line));
        }
        if (field.optional)
            line->setPlaceholderText(tr(kFromScene));
        else if (type == "array")
            line->setPlaceholderText(tr("comma-separated values"));
        connect(line, &QLineEdit::textChanged, this, notify);
        editor = line;
    }
    if (qobject_cast<QAbstractSpinBox *>(editor) || qobject_cast<QComboBox *>(editor) ||
        qobject_cast<QLineEdit *>(editor))
        editor->setMinimumWidth(140); // room for "from the scene" and five digits with a unit
    editor->setObjectName(field.key);
    return editor;
}

QJsonValue SchemaForm::valueOf(const Field &field) const
{
    const QString type = field.schema.value("type").toString();
    if (auto *combo = qobject_cast<QComboBox *>(field.editor)) {
        const QVariant data = combo->currentData();
        return data.isValid() ? QJsonValue::fromVariant(data) : QJsonValue(QJsonValue::Undefined);
    }
    if (auto *spin = qobject_cast<QSpinBox *>(field.editor)) {
        if (field.optional && spin->value() == spin->minimum())
            return QJsonValue::Undefined;
        return QJsonValue(qint64(spin->value()));
    }
    if (auto *spin = qobject_cast<QDoubleSpinBox *>(field.editor)) {
        if (field.optional && spin->value() == spin->minimum())
            return QJsonValue::Undefined;
        return QJsonValue(spin->value());
    }
    if (auto *box = qobject_cast<QCheckBox *>(field.editor)) {
        if (box->checkState() == Qt::PartiallyChecked)
            return QJsonValue::Undefined;
        return QJsonValue(box->isChecked());
    }
    if (!field.items.isEmpty()) {
        QJsonArray out;
        for (const QCheckBox *box : field.items)
            if (box->isChecked())
                out.append(QJsonValue::fromVariant(box->property("farmValue")));
        if (out.isEmpty() && field.optional)
            return QJsonValue::Undefined;
        return out;
    }
    if (auto *line = qobject_cast<QLineEdit *>(field.editor)) {
        if (line->text().isEmpty() && field.optional)
            return QJsonValue::Undefined;
        if (type == "array") {
            const auto v = settings::parseValue(field.schema, line->text(), field.key);
            return v ? *v : QJsonValue(line->text()); // the check names what is wrong
        }
        return QJsonValue(line->text());
    }
    return QJsonValue::Undefined;
}

void SchemaForm::setValue(Field &field, const QJsonValue &value)
{
    const bool unset = value.isUndefined() || value.isNull();
    if (auto *combo = qobject_cast<QComboBox *>(field.editor)) {
        int index = field.optional && unset ? 0 : -1;
        for (int i = 0; i < combo->count() && !unset; ++i)
            if (combo->itemData(i).isValid() &&
                sameValue(QJsonValue::fromVariant(combo->itemData(i)), value))
                index = i;
        if (index >= 0)
            combo->setCurrentIndex(index);
    } else if (auto *spin = qobject_cast<QSpinBox *>(field.editor)) {
        if (unset && field.optional)
            spin->setValue(spin->minimum());
        else if (value.isDouble())
            spin->setValue(clampInt(value.toDouble()));
    } else if (auto *spin = qobject_cast<QDoubleSpinBox *>(field.editor)) {
        if (unset && field.optional)
            spin->setValue(spin->minimum());
        else if (value.isDouble())
            spin->setValue(value.toDouble());
    } else if (auto *box = qobject_cast<QCheckBox *>(field.editor)) {
        if (unset && field.optional)
            box->setCheckState(Qt::PartiallyChecked);
        else if (value.isBool())
            box->setCheckState(value.toBool() ? Qt::Checked : Qt::Unchecked);
    } else if (!field.items.isEmpty()) {
        if (!value.isArray() && !unset)
            return;
        const QJsonArray chosen = value.toArray();
        for (QCheckBox *box : field.items)
            box->setChecked(std::any_of(chosen.begin(), chosen.end(), [&](const QJsonValue &v) {
                return sameValue(v, QJsonValue::fromVariant(box->property("farmValue")));
            }));
    } else if (auto *line = qobject_cast<QLineEdit *>(field.editor)) {
        line->setText(unset ? QString() : settings::valueText(value));
    }
}

QJsonObject SchemaForm::values() const
{
    QJsonObject out;
    for (const Field &field : m_fields) {
        if (!isFieldShown(field.key))
            continue;
        const QJsonValue v = valueOf(field);
        if (!v.isUndefined())
            settings::insertAt(out, field.key, v);
    }
    return out;
}

void SchemaForm::applyValues(const QJsonObject &values)
{
    for (Field &field : m_fields)
        if (settings::containsAt(values, field.key))
            setValue(field, valueAt(values, field.key));
    updateVisibility();
}

void SchemaForm::reset()
{
    for (Field &field : m_fields)
        setValue(field, field.schema.value("default"));
    updateVisibility();
}

QWidget *SchemaForm::editor(const QString &dottedKey) const
{
    const Field *f = find(dottedKey);
    return f ? f->editor : nullptr;
}

const SchemaForm::Field *SchemaForm::find(const QString &key) const
{
    for (const Field &f : m_fields)
        if (f.key == key)
            return &f;
    return nullptr;
}

bool SchemaForm::isFieldShown(const QString &dottedKey) const
{
    const Field *field = find(dottedKey);
    if (!field)
        return false;
    const QJsonObject when = field->schema.value("visible_when").toObject();
    for (auto it = when.begin(); it != when.end(); ++it) {
        const QString sibling =
            field->parentKey.isEmpty() ? it.key() : field->parentKey + '.' + it.key();
        const Field *other = find(sibling);
        if (!other || !isFieldShown(sibling))
            return false;
        QJsonValue current = valueOf(*other);
        if (current.isUndefined())
            current = other->schema.value("default");
        const QJsonArray allowed = it.value().toArray();
        if (!std::any_of(allowed.begin(), allowed.end(),
                         [&](const QJsonValue &v) { return sameValue(v, current); }))
            return false;
    }
    return true;
}

void SchemaForm::updateVisibility()
{
    for (const Field &field : std::as_const(m_fields))
        if (field.schema.contains("visible_when"))
            field.form->setRowVisible(field.editor, isFieldShown(field.key));
}

} // namespace farm::gui
