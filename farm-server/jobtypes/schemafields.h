#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QStringList>

#include <initializer_list>
#include <utility>

/// Small builders for the built-in types' settings schemas (docs/JOBTYPES.md): each returns a
/// field object, and `with` adds keywords such as description or visible_when.
namespace farm::server::schema {

inline QJsonObject field(const char *type, const QString &label, const QString &group)
{
    QJsonObject f{{"type", type}, {"label", label}};
    if (!group.isEmpty())
        f.insert("group", group);
    return f;
}

inline QJsonObject integer(const QString &label, const QString &group, qint64 min, qint64 max)
{
    QJsonObject f = field("integer", label, group);
    f.insert("minimum", min);
    f.insert("maximum", max);
    return f;
}

inline QJsonObject choice(const QString &label, const QString &group, const QStringList &values)
{
    QJsonObject f = field("string", label, group);
    f.insert("enum", QJsonArray::fromStringList(values));
    return f;
}

inline QJsonObject with(QJsonObject f,
                        std::initializer_list<std::pair<const char *, QJsonValue>> kv)
{
    for (const auto &[k, v] : kv)
        f.insert(QLatin1String(k), v);
    return f;
}

/// An object schema whose fields keep the given order in forms.
inline QJsonObject object(std::initializer_list<std::pair<const char *, QJsonObject>> fields,
                          QJsonObject base = {{"type", "object"}})
{
    QJsonObject props;
    QJsonArray order;
    for (const auto &[k, v] : fields) {
        props.insert(QLatin1String(k), v);
        order.append(QLatin1String(k));
    }
    base.insert("properties", props);
    base.insert("order", order);
    return base;
}

} // namespace farm::server::schema
