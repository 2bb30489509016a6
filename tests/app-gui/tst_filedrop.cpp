#include "widgets/filedrop.h"
#include "widgets/mainwindow.h"

#include <QMimeData>
#include <QTemporaryDir>
#include <QtTest>

using farm::gui::FileDrop;

class TestFileDrop : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    QString m_a, m_b;

private slots:
    void initTestCase()
    {
        m_a = m_dir.filePath("engine.glb");
        m_b = m_dir.filePath("bolt.stl");
        for (const QString &p : {m_a, m_b}) {
            QFile f(p);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("solid x\n");
        }
        QVERIFY(QDir(m_dir.path()).mkdir("folder"));
    }

    void localFiles_data()
    {
        QTest::addColumn<QStringList>("urls");
        QTest::addColumn<int>("accepted");
        QTest::newRow("one file") << QStringList{"A"} << 1;
        QTest::newRow("many files") << QStringList{"A", "B"} << 2;
        QTest::newRow("duplicate") << QStringList{"A", "A"} << 1;
        QTest::newRow("web url") << QStringList{"https://example.org/engine.glb"} << 0;
        QTest::newRow("folder") << QStringList{"DIR"} << 0;
        QTest::newRow("missing") << QStringList{"MISSING"} << 0;
        QTest::newRow("mixed") << QStringList{"https://example.org/x.glb", "B", "DIR"} << 1;
    }

    void localFiles()
    {
        QFETCH(QStringList, urls);
        QFETCH(int, accepted);
        QList<QUrl> list;
        for (const QString &u : urls) {
            if (u == "A")
                list.append(QUrl::fromLocalFile(m_a));
            else if (u == "B")
                list.append(QUrl::fromLocalFile(m_b));
            else if (u == "DIR")
                list.append(QUrl::fromLocalFile(m_dir.filePath("folder")));
            else if (u == "MISSING")
                list.append(QUrl::fromLocalFile(m_dir.filePath("gone.obj")));
            else
                list.append(QUrl(u));
        }
        QMimeData mime;
        mime.setUrls(list);
        QCOMPARE(FileDrop::localFiles(&mime).size(), accepted);
        QCOMPARE(FileDrop::accepts(&mime), accepted > 0);
    }

    void textIsNotAFile()
    {
        QMimeData mime;
        mime.setText(m_a);
        QVERIFY(!FileDrop::accepts(&mime));
        QVERIFY(!FileDrop::accepts(nullptr));
    }

    void windowAcceptsOnlyFiles()
    {
        farm::gui::MainWindow window(nullptr);
        window.show();
        QMimeData files;
        files.setUrls({QUrl::fromLocalFile(m_a)});
        QDragEnterEvent enter(QPoint(50, 50), Qt::CopyAction, &files, Qt::LeftButton,
                              Qt::NoModifier);
        QApplication::sendEvent(&window, &enter);
        QVERIFY(enter.isAccepted());

        QMimeData web;
        web.setUrls({QUrl("https://example.org/engine.glb")});
        QDragEnterEvent refused(QPoint(50, 50), Qt::CopyAction, &web, Qt::LeftButton,
                                Qt::NoModifier);
        QApplication::sendEvent(&window, &refused);
        QVERIFY(!refused.isAccepted());
    }
};

QTEST_MAIN(TestFileDrop)
#include "tst_filedrop.moc"
