// Side files of 3D files: Debian's assimp-testmodels as they ship, hand-made hostile input, the
// bundle check the server runs and the bundles clients gather from disk.
#include "bundle/sidefiles.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QMap>
#include <QTemporaryDir>
#include <QTest>
#include <QtEndian>

using namespace farm::bundle;

namespace {
const QString kModels = QStringLiteral("/usr/share/assimp/models/");

// The tests on real files need Debian's assimp-testmodels; the hand-made cases run anyway.
#define REQUIRE_MODELS()                                                                           \
    do {                                                                                           \
        if (!QFileInfo::exists(kModels + "glTF2/BoxTextured-glTF/BoxTextured.gltf"))               \
            QSKIP("assimp-testmodels is not installed (scripts/setup-deps.sh --test)");            \
    } while (false)

// Test JSON and XML written with single quotes, so that they need no escaping here.
QByteArray operator""_j(const char *text, size_t size)
{
    return QByteArray(text, qsizetype(size)).replace('\'', '"');
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

bool writeFile(const QString &path, const QByteArray &data)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(data) == data.size();
}

QByteArray glb(const QByteArray &json)
{
    QByteArray padded = json;
    while (padded.size() % 4)
        padded.append(' ');
    QByteArray out(20, '\0');
    qToLittleEndian<quint32>(0x46546C67, out.data());
    qToLittleEndian<quint32>(2, out.data() + 4);
    qToLittleEndian<quint32>(quint32(20 + padded.size()), out.data() + 8);
    qToLittleEndian<quint32>(quint32(padded.size()), out.data() + 12);
    qToLittleEndian<quint32>(0x4E4F534A, out.data() + 16);
    return out + padded;
}

using Bundle = QMap<QString, QByteArray>;

ReadFile reader(const Bundle &bundle)
{
    return [bundle](const QString &p) -> std::optional<QByteArray> {
        if (!bundle.contains(p))
            return std::nullopt;
        return bundle.value(p);
    };
}
} // namespace

class TestSideFiles : public QObject
{
    Q_OBJECT

private slots:
    // Real files as Debian ships them; the bundle path is the path under the models folder.
    void realFiles_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QStringList>("files");
        QTest::addColumn<QStringList>("outside");
        QTest::addColumn<QStringList>("absolute");
        QTest::addColumn<bool>("allOnDisk");

