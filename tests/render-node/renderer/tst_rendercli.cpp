// The render command end to end, as the agent runs it: a child process, PNGs, stdout protocol.
#include "clirun.h"
#include "rendercli.h"

#include <QDir>
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QProcessEnvironment>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

using namespace farm::render;

using namespace farm::test;

class TestRenderCli : public QObject
{
    Q_OBJECT

private slots:
    void turntableSequence()
    {
        QTemporaryDir dir;
        const QString pattern = dir.filePath("out/frame_####.png");
        const Run r = runCli({kEngine, "-o", pattern, "--size", "48x32", "--spp", "1", "--frames",
                              "1-3", "--turntable", "--cycle", "1:24", "--threads", "2"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QStringList frames = linesStartingWith(r.out, "FRAME ");
        QCOMPARE(frames.size(), 3);
        for (int i = 0; i < 3; ++i) {
            const QString path =
                QDir(dir.path())
                    .absoluteFilePath(
                        QStringLiteral("out/frame_%1.png").arg(i + 1, 4, 10, QLatin1Char('0')));
            QCOMPARE(frames[i], QStringLiteral("FRAME %1 %2").arg(i + 1).arg(path));
            const QImage image(path);
            QCOMPARE(image.size(), QSize(48, 32));
        }
        // Turntable frames differ from each other.
        QVERIFY(QImage(dir.filePath("out/frame_0001.png")) !=
                QImage(dir.filePath("out/frame_0002.png")));

        // PROGRESS lines: fraction in [0, 1], never going back, a known frame, ending at 1.
        const QStringList progress = linesStartingWith(r.out, "PROGRESS ");
        QVERIFY(progress.size() >= 6);
        double last = -1.0;
        for (const QString &line : progress) {
            const QStringList parts = line.split(' ');
            QCOMPARE(parts.size(), 3);
            bool ok = false;
            const double f = parts[1].toDouble(&ok);
            QVERIFY(ok && f >= 0.0 && f <= 1.0 && f >= last);
            last = f;
            QVERIFY(QStringList({"1", "2", "3"}).contains(parts[2]));
        }
        QCOMPARE(last, 1.0);
        // Each FRAME line comes after that frame's progress.
        QVERIFY(r.out.indexOf(frames[0]) < r.out.indexOf(QRegularExpression("^PROGRESS \\S+ 2$")));
    }

    void singleFileAndDefaults()
    {
        QTemporaryDir dir;
        const QString out = dir.filePath("still.png");
        const Run r = runCli({kBox, "-o", out, "--size", "40x30", "--spp", "2"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(linesStartingWith(r.out, "FRAME "),
                 QStringList(QStringLiteral("FRAME 1 %1").arg(QFileInfo(out).absoluteFilePath())));
        QCOMPARE(QImage(out).size(), QSize(40, 30));
        QVERIFY(!linesStartingWith(r.out, "scene: ").isEmpty());
    }

    void hugePageMalloc()
    {
        // The command starts itself again with glibc's malloc advising huge pages (a model's
        // big buffers otherwise fault in 4 KiB at a time); a caller's own setting stands.
        QTemporaryDir dir;
        const QStringList args = {kBox,    "-o", dir.filePath("a.png"), "--size", "16x16",
                                  "--spp", "1"};
        const QString line = QStringLiteral("memory: malloc advises huge pages");
        for (const QString &preset : {QString(), QStringLiteral("glibc.malloc.hugetlb=0")}) {
            QProcess p;
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            env.remove(QStringLiteral("GLIBC_TUNABLES"));
            if (!preset.isEmpty())
                env.insert(QStringLiteral("GLIBC_TUNABLES"), preset);
            p.setProcessEnvironment(env);
            p.start(QStringLiteral(FARM_RENDER_CLI), args);
            QVERIFY(p.waitForFinished(120000));
            QCOMPARE(p.exitCode(), 0);
            const QStringList out =
                QString::fromUtf8(p.readAllStandardOutput()).split('\n', Qt::SkipEmptyParts);
            QCOMPARE(linesStartingWith(out, "FRAME ").size(), 1);
            QCOMPARE(linesStartingWith(out, "scene: ").size(), 1); // one run's output only
            QCOMPARE(linesStartingWith(out, line).size(), preset.isEmpty() ? 1 : 0);
        }
    }

    void formatsAndDepths()
    {
        QTemporaryDir dir;
        const Run png16 = runCli({kBox, "-o", dir.filePath("deep.png"), "--size", "24x16", "--spp",
                                  "1", "--bit-depth", "16", "--bounces", "1"});
        QVERIFY2(png16.exitCode == 0, qPrintable(png16.err));
        const QImage deep(dir.filePath("deep.png"));
        QCOMPARE(deep.size(), QSize(24, 16));
        QCOMPARE(deep.depth(), 64); // 16 bits per channel
        const Run jpeg =
            runCli({kBox, "-o", dir.filePath("shot.jpg"), "--size", "24x16", "--spp", "1"});
        QVERIFY2(jpeg.exitCode == 0, qPrintable(jpeg.err));
        QFile f(dir.filePath("shot.jpg"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.read(2), QByteArray("\xff\xd8", 2)); // JPEG SOI marker
    }

    void environmentMap()
    {
        QTemporaryDir dir;
        QFile hdr(dir.filePath("sky.hdr"));
        QVERIFY(hdr.open(QIODevice::WriteOnly));
        hdr.write("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 4\n");
        for (int i = 0; i < 8; ++i)
            hdr.write(QByteArray::fromHex("80402081"));
        hdr.close();
        const Run ok = runCli({kBox, "-o", dir.filePath("lit.png"), "--size", "16x16", "--spp", "2",
                               "--env", hdr.fileName(), "--env-intensity", "2"});
        QVERIFY2(ok.exitCode == 0, qPrintable(ok.err));
        QVERIFY(!linesStartingWith(ok.out, "environment: ").isEmpty());
        const Run missing =
            runCli({kBox, "-o", dir.filePath("x.png"), "--env", dir.filePath("no.hdr")});
        QCOMPARE(missing.exitCode, int(CliBadModel));
        QVERIFY(missing.err.startsWith("error: "));
        QFile junk(dir.filePath("junk.hdr")); // opens, but is no image: not worth another try
        QVERIFY(junk.open(QIODevice::WriteOnly));
        junk.write(QByteArray(512, 'x'));
        junk.close();
        const Run broken = runCli({kBox, "-o", dir.filePath("x.png"), "--env", junk.fileName()});
        QCOMPARE(broken.exitCode, int(CliInvalidInput));
        QVERIFY(broken.err.startsWith("error: "));
    }

    void sameSeedSameImage()
    {
        QTemporaryDir dir;
        const QStringList common{kBox, "--size", "32x24", "--spp", "3", "--seed", "42"};
        QCOMPARE(
            runCli(common + QStringList{"-o", dir.filePath("a.png"), "--threads", "1"}).exitCode,
            0);
        QCOMPARE(
            runCli(common + QStringList{"-o", dir.filePath("b.png"), "--threads", "3"}).exitCode,
            0);
        QCOMPARE(QImage(dir.filePath("a.png")), QImage(dir.filePath("b.png")));
    }

    void cudaRequestFallsBack()
    {
        QTemporaryDir dir;
        const Run r = runCli({kBox, "-o", dir.filePath("c.png"), "--size", "16x16", "--spp", "1",
                              "--device", "cuda"});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(linesStartingWith(r.out, "FRAME ").size(), 1);
    }

    void dataPasses()
    {
        QTemporaryDir dir;
        const Run r =
            runCli({kBox, "-o", dir.filePath("v_#.png"), "--size", "32x24", "--frames", "1-2",
                    "--turntable", "--passes", "mask,xyz,depth", "--depth-scale", "100"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QStringList outputs = linesStartingWith(r.out, "OUTPUT ");
        QCOMPARE(outputs.size(), 2 * 5); // mask, xyz npy + png, depth png + exr per frame
        QVERIFY(
            outputs.contains(QStringLiteral("OUTPUT 1 mask %1").arg(dir.filePath("v_1_mask.png"))));
        QVERIFY(
            outputs.contains(QStringLiteral("OUTPUT 2 xyz %1").arg(dir.filePath("v_2_xyz.npy"))));
        QVERIFY(!QFile::exists(dir.filePath("v_1.png"))); // no rgb asked for
        // Without rgb, FRAME names the first file written for the frame.
        QCOMPARE(linesStartingWith(r.out, "FRAME ").size(), 2);
        QCOMPARE(QImage(dir.filePath("v_2_mask.png")).size(), QSize(32, 24));
    }

    void templateViews()
    {
        QTemporaryDir dir;
        const QString out = dir.filePath("templates");
        const Run r = runCli({kEngine, "-o", out, "--views", "3", "--size", "32x24", "--spp", "1"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        for (int v = 0; v < 3; ++v) {
            for (const QString &name : {QStringLiteral("rgb_%1.png"), QStringLiteral("mask_%1.png"),
                                        QStringLiteral("xyz_%1.npy"), QStringLiteral("xyz_%1.png")})
                QVERIFY2(QFile::exists(QDir(out).filePath(name.arg(v))), qPrintable(name.arg(v)));
            QVERIFY(!QFile::exists(QDir(out).filePath(QStringLiteral("depth_%1.png").arg(v))));
        }
        QCOMPARE(linesStartingWith(r.out, "FRAME ").size(), 3);
        QCOMPARE(linesStartingWith(r.out, "CAMERAS ").size(), 3);

        QFile json(QDir(out).filePath("cameras.json"));
        QVERIFY(json.open(QIODevice::ReadOnly));
        const QJsonObject doc = QJsonDocument::fromJson(json.readAll()).object();
        QCOMPARE(doc["width"].toInt(), 32);
        const QJsonObject k = doc["intrinsics"].toObject();
        QVERIFY(k["fx"].toDouble() > 0.0 && k["fy"].toDouble() > 0.0);
        QCOMPARE(k["cx"].toDouble(), 15.5);
        const QJsonArray views = doc["views"].toArray();
        QCOMPARE(views.size(), 3);
        for (const QJsonValue &v : views) {
            // world_to_camera times camera_to_world is the identity.
            const QJsonArray a = v["world_to_camera"].toArray(), b = v["camera_to_world"].toArray();
            for (int i = 0; i < 4; ++i)
                for (int j = 0; j < 4; ++j) {
                    double sum = 0.0;
                    for (int m = 0; m < 4; ++m)
                        sum += a[i].toArray()[m].toDouble() * b[m].toArray()[j].toDouble();
                    // Float rotations: the error grows with the translation (model units).
                    const double scale = std::fabs(b[i].toArray()[3].toDouble()) + 1.0;
                    QVERIFY(std::fabs(sum - (i == j ? 1.0 : 0.0)) < 1e-5 * scale * 100.0);
                }
        }
        QFile poses(QDir(out).filePath("poses.npy"));
        QVERIFY(poses.open(QIODevice::ReadOnly));
        QVERIFY(poses.readAll().contains("'shape': (3, 4, 4)"));
    }

    void templateViewsNeedADirectory()
    {
        const Run r = runCli({kBox, "-o", "/tmp/x.png", "--views", "3"});
        QCOMPARE(r.exitCode, int(CliBadArguments));
        const Run mixed = runCli({kBox, "-o", "/tmp/tpl", "--views", "3", "--frames", "1-2"});
        QCOMPARE(mixed.exitCode, int(CliBadArguments));
    }

    void badArguments_data()
    {
        QTest::addColumn<QStringList>("args");
        const QString out = QStringLiteral("/tmp/never-written.png");
        QTest::newRow("no args") << QStringList{};
        QTest::newRow("no output") << QStringList{kBox};
        QTest::newRow("no file") << QStringList{"-o", out};
        QTest::newRow("two files") << QStringList{kBox, kBox, "-o", out};
        QTest::newRow("size too small") << QStringList{kBox, "-o", out, "--size", "8x8"};
        QTest::newRow("size too large") << QStringList{kBox, "-o", out, "--size", "9000x100"};
        QTest::newRow("size garbage") << QStringList{kBox, "-o", out, "--size", "100"};
        QTest::newRow("spp 0") << QStringList{kBox, "-o", out, "--spp", "0"};
        QTest::newRow("spp 5000") << QStringList{kBox, "-o", out, "--spp", "5000"};
        QTest::newRow("seed negative") << QStringList{kBox, "-o", out, "--seed", "-1"};
        QTest::newRow("frames garbage") << QStringList{kBox, "-o", out, "--frames", "x-y"};
        QTest::newRow("frames reversed") << QStringList{kBox, "-o", out, "--frames", "5-1"};
        QTest::newRow("cycle zero") << QStringList{kBox, "-o", out, "--cycle", "1:0"};
        QTest::newRow("cycle garbage") << QStringList{kBox, "-o", out, "--cycle", "abc"};
        QTest::newRow("threads") << QStringList{kBox, "-o", out, "--threads", "-2"};
        QTest::newRow("device") << QStringList{kBox, "-o", out, "--device", "metal"};
        QTest::newRow("unknown option") << QStringList{kBox, "-o", out, "--fast"};
        QTest::newRow("bmp output") << QStringList{kBox, "-o", "/tmp/x.bmp"};
        QTest::newRow("unknown pass") << QStringList{kBox, "-o", out, "--passes", "rgb,zdepth"};
        QTest::newRow("depth scale") << QStringList{kBox, "-o", out, "--depth-scale", "0"};
        QTest::newRow("views 0") << QStringList{kBox, "-o", "/tmp/tpl", "--views", "0"};
        QTest::newRow("bounces") << QStringList{kBox, "-o", out, "--bounces", "65"};
        QTest::newRow("bit depth") << QStringList{kBox, "-o", out, "--bit-depth", "12"};
        QTest::newRow("env intensity") << QStringList{kBox, "-o", out, "--env-intensity", "-1"};
        QTest::newRow("look-at short") << QStringList{kBox, "-o", out, "--look-at", "1,2,3"};
        QTest::newRow("look-at same") << QStringList{kBox, "-o", out, "--look-at", "1,1,1,1,1,1"};
        QTest::newRow("look-at turntable")
            << QStringList{kBox, "-o", out, "--look-at", "0,0,5,0,0,0", "--turntable"};
        const QString identity = QStringLiteral("1,0,0,0,0,1,0,0,0,0,1,5,0,0,0,1");
        QTest::newRow("pose short") << QStringList{kBox, "-o", out, "--pose", "1,0,0,0,0,1"};
        QTest::newRow("pose nan") << QStringList{kBox, "-o", out, "--pose",
                                                 "nan,0,0,0,0,1,0,0,0,0,1,5,0,0,0,1"};
        QTest::newRow("pose scaled")
            << QStringList{kBox, "-o", out, "--pose", "2,0,0,0,0,1,0,0,0,0,1,5,0,0,0,1"};
        QTest::newRow("pose sheared")
            << QStringList{kBox, "-o", out, "--pose", "1,0.1,0,0,0,1,0,0,0,0,1,5,0,0,0,1"};
        QTest::newRow("pose mirrored")
            << QStringList{kBox, "-o", out, "--pose", "-1,0,0,0,0,1,0,0,0,0,1,5,0,0,0,1"};
        QTest::newRow("pose last row")
            << QStringList{kBox, "-o", out, "--pose", "1,0,0,0,0,1,0,0,0,0,1,5,0,0,1,1"};
        QTest::newRow("pose and look-at")
            << QStringList{kBox, "-o", out, "--pose", identity, "--look-at", "0,0,5,0,0,0"};
        QTest::newRow("pose and views")
            << QStringList{kBox, "-o", "/tmp/tpl", "--pose", identity, "--views", "2"};
        QTest::newRow("camera index") << QStringList{kBox, "-o", out, "--camera-from-file=x"};
        QTest::newRow("camera and pose")
            << QStringList{kBox, "-o", out, "--camera-from-file", "--pose", identity};
        QTest::newRow("camera and fov")
            << QStringList{kBox, "-o", out, "--camera-from-file", "2", "--fov", "30"};
        QTest::newRow("fov") << QStringList{kBox, "-o", out, "--fov", "179"};
        QTest::newRow("filter width") << QStringList{kBox, "-o", out, "--filter-width", "-1"};
        QTest::newRow("filter width views")
            << QStringList{kBox, "-o", "/tmp/tpl", "--views", "2", "--filter-width", "1"};
    }

    void badArguments()
    {
        QFETCH(QStringList, args);
        const Run r = runCli(args);
        QCOMPARE(r.exitCode, int(CliBadArguments));
        QVERIFY2(r.err.startsWith("error: ") && r.err.count('\n') == 1, qPrintable(r.err));
        QVERIFY(linesStartingWith(r.out, "FRAME ").isEmpty());
    }

    void badModel()
    {
        QTemporaryDir dir;
        QFile junk(dir.filePath("junk.glb"));
        QVERIFY(junk.open(QIODevice::WriteOnly));
        junk.write(QByteArray(1000, 'x'));
        junk.close();
        // Bytes no importer reads fail for good (the node reports invalid_input and the job is
        // not tried again); a file that is not there may be there on another try.
        const std::pair<QString, int> cases[] = {{junk.fileName(), CliInvalidInput},
                                                 {dir.filePath("missing.obj"), CliBadModel}};
        for (const auto &[file, exitCode] : cases) {
            const Run r = runCli({file, "-o", dir.filePath("x.png")});
            QCOMPARE(r.exitCode, exitCode);
            QVERIFY2(r.err.startsWith("error: "), qPrintable(r.err));
            QVERIFY(!QFile::exists(dir.filePath("x.png")));
        }
    }

    void writeFailure()
    {
        QTemporaryDir dir;
        QFile blocker(dir.filePath("file"));
        QVERIFY(blocker.open(QIODevice::WriteOnly));
        blocker.close();
        // The output's directory would have to be created inside a regular file.
        const Run r =
            runCli({kBox, "-o", dir.filePath("file/sub/out.png"), "--size", "16x16", "--spp", "1"});
        QCOMPARE(r.exitCode, int(CliRenderFailed));
        QVERIFY2(r.err.startsWith("error: "), qPrintable(r.err));
    }

    void outputPaths_data()
    {
        QTest::addColumn<QString>("pattern");
        QTest::addColumn<int>("frame");
        QTest::addColumn<bool>("multiple");
        QTest::addColumn<QString>("expected");
        QTest::newRow("hashes") << "out/frame_####.png" << 7 << true << "out/frame_0007.png";
        QTest::newRow("short run") << "f_#.png" << 12 << true << "f_12.png";
        QTest::newRow("last run") << "a#/b_##.png" << 3 << true << "a#/b_03.png";
        QTest::newRow("single") << "/x/still.png" << 1 << false << "/x/still.png";
        QTest::newRow("multi no hash") << "/x/shot.jpg" << 5 << true << "/x/shot_0005.jpg";
    }

    void outputPaths()
    {
        QFETCH(QString, pattern);
        QFETCH(int, frame);
        QFETCH(bool, multiple);
        QFETCH(QString, expected);
        QCOMPARE(frameOutputPath(pattern, frame, multiple), expected);
    }
};

QTEST_GUILESS_MAIN(TestRenderCli)
#include "tst_rendercli.moc"
