#pragma once

#include "util/result.h"

#include <QString>
#include <QStringList>

namespace farm::server {

enum class SqlBackend { Sqlite, Postgres };

/// The few places where SQLite's and PostgreSQL's SQL differ, named once so that every query
/// of SqlStore is written once (docs/DATABASE.md). Everything else is the common subset both
/// speak: `?` placeholders (QPSQL numbers them), `INSERT … RETURNING id`, `ON CONFLICT … DO
/// UPDATE`, `UPDATE … FROM`, `NULLS FIRST|LAST`, CAST for parameters whose type PostgreSQL
/// cannot infer.
struct SqlDialect
{
    SqlBackend backend = SqlBackend::Sqlite;

    bool postgres() const { return backend == SqlBackend::Postgres; }
    /// The Qt SQL driver: QSQLITE or QPSQL.
    QString driver() const;
    /// The migrations of this dialect, compiled in (resources/migrations/<dialect>/NNN_*.sql).
    QString migrationsDir() const;
    /// Bytes of a text expression in UTF-8.
    QString octetLength(const QString &expr) const;
    /// Scalar smallest/largest of two or more values (SQLite's MIN/MAX with several arguments).
    QString least() const;
    QString greatest() const;
    /// Case-insensitive LIKE (SQLite's LIKE is, for ASCII; PostgreSQL needs ILIKE).
    QString likeNoCase() const;
    /// Appended to a SELECT that reads rows the same transaction then changes: on PostgreSQL
    /// it locks them against another controller's transaction; SQLite has one writer anyway.
    QString lockRows() const;
};

/// Where the farm's database lives: a SQLite file, or a PostgreSQL server named by
/// `postgresql://user:password@host:port/dbname?schema=S&sslmode=…` (docs/DATABASE.md).
struct DatabaseUrl
{
    SqlBackend backend = SqlBackend::Sqlite;
    QString path; // SQLite: the file
    QString host; // PostgreSQL: a host name or address, or a unix socket directory (/…)
    int port = 5432;
    QString user;
    QString password;
    QString name;            // the database
    QString schema;          // tables live in this schema (made when missing); empty: public
    QStringList options;     // libpq connection options (key=value), from the query string
    QString display() const; // the URL without its password, for logs and errors

    /// A SQLite file path, or a postgresql:// (postgres://) URL checked in full: an error
    /// says what is wrong with it.
    static Result<DatabaseUrl> parse(const QString &text);
};

} // namespace farm::server
