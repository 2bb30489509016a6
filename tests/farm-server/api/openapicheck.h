#pragma once

// Checks JSON values against the schemas of resources/api/openapi.json (compiled into
// farm_server_core as ":/api/openapi.json"): the subset of JSON Schema 2020-12 the document uses
// ($ref, type, properties, required, additionalProperties, items, enum, const, oneOf, minimum,
// maximum, pattern).

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QStringList>

#include <cmath>

namespace farm::test {

inline QJsonObject openApiDocument()
{
    QFile f(":/api/openapi.json");
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

class SchemaChecker
{
public:
    explicit SchemaChecker(QJsonObject doc)
        : m_doc(std::move(doc))
    {}

    /// What is wrong with `value` against `schema`, one line per problem; empty: it fits.
    QStringList check(const QJsonValue &schema, const QJsonValue &value,
                      const QString &where = "$") const
    {
        QStringList out;
        walk(schema.toObject(), value, where, out);
        return out;
    }

    /// The schema a {"$ref": "#/components/schemas/X"} names; other objects as they are.
    QJsonObject resolve(const QJsonObject &schema) const
    {
        if (!schema.contains("$ref"))
            return schema;
        QJsonValue at = m_doc;
        const QString ref = schema.value("$ref").toString();
        for (const QString &part : ref.mid(2).split('/'))
            at = at.toObject().value(part);
        return at.toObject();
    }

    /// The JSON schema of the answer `status` of `method` on the documented `path` ("default"
    /// when the status is not listed); null when the document has none.
    QJsonValue responseSchema(const QString &path, const QString &method, int status) const
    {
        const QJsonObject responses = m_doc.value("paths")
                                          .toObject()
                                          .value(path)
                                          .toObject()
                                          .value(method.toLower())
                                          .toObject()
                                          .value("responses")
                                          .toObject();
        QJsonObject r = responses.value(QString::number(status)).toObject();
        if (r.isEmpty())
            r = responses.value("default").toObject();
        return r.value("content").toObject().value("application/json").toObject().value("schema");
    }

private:
    static bool hasType(const QJsonValue &v, const QString &type)
    {
        if (type == "null")
            return v.isNull();
        if (type == "boolean")
            return v.isBool();
        if (type == "string")
            return v.isString();
        if (type == "object")
            return v.isObject();
        if (type == "array")
            return v.isArray();
        if (type == "number")
            return v.isDouble();
        if (type == "integer")
            return v.isDouble() && std::floor(v.toDouble()) == v.toDouble();
        return false;
    }

    void walk(QJsonObject s, const QJsonValue &v, const QString &where, QStringList &out) const
    {
        s = resolve(s);
        if (s.contains("oneOf")) {
            int fits = 0;
            for (const QJsonValue &alt : s.value("oneOf").toArray())
                fits += check(alt, v, where).isEmpty();
            if (fits != 1)
                out.append(
                    QString("%1: fits %2 of the oneOf alternatives, not 1").arg(where).arg(fits));
            return;
        }
        if (s.contains("const") && s.value("const") != v)
            out.append(QString("%1: must be %2")
                           .arg(where, QString::fromUtf8(QJsonDocument(QJsonArray{s.value("const")})
                                                             .toJson(QJsonDocument::Compact))));
        if (s.contains("enum") && !s.value("enum").toArray().contains(v))
            out.append(
                QString("%1: %2 is not one of the enum values")
                    .arg(where, v.isString() ? v.toString() : QString::number(v.toDouble())));
        if (s.contains("type")) {
            const QJsonValue t = s.value("type");
            QStringList types;
            if (t.isArray())
                for (const QJsonValue &x : t.toArray())
                    types.append(x.toString());
            else
                types.append(t.toString());
            bool any = false;
            for (const QString &type : types)
                any = any || hasType(v, type);
            if (!any) {
                out.append(QString("%1: is not %2").arg(where, types.join(" or ")));
                return;
            }
        }
        if (v.isDouble()) {
            if (s.contains("minimum") && v.toDouble() < s.value("minimum").toDouble())
                out.append(where + ": below its minimum");
            if (s.contains("maximum") && v.toDouble() > s.value("maximum").toDouble())
                out.append(where + ": above its maximum");
        }
        if (v.isString() && s.contains("pattern") &&
            !QRegularExpression(s.value("pattern").toString()).match(v.toString()).hasMatch())
            out.append(QString("%1: '%2' does not match %3")
                           .arg(where, v.toString(), s.value("pattern").toString()));
        if (v.isArray() && s.contains("items")) {
            const QJsonArray a = v.toArray();
            for (qsizetype i = 0; i < a.size(); ++i)
                walk(s.value("items").toObject(), a[i], QString("%1[%2]").arg(where).arg(i), out);
        }
        if (!v.isObject())
            return;
        const QJsonObject o = v.toObject();
        const QJsonObject props = s.value("properties").toObject();
        for (const QJsonValue &r : s.value("required").toArray())
            if (!o.contains(r.toString()))
                out.append(QString("%1: lacks the required '%2'").arg(where, r.toString()));
        for (auto it = o.begin(); it != o.end(); ++it) {
            const QString at = where + '.' + it.key();
            if (props.contains(it.key())) {
                walk(props.value(it.key()).toObject(), it.value(), at, out);
                continue;
            }
            const QJsonValue extra = s.value("additionalProperties");
            if (extra.isBool() && !extra.toBool())
                out.append(QString("%1: is not in the document").arg(at));
            else if (extra.isObject())
                walk(extra.toObject(), it.value(), at, out);
        }
    }

    QJsonObject m_doc;
};

} // namespace farm::test
