// The dashboard files are bundled as Qt resources: every file the page loads (index.html
// links, ES module imports) must be in the resource list, and request paths must map onto
// ":/web" without any way out.
#include "webui.h"

#include <QDirIterator>
#include <QFile>
#include <QRegularExpression>
#include <QSet>
#include <QTest>

class TstWebUiResources : public QObject
{
    Q_OBJECT

private:
    static QString read(const QString &path)
    {
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly))
            return {};
        return QString::fromUtf8(f.readAll());
    }

private slots:
    void indexIsBundled()
    {
        const QString html = read(farm::webui::resourcePath("/"));
        // Relative to the page, so that it also loads under a proxy's base path (/farm/).
        QVERIFY(html.contains("<script type=\"module\" src=\"js/app.js\">"));
        QVERIFY(html.contains("\"css/app.css\""));
    }

    void everyLinkedFileIsBundled()
    {
        // index.html links plus the whole ES module graph reachable from app.js. (No raw string
        // literals here: moc 6.4 mis-tokenizes them and then skips the class.)
        QStringList pending;
        static const QRegularExpression link(
            QStringLiteral("(?:href|src)=\"/?((?:css|js|img)/[^\"]+)\""));
        for (const char *page : {":/web/index.html", ":/web/docs.html"}) {
            const QString html = read(page);
            QVERIFY2(!html.isEmpty(), page);
            for (auto it = link.globalMatch(html); it.hasNext();)
                pending << '/' + it.next().captured(1);
        }
        QVERIFY(pending.contains("/js/app.js"));
        QVERIFY(pending.contains("/js/apidocs.js"));
        static const QRegularExpression import(
            QStringLiteral("\\bfrom\\s+'\\./([A-Za-z0-9_.-]+\\.js)'"));
        QSet<QString> seen;
        while (!pending.isEmpty()) {
            const QString url = pending.takeFirst();
            if (seen.contains(url))
                continue;
            seen.insert(url);
            const QString path = farm::webui::resourcePath(url);
            QVERIFY2(!path.isEmpty(), qPrintable(url + " is linked but not bundled"));
            if (!url.endsWith(".js"))
                continue;
            const QString js = read(path);
            QVERIFY2(!js.isEmpty(), qPrintable(url + " is empty"));
            for (auto it = import.globalMatch(js); it.hasNext();)
                pending << "/js/" + it.next().captured(1);
        }
        QVERIFY(seen.size() >= 10);
    }

    void noStrayBundledFiles()
    {
        // Every bundled file is reachable through resourcePath (one folder level, plain names).
        int files = 0;
        for (QDirIterator it(":/web", QDirIterator::Subdirectories); it.hasNext();) {
            const QString path = it.next();
            if (!QFileInfo(path).isFile())
                continue;
            ++files;
            const QString url = path.mid(QStringLiteral(":/web").size());
            if (url == "/index.html")
                continue;
            QCOMPARE(farm::webui::resourcePath(url), path);
        }
        QVERIFY(files >= 12);
    }

    void rejectsPathsOutsideTheDashboard_data()
    {
        QTest::addColumn<QString>("url");
        QTest::newRow("parent") << "/js/../index.html";
        QTest::newRow("dotdot name") << "/js/..";
        QTest::newRow("nested") << "/js/sub/app.js";
        QTest::newRow("other folder") << "/api/v1/status";
        QTest::newRow("hidden") << "/js/.app.js";
        QTest::newRow("missing") << "/js/nope.js";
        QTest::newRow("no slash") << "js/app.js";
        QTest::newRow("backslash") << "/js/..\\index.html";
        QTest::newRow("encoded") << "/js/%2e%2e/index.html";
        QTest::newRow("folder only") << "/css/";
    }

    void rejectsPathsOutsideTheDashboard()
    {
        QFETCH(QString, url);
        QCOMPARE(farm::webui::resourcePath(url), QString());
    }

    void contentTypes_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QByteArray>("type");
        QTest::newRow("js") << "app.js" << QByteArray("text/javascript; charset=utf-8");
        QTest::newRow("css") << "app.css" << QByteArray("text/css; charset=utf-8");
        QTest::newRow("html") << ":/web/index.html" << QByteArray("text/html; charset=utf-8");
        QTest::newRow("svg") << "favicon.svg" << QByteArray("image/svg+xml");
        QTest::newRow("upper") << "FRAME.PNG" << QByteArray("image/png");
        QTest::newRow("unknown") << "data.bin" << QByteArray("application/octet-stream");
    }

    void contentTypes()
    {
        QFETCH(QString, name);
        QFETCH(QByteArray, type);
        QCOMPARE(farm::webui::contentType(name), type);
    }
};

QTEST_GUILESS_MAIN(TstWebUiResources)
#include "tst_webuiresources.moc"
