#pragma once

#include "util/result.h"

#include <QByteArray>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QStringList>

namespace farm::json {

/// ISO-8601 UTC with milliseconds, or null for an invalid time.
QJsonValue fromTime(const QDateTime &t);
QDateTime toTime(const QJsonValue &v);

/// Parses a request body that must be one JSON object. A string (key or value, at any depth)
/// holding an unpaired UTF-16 surrogate ("\ud800" escaped alone) fails too: checkStrings.
Result<QJsonObject> parseObject(const QByteArray &body);

/// invalid_json naming the first key or string value of `object` (nested objects and arrays
/// included) that holds an unpaired UTF-16 surrogate, as "settings.camera.mode contains an
/// unpaired UTF-16 surrogate (\ud800)": such a string cannot be stored or sent as UTF-8.
/// `source` is the UTF-8 JSON text `object` was parsed from: only a \u escape of a surrogate
/// puts one there (the parser refuses encoded ones), so text without such an escape is not
/// walked.
Result<void> checkStrings(const QJsonObject &object, QByteArrayView source);

/// The message checkStrings fails with, or empty; always walks the whole object.
QString findUnpairedSurrogate(const QJsonObject &object);

/// Reads and validates fields of one JSON object; the first problem wins and is kept.
/// `path` prefixes field names in messages ("settings.width").
class Reader
{
public:
    Reader(const QJsonObject &object, QString path = {});

    QString string(const char *key, const QString &fallback, int minLen, int maxLen);
    qint64 integer(const char *key, qint64 fallback, qint64 min, qint64 max);
    bool boolean(const char *key, bool fallback);
    /// Strings of 1–100 characters; at most `maxItems` of them (< 0: any number).
    QStringList stringList(const char *key, const QStringList &allowed = {},
                           qsizetype maxItems = -1);
    /// The list under `key` (empty when absent); fails when it is no list or has over `maxItems`.
    QJsonArray array(const char *key, qsizetype maxItems);
    QJsonObject object(const char *key);
    bool has(const char *key) const { return m_object.contains(QLatin1String(key)); }

    /// Fails with unknown_field when the object holds keys other than `known`.
    void rejectUnknown(const QStringList &known);
    /// Records an error found by the caller (first one wins).
    void fail(const QString &code, const QString &message);

    QString field(const char *key) const;
    bool ok() const { return !m_error.has_value(); }
    const Error &error() const { return *m_error; }
    void adopt(const Reader &child);

private:
    QJsonObject m_object;
    QString m_path;
    std::optional<Error> m_error;
};

} // namespace farm::json
