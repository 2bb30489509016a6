#pragma once

#include "util/result.h"

#include <QDateTime>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
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

} // namespace farm::server::sql
