// Unpacking uploaded zips: real archives written with libzip (names and modes the zip tool
// refuses to write), bombs, lying headers, damaged data; nothing may land outside the temp dir.
#include "files/zipextract.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QStandardPaths>
#include <QStringDecoder>
#include <QTemporaryDir>
#include <QTest>
#include <QtEndian>

#include <zip.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

using farm::Result;
using namespace farm::server;

namespace {

struct Item
{
    enum Kind { File, Folder, Mode };
    QByteArray name;
    QByteArray data;
    Kind kind = File;
    quint32 unixMode = 0; // for Mode: written as the unix mode in the external attributes
    bool store = false;
    quint16 encryption = ZIP_EM_NONE;
};

Item file(const QByteArray &name, const QByteArray &data, bool store = false)
{
    return {name, data, Item::File, 0, store, ZIP_EM_NONE};
}
Item folder(const QByteArray &name)
{
    return {name, {}, Item::Folder, 0, false, ZIP_EM_NONE};
}
Item withMode(const QByteArray &name, const QByteArray &data, quint32 mode)
{
    return {name, data, Item::Mode, mode, true, ZIP_EM_NONE};
}

// Non-ASCII UTF-8 names are flagged as UTF-8 (as zip tools do); other bytes go in as they are,
// which readers take as CP437.
zip_flags_t nameFlags(const QByteArray &name)
{
    const bool ascii =
        std::all_of(name.cbegin(), name.cend(), [](char c) { return uchar(c) < 128; });
    QStringDecoder utf8(QStringDecoder::Utf8);
    const QString decoded = utf8(name);
    return !ascii && !utf8.hasError() ? ZIP_FL_ENC_UTF_8 : 0;
}

// Writes `items` as a zip with libzip; QVERIFY-style: returns an error text or empty.
QString writeZip(const QString &path, const QList<Item> &items)
{
    int code = 0;
    zip_t *z = zip_open(QFile::encodeName(path).constData(), ZIP_CREATE | ZIP_TRUNCATE, &code);
    if (!z)
        return QStringLiteral("zip_open failed: %1").arg(code);
    for (const Item &item : items) {
        zip_int64_t index = -1;
        if (item.kind == Item::Folder) {
            index = zip_dir_add(z, item.name.constData(), nameFlags(item.name));
        } else {
            void *copy = std::malloc(size_t(std::max<qsizetype>(item.data.size(), 1)));
            std::memcpy(copy, item.data.constData(), size_t(item.data.size()));
            zip_source_t *source = zip_source_buffer(z, copy, zip_uint64_t(item.data.size()), 1);
            index = zip_file_add(z, item.name.constData(), source, nameFlags(item.name));
            if (index < 0)
                zip_source_free(source);
        }
        if (index < 0) {
            const QString error = QString::fromUtf8(zip_strerror(z));
            zip_discard(z);
            return QStringLiteral("cannot add %1: %2").arg(QString::fromUtf8(item.name), error);
        }
        if (item.kind == Item::Mode)
            zip_file_set_external_attributes(z, zip_uint64_t(index), 0, ZIP_OPSYS_UNIX,
                                             item.unixMode << 16);
        if (item.store)
            zip_set_file_compression(z, zip_uint64_t(index), ZIP_CM_STORE, 0);
        if (item.encryption != ZIP_EM_NONE &&
            zip_file_set_encryption(z, zip_uint64_t(index), item.encryption, "secret") != 0) {
            zip_discard(z);
            return QStringLiteral("cannot encrypt");
        }
    }
    if (zip_close(z) != 0) {
        const QString error = QString::fromUtf8(zip_strerror(z));
        zip_discard(z);
        return QStringLiteral("zip_close failed: %1").arg(error);
    }
    return {};
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

bool writeAll(const QString &path, const QByteArray &data)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(data) == data.size();
}

QString sha256(const QByteArray &data)
{
    return QString::fromLatin1(QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex());
}

// Every path under `dir`, hidden ones included, relative to it.
QStringList everything(const QString &dir)
{
    QStringList out;
    QDirIterator it(dir, QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot,
                    QDirIterator::Subdirectories);
    while (it.hasNext())
        out.append(QDir(dir).relativeFilePath(it.next()));
    out.sort();
    return out;
}

// Rewrites little-endian 32-bit fields of every local and central header in a zip's bytes.
void patchSizes(QByteArray &zipBytes, quint32 uncompressed)
{
    for (qsizetype at = 0; at + 46 <= zipBytes.size(); ++at) {
        const quint32 signature = qFromLittleEndian<quint32>(zipBytes.constData() + at);
        if (signature == 0x04034b50)
            qToLittleEndian<quint32>(uncompressed, zipBytes.data() + at + 22);
        else if (signature == 0x02014b50)
            qToLittleEndian<quint32>(uncompressed, zipBytes.data() + at + 24);
    }
}

QByteArray randomBytes(qsizetype size)
{
    QByteArray out(size, Qt::Uninitialized);
    QRandomGenerator generator(42);
    generator.fillRange(reinterpret_cast<quint32 *>(out.data()), size / 4);
    return out;
}

} // namespace

