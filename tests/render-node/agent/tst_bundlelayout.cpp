// Laying an input bundle out in a task's work directory: relative paths kept, hard links to the
// cache (copies where linking fails), read-only, never through or onto a symlink.
#include "agent/bundlelayout.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/stat.h>

using namespace farm;
using namespace farm::node;

namespace {

QString write(const QString &path, const QByteArray &bytes)
{
    QDir().mkpath(QFileInfo(path).path());
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size())
        qFatal("cannot write %s", qPrintable(path));
    return path;
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

struct stat statOf(const QString &path)
{
    struct stat st
    {};
    ::lstat(QFile::encodeName(path).constData(), &st);
    return st;
}

} // namespace

class TestBundleLayout : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;

    QString cached(const QString &name, const QByteArray &bytes)
    {
        return write(m_dir.filePath("cache/" + name), bytes);
    }

private slots:
    void laysOutRelativePaths()
    {
        const QString scene = cached("a/scene.blend", "blend");
        const QString wood = cached("b/wood.png", "wood");
        const QString root = m_dir.filePath("work1/input");
        QVERIFY(QDir().mkpath(m_dir.filePath("work1")));
        const auto r = layOutBundle(root, {{"shots/scene.blend", scene},
                                           {"shots/textures/wood.png", wood},
                                           {"textures/wood.png", wood}});
        QVERIFY2(r.ok(), qPrintable(r.ok() ? "" : r.error().message));
        QCOMPARE(readAll(root + "/shots/scene.blend"), QByteArray("blend"));
        QCOMPARE(readAll(root + "/shots/textures/wood.png"), QByteArray("wood"));
        QCOMPARE(readAll(root + "/textures/wood.png"), QByteArray("wood"));
        // Hard links: one inode with the cache (same filesystem here), and read-only.
        QCOMPARE(statOf(root + "/shots/scene.blend").st_ino, statOf(scene).st_ino);
        QCOMPARE(statOf(wood).st_nlink, nlink_t(3));
        QCOMPARE(statOf(root + "/shots/scene.blend").st_mode & 0777, mode_t(0444));
    }

    void copiesAcrossFilesystems()
    {
        // /dev/shm is a tmpfs: a link from there into the temporary dir crosses filesystems.
        QTemporaryDir shm("/dev/shm/farm-bundle-XXXXXX");
        if (!shm.isValid() || statOf(shm.path()).st_dev == statOf(m_dir.path()).st_dev)
            QSKIP("no second filesystem to copy across");
        const QString source = write(shm.filePath("lib.blend"), QByteArray(200000, 'x'));
        const QString root = m_dir.filePath("work2/input");
        QVERIFY(QDir().mkpath(m_dir.filePath("work2")));
        const auto r = layOutBundle(root, {{"libs/lib.blend", source}});
        QVERIFY2(r.ok(), qPrintable(r.ok() ? "" : r.error().message));
        QCOMPARE(readAll(root + "/libs/lib.blend"), QByteArray(200000, 'x'));
        QVERIFY(statOf(root + "/libs/lib.blend").st_ino != statOf(source).st_ino);
        QCOMPARE(statOf(root + "/libs/lib.blend").st_mode & 0777, mode_t(0444));
    }

    void refuses_data()
    {
        QTest::addColumn<QStringList>("paths");
        QTest::addColumn<QString>("expected");
        QTest::newRow("parent") << QStringList{"../evil.png"} << "would leave";
        QTest::newRow("absolute") << QStringList{"/etc/passwd"} << "would leave";
        QTest::newRow("inner parent") << QStringList{"a/../../b"} << "would leave";
        QTest::newRow("twice") << QStringList{"a.png", "a.png"} << "is there twice";
        QTest::newRow("file as folder") << QStringList{"a", "a/b.png"} << "cannot create folder";
        QTest::newRow("folder as file") << QStringList{"a/b.png", "a"} << "is there twice";
    }

    void refuses()
    {
        QFETCH(QStringList, paths);
        QFETCH(QString, expected);
        const QString source = cached("x.png", "x");
        QList<CachedBundleFile> files;
        for (const QString &p : paths)
            files.append({p, source});
        QTemporaryDir work;
        const auto r = layOutBundle(work.filePath("input"), files);
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.contains(expected), qPrintable(r.error().message));
        QVERIFY(!QFile::exists(work.path() + "/evil.png"));
    }

    void neverThroughSymlinks()
    {
        // A cached "file" that is a symlink is refused (it could point anywhere).
        const QString target = cached("secret.txt", "secret");
        const QString link = m_dir.filePath("cache/link.png");
        QVERIFY(QFile::link(target, link));
        QTemporaryDir work;
        auto r = layOutBundle(work.filePath("input"), {{"a.png", link}});
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.contains("not a regular file"), qPrintable(r.error().message));

        // An input folder that already exists (a symlink planted there included) is refused
        // rather than written through.
        QTemporaryDir elsewhere;
        QVERIFY(QFile::link(elsewhere.path(), work.filePath("input2")));
        r = layOutBundle(work.filePath("input2"), {{"a.png", target}});
        QVERIFY(!r.ok());
        QVERIFY(QDir(elsewhere.path()).isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestBundleLayout)
#include "tst_bundlelayout.moc"
