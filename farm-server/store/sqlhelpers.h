#pragma once

#include "util/result.h"

#include <QDateTime>
#include <QSqlDatabase>
#include <QSqlError>
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

/// Prepares, binds positionally and runs one statement.
inline Result<QSqlQuery> exec(const QSqlDatabase &db, const QString &text,
                              const QVariantList &binds = {})
{
    QSqlQuery q(db);
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
