#pragma once

#include <QAtomicInt>
#include <QCoreApplication>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QString>
#include <QTemporaryDir>
#include <QUrl>
#include <QtTest>

namespace farm::server::test {

/// The database a test's store opens (docs/DATABASE.md, "Tests"): a SQLite file in the test's
/// temporary dir, or, in a test's PostgreSQL variant (ctest's tst_*_pg entries set
/// FARM_TEST_BACKEND=postgres), a schema of its own in the PostgreSQL database named by
/// FARM_TEST_PG_URL (scripts/test.sh starts a server and sets it). The schema is dropped when
/// this goes away: declare it before the store.
class TestDatabase
{
public:
    static bool postgres() { return qgetenv("FARM_TEST_BACKEND") == "postgres"; }

    /// Why this test cannot run here (its PostgreSQL variant without a server); empty: it can.
    /// Under scripts/test.sh the URL is always set, so the variant always runs there.
    static QString unavailable()
    {
        if (postgres() && qEnvironmentVariableIsEmpty("FARM_TEST_PG_URL"))
            return "the PostgreSQL variant needs FARM_TEST_PG_URL (scripts/test.sh starts a "
                   "server and sets it; scripts/test-postgres.sh starts one by hand)";
        return {};
    }

    explicit TestDatabase(const QTemporaryDir &dir)
    {
        if (!postgres()) {
            m_url = dir.filePath("farm.db");
            return;
        }
        static QAtomicInt counter;
        m_schema = QString("farm_t%1_%2")
                       .arg(QCoreApplication::applicationPid())
                       .arg(counter.fetchAndAddRelaxed(1));
        QUrl url(qEnvironmentVariable("FARM_TEST_PG_URL"));
        url.setQuery(url.query().isEmpty() ? "schema=" + m_schema
                                           : url.query() + "&schema=" + m_schema);
        m_url = url.toString();
        dropSchema(); // left by an earlier run of a process with the same id
    }
    ~TestDatabase()
    {
        if (!m_schema.isEmpty())
            dropSchema();
    }
    TestDatabase(const TestDatabase &) = delete;
    TestDatabase &operator=(const TestDatabase &) = delete;

    /// What SqlStore::open() and ServerConfig::database take.
    QString url() const { return m_url; }
    /// The SQLite file when not on PostgreSQL.
    QString path() const { return postgres() ? QString() : m_url; }

private:
    void dropSchema()
    {
        const QString name = "farm-test-admin-" + m_schema;
        {
            const QUrl url(qEnvironmentVariable("FARM_TEST_PG_URL"));
            QSqlDatabase db = QSqlDatabase::addDatabase("QPSQL", name);
            db.setHostName(url.host());
            db.setPort(url.port(5432));
            db.setUserName(url.userName());
            db.setPassword(url.password());
            db.setDatabaseName(url.path().mid(1));
            if (!db.open())
                qFatal("test database: cannot connect to %s: %s",
                       qPrintable(url.toString(QUrl::RemovePassword)),
                       qPrintable(db.lastError().text()));
            QSqlQuery q(db);
            q.exec("SET client_min_messages TO warning");
            if (!q.exec(QString("DROP SCHEMA IF EXISTS %1 CASCADE").arg(m_schema)))
                qWarning("test database: %s", qPrintable(q.lastError().text()));
        }
        QSqlDatabase::removeDatabase(name);
    }

    QString m_url;
    QString m_schema;
};

} // namespace farm::server::test

/// In initTestCase(): skips the whole test when its backend is not available here.
#define FARM_REQUIRE_TEST_DATABASE()                                                               \
    do {                                                                                           \
        const QString why = farm::server::test::TestDatabase::unavailable();                       \
        if (!why.isEmpty())                                                                        \
            QSKIP(qPrintable(why));                                                                \
    } while (false)
