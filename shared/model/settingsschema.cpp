#include "model/settingsschema.h"

#include <QJsonArray>
#include <QRegularExpression>

#include <cmath>

namespace farm {
namespace {

const QStringList kTypes{"integer", "number", "boolean", "string", "array", "object"};

QString show(const QJsonValue &v)
{
    if (v.isString())
        return v.toString();
    if (v.isDouble())
        return QString::number(v.toDouble(), 'g', 12);
    if (v.isBool())
        return v.toBool() ? "true" : "false";
    return "a value";
}

QString listOf(const QJsonArray &values)
{
    QStringList out;
    for (const QJsonValue &v : values)
        out.append(show(v));
    return out.join(", ");
}

Error fieldError(const QString &path, const QString &what)
{
    return {"invalid_field", path + ' ' + what};
}

// Equality for enum checks and hidden-field defaults: 8 and 8.0 are the same number.
bool same(const QJsonValue &a, const QJsonValue &b)
{
    if (a.isDouble() && b.isDouble())
        return a.toDouble() == b.toDouble();
    return a == b;
}

bool inEnum(const QJsonArray &values, const QJsonValue &v)
{
    return std::any_of(values.begin(), values.end(),
                       [&](const QJsonValue &e) { return same(e, v); });
}

Result<QJsonValue> applyField(const QJsonObject &field, const QJsonValue &value,
                              const QString &path);

Result<QJsonObject> applyObject(const QJsonObject &schema, const QJsonObject &value,
                                const QString &path)
{
    const QJsonObject props = schema.value("properties").toObject();
    for (auto it = value.begin(); it != value.end(); ++it)
        if (!props.contains(it.key()))
            return Error{"unknown_field",
                         QString("%1.%2 is not a setting of this job type (known: %3)")
                             .arg(path, it.key(), props.keys().join(", "))};
    QJsonObject out;
    // Visible-when refers to siblings, so plain fields are settled first.
    for (auto it = props.begin(); it != props.end(); ++it) {
        const QJsonObject field = it.value().toObject();
        if (field.contains("visible_when"))
            continue;
        const QString fieldPath = path + '.' + it.key();
        if (!value.contains(it.key())) {
            if (field.contains("default"))
                out.insert(it.key(), field.value("default"));
            else if (field.value("type") == QLatin1String("object"))
                out.insert(it.key(), QJsonObject());
            else
                continue;
            if (field.value("type") != QLatin1String("object"))
                continue;
        }
        auto v = applyField(field,
                            value.contains(it.key()) ? value.value(it.key()) : out.value(it.key()),
                            fieldPath);
        if (!v)
            return v.error();
        out.insert(it.key(), *v);
    }
    for (auto it = props.begin(); it != props.end(); ++it) {
        const QJsonObject field = it.value().toObject();
        if (!field.contains("visible_when"))
            continue;
        const QString fieldPath = path + '.' + it.key();
        const QJsonObject when = field.value("visible_when").toObject();
        bool visible = true;
        QString reason;
        for (auto w = when.begin(); w != when.end() && visible; ++w) {
            if (!inEnum(w.value().toArray(), out.value(w.key()))) {
                visible = false;
                reason =
                    QString("applies only when %1.%2 is %3")
                        .arg(path, w.key(),
                             '\'' + listOf(w.value().toArray()).replace(", ", "' or '") + '\'');
            }
        }
        if (!visible) {
            if (value.contains(it.key()) && !same(value.value(it.key()), field.value("default")))
                return fieldError(fieldPath, reason);
            continue;
        }
        if (!value.contains(it.key())) {
            if (field.contains("default"))
                out.insert(it.key(), field.value("default"));
            continue;
        }
        auto v = applyField(field, value.value(it.key()), fieldPath);
        if (!v)
            return v.error();
        out.insert(it.key(), *v);
    }
    return out;
}

Result<QJsonValue> applyField(const QJsonObject &field, const QJsonValue &value,
                              const QString &path)
{
    const QString type = field.value("type").toString();
    const QJsonArray values = field.value("enum").toArray();
    if (type == "integer" || type == "number") {
        const double d = value.toDouble();
        if (!value.isDouble() || !std::isfinite(d))
            return fieldError(path, "must be a number");
        if (type == "integer" && (d != std::floor(d) || std::abs(d) > 9007199254740991.0))
            return fieldError(path, "must be a whole number");
        const bool hasMin = field.contains("minimum"), hasMax = field.contains("maximum");
        const double lo = field.value("minimum").toDouble(), hi = field.value("maximum").toDouble();
        if ((hasMin && d < lo) || (hasMax && d > hi)) {
            if (hasMin && hasMax)
                return fieldError(
                    path, QString("must be between %1 and %2")
                              .arg(show(field.value("minimum")), show(field.value("maximum"))));
            return fieldError(path, hasMin ? "must be at least " + show(field.value("minimum"))
                                           : "must be at most " + show(field.value("maximum")));
        }
        if (!values.isEmpty() && !inEnum(values, value))
            return fieldError(
                path, QString("must be one of %1, not '%2'").arg(listOf(values), show(value)));
        return type == "integer" ? QJsonValue(qint64(d)) : QJsonValue(d);
    }
    if (type == "boolean") {
        if (!value.isBool())
            return fieldError(path, "must be true or false");
        return value;
    }
    if (type == "string") {
        if (!value.isString())
            return fieldError(path, "must be a string");
        const QString s = value.toString();
        const int maxLength = field.value("maxLength").toInt(1000);
        if (s.size() > maxLength)
            return fieldError(path, QString("must be at most %1 characters").arg(maxLength));
        for (const QChar c : s)
            if (c.unicode() < 0x20 || c.unicode() == 0x7f)
                return fieldError(path, "must not hold control characters");
        if (!values.isEmpty() && !inEnum(values, value))
            return fieldError(
                path, QString("must be one of %1, not '%2'").arg(listOf(values), show(value)));
        if (field.contains("pattern")) {
            const QRegularExpression re(
                QRegularExpression::anchoredPattern(field.value("pattern").toString()));
            if (!re.match(s).hasMatch())
                return fieldError(path, QString("'%1' does not match %2")
                                            .arg(s.left(100), field.value("pattern").toString()));
        }
        return value;
    }
    if (type == "array") {
        if (!value.isArray())
            return fieldError(path, "must be an array");
        const QJsonArray items = value.toArray();
        const QJsonObject itemSchema = field.value("items").toObject();
        const int minItems = field.value("minItems").toInt(0);
        const int maxItems = field.value("maxItems").toInt(10000);
        if (items.size() < minItems)
            return fieldError(path, QString("must name at least %1 item%2")
                                        .arg(minItems)
                                        .arg(minItems == 1 ? "" : "s"));
        if (items.size() > maxItems)
            return fieldError(path, QString("must name at most %1 items").arg(maxItems));
        QJsonArray out;
        for (qsizetype i = 0; i < items.size(); ++i) {
            if (field.value("uniqueItems").toBool() && inEnum(out, items.at(i)))
                return fieldError(path, "must name each item once");
            const QJsonArray allowed = itemSchema.value("enum").toArray();
            if (!allowed.isEmpty() && !inEnum(allowed, items.at(i)))
                return fieldError(
                    path, QString("may hold %1, not '%2'").arg(listOf(allowed), show(items.at(i))));
            auto v = applyField(itemSchema, items.at(i), QString("%1[%2]").arg(path).arg(i));
            if (!v)
                return v.error();
            out.append(*v);
        }
        return QJsonValue(out);
    }
    if (type == "object") {
        if (!value.isObject())
            return fieldError(path, "must be an object");
        auto o = applyObject(field, value.toObject(), path);
        if (!o)
            return o.error();
        return QJsonValue(*o);
    }
    return fieldError(path, "has a schema of an unknown type");
}

Result<void> checkField(const QJsonObject &field, const QString &path)
{
    const QString type = field.value("type").toString();
    if (!kTypes.contains(type))
        return makeError("invalid_schema",
                         QString("%1: type must be one of %2").arg(path, kTypes.join(", ")));
    if (type == "object") {
        if (!field.value("properties").isObject())
            return makeError("invalid_schema", path + ": an object needs properties");
        const QJsonObject props = field.value("properties").toObject();
        for (auto it = props.begin(); it != props.end(); ++it) {
            if (!QRegularExpression("^[a-z][a-z0-9_]{0,63}$").match(it.key()).hasMatch())
                return makeError("invalid_schema",
                                 QString("%1: '%2' is not a setting name").arg(path, it.key()));
            if (auto r = checkField(it.value().toObject(), path + '.' + it.key()); !r)
                return r;
        }
    }
    if (type == "array") {
        if (auto r = checkField(field.value("items").toObject(), path + ".items"); !r)
            return r;
    }
    if (field.contains("pattern") &&
        !QRegularExpression(field.value("pattern").toString()).isValid())
        return makeError("invalid_schema", path + ": pattern is not a valid regular expression");
    if (field.contains("default") && type != "object") {
        auto d = applyField(field, field.value("default"), path + ".default");
        if (!d)
            return makeError("invalid_schema", d.error().message);
    }
    return {};
}

} // namespace

Result<QJsonValue> SettingsSchema::applyField(const QJsonObject &field, const QJsonValue &value,
                                              const QString &path)
{
    return farm::applyField(field, value, path);
}

SettingsSchema::SettingsSchema(QJsonObject schema)
    : m_schema(std::move(schema))
{}

Result<SettingsSchema> SettingsSchema::fromJson(const QJsonObject &schema)
{
    if (schema.value("type") != QLatin1String("object"))
        return makeError("invalid_schema", "schema: the settings schema must be of type object");
    if (auto r = checkField(schema, "schema"); !r)
        return r.error();
    return SettingsSchema(schema);
}

Result<QJsonObject> SettingsSchema::apply(const QJsonObject &settings, const QString &path) const
{
    return applyObject(m_schema, settings, path);
}

} // namespace farm
