#include "util/json.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>

#include <cmath>

namespace farm::json {

QJsonValue fromTime(const QDateTime &t)
{
    if (!t.isValid())
        return QJsonValue::Null;
    return t.toUTC().toString(Qt::ISODateWithMs);
}

QDateTime toTime(const QJsonValue &v)
{
    if (!v.isString())
        return {};
    return QDateTime::fromString(v.toString(), Qt::ISODateWithMs);
}

Result<QJsonObject> parseObject(const QByteArray &body)
{
    QJsonParseError err{};
    const QJsonDocument doc = QJsonDocument::fromJson(body, &err);
    if (err.error != QJsonParseError::NoError)
        return makeError("invalid_json", QString("body is not valid JSON (%1 at offset %2)")
                                             .arg(err.errorString())
                                             .arg(err.offset));
    if (!doc.isObject())
        return makeError("invalid_json", "body must be a JSON object");
    return doc.object();
}

Reader::Reader(const QJsonObject &object, QString path)
    : m_object(object)
    , m_path(std::move(path))
{}

QString Reader::field(const char *key) const
{
    return m_path.isEmpty() ? QString::fromLatin1(key) : m_path + '.' + QLatin1String(key);
}

void Reader::fail(const QString &code, const QString &message)
{
    if (!m_error)
        m_error = Error{code, message};
}

void Reader::adopt(const Reader &child)
{
    if (!child.ok())
        fail(child.error().code, child.error().message);
}

QString Reader::string(const char *key, const QString &fallback, int minLen, int maxLen)
{
    const QJsonValue v = m_object.value(QLatin1String(key));
    if (v.isUndefined() || v.isNull())
        return fallback;
    if (!v.isString()) {
        fail("invalid_field", field(key) + " must be a string");
        return fallback;
    }
    const QString s = v.toString();
    if (s.size() < minLen || s.size() > maxLen) {
        fail(
            "invalid_field",
            QString("%1 must be %2 to %3 characters long").arg(field(key)).arg(minLen).arg(maxLen));
        return fallback;
    }
    return s;
}

qint64 Reader::integer(const char *key, qint64 fallback, qint64 min, qint64 max)
{
    const QJsonValue v = m_object.value(QLatin1String(key));
    if (v.isUndefined() || v.isNull())
        return fallback;
    const double d = v.toDouble(std::nan(""));
    if (!v.isDouble() || std::isnan(d) || d != std::floor(d)) {
        fail("invalid_field", field(key) + " must be an integer");
        return fallback;
    }
    if (d < double(min) || d > double(max)) {
        fail("invalid_field",
             QString("%1 must be between %2 and %3").arg(field(key)).arg(min).arg(max));
        return fallback;
    }
    return qint64(d);
}

bool Reader::boolean(const char *key, bool fallback)
{
    const QJsonValue v = m_object.value(QLatin1String(key));
    if (v.isUndefined() || v.isNull())
        return fallback;
    if (!v.isBool()) {
        fail("invalid_field", field(key) + " must be true or false");
        return fallback;
    }
    return v.toBool();
}

QStringList Reader::stringList(const char *key, const QStringList &allowed)
{
    const QJsonValue v = m_object.value(QLatin1String(key));
    if (v.isUndefined() || v.isNull())
        return {};
    if (!v.isArray()) {
        fail("invalid_field", field(key) + " must be a list of strings");
        return {};
    }
    QStringList out;
    for (const QJsonValue &item : v.toArray()) {
        if (!item.isString() || item.toString().isEmpty() || item.toString().size() > 100) {
            fail("invalid_field",
                 field(key) + " must hold non-empty strings of up to 100 characters");
            return {};
        }
        if (!allowed.isEmpty() && !allowed.contains(item.toString())) {
            fail("invalid_field", QString("%1: '%2' is not one of %3")
                                      .arg(field(key), item.toString(), allowed.join(", ")));
            return {};
        }
        out.append(item.toString());
    }
    return out;
}

QJsonObject Reader::object(const char *key)
{
    const QJsonValue v = m_object.value(QLatin1String(key));
    if (v.isUndefined() || v.isNull())
        return {};
    if (!v.isObject()) {
        fail("invalid_field", field(key) + " must be an object");
        return {};
    }
    return v.toObject();
}

void Reader::rejectUnknown(const QStringList &known)
{
    for (auto it = m_object.begin(); it != m_object.end(); ++it) {
        if (!known.contains(it.key())) {
            const QString name = m_path.isEmpty() ? it.key() : m_path + '.' + it.key();
            fail("unknown_field", QString("unknown field '%1'").arg(name));
            return;
        }
    }
}

} // namespace farm::json
