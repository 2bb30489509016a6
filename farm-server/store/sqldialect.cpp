#include "store/sqldialect.h"

#include <QRegularExpression>
#include <QUrl>
#include <QUrlQuery>

namespace farm::server {

QString SqlDialect::driver() const
{
    return postgres() ? QStringLiteral("QPSQL") : QStringLiteral("QSQLITE");
}

QString SqlDialect::migrationsDir() const
{
    return postgres() ? QStringLiteral(":/migrations/postgres")
                      : QStringLiteral(":/migrations/sqlite");
}

QString SqlDialect::octetLength(const QString &expr) const
{
    return postgres() ? QString("octet_length(%1)").arg(expr)
                      : QString("length(CAST(%1 AS BLOB))").arg(expr);
}

QString SqlDialect::least() const
{
    return postgres() ? QStringLiteral("LEAST") : QStringLiteral("MIN");
}

QString SqlDialect::greatest() const
{
    return postgres() ? QStringLiteral("GREATEST") : QStringLiteral("MAX");
}

QString SqlDialect::likeNoCase() const
{
    return postgres() ? QStringLiteral("ILIKE") : QStringLiteral("LIKE");
}

QString SqlDialect::lockRows() const
{
    return postgres() ? QStringLiteral(" FOR UPDATE") : QString();
}

QString DatabaseUrl::display() const
{
    if (backend == SqlBackend::Sqlite)
        return path;
    QUrl u;
    u.setScheme("postgresql");
    u.setUserName(user);
    if (!host.startsWith('/'))
        u.setHost(host);
    u.setPort(port);
    u.setPath('/' + name);
    QUrlQuery q;
    if (host.startsWith('/'))
        q.addQueryItem("host", host);
    if (!schema.isEmpty())
        q.addQueryItem("schema", schema);
    for (const QString &o : options)
        q.addQueryItem(o.section('=', 0, 0), o.section('=', 1));
    u.setQuery(q);
    return u.toString();
}

namespace {

Result<DatabaseUrl> urlError(const QString &text, const QString &why)
{
    return makeError("invalid_argument",
                     QString("--database %1: %2 (expected postgresql://user:password@host:port/"
                             "dbname, docs/DATABASE.md)")
                         .arg(text, why));
}

} // namespace

Result<DatabaseUrl> DatabaseUrl::parse(const QString &text)
{
    static const QRegularExpression scheme(QStringLiteral("^([A-Za-z][A-Za-z0-9+.-]*)://"));
    const auto m = scheme.match(text);
    if (!m.hasMatch()) {
        if (text.trimmed().isEmpty())
            return makeError("invalid_argument", "the database path must not be empty");
        DatabaseUrl d;
        d.path = text;
        return d;
    }
    const QString s = m.captured(1).toLower();
    if (s != "postgresql" && s != "postgres")
        return urlError(text, QString("'%1' databases are not supported; only postgresql:// "
                                      "(and SQLite, the default, in --data)")
                                  .arg(s));
    const QUrl url(text, QUrl::StrictMode);
    if (!url.isValid())
        return urlError(text, url.errorString());
    DatabaseUrl d;
    d.backend = SqlBackend::Postgres;
    d.user = url.userName(QUrl::FullyDecoded);
    d.password = url.password(QUrl::FullyDecoded);
    d.host = url.host(QUrl::FullyDecoded);
    d.port = url.port(5432);
    if (d.port <= 0 || d.port > 65535)
        return urlError(text, "the port must be 1-65535");
    d.name = url.path(QUrl::FullyDecoded).mid(1);
    if (d.name.isEmpty() || d.name.contains('/'))
        return urlError(text, "it names no database (the path after the host: /dbname)");
    static const QRegularExpression identifier(QStringLiteral("^[a-z_][a-z0-9_]{0,62}$"));
    // libpq's own options that make sense for a server; others are refused by name, not
    // passed on blind.
    static const QStringList passed{"sslmode",
                                    "sslrootcert",
                                    "sslcert",
                                    "sslkey",
                                    "connect_timeout",
                                    "application_name",
                                    "target_session_attrs",
                                    "keepalives",
                                    "keepalives_idle"};
    const QUrlQuery query(url);
    for (const auto &[key, value] : query.queryItems(QUrl::FullyDecoded)) {
        if (key == "host") {
            d.host = value;
        } else if (key == "port") {
            bool ok = false;
            d.port = value.toInt(&ok);
            if (!ok || d.port <= 0 || d.port > 65535)
                return urlError(text, "the port must be 1-65535");
        } else if (key == "schema") {
            if (!identifier.match(value).hasMatch())
                return urlError(
                    text, QString("schema '%1' is not a plain lower-case SQL name").arg(value));
            d.schema = value;
        } else if (passed.contains(key)) {
            if (value.contains('\'') || value.contains('\\') || value.contains(' ') ||
                value.contains(';'))
                return urlError(text, QString("option %1 has quotes, spaces or ';'").arg(key));
            d.options.append(key + '=' + value);
        } else {
            return urlError(text, QString("unknown option '%1' (known: host, port, schema, %2)")
                                      .arg(key, passed.join(", ")));
        }
    }
    if (d.host.isEmpty())
        return urlError(text, "it names no host (host name, address, or ?host=/socket/dir)");
    return d;
}

} // namespace farm::server
