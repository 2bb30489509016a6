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

namespace {

// Field names and paths longer than these are cut in messages (names at the end, paths at the
// start).
constexpr qsizetype kMaxNameInMessage = 64;
constexpr qsizetype kMaxPathInMessage = 300;

// The first code unit of `s` that is a surrogate without its partner, or 0.
char16_t unpairedSurrogate(QStringView s)
{
    for (qsizetype i = 0; i < s.size(); ++i) {
        const char16_t c = s.at(i).unicode();
        if (QChar::isLowSurrogate(c))
            return c;
        if (QChar::isHighSurrogate(c)) {
            if (i + 1 == s.size() || !QChar::isLowSurrogate(s.at(i + 1).unicode()))
                return c;
            ++i;
        }
    }
    return 0;
}

QString escaped(char16_t unit)
{
    return QStringLiteral("\\u%1").arg(uint(unit), 4, 16, QLatin1Char('0'));
}

// A field name as a message shows it: unpaired surrogates escaped, long names cut.
QString shownName(QStringView name)
{
    QString out;
    for (qsizetype i = 0; i < name.size(); ++i) {
        if (out.size() >= kMaxNameInMessage)
            return out + QStringLiteral("...");
        const char16_t c = name.at(i).unicode();
        const bool paired = QChar::isHighSurrogate(c) && i + 1 < name.size() &&
                            QChar::isLowSurrogate(name.at(i + 1).unicode());
        if (paired) {
            out += name.sliced(i, 2);
            ++i;
        } else if (QChar::isSurrogate(c)) {
            out += escaped(c);
        } else {
            out += QChar(c);
        }
    }
    return out;
}

// Where the walk is: keys and array indexes from the root. Text is made only for a message, so
// that a deep path costs nothing per value (1 MiB of values under 1000 levels stays linear).
struct Step
{
    QString key;
    qsizetype index = -1; // an array element when >= 0
};
using Path = QList<Step>;

QString pathText(const Path &path)
{
    QString out;
    for (const Step &step : path) {
        if (step.index >= 0) {
            out += u'[' + QString::number(step.index) + u']';
            continue;
        }
        if (!out.isEmpty())
            out += u'.';
        out += shownName(step.key);
    }
    if (out.size() <= kMaxPathInMessage)
        return out;
    QStringView end = QStringView(out).last(kMaxPathInMessage);
    if (QChar::isLowSurrogate(end.front().unicode())) // not half a pair
        end = end.sliced(1);
    return QStringLiteral("...") + end.toString();
}

QString surrogateMessage(const QString &what, char16_t unit)
{
    return QStringLiteral("%1 contains an unpaired UTF-16 surrogate (%2)").arg(what, escaped(unit));
}

QString walk(const QJsonValue &value, Path &path);

QString walkObject(const QJsonObject &object, Path &path)
{
    for (auto it = object.begin(); it != object.end(); ++it) {
        QString key = it.key();
        if (const char16_t unit = unpairedSurrogate(key)) {
            const QString name = QStringLiteral("field name \"%1\"").arg(shownName(key));
            const QString where = pathText(path);
            return surrogateMessage(where.isEmpty() ? name : name + " in " + where, unit);
        }
        path.append({std::move(key)});
        QString found = walk(it.value(), path);
        path.removeLast();
        if (!found.isEmpty())
            return found;
    }
    return {};
}

QString walk(const QJsonValue &value, Path &path)
{
    switch (value.type()) {
    case QJsonValue::String:
        if (const char16_t unit = unpairedSurrogate(value.toString()))
            return surrogateMessage(pathText(path), unit);
        return {};
    case QJsonValue::Object:
        return walkObject(value.toObject(), path);
    case QJsonValue::Array: {
        const QJsonArray array = value.toArray();
        for (qsizetype i = 0; i < array.size(); ++i) {
            path.append({QString(), i});
            QString found = walk(array.at(i), path);
            path.removeLast();
            if (!found.isEmpty())
                return found;
        }
        return {};
    }
    default:
        return {};
    }
}

// Whether `text` holds a \u escape of a surrogate (\uD800 to \uDFFF). Escaped backslashes
// ("\\ud800" is no escape) may make this say yes needlessly, never no wrongly.
bool hasSurrogateEscape(QByteArrayView text)
{
    for (qsizetype i = text.indexOf("\\u"); i >= 0 && i + 3 < text.size();
         i = text.indexOf("\\u", i + 2)) {
        const char d = text.at(i + 2);
        const char next = text.at(i + 3);
        if ((d == 'd' || d == 'D') &&
            ((next >= '8' && next <= '9') || (next >= 'a' && next <= 'f') ||
             (next >= 'A' && next <= 'F')))
            return true;
    }
    return false;
}

} // namespace

QString findUnpairedSurrogate(const QJsonObject &object)
{
    Path path;
    return walkObject(object, path);
}

Result<void> checkStrings(const QJsonObject &object, QByteArrayView source)
{
    if (!hasSurrogateEscape(source))
        return {};
    if (QString found = findUnpairedSurrogate(object); !found.isEmpty())
        return makeError("invalid_json", found);
    return {};
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
    QJsonObject object = doc.object();
    if (auto strings = checkStrings(object, body); !strings)
        return strings.error();
    return object;
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

QJsonArray Reader::array(const char *key, qsizetype maxItems)
{
    const QJsonValue v = m_object.value(QLatin1String(key));
    if (v.isUndefined() || v.isNull())
        return {};
    if (!v.isArray()) {
        fail("invalid_field", field(key) + " must be a list");
        return {};
    }
    const QJsonArray a = v.toArray();
    if (maxItems >= 0 && a.size() > maxItems) {
        fail("invalid_field",
             QString("%1 may list at most %2 items").arg(field(key)).arg(maxItems));
        return {};
    }
    return a;
}

QStringList Reader::stringList(const char *key, const QStringList &allowed, qsizetype maxItems)
{
    const QJsonValue v = m_object.value(QLatin1String(key));
    if (!v.isUndefined() && !v.isNull() && !v.isArray()) {
        fail("invalid_field", field(key) + " must be a list of strings");
        return {};
    }
    QStringList out;
    for (const QJsonValue &item : array(key, maxItems)) {
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
