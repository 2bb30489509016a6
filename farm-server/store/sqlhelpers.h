#pragma once

#include "util/result.h"

#include <QDateTime>
#include <QSqlDatabase>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlField>
#include <QSqlQuery>
#include <QStringList>
#include <QVariant>

namespace farm::server::sql {

inline QVariant fromTime(const QDateTime &t)
{
    return t.isValid() ? QVariant(t.toMSecsSinceEpoch()) : QVariant(QMetaType(QMetaType::LongLong));
}

inline QDateTime toTime(const QVariant &v)
{
    if (v.isNull())
        return {};
    return QDateTime::fromMSecsSinceEpoch(v.toLongLong(), Qt::UTC);
}

/// A bound value as an SQL literal, escaped by the connection's driver as it escapes the
/// values of a prepared statement's EXECUTE (QPSQL).
inline QString literal(const QSqlDatabase &db, const QVariant &value)
{
    QSqlField field(QString(), value.metaType());
    field.setValue(value);
    const QString text = db.driver()->formatValue(field);
    // "x -?" must not become the comment "x --5".
    return text.startsWith(u'-') ? '(' + text + ')' : text;
}

/// `text` with each `?` outside quotes replaced by the next bind as a literal; empty when the
/// counts differ.
inline QString withLiterals(const QSqlDatabase &db, const QString &text, const QVariantList &binds)
{
    QString out;
    out.reserve(text.size() + 16 * binds.size());
    qsizetype next = 0;
    QChar quote;
    for (const QChar c : text) {
        if (!quote.isNull()) {
            if (c == quote) // '' inside a string closes and reopens it: the same text
                quote = QChar();
        } else if (c == u'\'' || c == u'"') {
            quote = c;
        } else if (c == u'?') {
            if (next == binds.size())
                return {};
            const QVariant &b = binds[next++];
            // A null QString binds as SQL NULL; text columns here are NOT NULL, so send ''.
            out += literal(db, b.typeId() == QMetaType::QString && b.toString().isNull()
                                   ? QVariant(QStringLiteral(""))
                                   : b);
            continue;
        }
        out += c;
    }
    return next == binds.size() ? out : QString();
}

/// Prepares, binds positionally and runs one statement. On PostgreSQL the values are written
/// into the text by the driver and the statement runs as one simple query: QPSQL would send
/// PREPARE, EXECUTE and DEALLOCATE, three round trips for a statement used once (statements
/// used often are prepared once and kept: SqlStore::run).
inline Result<QSqlQuery> exec(const QSqlDatabase &db, const QString &text,
                              const QVariantList &binds = {})
{
    QSqlQuery q(db);
    if (db.driverName() == QLatin1String("QPSQL")) {
        const QString full = binds.isEmpty() ? text : withLiterals(db, text, binds);
        if (full.isEmpty())
            return makeError("internal", "database: the statement's values do not match its "
                                         "placeholders");
        if (!q.exec(full))
            return makeError("internal", "database: " + q.lastError().text());
        return q;
    }
    if (!q.prepare(text))
        return makeError("internal", "database: " + q.lastError().text());
    for (const QVariant &b : binds) {
        // A null QString binds as SQL NULL; text columns here are NOT NULL, so send ''.
        if (b.typeId() == QMetaType::QString && b.toString().isNull())
            q.addBindValue(QStringLiteral(""));
        else
            q.addBindValue(b);
    }
    if (!q.exec())
        return makeError("internal", "database: " + q.lastError().text());
    return q;
}

/// Splits a migration into statements at ';' line ends, leaving out comment lines ("--") and
/// keeping trigger bodies (BEGIN … END;) whole.
inline QStringList splitStatements(const QString &text)
{
    QStringList out;
    QString current;
    bool inTrigger = false;
    for (const QString &line : text.split('\n')) {
        const QString t = line.trimmed();
        if (t.isEmpty() || t.startsWith(QLatin1String("--")))
            continue;
        if (t.startsWith(QLatin1String("CREATE TRIGGER"), Qt::CaseInsensitive))
            inTrigger = true;
        current += line + '\n';
        const bool ends = inTrigger ? t.compare(QLatin1String("END;"), Qt::CaseInsensitive) == 0
                                    : t.endsWith(';');
        if (ends) {
            out.append(current);
            current.clear();
            inTrigger = false;
        }
    }
    if (!current.trimmed().isEmpty())
        out.append(current);
    return out;
}

} // namespace farm::server::sql
