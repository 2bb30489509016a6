#pragma once

#include <QJsonObject>
#include <QList>
#include <QWidget>

class QCheckBox;
class QFormLayout;
class QVBoxLayout;

namespace farm::gui {

/// A form drawn from a job type's settings schema (docs/JOBTYPES.md "The settings schema"), with
/// no knowledge of any type: one section (a group box with a QFormLayout) per `group`, a group
/// box per nested object; QSpinBox/QDoubleSpinBox with the schema's limits, QComboBox for an
/// enum, QCheckBox for a boolean and one per item of an array of enum values, QLineEdit (with a
/// validator for a pattern) for other strings. A field without a default is optional: its editor
/// starts in a "from the scene" state and the key is left out while it stays there. Fields whose
/// `visible_when` does not hold are hidden and left out. Each editor's object name is the field's
/// dotted key ("width", "camera.mode"); an array item's checkbox is "passes:rgb".
class SchemaForm : public QWidget
{
    Q_OBJECT
public:
    explicit SchemaForm(QWidget *parent = nullptr);

    /// Rebuilds the form; every field starts at its default.
    void setSchema(const QJsonObject &objectSchema);
    QJsonObject schema() const { return m_schema; }
    /// The settings to send: shown fields only, optional ones only when set.
    QJsonObject values() const;
    /// Puts these values into the form (a preset); unknown keys and values that do not fit the
    /// field are ignored, keys not given keep their current value.
    void applyValues(const QJsonObject &values);
    /// Every field back to its default.
    void reset();

    /// The editor of a dotted key, nullptr when there is none.
    QWidget *editor(const QString &dottedKey) const;
    /// Whether the row of a dotted key is shown (its visible_when holds).
    bool isFieldShown(const QString &dottedKey) const;

signals:
    void changed();

private:
    struct Field
    {
        QString key;       // dotted
        QString parentKey; // dotted key of the enclosing object ("" at the top)
        QJsonObject schema;
        QWidget *editor = nullptr;
        QList<QCheckBox *> items; // array of enum values: one box per value
        QFormLayout *form = nullptr;
        bool optional = false;
    };

    void addFields(const QJsonObject &objectSchema, const QString &prefix, QVBoxLayout *into,
                   QFormLayout *nestedForm);
    QWidget *makeEditor(Field &field);
    QJsonValue valueOf(const Field &field) const; // Undefined: left out
    void setValue(Field &field, const QJsonValue &value);
    void updateVisibility();
    const Field *find(const QString &key) const;

    QJsonObject m_schema;
    QList<Field> m_fields;
    QWidget *m_body = nullptr;
};

} // namespace farm::gui
