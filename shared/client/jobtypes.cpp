#include "client/jobtypes.h"

#include "model/job.h"
#include "model/settingsschema.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QRegularExpression>

#include <cmath>

namespace farm::client {

bool JobTypeInfo::takes(const QString &fileName) const
{
    return extensions.contains(QFileInfo(fileName).suffix().toLower());
}

bool JobTypeInfo::takesBeside(const QString &fileName) const
{
    if (sideExtensions.contains(QStringLiteral("*")))
        return true;
    const QString name = fileName.section('/', -1); // the server's rule: after the last dot
    return name.contains('.') && sideExtensions.contains(name.section('.', -1).toLower());
}

Result<QList<JobTypeInfo>> decodeJobTypes(const QJsonObject &o)
{
    if (!o.value("job_types").isArray())
        return makeError("bad_response", "server answer lacks the 'job_types' list");
    QList<JobTypeInfo> types;
    for (const QJsonValue &v : o.value("job_types").toArray()) {
        const QJsonObject t = v.toObject();
        JobTypeInfo info;
        info.name = t.value("name").toString();
        if (!isValidTypeName(info.name))
            continue; // nothing could submit it: leave it out rather than fail every type
        info.label = t.value("label").toString(info.name);
        info.description = t.value("description").toString();
        info.engine = t.value("engine").toString();
        for (const QJsonValue &e : t.value("extensions").toArray())
            info.extensions.append(e.toString().toLower());
        if (t.value("side_extensions").isArray()) {
            info.sideExtensions.clear();
            for (const QJsonValue &e : t.value("side_extensions").toArray())
                info.sideExtensions.append(e.toString().toLower());
        }
        info.frames = t.value("frames").toBool(true);
        info.schema = t.value("schema").toObject();
        types.append(info);
    }
    return types;
}

const JobTypeInfo *findJobType(const QList<JobTypeInfo> &types, const QString &name)
{
    for (const JobTypeInfo &t : types)
        if (t.name == name)
            return &t;
    return nullptr;
}

QList<const JobTypeInfo *> jobTypesFor(const QList<JobTypeInfo> &types, const QString &fileName)
{
    QList<const JobTypeInfo *> out;
    for (const JobTypeInfo &t : types)
        if (t.takes(fileName))
            out.append(&t);
    return out;
}

QStringList allExtensions(const QList<JobTypeInfo> &types)
{
    QStringList out;
    for (const JobTypeInfo &t : types)
        for (const QString &e : t.extensions)
            if (!out.contains(e))
                out.append(e);
    return out;
}

namespace settings {

namespace {

QString listOf(const QJsonArray &values)
{
    QStringList s;
    for (const QJsonValue &v : values)
        s.append(valueText(v));
    return s.join(", ");
}

Error fieldError(const QString &path, const QString &what)
{
    return makeError("invalid_field", path + ' ' + what);
}

QString typeOf(const QJsonObject &field)
{
    return field.value("type").toString();
}

} // namespace

QStringList orderedKeys(const QJsonObject &objectSchema)
{
    const QJsonObject props = objectSchema.value("properties").toObject();
    QStringList keys;
    for (const QJsonValue &k : objectSchema.value("order").toArray())
        if (props.contains(k.toString()) && !keys.contains(k.toString()))
            keys.append(k.toString());
    for (const QString &k : props.keys()) // QJsonObject keys come sorted
        if (!keys.contains(k))
            keys.append(k);
    return keys;
}

QJsonObject fieldAt(const QJsonObject &objectSchema, const QString &dottedKey)
{
    QJsonObject current = objectSchema;
    const QStringList parts = dottedKey.split('.');
    for (const QString &part : parts) {
        const QJsonValue next = current.value("properties").toObject().value(part);
        if (!next.isObject())
            return {};
        current = next.toObject();
    }
    return current;
}

Result<QJsonValue> parseValue(const QJsonObject &field, const QString &text, const QString &path)
{
    const QString type = typeOf(field);
    const QString t = text.trimmed();
    if (type == "integer") {
        bool ok = false;
        const qint64 v = t.toLongLong(&ok);
        if (!ok)
            return fieldError(path, QString("must be a whole number, not '%1'").arg(text));
        return QJsonValue(v);
    }
    if (type == "number") {
        bool ok = false;
        const double v = t.toDouble(&ok);
        if (!ok || !std::isfinite(v))
            return fieldError(path, QString("must be a number, not '%1'").arg(text));
        return QJsonValue(v);
    }
    if (type == "boolean") {
        static const QStringList yes{"true", "yes", "on", "1"}, no{"false", "no", "off", "0"};
        if (yes.contains(t.toLower()))
            return QJsonValue(true);
        if (no.contains(t.toLower()))
            return QJsonValue(false);
        return fieldError(path, QString("must be true or false, not '%1'").arg(text));
    }
    if (type == "array") {
        const QJsonObject items = field.value("items").toObject();
        QJsonArray out;
        const QStringList parts = t.split(',', Qt::SkipEmptyParts);
        for (qsizetype i = 0; i < parts.size(); ++i) {
            auto v = items.isEmpty() ? Result<QJsonValue>(QJsonValue(parts[i].trimmed()))
                                     : parseValue(items, parts[i].trimmed(),
                                                  QString("%1[%2]").arg(path).arg(i));
            if (!v)
                return v.error();
            out.append(*v);
        }
        return QJsonValue(out);
    }
    if (type == "object")
        return fieldError(path, "is a group of settings: set its keys (" + path.section('.', 1) +
                                    ".KEY=VALUE)");
    return QJsonValue(text); // strings keep their spaces
}

Result<void> checkValue(const QJsonObject &field, const QJsonValue &value, const QString &path)
{
    if (auto v = SettingsSchema::applyField(field, value, path); !v)
        return v.error();
    return {};
}

Result<void> checkSettings(const QJsonObject &objectSchema, const QJsonObject &values,
                           const QString &path)
{
    if (auto v = SettingsSchema(objectSchema).apply(values, path); !v)
        return v.error();
    return {};
}

void insertAt(QJsonObject &values, const QString &dottedKey, const QJsonValue &value)
{
    const qsizetype dot = dottedKey.indexOf('.');
    if (dot < 0) {
        values.insert(dottedKey, value);
        return;
    }
    const QString head = dottedKey.left(dot);
    QJsonObject inner = values.value(head).toObject();
    insertAt(inner, dottedKey.mid(dot + 1), value);
    values.insert(head, inner);
}

bool containsAt(const QJsonObject &values, const QString &dottedKey)
{
    const qsizetype dot = dottedKey.indexOf('.');
    if (dot < 0)
        return values.contains(dottedKey);
    return containsAt(values.value(dottedKey.left(dot)).toObject(), dottedKey.mid(dot + 1));
}

QString valueText(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Bool:
        return value.toBool() ? "true" : "false";
    case QJsonValue::Double: {
        const double d = value.toDouble();
        if (d == std::floor(d) && std::abs(d) < 1e15)
            return QString::number(qint64(d));
        return QString::number(d, 'g', 12);
    }
    case QJsonValue::String:
        return value.toString();
    case QJsonValue::Array: {
        QStringList items;
        for (const QJsonValue &v : value.toArray())
            items.append(valueText(v));
        return items.join(", ");
    }
    case QJsonValue::Object: {
        QStringList items;
        for (const auto &[k, v] : flatten(value.toObject()))
            items.append(k + '=' + v);
        return '{' + items.join(", ") + '}';
    }
    case QJsonValue::Null:
        return "null";
    case QJsonValue::Undefined:
        break;
    }
    return {};
}

QList<QPair<QString, QString>> flatten(const QJsonObject &values, const QJsonObject &objectSchema)
{
    QList<QPair<QString, QString>> rows;
    QStringList keys;
    for (const QString &k : orderedKeys(objectSchema))
        if (values.contains(k))
            keys.append(k);
    for (const QString &k : values.keys())
        if (!keys.contains(k))
            keys.append(k);
    for (const QString &k : keys) {
        const QJsonValue v = values.value(k);
        if (v.isObject()) {
            const QJsonObject inner =
                objectSchema.value("properties").toObject().value(k).toObject();
            for (const auto &[ik, iv] : flatten(v.toObject(), inner))
                rows.append({k + '.' + ik, iv});
        } else {
            rows.append({k, valueText(v)});
        }
    }
    return rows;
}

QString describeField(const QJsonObject &field)
{
    const QString type = typeOf(field);
    QStringList parts{type.isEmpty() ? QString("any") : type};
    if (field.contains("minimum") && field.contains("maximum"))
        parts.last() += QString(" %1..%2").arg(valueText(field.value("minimum")),
                                               valueText(field.value("maximum")));
    else if (field.contains("minimum"))
        parts.last() += " ≥ " + valueText(field.value("minimum"));
    else if (field.contains("maximum"))
        parts.last() += " ≤ " + valueText(field.value("maximum"));
    if (field.contains("enum"))
        parts.append("one of " + listOf(field.value("enum").toArray()));
    const QJsonArray itemEnum = field.value("items").toObject().value("enum").toArray();
    if (!itemEnum.isEmpty())
        parts.append("items from " + listOf(itemEnum));
    if (field.contains("pattern"))
        parts.append("matching " + field.value("pattern").toString());
    if (field.contains("maxLength"))
        parts.append(QString("at most %1 characters").arg(field.value("maxLength").toInt()));
    if (field.contains("default"))
        parts.append("default " + (field.value("default").isArray()
                                       ? field.value("default").toArray().isEmpty()
                                             ? QString("none")
                                             : valueText(field.value("default"))
                                       : valueText(field.value("default"))));
    else if (type != "object")
        parts.append("optional");
    if (field.contains("visible_when")) {
        const QJsonObject when = field.value("visible_when").toObject();
        for (auto it = when.begin(); it != when.end(); ++it)
            parts.append(QString("only when %1 is %2")
                             .arg(it.key(), listOf(it.value().toArray()).replace(", ", " or ")));
    }
    return parts.join(", ");
}

} // namespace settings

} // namespace farm::client