Q_DECLARE_METATYPE(Item)

class TestZipExtract : public QObject
{
    Q_OBJECT

    // sandbox/in holds the archive, sandbox/tmp is the temp dir: after a refusal the tmp dir
    // must be empty and nothing else may have appeared in the sandbox.
    QTemporaryDir m_sandbox;
    QString zipPath() const { return m_sandbox.filePath("in/upload.zip"); }
    QString tempDir() const { return m_sandbox.filePath("tmp"); }

    void checkRefusedCleanly(const Result<QList<ZipEntryFile>> &result, const QString &code,
                             const QStringList &inMessage)
    {
        QVERIFY2(!result.ok(), "the archive was accepted");
        QCOMPARE(result.error().code, code);
        for (const QString &part : inMessage)
            QVERIFY2(result.error().message.contains(part),
                     qPrintable(result.error().message + " lacks " + part));
        QCOMPARE(everything(tempDir()), QStringList());
        QCOMPARE(everything(m_sandbox.path()), (QStringList{"in", "in/upload.zip", "tmp"}));
    }

private slots:
    void init()
    {
        QVERIFY(m_sandbox.isValid());
        QDir(m_sandbox.path()).removeRecursively();
        QVERIFY(QDir().mkpath(m_sandbox.filePath("in")));
        QVERIFY(QDir().mkpath(tempDir()));
    }

    void goodArchive()
    {
        const QByteArray big = randomBytes(3 * 1024 * 1024 + 17); // several read buffers
        const QByteArray text = QByteArray("{\"asset\":{\"version\":\"2.0\"}}\n").repeated(1000);
        const QList<Item> items{
            folder("textures"),
            file("scene.gltf", text),
            file("textures/wood grain.png", big, true),
            file("textures/sub/deep/\xc3\x9f \xc3\xbc \xe6\x9c\xa8.png", "unicode"),
            file("empty.bin", {}),
            file("__MACOSX/._scene.gltf", "resource fork"),
            file(".DS_Store", "finder"),
            file("textures/.DS_Store", "finder"),
            file("./models//x.obj", "v 0 0 0\n"),
        };
        QCOMPARE(writeZip(zipPath(), items), QString());

        const auto result = extractZip(zipPath(), tempDir());
        QVERIFY2(result.ok(), result.ok() ? "" : qPrintable(result.error().message));
        const QList<std::pair<QString, QByteArray>> expected{
            {"scene.gltf", text},
            {"textures/wood grain.png", big},
            {QString::fromUtf8("textures/sub/deep/\xc3\x9f \xc3\xbc \xe6\x9c\xa8.png"), "unicode"},
            {"empty.bin", {}},
            {"models/x.obj", "v 0 0 0\n"},
        };
        QCOMPARE(result->size(), expected.size());
        QStringList temps;
        for (qsizetype i = 0; i < expected.size(); ++i) {
            const ZipEntryFile &f = result->at(i);
            QCOMPARE(f.path, expected.at(i).first);
            QCOMPARE(f.size, expected.at(i).second.size());
            QCOMPARE(f.sha256, sha256(expected.at(i).second));
            QCOMPARE(readAll(f.tempPath), expected.at(i).second);
            QCOMPARE(QFileInfo(f.tempPath).absolutePath(), QDir(tempDir()).absolutePath());
            QVERIFY(QFileInfo(f.tempPath).fileName() != QFileInfo(f.path).fileName());
            temps.append(QFileInfo(f.tempPath).fileName());
        }
        temps.sort();
        QCOMPARE(everything(tempDir()), temps);
        QCOMPARE(result->at(0).sha256,
                 QString::fromLatin1(
                     QCryptographicHash::hash(text, QCryptographicHash::Sha256).toHex()));
    }

