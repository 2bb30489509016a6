#include "dialogs/submitdialog.h"
#include "guitesting.h"
#include "models/dropbundle.h"
#include "testzip.h"
#include "widgets/filedrop.h"
#include "widgets/mainwindow.h"

#include <QComboBox>
#include <QLabel>
#include <QMimeData>
#include <QTemporaryDir>
#include <QtTest>

using namespace farm;
using farm::gui::DropBundle;
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
        QTest::newRow("folder") << QStringList{"DIR"} << 1;
        QTest::newRow("missing") << QStringList{"MISSING"} << 0;
        QTest::newRow("mixed") << QStringList{"https://example.org/x.glb", "B", "DIR"} << 2;
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
        QCOMPARE(FileDrop::localPaths(&mime).size(), accepted);
        QCOMPARE(FileDrop::accepts(&mime), accepted > 0);
    }

    void folderDropIsOneBundle()
    {
        const QString box = m_dir.filePath("drop/box");
        if (!testing::copyFolder(testing::kBoxTextured, box))
            QSKIP("assimp-testmodels is not installed");
        const QStringList extensions = client::allExtensions(testing::jobTypes());
        const auto b = DropBundle::fromPaths({box}, extensions);
        QVERIFY2(b.ok(), qPrintable(b.ok() ? "" : b.error().message));
        QCOMPARE(b->root(), QDir::cleanPath(box));
        QCOMPARE(b->candidates(), QStringList{"BoxTextured.gltf"});
        QCOMPARE(b->main(), QString("BoxTextured.gltf"));
        QCOMPARE(b->files(),
                 (QStringList{"BoxTextured.gltf", "BoxTextured0.bin", "CesiumLogoFlat.png"}));
        QVERIFY(b->missing().isEmpty());
        const client::BundleSource source = b->source();
        QVERIFY(source.check().ok());
        QCOMPARE(source.files, b->files());

        // A folder in a folder: paths keep their subfolders.
        const QString scene = m_dir.filePath("drop/scene");
        QVERIFY(testing::copyFolder(testing::kBoxTextured, scene + "/models"));
        const auto nested = DropBundle::fromPaths({scene}, extensions);
        QVERIFY(nested.ok());
        QCOMPARE(nested->main(), QString("models/BoxTextured.gltf"));
        QVERIFY(nested->files().contains("models/CesiumLogoFlat.png"));
        QVERIFY(nested->source().check().ok());
    }

    void objWithMaterialAndTextures()
    {
        const QString dir = m_dir.filePath("drop/spider");
        QDir().mkpath(dir + "/unrelated");
        const QStringList parts{"spider.obj",      "spider.mtl",        "wal67ar_small.jpg",
                                "SpiderTex.jpg",   "wal69ar_small.jpg", "drkwood2.jpg",
                                "engineflare1.jpg"};
        for (const QString &f : parts)
            if (!QFile::copy(QString(testing::kObjFolder) + '/' + f, dir + '/' + f))
                QSKIP("assimp-testmodels is not installed");
        const QStringList extensions = client::allExtensions(testing::jobTypes());
        // One file: the .mtl and the textures it names come along.
        const auto file = DropBundle::fromPaths({dir + "/spider.obj"}, extensions);
        QVERIFY(file.ok());
        QCOMPARE(file->main(), QString("spider.obj"));
        QStringList expected = parts;
        const QStringList files = file->files();
        QCOMPARE(QSet<QString>(files.begin(), files.end()),
                 QSet<QString>(expected.begin(), expected.end()));
        QCOMPARE(file->files().first(), QString("spider.obj"));
        QVERIFY(file->missing().isEmpty());

        // A texture gone: named, with the file that needs it.
        QVERIFY(QFile::remove(dir + "/drkwood2.jpg"));
        const auto gap = DropBundle::fromPaths({dir}, extensions);
        QVERIFY(gap.ok());
        QCOMPARE(gap->missing().size(), 1);
        QVERIFY2(gap->missing().first().startsWith("spider.mtl needs") &&
                     gap->missing().first().contains("drkwood2.jpg"),
                 qPrintable(gap->missing().first()));
    }

    void severalFilesAreOneBundleAtTheirCommonRoot()
    {
        const QString root = m_dir.filePath("drop/many");
        if (!testing::copyFolder(testing::kBoxTextured, root + "/box"))
            QSKIP("assimp-testmodels is not installed");
        QDir().mkpath(root + "/parts");
        QFile obj(root + "/parts/bolt.obj");
        QVERIFY(obj.open(QIODevice::WriteOnly));
        obj.write("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n");
        obj.close();
        const QStringList extensions = client::allExtensions(testing::jobTypes());
        auto b = DropBundle::fromPaths({root + "/box/BoxTextured.gltf", root + "/parts/bolt.obj"},
                                       extensions);
        QVERIFY(b.ok());
        QCOMPARE(b->root(), QDir::cleanPath(root));
        QCOMPARE(b->candidates(), (QStringList{"box/BoxTextured.gltf", "parts/bolt.obj"}));
        QCOMPARE(b->main(), QString("box/BoxTextured.gltf"));
        const QStringList files = b->files();
        QCOMPARE(QSet<QString>(files.begin(), files.end()),
                 (QSet<QString>{"box/BoxTextured.gltf", "box/BoxTextured0.bin",
                                "box/CesiumLogoFlat.png", "parts/bolt.obj"}));
        QVERIFY(b->missing().isEmpty());
        QVERIFY(b->setMain("parts/bolt.obj").ok());
        QCOMPARE(b->files().first(), QString("parts/bolt.obj"));
        QVERIFY(!b->setMain("box/BoxTextured0.bin").ok());

        // Nothing a type takes.
        const auto none = DropBundle::fromPaths({root + "/box/BoxTextured0.bin"}, extensions);
        QVERIFY(!none.ok());
        QCOMPARE(none.error().code, QString("no_main_file"));
    }

    void zipIsOneArchive()
    {
        const QString path = m_dir.filePath("drop/scene.zip");
        QDir().mkpath(m_dir.filePath("drop"));
        QFile zip(path);
        QVERIFY(zip.open(QIODevice::WriteOnly));
        zip.write(testing::makeZip(
            {{"scene/a.gltf", "{}"}, {"scene/b.obj", "v 0 0 0\n"}, {"scene/tex.png", "png"}}));
        zip.close();
        auto b = DropBundle::fromPaths({path}, client::allExtensions(testing::jobTypes()));
        QVERIFY(b.ok());
        QVERIFY(b->isArchive());
        QCOMPARE(b->candidates(), (QStringList{"scene/a.gltf", "scene/b.obj"}));
        QVERIFY(b->setMain("scene/b.obj").ok());
        const client::BundleSource source = b->source();
        QCOMPARE(source.archive, QFileInfo(path).absoluteFilePath());
        QCOMPARE(source.main, QString("scene/b.obj"));
        QVERIFY(b->missing().isEmpty()); // the server checks an archive once it is unpacked
        QCOMPARE(source.localPaths(), QStringList{QFileInfo(path).absoluteFilePath()});
    }

    // What the chosen type takes beside its main file (the served side_extensions) travels;
    // the rest is left out and named before any upload.
    void filesNoTypeTakesAreLeftOut()
    {
        const QString dir = m_dir.filePath("drop/sides");
        if (!testing::copyFolder(testing::kBoxTextured, dir))
            QSKIP("assimp-testmodels is not installed");
        for (const char *extra : {"notes.txt", "render.log", "README"}) {
            QFile f(dir + '/' + QString(extra));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("not a scene file\n");
        }
        const QList<client::JobTypeInfo> types = testing::jobTypes();
        const client::JobTypeInfo *model = client::findJobType(types, "model");
        const client::JobTypeInfo *blender = client::findJobType(types, "blender");
        QVERIFY(model && blender);
        QVERIFY(model->sideExtensions.contains("bin") && !model->sideExtensions.contains("txt"));
        QCOMPARE(blender->sideExtensions, QStringList{"*"});
        QVERIFY(model->takesBeside("maps/Wood.PNG"));
        QVERIFY(!model->takesBeside("notes.txt"));
        QVERIFY(!model->takesBeside("README"));
        QVERIFY(blender->takesBeside("README"));

        auto b = DropBundle::fromPaths({dir}, client::allExtensions(types));
        QVERIFY(b.ok());
        QCOMPARE(b->main(), QString("BoxTextured.gltf"));
        QVERIFY(b->files().contains("notes.txt")); // no type chosen yet: anything travels
        b->setSideExtensions(model->sideExtensions);
        QCOMPARE(b->leftOut(), (QStringList{"README", "notes.txt", "render.log"}));
        QCOMPARE(b->files(),
                 (QStringList{"BoxTextured.gltf", "BoxTextured0.bin", "CesiumLogoFlat.png"}));
        QCOMPARE(b->source().files, b->files());
        QVERIFY(b->source().check().ok());
        b->setSideExtensions({"*"});
        QVERIFY(b->leftOut().isEmpty());
        QCOMPARE(b->files().size(), 6);
        b->setSideExtensions({}); // the main file alone
        QCOMPARE(b->files(), QStringList{"BoxTextured.gltf"});

        // The dialog names them under the bundle, for the type chosen.
        {
            farm::gui::SubmitDialog d(*DropBundle::fromPaths({dir}, client::allExtensions(types)),
                                      types, nullptr);
            d.show();
            QCOMPARE(d.currentType()->name, QString("model"));
            auto *leftOut = d.findChild<QLabel *>("leftOut");
            QVERIFY(!leftOut->isHidden());
            QVERIFY2(leftOut->text().contains("notes.txt") && leftOut->text().contains("README") &&
                         leftOut->text().contains(".mtl"),
                     qPrintable(leftOut->text()));
            QCOMPARE(d.bundle().source().files.size(), 3);
            // testonly declares no side_extensions: it takes any file (as servers did before).
            auto *type = d.findChild<QComboBox *>("type");
            type->setCurrentIndex(type->findData("testonly"));
            QVERIFY(leftOut->isHidden());
            QCOMPARE(d.bundle().source().files.size(), 6);
        }

        // An archive travels whole: the files the type refuses are named and nothing is sent.
        const QString path = m_dir.filePath("drop/sides.zip");
        QFile zip(path);
        QVERIFY(zip.open(QIODevice::WriteOnly));
        zip.write(testing::makeZip({{"a.obj", "v 0 0 0\n"}, {"notes.txt", "hello"}}));
        zip.close();
        farm::gui::SubmitDialog d(*DropBundle::fromPaths({path}, client::allExtensions(types)),
                                  types, nullptr);
        d.show();
        QCOMPARE(d.bundle().leftOut(), QStringList{"notes.txt"});
        QVERIFY(!d.findChild<QLabel *>("leftOut")->isHidden());
        d.accept();
        QCOMPARE(d.result(), int(QDialog::Rejected));
        QVERIFY2(d.findChild<QLabel *>("error")->text().contains("notes.txt"),
                 qPrintable(d.findChild<QLabel *>("error")->text()));
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
        files.setUrls({QUrl::fromLocalFile(m_a), QUrl::fromLocalFile(m_dir.filePath("folder"))});
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
