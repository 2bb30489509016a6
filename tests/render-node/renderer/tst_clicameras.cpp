// Camera placement of the render command: --look-at, --pose, --camera-from-file (child process).
#include "clirun.h"
#include "kernel/camera.h"
#include "rendercli.h"

#include <QFile>
#include <QImage>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

using namespace farm::render;
using namespace farm::test;

class TestCliCameras : public QObject
{
    Q_OBJECT

private slots:
    void explicitPose()
    {
        // Cube.off spans -0.5..0.5: a camera at z = 10 looking at the origin with a 20 degree
        // field of view sees it in the middle of the image, with background around it.
        QTemporaryDir dir;
        const QString out = dir.filePath("pose.png");
        const Run r = runCli({kBox, "-o", out, "--size", "32x32", "--spp", "1", "--look-at",
                              "0,0,10,0,0,0", "--fov", "20", "--passes", "rgb,mask"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(linesStartingWith(r.out, "camera 1: eye 0 0 10 ").size() == 1);
        const QImage mask(dir.filePath("pose_mask.png"));
        QCOMPARE(qGray(mask.pixel(16, 16)), 255);
        QCOMPARE(qGray(mask.pixel(0, 0)), 0);
    }

    void poseEqualsLookAt()
    {
        // The camera-to-world matrix of a look-at camera (OpenGL convention: columns right, up,
        // backwards, position), printed exactly, must give the same image bit for bit.
        const Vec3 eye(3.f, 2.f, 10.f), target(0.1f, -0.2f, 0.f);
        const Camera c = lookAt(eye, target, Vec3(0.f, 1.f, 0.f), 20.f, 1.f);
        const float m[16] = {c.u.x, c.v.x, c.w.x, c.position.x, c.u.y, c.v.y, c.w.y, c.position.y,
                             c.u.z, c.v.z, c.w.z, c.position.z, 0.f,   0.f,   0.f,   1.f};
        QStringList numbers;
        for (float f : m) // 17 digits of the exact double: parses back to the same float
            numbers.append(QString::number(double(f), 'g', 17));
        QTemporaryDir dir;
        const QStringList common{kBox, "--size", "32x32", "--spp", "2", "--fov", "20"};
        const Run a = runCli(
            common + QStringList{"-o", dir.filePath("a.png"), "--look-at", "3,2,10,0.1,-0.2,0"});
        const Run b =
            runCli(common + QStringList{"-o", dir.filePath("b.png"), "--pose", numbers.join(',')});
        QVERIFY2(a.exitCode == 0, qPrintable(a.err));
        QVERIFY2(b.exitCode == 0, qPrintable(b.err));
        QCOMPARE(linesStartingWith(b.out, "camera 1:"), linesStartingWith(a.out, "camera 1:"));
        const QImage imageA(dir.filePath("a.png")), imageB(dir.filePath("b.png"));
        QVERIFY(!imageA.isNull());
        QCOMPARE(imageB, imageA);
        // A different pose (turned 90 degrees about +Y, same position) changes the image.
        const Run turned = runCli(common + QStringList{"-o", dir.filePath("c.png"), "--pose",
                                                       "0,0,1,3,0,1,0,2,-1,0,0,10,0,0,0,1"});
        QVERIFY2(turned.exitCode == 0, qPrintable(turned.err));
        QVERIFY(QImage(dir.filePath("c.png")) != imageA);
    }

    void cameraFromFile()
    {
        // Cameras.gltf: perspective camera 0 (yfov 0.7 rad) at node translation (0.5, 0.5, 3),
        // camera 1 orthographic (rendered since orthographic cameras exist).
        const QString cameras =
            QStringLiteral("/usr/share/assimp/models/glTF2/cameras/Cameras.gltf");
        QTemporaryDir dir;
        const Run r = runCli({cameras, "--camera-from-file", "-o", dir.filePath("c.png"), "--size",
                              "32x32", "--spp", "1"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(linesStartingWith(r.out, "camera 1: eye 0.5 0.5 3 target 0.5 0.5 2 up 0 1 0 "
                                          "fov_y 40.107 ")
                     .size(),
                 1);
        // Camera 1 is orthographic: rendered too (tst_orthographic checks its view).
        const Run ortho = runCli({cameras, "--camera-from-file", "1", "-o", dir.filePath("o.png"),
                                  "--size", "32x32", "--spp", "1"});
        QVERIFY2(ortho.exitCode == 0, qPrintable(ortho.err));
        QVERIFY(!QImage(dir.filePath("o.png")).isNull());
        const Run missing = runCli({cameras, "-o", dir.filePath("m.png"), "--camera-from-file=2"});
        QCOMPARE(missing.exitCode, int(CliBadArguments));
        QVERIFY2(missing.err.contains("does not exist"), qPrintable(missing.err));
        const Run none = runCli({kBox, "-o", dir.filePath("n.png"), "--camera-from-file"});
        QCOMPARE(none.exitCode, int(CliBadArguments));
        QVERIFY2(none.err.startsWith("error: ") && none.err.contains("holds no camera"),
                 qPrintable(none.err));
        QVERIFY(!QFile::exists(dir.filePath("n.png")));
    }

    void cameraFromFileNestedNode()
    {
        // A 2x2 quad in the x = 0 plane; the camera node (0, 0, 3) hangs under a node turned
        // 90 degrees about +Y and moved to x = 10: world eye (13, 0, 0) looking down -X.
        const float positions[12] = {0, -1, -1, 0, -1, 1, 0, 1, 1, 0, 1, -1};
        const quint16 indices[6] = {0, 1, 2, 0, 2, 3};
        QByteArray bin(reinterpret_cast<const char *>(positions), sizeof(positions));
        bin.append(reinterpret_cast<const char *>(indices), sizeof(indices));
        const QString gltf = QStringLiteral(
                                 R"({"asset":{"version":"2.0"},"scene":0,"scenes":[{"nodes":[0,1]}],
"nodes":[{"mesh":0},{"translation":[10,0,0],"rotation":[0,0.70710678,0,0.70710678],
"children":[2]},{"translation":[0,0,3],"camera":0}],
"cameras":[{"type":"perspective","perspective":{"yfov":0.5,"aspectRatio":2.0,"znear":0.1}}],
"meshes":[{"primitives":[{"attributes":{"POSITION":0},"indices":1}]}],
"buffers":[{"byteLength":60,"uri":"data:application/octet-stream;base64,%1"}],
"bufferViews":[{"buffer":0,"byteOffset":0,"byteLength":48},
{"buffer":0,"byteOffset":48,"byteLength":12}],
"accessors":[{"bufferView":0,"componentType":5126,"count":4,"type":"VEC3",
"min":[0,-1,-1],"max":[0,1,1]},{"bufferView":1,"componentType":5123,"count":6,"type":"SCALAR"}]})")
                                 .arg(QString::fromLatin1(bin.toBase64()));
        QTemporaryDir dir;
        QFile file(dir.filePath("nested.gltf"));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(gltf.toUtf8());
        file.close();
        const Run r =
            runCli({file.fileName(), "--camera-from-file", "0", "-o", dir.filePath("n.png"),
                    "--size", "32x32", "--spp", "1", "--passes", "rgb,mask"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QStringList line = linesStartingWith(r.out, "camera 1:");
        QCOMPARE(line.size(), 1);
        const QStringList f = line.first().split(' ');
        // "camera 1: eye X Y Z target X Y Z up 0 1 0 fov_y DEG ..."
        QVERIFY2(f.size() > 15, qPrintable(line.first()));
        const double expected[6] = {13, 0, 0, 12, 0, 0};
        for (int i = 0; i < 3; ++i) {
            QVERIFY2(std::abs(f[3 + i].toDouble() - expected[i]) < 1e-4, qPrintable(line.first()));
            QVERIFY2(std::abs(f[7 + i].toDouble() - expected[3 + i]) < 1e-4,
                     qPrintable(line.first()));
        }
        QVERIFY2(std::abs(f[15].toDouble() - 0.5 * 180 / M_PI) < 1e-3, qPrintable(line.first()));
        const QImage mask(dir.filePath("n_mask.png"));
        QCOMPARE(qGray(mask.pixel(16, 16)), 255);
        QCOMPARE(qGray(mask.pixel(0, 0)), 0);
    }
};

QTEST_GUILESS_MAIN(TestCliCameras)
#include "tst_clicameras.moc"