    // A known SHA-256 from outside this code: "abc" (FIPS 180-2 example).
    void knownDigest()
    {
        QCOMPARE(writeZip(zipPath(), {file("abc.txt", "abc")}), QString());
        const auto result = extractZip(zipPath(), tempDir());
        QVERIFY(result.ok());
        QCOMPARE(result->constFirst().sha256,
                 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    void refusedNames_data()
    {
        QTest::addColumn<QByteArray>("name");
        QTest::addColumn<QString>("rule");
        QTest::newRow("parent") << QByteArray("../evil") << "holds '..'";
        QTest::newRow("parent later") << QByteArray("a/../../evil") << "holds '..'";
        QTest::newRow("parent inside") << QByteArray("a/../b.png") << "holds '..'";
        QTest::newRow("absolute") << QByteArray("/abs") << "is an absolute path";
        QTest::newRow("absolute tmp") << QByteArray("/tmp/farmhand-evil") << "is an absolute path";
        QTest::newRow("backslash") << QByteArray("dir\\..\\evil.png") << "holds a backslash";
        QTest::newRow("drive") << QByteArray("C:/evil.png") << "starts with a drive letter";
        QTest::newRow("drive relative") << QByteArray("c:evil.png") << "starts with a drive letter";
        QTest::newRow("colon") << QByteArray("a/b:c.png") << "holds a ':'";
        QTest::newRow("33 levels") << QByteArray("d/").repeated(32) + "x.png"
                                   << "is more than 32 levels deep";
        QTest::newRow("too long") << QByteArray(1100, 'n') << "is longer than 1024 characters";
    }
    void refusedNames()
    {
        QFETCH(QByteArray, name);
        QFETCH(QString, rule);
        QCOMPARE(writeZip(zipPath(), {file("ok.png", "fine"), file(name, "evil")}), QString());
        const auto result = extractZip(zipPath(), tempDir());
        checkRefusedCleanly(result, "invalid_archive", {QString::fromUtf8(name).left(300), rule});
        QVERIFY(!QFileInfo::exists("/tmp/farmhand-evil"));
    }

    // Names without the UTF-8 flag are CP437 (the zip spec): 0x82 is é, 0x01 is ☺ there, so a
    // control character can only arrive flagged as UTF-8, and such an archive is refused.
    void cp437Names()
    {
        QCOMPARE(writeZip(zipPath(), {file("caf\x82 \x01.png", "x")}), QString());
        const auto result = extractZip(zipPath(), tempDir());
        QVERIFY2(result.ok(), result.ok() ? "" : qPrintable(result.error().message));
        QCOMPARE(result->constFirst().path, QString::fromUtf8("caf\xc3\xa9 \xe2\x98\xba.png"));
    }
    void controlCharacterInUtf8Name()
    {
        QCOMPARE(writeZip(zipPath(), {file("ok.png", "x"), file("\xc3\xa9_ctl.png", "x")}),
                 QString());
        QByteArray bytes = readAll(zipPath());
        QCOMPARE(bytes.count("\xc3\xa9_ctl.png"), 2);
        QVERIFY(writeAll(zipPath(), bytes.replace("\xc3\xa9_ctl.png", "\xc3\xa9\x01ctl.png")));
        checkRefusedCleanly(extractZip(zipPath(), tempDir()), "invalid_archive", {});
    }

    void refusedEntries_data()
    {
        QTest::addColumn<QList<Item>>("items");
        QTest::addColumn<QStringList>("inMessage");
        QTest::newRow("symlink") << QList<Item>{file("ok.png", "x"),
                                                withMode("link.png", "/etc/passwd", 0120777)}
                                 << QStringList{"link.png", "symbolic link"};
        QTest::newRow("fifo") << QList<Item>{withMode("pipe", {}, 0010644)}
                              << QStringList{"pipe", "not a regular file", "10644"};
        QTest::newRow("device") << QList<Item>{withMode("dev", {}, 0020644)}
                                << QStringList{"dev", "not a regular file"};
        Item secret = file("secret.png", "hidden");
        secret.encryption = ZIP_EM_AES_256;
        QTest::newRow("encrypted aes")
            << QList<Item>{file("ok.png", "x"), secret} << QStringList{"secret.png", "encrypted"};
        secret.encryption = ZIP_EM_TRAD_PKWARE;
        QTest::newRow("encrypted pkware")
            << QList<Item>{secret} << QStringList{"secret.png", "encrypted"};
        QTest::newRow("same path after normalizing")
            << QList<Item>{file("a/b.png", "1"), file("a//./b.png", "2")}
            << QStringList{"a//./b.png", "same path"};
        QTest::newRow("file where a folder is needed")
            << QList<Item>{file("a", "file"), file("a/b.png", "2")}
            << QStringList{"a/b.png", "under 'a', which is a file"};
        QTest::newRow("only folders")
            << QList<Item>{folder("a"), folder("a/b")} << QStringList{"no files"};
        QTest::newRow("only skipped files")
            << QList<Item>{file(".DS_Store", "x"), file("__MACOSX/._a", "y")}
            << QStringList{"no files"};
    }
    void refusedEntries()
    {
        QFETCH(QList<Item>, items);
        QFETCH(QStringList, inMessage);
        QCOMPARE(writeZip(zipPath(), items), QString());
        checkRefusedCleanly(extractZip(zipPath(), tempDir()), "invalid_archive", inMessage);
    }

    // Two entries with byte-equal names: libzip refuses to write that, so the second name is
    // patched in the archive's bytes (local and central headers alike).
    void duplicateNames()
    {
        QCOMPARE(writeZip(zipPath(), {file("dup-A.png", "1"), file("dup-B.png", "2")}), QString());
        QByteArray bytes = readAll(zipPath());
        QCOMPARE(bytes.count("dup-B.png"), 2);
        QVERIFY(writeAll(zipPath(), bytes.replace("dup-B.png", "dup-A.png")));
        checkRefusedCleanly(extractZip(zipPath(), tempDir()), "invalid_archive",
                            {"dup-A.png", "same path"});
    }

    // The zip tool's own symlink entry, when the tool is installed.
    void zipToolSymlink()
    {
        const QString zipTool = QStandardPaths::findExecutable("zip");
        if (zipTool.isEmpty())
            QSKIP("the zip tool is not installed; the libzip-written symlink row covers the rule");
        QTemporaryDir src;
        QVERIFY(writeAll(src.filePath("ok.png"), "x"));
        QVERIFY(QFile::link("/etc/hostname", src.filePath("link.png")));
        QProcess zip;
        zip.setWorkingDirectory(src.path());
        zip.start(zipTool, {"-q", "-y", zipPath(), "ok.png", "link.png"});
        QVERIFY(zip.waitForFinished(30000));
        QCOMPARE(zip.exitCode(), 0);
        checkRefusedCleanly(extractZip(zipPath(), tempDir()), "invalid_archive",
                            {"link.png", "symbolic link"});
    }

    void tooManyEntries()
    {
        int code = 0;
        zip_t *z =
            zip_open(QFile::encodeName(zipPath()).constData(), ZIP_CREATE | ZIP_TRUNCATE, &code);
        QVERIFY(z);
        for (int i = 0; i < 100000; ++i) {
            zip_source_t *s = zip_source_buffer(z, nullptr, 0, 0);
            const QByteArray name = QByteArray::number(i) + ".txt";
            QVERIFY(zip_file_add(z, name.constData(), s, 0) >= 0);
        }
        QCOMPARE(zip_close(z), 0);
        checkRefusedCleanly(extractZip(zipPath(), tempDir()), "invalid_archive",
                            {"100000 entries", "at most 10000"});
    }

    // maxEntries counts every entry, folders and skipped ones too; exactly the limit passes.
    void entryLimitIsInclusive()
    {
        ZipLimits limits;
        limits.maxEntries = 3;
        QCOMPARE(writeZip(zipPath(), {folder("a"), file(".DS_Store", "x"), file("a/b", "y")}),
                 QString());
        QVERIFY(extractZip(zipPath(), tempDir(), limits).ok());
        QDir(tempDir()).removeRecursively();
        QVERIFY(QDir().mkpath(tempDir()));
        QCOMPARE(writeZip(zipPath(), {folder("a"), file(".DS_Store", "x"), file("a/b", "y"),
                                      file("a/c", "z")}),
                 QString());
        checkRefusedCleanly(extractZip(zipPath(), tempDir(), limits), "invalid_archive",
                            {"4 entries", "at most 3"});
    }

    void zipBomb()
    {
        const QByteArray zeros(50 * 1024 * 1024, '\0');
        QCOMPARE(writeZip(zipPath(), {file("ok.png", "x"), file("bomb.bin", zeros)}), QString());
        QVERIFY(QFileInfo(zipPath()).size() < 1024 * 1024);
        checkRefusedCleanly(extractZip(zipPath(), tempDir()), "invalid_archive",
                            {"bomb.bin", "expands more than 200 times"});
    }

    // Highly compressible but under ratioAfter: accepted.
    void smallCompressibleFileIsFine()
    {
        const QByteArray zeros(1024 * 1024, '\0');
        QCOMPARE(writeZip(zipPath(), {file("zeros.bin", zeros)}), QString());
        QVERIFY(QFileInfo(zipPath()).size() < 10 * 1024);
        const auto result = extractZip(zipPath(), tempDir());
        QVERIFY2(result.ok(), result.ok() ? "" : qPrintable(result.error().message));
        QCOMPARE(result->constFirst().size, zeros.size());
        QCOMPARE(result->constFirst().sha256, sha256(zeros));
    }

    // The headers say 10 bytes; the data inflates to 50 MiB. What is inflated is what counts.
    void lyingHeaders()
    {
        const QByteArray zeros(50 * 1024 * 1024, '\0');
        QCOMPARE(writeZip(zipPath(), {file("liar.bin", zeros)}), QString());
        QByteArray bytes = readAll(zipPath());
        patchSizes(bytes, 10);
        QVERIFY(writeAll(zipPath(), bytes));
        checkRefusedCleanly(extractZip(zipPath(), tempDir()), "invalid_archive", {"liar.bin"});
    }

    void totalSize()
    {
        ZipLimits limits;
        limits.maxTotal = 1000 * 1000;
        const QByteArray part = randomBytes(400 * 1000);
        QCOMPARE(writeZip(zipPath(), {file("a.bin", part, true), file("b.bin", part, true)}),
                 QString());
        QVERIFY(extractZip(zipPath(), tempDir(), limits).ok());
        QDir(tempDir()).removeRecursively();
        QVERIFY(QDir().mkpath(tempDir()));
        QCOMPARE(writeZip(zipPath(), {file("a.bin", part, true), file("b.bin", part, true),
                                      file("c.bin", part, true)}),
                 QString());
        checkRefusedCleanly(extractZip(zipPath(), tempDir(), limits), "invalid_archive",
                            {"c.bin", "over 1000000 bytes"});
    }

    void notAZip_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::newRow("text") << QByteArray("this is not a zip\n").repeated(100);
        QTest::newRow("png") << QByteArray("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
        QTest::newRow("random") << randomBytes(64 * 1024);
        QTest::newRow("empty") << QByteArray();
        QTest::newRow("end record only") << QByteArray("PK\x05\x06", 4) + QByteArray(18, '\0');
    }
    void notAZip()
    {
        QFETCH(QByteArray, bytes);
        QVERIFY(writeAll(zipPath(), bytes));
        checkRefusedCleanly(extractZip(zipPath(), tempDir()), "invalid_archive", {});
    }

    void truncated()
    {
        QCOMPARE(writeZip(zipPath(), {file("a.bin", randomBytes(100000)), file("b.bin", "b")}),
                 QString());
        const QByteArray bytes = readAll(zipPath());
        QVERIFY(writeAll(zipPath(), bytes.left(bytes.size() / 2)));
        checkRefusedCleanly(extractZip(zipPath(), tempDir()), "invalid_archive", {});
    }

    // A flipped byte in stored data: the CRC check fails while the first entry was written.
    void damagedData()
    {
        const QByteArray data = randomBytes(200000);
        QCOMPARE(
            writeZip(zipPath(), {file("first.bin", "fine", true), file("second.bin", data, true)}),
            QString());
        QByteArray bytes = readAll(zipPath());
        const qsizetype at = bytes.indexOf(data.mid(1000, 64));
        QVERIFY(at > 0);
        bytes[at] = char(bytes.at(at) ^ 0x55);
        QVERIFY(writeAll(zipPath(), bytes));
        checkRefusedCleanly(extractZip(zipPath(), tempDir()), "invalid_archive",
                            {"second.bin", "damaged"});
    }

    void ioErrors()
    {
        QCOMPARE(writeZip(zipPath(), {file("a", "b")}), QString());
        auto result = extractZip(zipPath(), m_sandbox.filePath("no-such-dir"));
        QVERIFY(!result.ok());
        QCOMPARE(result.error().code, "io_error");
        result = extractZip(m_sandbox.filePath("in/none.zip"), tempDir());
        QVERIFY(!result.ok());
        QCOMPARE(result.error().code, "io_error");
        QCOMPARE(everything(tempDir()), QStringList());
    }
};

QTEST_GUILESS_MAIN(TestZipExtract)
#include "tst_zipextract.moc"