        const QString box = "glTF2/BoxTextured-glTF/";
        QTest::newRow("gltf .bin and png")
            << box + "BoxTextured.gltf"
            << QStringList{box + "BoxTextured0.bin", box + "CesiumLogoFlat.png"} << QStringList()
            << QStringList() << true;
        QTest::newRow("gltf shaders are no side files")
            << "glTF2/BoxTextured-glTF-techniqueWebGL/BoxTextured.gltf"
            << QStringList{"glTF2/BoxTextured-glTF-techniqueWebGL/BoxTextured0.bin",
                           "glTF2/BoxTextured-glTF-techniqueWebGL/CesiumLogoFlat.png"}
            << QStringList() << QStringList() << false;
        const QString tt = "glTF2/textureTransform/";
        QTest::newRow("gltf five images")
            << tt + "TextureTransformTest.gltf" << QStringList{tt + "TextureTransformTest.bin",
                                                               tt + "UV.png",
                                                               tt + "Arrow.png",
                                                               tt + "Correct.png",
                                                               tt + "NotSupported.png",
                                                               tt + "Error.png"}
            << QStringList() << QStringList() << true;
        QTest::newRow("gltf 1.0 objects keyed by id")
            << "glTF/BoxTextured-glTF/BoxTextured.gltf"
            << QStringList{"glTF/BoxTextured-glTF/BoxTextured.bin",
                           "glTF/BoxTextured-glTF/CesiumLogoFlat.png"}
            << QStringList() << QStringList() << true;
        QTest::newRow("gltf data: URIs") << "glTF2/BoxTextured-glTF-Embedded/BoxTextured.gltf"
                                         << QStringList() << QStringList() << QStringList() << true;
        QTest::newRow("glb all embedded")
            << "glTF2/BoxTextured-glTF-Binary/BoxTextured.glb" << QStringList() << QStringList()
            << QStringList() << true;
        QTest::newRow("gltf whose .bin is gone")
            << "glTF2/MissingBin/BoxTextured.gltf"
            << QStringList{"glTF2/MissingBin/BoxTextured0.bin",
                           "glTF2/MissingBin/CesiumLogoFlat.png"}
            << QStringList() << QStringList() << false;
        QTest::newRow("obj mtllib") << "OBJ/spider.obj" << QStringList{"OBJ/spider.mtl"}
                                    << QStringList() << QStringList() << true;
        QTest::newRow("obj mtllib ./")
            << "OBJ/box_mat_with_spaces.obj" << QStringList{"OBJ/box_spaces.mtl"} << QStringList()
            << QStringList() << true;
        QTest::newRow("obj mtllib after g")
            << "OBJ/cube_mtllib_after_g.obj" << QStringList{"OBJ/cube_mtllib_after_g.mat"}
            << QStringList() << QStringList() << false;
        QTest::newRow("mtl .\\ backslashes")
            << "OBJ/spider.mtl"
            << QStringList{"OBJ/wal67ar_small.jpg", "OBJ/wal69ar_small.jpg", "OBJ/SpiderTex.jpg",
                           "OBJ/drkwood2.jpg", "OBJ/engineflare1.jpg"}
            << QStringList() << QStringList() << true;
        QTest::newRow("dae ./file") << "Collada/duck.dae" << QStringList{"Collada/duckCM.tga"}
                                    << QStringList() << QStringList() << true;
        QTest::newRow("dae ./../ into a sibling folder")
            << "Collada/kwxport_test_vcolors.dae"
            << QStringList{"X/top.tga", "X/bottom.tga", "X/updown.tga"} << QStringList()
            << QStringList() << true;
        QTest::newRow("dae ./../ from the root")
            << "kwxport_test_vcolors.dae" << QStringList()
            << QStringList{"./../X/top.tga", "./../X/bottom.tga", "./../X/updown.tga"}
            << QStringList() << true;
        QTest::newRow("dae file://..\\ relative")
            << "Collada/teapots.DAE" << QStringList{"LWO/LWO2/MappingModes/earthSpherical.jpg"}
            << QStringList() << QStringList() << true;
        QTest::newRow("dae \\ rooted is absolute")
            << "Collada/earthCylindrical.DAE" << QStringList() << QStringList()
            << QStringList{"\\..\\LWO\\LWO2\\MappingModes\\EarthCylindric.jpg"} << true;
        QTest::newRow("dae one line, repeated images")
            << "Collada/regr01.dae" << QStringList{"Collada/default.png", "Collada/transp.png"}
            << QStringList() << QStringList() << false;
        QTest::newRow("other formats")
            << "OFF/Cube.off" << QStringList() << QStringList() << QStringList() << true;
    }
    void realFiles()
    {
        REQUIRE_MODELS();
        QFETCH(QString, path);
        QFETCH(QStringList, files);
        QFETCH(QStringList, outside);
        QFETCH(QStringList, absolute);
        QFETCH(bool, allOnDisk);
        const QString onDisk = kModels + (path.contains('/') ? path : "Collada/" + path);
        const QByteArray content = readAll(onDisk);
        QVERIFY2(!content.isEmpty(), qPrintable(onDisk));
        const Refs refs = referencedFiles(path, content);
        QCOMPARE(refs.files, files);
        QCOMPARE(refs.outside, outside);
        QCOMPARE(refs.absolute, absolute);
        if (allOnDisk)
            for (const QString &f : refs.files)
                QVERIFY2(QFileInfo::exists(kModels + f), qPrintable(f));
    }

    // Every model file of the package: nothing crashes, and every file a model references is
    // shipped beside it, except in the few models the package ships incomplete on purpose.
    void everyShippedModel()
    {
        REQUIRE_MODELS();
        const QStringList incomplete{"Collada/regr01.dae", "Collada/earthCylindrical.DAE",
                                     "glTF2/SchemaFailures/sceneWrongType.gltf",
                                     "glTF2/MissingBin/BoxTextured.gltf",
                                     "OBJ/cube_mtllib_after_g.obj"};
        QDirIterator it(kModels, QDir::Files, QDirIterator::Subdirectories);
        int parsed = 0;
        int resolved = 0;
        while (it.hasNext()) {
            const QString file = it.next();
            const QString path = QDir(kModels).relativeFilePath(file);
            if (!hasSideFiles(path))
                continue;
            ++parsed;
            const Refs refs = referencedFiles(path, readAll(file));
            bool allThere = refs.outside.isEmpty() && refs.absolute.isEmpty();
            for (const QString &f : refs.files) {
                QCOMPARE(normalizePath(f), f);
                QVERIFY(bundlePathProblem(f).isEmpty());
                allThere = allThere && QFileInfo::exists(kModels + f);
                ++resolved;
            }
            QVERIFY2(allThere != incomplete.contains(path), qPrintable(path));
        }
        QVERIFY2(parsed > 100, qPrintable(QString::number(parsed)));
        QVERIFY2(resolved > 70, qPrintable(QString::number(resolved)));
    }

    void references_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QStringList>("files");
        QTest::addColumn<QStringList>("outside");
        QTest::addColumn<QStringList>("absolute");
        const QStringList none;

        // glTF
        QTest::newRow("gltf data: skipped, any case")
            << "models/scene.gltf"
            << QByteArray("{'buffers':[{'uri':'data:application/octet-stream;base64,AAAA'}, "_j
                          "{'uri':'scene.bin'}],'images':[{'uri':'DATA:image/png;base64,iVBO'}]}")
            << QStringList{"models/scene.bin"} << none << none;
        QTest::newRow("gltf percent-encoded")
            << "models/scene.gltf"
            << QByteArray("{'images':[{'uri':'tex/my%20wood%C3%A9.png'},{'uri':'a%2Bb.png'}]}"_j)
            << QStringList{"models/tex/my wood\u00e9.png", "models/a+b.png"} << none << none;
        QTest::newRow("gltf ../ inside the bundle")
            << "a/b/scene.gltf" << QByteArray("{'images':[{'uri':'../t/x.png'}]}"_j)
            << QStringList{"a/t/x.png"} << none << none;
        QTest::newRow("gltf ../../ escapes")
            << "scene.gltf"
            << QByteArray(
                   "{'images':[{'uri':'../../x.png'}],'buffers':[{'uri':'a/../../b.bin'}]}"_j)
            << none << QStringList{"a/../../b.bin", "../../x.png"} << none;
        QTest::newRow("gltf absolute forms")
            << "scene.gltf"
            << QByteArray(
                   "{'images':[{'uri':'C:\\\\tex\\\\wood.png'},{'uri':'/home/a/wood.png'}, "_j
                   "{'uri':'file:///home/a/wood.png'},{'uri':'\\\\\\\\server\\\\share\\\\w.png'}, "
                   "{'uri':'https://example.com/w.png'},{'uri':'d:wood.png'}, "_j
                   "{'uri':'file:///C:/tex/w.png'}]}")
            << none << none << QStringList{"C:\\tex\\wood.png",         "/home/a/wood.png",
                                           "file:///home/a/wood.png",   "\\\\server\\share\\w.png",
                                           "https://example.com/w.png", "d:wood.png",
                                           "file:///C:/tex/w.png"};
        QTest::newRow("gltf backslashes")
            << "scene.gltf" << QByteArray("{'images':[{'uri':'tex\\\\w.png'}]}"_j)
            << QStringList{"tex/w.png"} << none << none;
        QTest::newRow("gltf duplicates once")
            << "scene.gltf"
            << QByteArray(
                   "{'images':[{'uri':'w.png'},{'uri':'./w.png'}],'buffers':[{'uri':'w.png'}]}"_j)
            << QStringList{"w.png"} << none << none;
        QTest::newRow("gltf malformed")
            << "scene.gltf" << QByteArray("{'images':[{'uri':'w.png'}"_j) << none << none << none;
        QTest::newRow("gltf array root")
            << "scene.gltf" << QByteArray("[{'uri':'w.png'}]"_j) << none << none << none;
        QTest::newRow("gltf 1.0 form")
            << "scene.gltf"
            << "{'buffers':{'b':{'uri':'x.bin'},'c':7},'images':{'i':{'uri':'t.png'},'j':[]}}"_j
            << QStringList{"x.bin", "t.png"} << none << none;
        QTest::newRow("gltf wrong types")
            << "scene.gltf"
            << QByteArray("{'images':{'uri':'a.png'},'buffers':[7,null,{'uri':3},{'uri':''}, "_j
                          "{'uri':['x.bin']},{'uri':'ok.bin'}]}")
            << QStringList{"ok.bin"} << none << none;
        QTest::newRow("gltf folder uris ignored")
            << "scene.gltf" << QByteArray("{'images':[{'uri':'tex/'},{'uri':'..'},{'uri':'.'}]}"_j)
            << none << none << none;
        QTest::newRow("gltf binary garbage")
            << "scene.gltf" << QByteArray("\x00\xff{\"\x01", 5) << none << none << none;
        QTest::newRow("gltf upper-case extension")
            << "SCENE.GLTF" << QByteArray("{'images':[{'uri':'w.png'}]}"_j) << QStringList{"w.png"}
            << none << none;
        QTest::newRow("glb with an external image")
            << "m/scene.glb" << glb("{'images':[{'uri':'w.png'}],'buffers':[{'byteLength':4}]}"_j)
            << QStringList{"m/w.png"} << none << none;
        QTest::newRow("glb truncated")
            << "scene.glb" << glb("{'images':[{'uri':'w.png'}]}"_j).left(30) << none << none
            << none;
        QTest::newRow("glb chunk longer than the file") << "scene.glb" << [] {
            QByteArray g = glb("{'images':[{'uri':'w.png'}]}"_j);
            qToLittleEndian<quint32>(0x7fffffff, g.data() + 12);
            return g;
        }() << none << none << none;

        // OBJ
        QTest::newRow("obj several mtllib names, CRLF")
            << "m/scene.obj" << QByteArray("# made by hand\r\nmtllib a.mtl  b.mtl\r\nv 0 0 0\r\n")
            << QStringList{"m/a.mtl", "m/b.mtl"} << none << none;
        QTest::newRow("obj mtllib lines anywhere")
            << "scene.obj"
            << QByteArray("v 0 0 0\n  mtllib\tsub/x.mtl  \n# mtllib no.mtl\nmtllibx.mtl\nmtllib\n"
                          "g a\nmtllib ..\\shared\\y.mtl\n")
            << QStringList{"sub/x.mtl"} << QStringList{"..\\shared\\y.mtl"} << none;
        QTest::newRow("obj absolute mtllib") << "scene.obj" << QByteArray("mtllib C:\\m\\x.mtl\n")
                                             << none << none << QStringList{"C:\\m\\x.mtl"};

        // MTL
        QTest::newRow("mtl options and spaces")
            << "m/x.mtl"
            << QByteArray("newmtl wood\nKd 1 1 1\nmap_Kd -s 1 1 1 -o 0 0 textures/wood grain.png\n"
                          "map_Bump -bm 0.5 bump.png\nbump -clamp on -bm 0.2 b2.png\n"
                          "MAP_KS -mm 0 1 spec.png\nrefl -type sphere refl.png\n"
                          "map_d -imfchan m -texres 512 alpha.png\ndisp -s 2 d.png\n"
                          "decal decal.png\nnorm n.png\nmap_Pr -blendu off rough.png\n"
                          "map_Pm metal.png\nmap_Ke\tglow.png\nmap_Ns ns.png\nmap_Ka ka.png\n"
                          "map_bump lower.png\n")
            << QStringList{"m/textures/wood grain.png",
                           "m/bump.png",
                           "m/b2.png",
                           "m/spec.png",
                           "m/refl.png",
                           "m/alpha.png",
                           "m/d.png",
                           "m/decal.png",
                           "m/n.png",
                           "m/rough.png",
                           "m/metal.png",
                           "m/glow.png",
                           "m/ns.png",
                           "m/ka.png",
                           "m/lower.png"}
            << none << none;
        QTest::newRow("mtl windows paths")
            << "x.mtl"
            << QByteArray("map_Kd C:\\tex\\wood.png\r\nmap_Ks .\\sub\\s.png\r\n"
                          "map_Kd /home/artist/My Textures/w.png\r\n")
            << QStringList{"sub/s.png"} << none
            << QStringList{"C:\\tex\\wood.png", "/home/artist/My Textures/w.png"};
        QTest::newRow("mtl nothing but options")
            << "x.mtl" << QByteArray("map_Kd -s 1 1 1\nmap_Kd\nKa 0 0 0\nmap_Kdx y.png\n") << none
            << none << none;
        QTest::newRow("mtl unknown option") << "x.mtl" << QByteArray("map_Kd -foo 1 2 w.png\n")
                                            << QStringList{"w.png"} << none << none;
        QTest::newRow("mtl escapes") << "x.mtl" << QByteArray("map_Kd ../w.png\n") << none
                                     << QStringList{"../w.png"} << none;
        QTest::newRow("mtl binary garbage")
            << "x.mtl" << QByteArray("map_Kd \x00\x01\xfe\xff\n\xff\xfe\n", 15) << none << none
            << none;

        // COLLADA
        const QByteArray daeHead =
            "<?xml version='1.0'?><COLLADA version='1.4.1' "_j
            "xmlns='http://www.collada.org/2005/11/COLLADASchema'><library_images>";
        QTest::newRow("dae 1.4 and 1.5")
            << "m/x.dae"
            << daeHead +
                   "<image id='a'><init_from> tex/a%20b.png </init_from></image> "_j
                   "<image id='b'><init_from><ref>b.png</ref></init_from></image> "
                   "<image id='c'><init_from><hex format='PNG'>89504E47</hex></init_from></image> "_j
                   "<image id='d'><init_from>a&amp;b.png</init_from></image> "
                   "</library_images><library_effects><surface><init_from>a</init_from></surface> "_j
                   "</library_effects></COLLADA>"
            << QStringList{"m/tex/a b.png", "m/b.png", "m/a&b.png"} << none << none;
        QTest::newRow("dae file uris")
            << "x.dae"
            << daeHead +
                   "<image><init_from>file:///C:/tex/w.png</init_from></image> "_j
                   "<image><init_from>file:///home/a/w.png</init_from></image> "
                   "<image><init_from>file://tex/w.png</init_from></image></library_images></COLLADA>"_j
            << QStringList{"tex/w.png"} << none
            << QStringList{"file:///C:/tex/w.png", "file:///home/a/w.png"};
        QTest::newRow("dae malformed")
            << "x.dae" << daeHead + "<image><init_from>w.png</init_from></image></COLLAD" << none
            << none << none;
        QTest::newRow("dae not xml")
            << "x.dae" << QByteArray("solid cube\nfacet") << none << none << none;

        QTest::newRow("fbx not known")
            << "x.fbx" << QByteArray("map_Kd w.png") << none << none << none;
        QTest::newRow("empty") << "x.gltf" << QByteArray() << none << none << none;
    }
    void references()
    {
        QFETCH(QString, path);
        QFETCH(QByteArray, content);
        QFETCH(QStringList, files);
        QFETCH(QStringList, outside);
        QFETCH(QStringList, absolute);
        const Refs refs = referencedFiles(path, content);
        QCOMPARE(refs.files, files);
        QCOMPARE(refs.outside, outside);
        QCOMPARE(refs.absolute, absolute);
    }

    // An mtllib line with spaces is one file name when the bundle holds it (how Assimp reads it).
    void mtllibWithSpaces()
    {
        const QByteArray obj = "mtllib my materials.mtl\n";
        const auto holds = [](const QString &p) { return p == "m/my materials.mtl"; };
        QCOMPARE(referencedFiles("m/a.obj", obj, holds).files, QStringList{"m/my materials.mtl"});
        QCOMPARE(referencedFiles("m/a.obj", obj).files, (QStringList{"m/my", "m/materials.mtl"}));
    }

    void readForReferencesLocal()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        // An OBJ: only its mtllib lines, also past a line far longer than a read piece.
        QByteArray obj = "v 0 0 0\nmtllib a.mtl\r\n# " + QByteArray(200000, 'x') +
                         " mtllib no.mtl\n  mtllib b c.mtl\nf 1 1 1\n";
        QVERIFY(writeFile(tmp.filePath("sha-1"), obj));
        QCOMPARE(readForReferences("m/scene.OBJ", tmp.filePath("sha-1")),
                 QByteArray("mtllib a.mtl\nmtllib b c.mtl\n"));
        // Anything else whole; the bundle path decides the format, not the local name.
        QVERIFY(writeFile(tmp.filePath("sha-2.obj"), "{\"images\":[]}"));
        QCOMPARE(readForReferences("scene.gltf", tmp.filePath("sha-2.obj")),
                 QByteArray("{\"images\":[]}"));
        QCOMPARE(readForReferences("scene.obj", tmp.filePath("none")), std::nullopt);
        QCOMPARE(readForReferences("scene.gltf", tmp.filePath("none")), std::nullopt);
        // A real OBJ whose mtllib comes after the geometry starts.
        REQUIRE_MODELS();
        QCOMPARE(readForReferences("x.obj", kModels + "OBJ/cube_mtllib_after_g.obj"),
                 QByteArray("mtllib cube_mtllib_after_g.mat\n"));
    }

    void normalize_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("expected");
        QTest::newRow("dots") << "a/./b/../c.png"
                              << "a/c.png";
        QTest::newRow("backslashes") << "a\\b\\c.png"
                                     << "a/b/c.png";
        QTest::newRow("double slash") << "a//b"
                                      << "a/b";
        QTest::newRow("leading ./") << "./a"
                                    << "a";
        QTest::newRow("plain") << "scene.gltf"
                               << "scene.gltf";
        QTest::newRow("unicode and spaces") << "Texturen/Holz \u00e4.png"
                                            << "Texturen/Holz \u00e4.png";
        QTest::newRow("escapes") << "../x"
                                 << "";
        QTest::newRow("escapes later") << "a/../../x"
                                       << "";
        QTest::newRow("root itself") << "a/.."
                                     << "";
        QTest::newRow("absolute") << "/etc/passwd"
                                  << "";
        QTest::newRow("rooted backslash") << "\\x"
                                          << "";
        QTest::newRow("drive") << "C:/x"
                               << "";
        QTest::newRow("drive relative") << "c:x"
                                        << "";
        QTest::newRow("drive after ./") << "./C:x.png"
                                        << "";
        QTest::newRow("drive after ..") << "a/../c:/x.png"
                                        << "";
        QTest::newRow("colon deeper") << "a/C:x.png"
                                      << "a/C:x.png";
        QTest::newRow("empty") << ""
                               << "";
    }
    void normalize()
    {
        QFETCH(QString, path);
        QFETCH(QString, expected);
        QCOMPARE(normalizePath(path), expected);
    }

    void pathProblem_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("problem");
        QTest::newRow("fine") << "textures/wood grain \u00e9.png"
                              << "";
        QTest::newRow("empty") << ""
                               << "is empty";
        QTest::newRow("absolute") << "/a"
                                  << "is an absolute path";
        QTest::newRow("backslash") << "a\\b"
                                   << "holds a backslash";
        QTest::newRow("drive") << "C:x"
                               << "starts with a drive letter";
        QTest::newRow("colon") << "a/b:c"
                               << "holds a ':'";
        QTest::newRow("control") << "a\tb"
                                 << "holds a control character";
        QTest::newRow("dotdot") << "a/../b"
                                << "holds '..'";
        QTest::newRow("dot") << "./b"
                             << "holds a '.' folder";
        QTest::newRow("empty segment") << "a//b"
                                       << "holds an empty folder name";
        QTest::newRow("trailing slash") << "a/"
                                        << "holds an empty folder name";
        QTest::newRow("32 levels") << QString("a/").repeated(31) + "b"
                                   << "";
        QTest::newRow("33 levels") << QString("a/").repeated(32) + "b"
                                   << "is more than 32 levels deep";
        QTest::newRow("1024 characters") << QString(1024, 'x') << "";
        QTest::newRow("1025 characters") << QString(1025, 'x') << "is longer than 1024 characters";
    }
    void pathProblem()
    {
        QFETCH(QString, path);
        QFETCH(QString, problem);
        QCOMPARE(bundlePathProblem(path), problem);
    }

    void missing_data()
    {
        QTest::addColumn<Bundle>("bundle");
        QTest::addColumn<QString>("main");
        QTest::addColumn<QStringList>("messages");
        const QByteArray gltf = "{'buffers':[{'uri':'scene.bin'}], "_j
                                "'images':[{'uri':'textures/wood.png'}]}";
        const QByteArray png = "\x89PNG";

        QTest::newRow("gltf complete")
            << Bundle{{"scene.gltf", gltf}, {"scene.bin", "b"}, {"textures/wood.png", png}}
            << "scene.gltf" << QStringList();
        QTest::newRow("gltf lacks a texture")
            << Bundle{{"scene.gltf", gltf}, {"scene.bin", "b"}} << "scene.gltf"
            << QStringList{"scene.gltf needs textures/wood.png, which was not sent"};
        QTest::newRow("gltf in a folder lacks both")
            << Bundle{{"models/scene.gltf", gltf}, {"scene.bin", "b"}} << "models/scene.gltf"
            << QStringList{"models/scene.gltf needs models/scene.bin, which was not sent",
                           "models/scene.gltf needs models/textures/wood.png, which was not sent"};
        QTest::newRow("main not sent")
            << Bundle{{"x.gltf", gltf}} << "scene.gltf" << QStringList{"scene.gltf was not sent"};
        QTest::newRow("main without side files")
            << Bundle{{"part.stl", "solid"}} << "part.stl" << QStringList();
        QTest::newRow("stl main not sent")
            << Bundle{} << "part.stl" << QStringList{"part.stl was not sent"};
        QTest::newRow("obj lacks its mtl")
            << Bundle{{"scene.obj", "mtllib scene.mtl\nv 0 0 0\n"}} << "scene.obj"
            << QStringList{"scene.obj needs scene.mtl, which was not sent"};
        QTest::newRow("obj → mtl lacks a texture")
            << Bundle{{"scene.obj", "mtllib scene.mtl\n"},
                      {"scene.mtl", "newmtl a\nmap_Kd wood.png\nmap_Bump -bm 1 n.png\n"},
                      {"n.png", png}}
            << "scene.obj" << QStringList{"scene.mtl needs wood.png, which was not sent"};
        QTest::newRow("mtl in another folder: textures beside it")
            << Bundle{{"models/scene.obj", "mtllib ../mat/x.mtl\n"},
                      {"mat/x.mtl", "map_Kd tex.png\nmap_Ks gone.png\n"},
                      {"mat/tex.png", png}}
            << "models/scene.obj"
            << QStringList{"mat/x.mtl needs mat/gone.png, which was not sent"};
        QTest::newRow("absolute found beside")
            << Bundle{{"scene.obj", "mtllib scene.mtl\n"},
                      {"scene.mtl", "map_Kd C:\\tex\\wood.png\nmap_Ks file:///home/a/s%20p.png\n"},
                      {"wood.png", png}}
            << "scene.obj"
            << QStringList{"scene.mtl needs file:///home/a/s%20p.png, which was not sent"};
        QTest::newRow("absolute found at the root")
            << Bundle{{"models/scene.gltf", "{'images':[{'uri':'/home/a/wood.png'}]}"_j},
                      {"wood.png", png}}
            << "models/scene.gltf" << QStringList();
        QTest::newRow("absolute found nowhere")
            << Bundle{{"models/scene.gltf", "{'images':[{'uri':'C:\\\\tex\\\\wood.png'}]}"_j},
                      {"other/wood.png", png}}
            << "models/scene.gltf"
            << QStringList{"models/scene.gltf needs C:\\tex\\wood.png, which was not sent"};
        QTest::newRow("escaping found by name")
            << Bundle{{"scene.gltf", "{'images':[{'uri':'../../tex/x.png'}]}"_j}, {"x.png", png}}
            << "scene.gltf" << QStringList();
        QTest::newRow("escaping not found")
            << Bundle{{"scene.gltf", "{'images':[{'uri':'../../tex/x.png'}]}"_j}} << "scene.gltf"
            << QStringList{"scene.gltf needs ../../tex/x.png, which was not sent"};
        QTest::newRow("absolute mtl found by name is read too")
            << Bundle{{"scene.obj", "mtllib D:\\lib\\m.mtl\n"}, {"m.mtl", "map_Kd w.png\n"}}
            << "scene.obj" << QStringList{"m.mtl needs w.png, which was not sent"};
        QTest::newRow("mtllib cycle")
            << Bundle{{"a.obj", "mtllib a.obj b.mtl\n"}, {"b.mtl", "map_Kd a.obj\n"}} << "a.obj"
            << QStringList();
        QTest::newRow("mtllib with a space, one file")
            << Bundle{{"a.obj", "mtllib my mats.mtl\n"}, {"my mats.mtl", "map_Kd w.png\n"}}
            << "a.obj" << QStringList{"my mats.mtl needs w.png, which was not sent"};
        QTest::newRow("one message per reference")
            << Bundle{{"a.gltf", "{'images':[{'uri':'w.png'},{'uri':'w.png'}], "_j
                                 "'buffers':[{'uri':'w.png'}]}"}}
            << "a.gltf" << QStringList{"a.gltf needs w.png, which was not sent"};
        QTest::newRow("malformed main: nothing to name")
            << Bundle{{"a.gltf", "{\"images\":[{\"uri\":\"w.png\"}"}} << "a.gltf" << QStringList();
    }
    void missing()
    {
        QFETCH(Bundle, bundle);
        QFETCH(QString, main);
        QFETCH(QStringList, messages);
        QCOMPARE(missingFiles(main, reader(bundle)), messages);
        // The same answer when existence is asked separately.
        const FileExists exists = [&](const QString &p) { return bundle.contains(p); };
        QCOMPARE(missingFiles(main, reader(bundle), exists), messages);
    }

    // With `exists`, only the files that can name side files are read: never a texture.
    void readsOnlyWhatItParses()
    {
        const Bundle bundle{{"scene.obj", "mtllib scene.mtl\n"},
                            {"scene.mtl", "map_Kd wood.png\n"},
                            {"wood.png", QByteArray(1000, 'x')}};
        QStringList read;
        const ReadFile counting = [&](const QString &p) {
            read.append(p);
            return reader(bundle)(p);
        };
        const FileExists exists = [&](const QString &p) { return bundle.contains(p); };
        QCOMPARE(missingFiles("scene.obj", counting, exists), QStringList());
        QCOMPARE(read, (QStringList{"scene.obj", "scene.mtl"}));
    }

    // The real files checked as a bundle rooted at the models folder.
    void missingInRealModels_data()
    {
        QTest::addColumn<QString>("main");
        QTest::addColumn<QStringList>("messages");
        QTest::newRow("complete gltf")
            << "glTF2/BoxTextured-glTF/BoxTextured.gltf" << QStringList();
        QTest::newRow("complete obj") << "OBJ/spider.obj" << QStringList();
        QTest::newRow("dae with a sibling folder")
            << "Collada/kwxport_test_vcolors.dae" << QStringList();
        QTest::newRow("MissingBin")
            << "glTF2/MissingBin/BoxTextured.gltf"
            << QStringList{"glTF2/MissingBin/BoxTextured.gltf needs glTF2/MissingBin/"
                           "BoxTextured0.bin, which was not sent",
                           "glTF2/MissingBin/BoxTextured.gltf needs glTF2/MissingBin/"
                           "CesiumLogoFlat.png, which was not sent"};
        QTest::newRow("dae rooted path")
            << "Collada/earthCylindrical.DAE"
            << QStringList{"Collada/earthCylindrical.DAE needs "
                           "\\..\\LWO\\LWO2\\MappingModes\\EarthCylindric.jpg, which was not sent"};
    }
    void missingInRealModels()
    {
        REQUIRE_MODELS();
        QFETCH(QString, main);
        QFETCH(QStringList, messages);
        const ReadFile read = [](const QString &p) -> std::optional<QByteArray> {
            QFile f(kModels + p);
            if (!f.open(QIODevice::ReadOnly))
                return std::nullopt;
            return f.readAll();
        };
        QCOMPARE(missingFiles(main, read), messages);
    }

    void gatherRealFile_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("root");
        QTest::addColumn<QString>("main");
        QTest::addColumn<QStringList>("files");
        QTest::addColumn<QStringList>("missing");
        QTest::newRow("gltf") << "glTF2/BoxTextured-glTF/BoxTextured.gltf"
                              << "glTF2/BoxTextured-glTF"
                              << "BoxTextured.gltf"
                              << QStringList{"BoxTextured.gltf", "BoxTextured0.bin",
                                             "CesiumLogoFlat.png"}
                              << QStringList();
        QTest::newRow("obj → mtl → jpgs")
            << "OBJ/spider.obj"
            << "OBJ"
            << "spider.obj"
            << QStringList{"spider.obj",        "spider.mtl",    "wal67ar_small.jpg",
                           "wal69ar_small.jpg", "SpiderTex.jpg", "drkwood2.jpg",
                           "engineflare1.jpg"}
            << QStringList();
        QTest::newRow("dae reaching into a sibling folder")
            << "Collada/kwxport_test_vcolors.dae"
            << ""
            << "Collada/kwxport_test_vcolors.dae"
            << QStringList{"Collada/kwxport_test_vcolors.dae", "X/top.tga", "X/bottom.tga",
                           "X/updown.tga"}
            << QStringList();
        QTest::newRow("gltf without its bin")
            << "glTF2/MissingBin/BoxTextured.gltf"
            << "glTF2/MissingBin"
            << "BoxTextured.gltf" << QStringList{"BoxTextured.gltf"}
            << QStringList{"BoxTextured.gltf needs BoxTextured0.bin, which was not found",
                           "BoxTextured.gltf needs CesiumLogoFlat.png, which was not found"};
    }
    void gatherRealFile()
    {
        REQUIRE_MODELS();
        QFETCH(QString, file);
        QFETCH(QString, root);
        QFETCH(QString, main);
        QFETCH(QStringList, files);
        QFETCH(QStringList, missing);
        const LocalBundle b = gatherFromFile(kModels + file);
        QCOMPARE(b.root, QDir::cleanPath(kModels + root));
        QCOMPARE(b.main, main);
        QCOMPARE(b.files, files);
        QCOMPARE(b.missing, missing);
    }

    void gatherAbsoluteReferences()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const QString elsewhere = tmp.filePath("artist/textures/wood.png");
        QVERIFY(writeFile(elsewhere, "png"));
        QVERIFY(writeFile(tmp.filePath("job/scene.obj"), "mtllib mats/scene.mtl\n"));
        QVERIFY(writeFile(tmp.filePath("job/mats/scene.mtl"), "map_Kd " + elsewhere.toUtf8() +
                                                                  "\nmap_Ks C:\\tex\\spec.png\n"
                                                                  "map_Bump -bm 1 ..\\bump.png\n"));
        QVERIFY(writeFile(tmp.filePath("job/bump.png"), "png"));

        LocalBundle b = gatherFromFile(tmp.filePath("job/scene.obj"));
        QCOMPARE(b.root, QDir::cleanPath(tmp.filePath("job")));
        QCOMPARE(b.files, (QStringList{"scene.obj", "mats/scene.mtl", "bump.png"}));
        QCOMPARE(b.missing,
                 (QStringList{"mats/scene.mtl needs " + elsewhere +
                                  ", an absolute path: copy wood.png beside it",
                              "mats/scene.mtl needs C:\\tex\\spec.png, which was not found"}));

        // Copied beside the mtl, as the renderer will look for it.
        QVERIFY(writeFile(tmp.filePath("job/mats/wood.png"), "png"));
        QVERIFY(writeFile(tmp.filePath("job/mats/spec.png"), "png"));
        b = gatherFromFile(tmp.filePath("job/scene.obj"));
        QCOMPARE(b.files, (QStringList{"scene.obj", "mats/scene.mtl", "mats/wood.png",
                                       "mats/spec.png", "bump.png"}));
        QCOMPARE(b.missing, QStringList());
    }

    void gatherMissingMain()
    {
        const LocalBundle b = gatherFromFile("/nonexistent/farmhand/scene.gltf");
        QCOMPARE(b.files, QStringList());
        QCOMPARE(b.missing, QStringList{"scene.gltf was not found"});
    }

    void gatherFolder()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const QString d = tmp.path();
        QVERIFY(writeFile(d + "/scene.gltf",
                          "{'buffers':[{'uri':'scene.bin'}],'images':[{'uri':'tex/a b.png'}, "_j
                          "{'uri':'tex/gone.png'}]}"));
        QVERIFY(writeFile(d + "/scene.bin", "bin"));
        QVERIFY(writeFile(d + "/tex/a b.png", "png"));
        QVERIFY(writeFile(d + "/.DS_Store", "junk"));
        QVERIFY(writeFile(d + "/tex/._a b.png", "junk"));
        QVERIFY(writeFile(d + "/.git/config", "junk"));
        QTemporaryDir other;
        QVERIFY(writeFile(other.filePath("secret.png"), "x"));
        QVERIFY(QFile::link(d + "/scene.bin", d + "/link.bin"));
        QVERIFY(QFile::link(other.path(), d + "/linked-folder"));

        auto b = gatherFromFolder(d, {}, {"gltf", "glb"});
        QVERIFY2(b.ok(), b.ok() ? "" : qPrintable(b.error().message));
        QCOMPARE(b->root, QDir::cleanPath(d));
        QCOMPARE(b->main, "scene.gltf");
        QCOMPARE(b->files, (QStringList{"scene.bin", "scene.gltf", "tex/a b.png"}));
        QCOMPARE(b->missing, QStringList{"scene.gltf needs tex/gone.png, which was not sent"});

        b = gatherFromFolder(d, "tex/a b.png", {"gltf"});
        QVERIFY(b.ok());
        QCOMPARE(b->main, "tex/a b.png");
        QCOMPARE(b->missing, QStringList());

        b = gatherFromFolder(d, "nothere.gltf", {"gltf"});
        QVERIFY(!b.ok());
        QCOMPARE(b.error().code, "no_main_file");

        b = gatherFromFolder(d, {}, {"obj"});
        QVERIFY(!b.ok());
        QCOMPARE(b.error().code, "no_main_file");
        QVERIFY2(b.error().message.contains(".obj"), qPrintable(b.error().message));

        QVERIFY(writeFile(d + "/tex/Other.GLTF", "{}"));
        b = gatherFromFolder(d, {}, {"gltf"});
        QVERIFY(!b.ok());
        QCOMPARE(b.error().code, "ambiguous_main_file");
        QVERIFY2(b.error().message.contains("scene.gltf") &&
                     b.error().message.contains("tex/Other.GLTF"),
                 qPrintable(b.error().message));

        b = gatherFromFolder(d + "/nope", {}, {"gltf"});
        QVERIFY(!b.ok());
        QCOMPARE(b.error().code, "io_error");
    }

    void gatherRealFolder()
    {
        REQUIRE_MODELS();
        const auto b = gatherFromFolder(kModels + "glTF2/BoxTextured-glTF", {}, {"gltf", "glb"});
        QVERIFY(b.ok());
        QCOMPARE(b->main, "BoxTextured.gltf");
        QCOMPARE(b->files,
                 (QStringList{"BoxTextured.gltf", "BoxTextured0.bin", "CesiumLogoFlat.png"}));
        QCOMPARE(b->missing, QStringList());
    }

    void gatherTooManyFiles()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        for (int i = 0; i < kMaxGatherFiles; ++i)
            QVERIFY(writeFile(tmp.filePath(QString("f%1/%2.png").arg(i % 16).arg(i)), {}));
        QVERIFY(writeFile(tmp.filePath("scene.gltf"), "{}"));
        auto b = gatherFromFolder(tmp.path(), {}, {"gltf"});
        QVERIFY(!b.ok());
        QCOMPARE(b.error().code, "too_many_files");
        QFile::remove(tmp.filePath("f0/0.png"));
        b = gatherFromFolder(tmp.path(), {}, {"gltf"});
        QVERIFY2(b.ok(), b.ok() ? "" : qPrintable(b.error().message));
        QCOMPARE(b->files.size(), kMaxGatherFiles);
    }
};

QTEST_GUILESS_MAIN(TestSideFiles)
#include "tst_sidefiles.moc"
