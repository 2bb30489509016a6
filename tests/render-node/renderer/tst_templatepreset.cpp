// The `sam6d` template preset (docs/TEMPLATES.md): SAM-6D's 42 camera poses in its order, its
// files with the dtypes, units and value ranges its loaders read, and direct light without
// sampling noise.
#include "clirun.h"
#include "scene.h"
#include "templatepreset.h"

#include <QDir>
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <array>
#include <cmath>
#include <cstring>
#include <optional>

using namespace farm::render;
using farm::Result;
using farm::test::runCli;

namespace {

const QString kBearing = QStringLiteral("/usr/share/opencascade/data/stl/bearing.stl");

// SAM-6D's / CNOS's level-0 template pose file (cam_poses_level0.npy), copied by hand from the
// file as numpy prints it: per view the camera-to-world rotation (OpenCV, row-major) and the
// translation in millimetres.
constexpr double kPoseFile[kSam6dViews][12] = {
    {-1, 0, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1000},
    {0.951058053, 0.262862646, 0.162455557, -0.309012264, 0.809021733, 0.499995257, 0, -0.525725275,
     0.850654416, -162.455559, -499.995261, -850.654423},
    {-0.951058053, 0.262862646, 0.162455557, -0.309012264, -0.809021733, -0.499995257, -0,
     -0.525725275, 0.850654416, -162.455559, 499.995261, -850.654423},
    {-0.58778075, -0.688196485, -0.425322688, 0.809020266, -0.499998162, -0.309011404, 0,
     -0.525725629, 0.850654197, 425.322682, 309.0114, -850.654185},
    {0.58778075, -0.688196485, -0.425322688, 0.809020266, 0.499998162, 0.309011404, 0, -0.525725629,
     0.850654197, 425.322682, -309.0114, -850.654185},
    {0, 0.850651647, 0.525729754, -1, 0, 0, 0, -0.525729754, 0.850651647, -525.729775, 0,
     -850.651681},
    {-0.951054787, -0.162464671, -0.262868832, 0.309022317, -0.500005323, -0.809011672, 0,
     -0.850646758, 0.525737665, 262.868822, 809.011638, -525.737643},
    {0.951054787, -0.162464671, -0.262868832, 0.309022317, 0.500005323, 0.809011672, 0,
     -0.850646758, 0.525737665, 262.868822, -809.011638, -525.737643},
    {0.58778377, 0.42533007, 0.688189343, -0.809018072, 0.309019193, 0.499996898, 0, -0.850647677,
     0.525736179, -688.189387, -499.99693, -525.736213},
    {-0.58778377, 0.42533007, 0.688189343, -0.809018072, -0.309019193, -0.499996898, -0,
     -0.850647677, 0.525736179, -688.189387, 499.99693, -525.736213},
    {0, -0.525735903, -0.850647848, 1, 0, 0, 0, -0.850647848, 0.525735903, 850.647867, 0,
     -525.735915},
    {0.951058052, 0.138196416, 0.276388012, -0.309012269, 0.425332026, 0.850649214, 0, -0.894424071,
     0.447219836, -276.388019, -850.649238, -447.219849},
    {-0.951058052, 0.138196416, 0.276388012, -0.309012269, -0.425332026, -0.850649214, -0,
     -0.894424071, 0.447219836, -276.388019, 850.649238, -447.219849},
    {-0.587780735, -0.361809674, -0.723607329, 0.809020276, -0.262867029, -0.525725325, 0,
     -0.89442422, 0.447219538, 723.607302, 525.725305, -447.219521},
    {0.587780735, -0.361809674, -0.723607329, 0.809020276, 0.262867029, 0.525725325, 0, -0.89442422,
     0.447219538, 723.607302, -525.725305, -447.219521},
    {0, 0.447215598, 0.89442619, -1, 0, 0, 0, -0.89442619, 0.447215598, -894.426227, 0,
     -447.215617},
    {0.809016728, 0, 0.587785619, -0.587785619, 0, 0.809016728, 0, -1, 0, -587.785602, -809.016705,
     0},
    {0.309012647, 0, 0.951057929, -0.951057929, 0, 0.309012647, 0, -1, 0, -951.057851, -309.012622,
     0},
    {-0.309012647, 0, 0.951057929, -0.951057929, 0, -0.309012647, -0, -1, 0, -951.057851,
     309.012622, 0},
    {-0.809016728, 0, 0.587785619, -0.587785619, 0, -0.809016728, -0, -1, 0, -587.785602,
     809.016705, 0},
    {-1, 0, 0, -0, 0, -1, -0, -1, 0, 0, 999.99994, 0},
    {-0.809016728, -0, -0.587785619, 0.587785619, 0, -0.809016728, 0, -1, 0, 587.785602, 809.016705,
     0},
    {-0.309012647, -0, -0.951057929, 0.951057929, 0, -0.309012647, 0, -1, 0, 951.057851, 309.012622,
     0},
    {0.309012647, 0, -0.951057929, 0.951057929, 0, 0.309012647, 0, -1, 0, 951.057851, -309.012622,
     0},
    {0.809016728, 0, -0.587785619, 0.587785619, 0, 0.809016728, 0, -1, 0, 587.785602, -809.016705,
     0},
    {1, 0, 0, -0, 0, 1, 0, -1, 0, 0, -999.99994, 0},
    {0, 0.447215598, -0.89442619, 1, 0, 0, 0, -0.89442619, -0.447215598, 894.426227, 0, 447.215617},
    {0.587780735, -0.361809674, 0.723607329, -0.809020276, -0.262867029, 0.525725325, 0,
     -0.89442422, -0.447219538, -723.607302, -525.725305, 447.219521},
    {-0.587780735, -0.361809674, 0.723607329, -0.809020276, 0.262867029, -0.525725325, -0,
     -0.89442422, -0.447219538, -723.607302, 525.725305, 447.219521},
    {-0.951058052, 0.138196416, -0.276388012, 0.309012269, 0.425332026, -0.850649214, 0,
     -0.894424071, -0.447219836, 276.388019, 850.649238, 447.219849},
    {0.951058052, 0.138196416, -0.276388012, 0.309012269, -0.425332026, 0.850649214, 0,
     -0.894424071, -0.447219836, 276.388019, -850.649238, 447.219849},
    {0, -0.525735903, 0.850647848, -1, -0, 0, 0, -0.850647848, -0.525735903, -850.647867, 0,
     525.735915},
    {-0.58778377, 0.42533007, -0.688189343, 0.809018072, 0.309019193, -0.499996898, 0, -0.850647677,
     -0.525736179, 688.189387, 499.99693, 525.736213},
    {0.58778377, 0.42533007, -0.688189343, 0.809018072, -0.309019193, 0.499996898, 0, -0.850647677,
     -0.525736179, 688.189387, -499.99693, 525.736213},
    {0.951054787, -0.162464671, 0.262868832, -0.309022317, -0.500005323, 0.809011672, 0,
     -0.850646758, -0.525737665, -262.868822, -809.011638, 525.737643},
    {-0.951054787, -0.162464671, 0.262868832, -0.309022317, 0.500005323, -0.809011672, -0,
     -0.850646758, -0.525737665, -262.868822, 809.011638, 525.737643},
    {0, 0.850651647, -0.525729754, 1, 0, 0, 0, -0.525729754, -0.850651647, 525.729775, 0,
     850.651681},
    {0.58778075, -0.688196485, 0.425322688, -0.809020266, -0.499998162, 0.309011404, 0,
     -0.525725629, -0.850654197, -425.322682, -309.0114, 850.654185},
    {-0.58778075, -0.688196485, 0.425322688, -0.809020266, 0.499998162, -0.309011404, -0,
     -0.525725629, -0.850654197, -425.322682, 309.0114, 850.654185},
    {-0.951058053, 0.262862641, -0.162455566, 0.309012264, 0.809021717, -0.499995282, 0,
     -0.525725302, -0.850654399, 162.455559, 499.995261, 850.654364},
    {0.951058053, 0.262862641, -0.162455566, 0.309012264, -0.809021717, 0.499995282, 0,
     -0.525725302, -0.850654399, 162.455559, -499.995261, 850.654364},
    {1, 0, 0, 0, -1, 0, 0, 0, -1, 0, 0, 1000},
};

/// IEEE half to float (the xyz files are float16).
float fromHalf(uint16_t h)
{
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu;
    const uint32_t mantissa = h & 0x3ffu;
    float v;
    if (exponent == 0)
        v = std::ldexp(float(mantissa), -24);
    else if (exponent == 31)
        v = mantissa ? NAN : INFINITY;
    else
        v = std::ldexp(float(mantissa | 0x400u), int(exponent) - 25);
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    bits |= sign;
    std::memcpy(&v, &bits, 4);
    return v;
}

struct Npy
{
    QString descr;
    QList<int> shape;
    QByteArray data;
};

std::optional<Npy> readNpy(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return std::nullopt;
    const QByteArray all = f.readAll();
    if (!all.startsWith("\x93NUMPY") || all.size() < 10)
        return std::nullopt;
    const int headerLen = uchar(all[8]) | (uchar(all[9]) << 8);
    const QString header = QString::fromLatin1(all.mid(10, headerLen));
    Npy n;
    static const QRegularExpression descr(QStringLiteral("'descr': '([^']+)'"));
    static const QRegularExpression shape(QStringLiteral("'shape': \\(([^)]*)\\)"));
    n.descr = descr.match(header).captured(1);
    for (const QString &s : shape.match(header).captured(1).split(',', Qt::SkipEmptyParts))
        n.shape.append(s.trimmed().toInt());
    n.data = all.mid(10 + headerLen);
    return n;
}

/// Distance from p to triangle abc (Ericson's closest point on a triangle).
double pointTriangleDistance(const std::array<double, 3> &p, const Vec3 &a3, const Vec3 &b3,
                             const Vec3 &c3)
{
    using V = std::array<double, 3>;
    const V a{a3.x, a3.y, a3.z}, b{b3.x, b3.y, b3.z}, c{c3.x, c3.y, c3.z};
    auto sub = [](const V &x, const V &y) { return V{x[0] - y[0], x[1] - y[1], x[2] - y[2]}; };
    auto dot = [](const V &x, const V &y) { return x[0] * y[0] + x[1] * y[1] + x[2] * y[2]; };
    auto at = [&](double u, const V &e1, double v, const V &e2) {
        return V{a[0] + u * e1[0] + v * e2[0], a[1] + u * e1[1] + v * e2[1],
                 a[2] + u * e1[2] + v * e2[2]};
    };
    const V ab = sub(b, a), ac = sub(c, a), ap = sub(p, a);
    V q;
    const double d1 = dot(ab, ap), d2 = dot(ac, ap);
    const V bp = sub(p, b);
    const double d3 = dot(ab, bp), d4 = dot(ac, bp);
    const V cp = sub(p, c);
    const double d5 = dot(ab, cp), d6 = dot(ac, cp);
    const double vc = d1 * d4 - d3 * d2, vb = d5 * d2 - d1 * d6, va = d3 * d6 - d5 * d4;
    if (d1 <= 0 && d2 <= 0)
        q = a;
    else if (d3 >= 0 && d4 <= d3)
        q = b;
    else if (vc <= 0 && d1 >= 0 && d3 <= 0)
        q = at(d1 / (d1 - d3), ab, 0, ac);
    else if (d6 >= 0 && d5 <= d6)
        q = c;
    else if (vb <= 0 && d2 >= 0 && d6 <= 0)
        q = at(0, ab, d2 / (d2 - d6), ac);
    else if (va <= 0 && (d4 - d3) >= 0 && (d5 - d6) >= 0) {
        const double w = (d4 - d3) / ((d4 - d3) + (d5 - d6));
        q = V{b[0] + w * (c[0] - b[0]), b[1] + w * (c[1] - b[1]), b[2] + w * (c[2] - b[2])};
    } else {
        const double denom = 1.0 / (va + vb + vc);
        q = at(vb * denom, ab, vc * denom, ac);
    }
    const V d = sub(p, q);
    return std::sqrt(dot(d, d));
}

QString python3WithNumpy()
{
    for (const QString &candidate :
         {QStringLiteral("/usr/bin/python3"), QStandardPaths::findExecutable("python3")}) {
        if (candidate.isEmpty() || !QFile::exists(candidate))
            continue;
        QProcess p;
        p.start(candidate, {QStringLiteral("-c"), QStringLiteral("import numpy")});
        if (p.waitForFinished(60000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0)
            return candidate;
    }
    return {};
}

} // namespace

class TestTemplatePreset : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_out = m_dir.filePath(QStringLiteral("set"));
        const farm::test::Run r =
            runCli({kBearing, QStringLiteral("-o"), m_out, QStringLiteral("--preset"),
                    QStringLiteral("sam6d"), QStringLiteral("--size"), QStringLiteral("96x72"),
                    QStringLiteral("--threads"), QStringLiteral("2")});
        QCOMPARE(r.exitCode, 0);
        m_log = r.out;
    }

    void rotationsAndCentresFollowThePoseFile()
    {
        for (int i = 0; i < kSam6dViews; ++i) {
            const std::array<double, 9> rot = sam6dRotation(i);
            const std::array<double, 3> c = sam6dDirection(i);
            for (int k = 0; k < 9; ++k)
                QVERIFY2(std::fabs(rot[size_t(k)] - kPoseFile[i][k]) < 1e-5,
                         qPrintable(QStringLiteral("view %1 rotation %2").arg(i).arg(k)));
            for (int k = 0; k < 3; ++k)
                QVERIFY(std::fabs(c[size_t(k)] - kPoseFile[i][9 + k] / 1000.0) < 1e-5);
        }
    }

    void camerasJsonHoldsThePosesInModelUnits()
    {
        QFile f(QDir(m_out).filePath(QStringLiteral("cameras.json")));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject doc = QJsonDocument::fromJson(f.readAll()).object();
        QCOMPARE(doc.value("preset").toString(), QStringLiteral("sam6d"));
        Result<Scene> scene = Scene::load(kBearing);
        QVERIFY(scene.ok());
        const double radius = sam6dRadius(scene->bounds());
        QVERIFY(std::fabs(doc.value("radius").toDouble() - radius) < 1e-9 * radius);
        QVERIFY(std::fabs(doc.value("object_scale").toDouble() - 1.0 / (2.0 * radius)) < 1e-12);
        const QJsonArray views = doc.value("views").toArray();
        QCOMPARE(views.size(), kSam6dViews);
        // The documented conversion: camera_to_world rotation = the file's rotation; centre
        // (model units) / (2 radius) / 2 = the file's translation / 1000.
        for (int i = 0; i < kSam6dViews; ++i) {
            const QJsonArray m = views[i].toObject().value("camera_to_world").toArray();
            QCOMPARE(views[i].toObject().value("view").toInt(), i);
            for (int r = 0; r < 3; ++r) {
                const QJsonArray row = m[r].toArray();
                for (int c = 0; c < 3; ++c)
                    QVERIFY2(std::fabs(row[c].toDouble() - kPoseFile[i][3 * r + c]) < 1e-5,
                             qPrintable(QStringLiteral("view %1 (%2, %3)").arg(i).arg(r).arg(c)));
                const double converted = row[3].toDouble() / (2.0 * radius) / 2.0;
                QVERIFY2(std::fabs(converted - kPoseFile[i][9 + r] / 1000.0) < 1e-5,
                         qPrintable(
                             QStringLiteral("view %1 centre %2: %3").arg(i).arg(r).arg(converted)));
            }
        }
        // The intrinsics: BlenderProc's 0.691111 rad across the longer side (96 px).
        const double fx = doc.value("intrinsics").toObject().value("fx").toDouble();
        QVERIFY(std::fabs(fx - 48.0 / std::tan(0.691111 / 2.0)) < 1e-3);
    }

    void filesAreLaidOutAsSam6dReadsThem()
    {
        // OUT is SAM-6D's templates folder: it counts the .npy files there as its views.
        const QDir templates(m_out);
        QCOMPARE(templates.entryList({QStringLiteral("*.npy")}, QDir::Files).size(), kSam6dViews);
        QCOMPARE(templates.entryList({QStringLiteral("rgb_*.png")}, QDir::Files).size(),
                 kSam6dViews);
        QCOMPARE(templates.entryList({QStringLiteral("mask_*.png")}, QDir::Files).size(),
                 kSam6dViews);
        QVERIFY(QFile::exists(QDir(m_out).filePath(QStringLiteral("cameras.json"))));
        QCOMPARE(templates.entryList(QDir::Files).size(), 3 * kSam6dViews + 1);
        QCOMPARE(farm::test::linesStartingWith(m_log, QStringLiteral("FRAME ")).size(),
                 kSam6dViews);
        const QImage rgb(templates.filePath(QStringLiteral("rgb_0.png")));
        QCOMPARE(rgb.size(), QSize(96, 72));
        QVERIFY(!rgb.hasAlphaChannel());
        QCOMPARE(rgb.depth(), 32); // 8 bits per channel (Qt holds RGB32)
    }

    void masksAreZeroOr255AndXyzLiesOnTheMesh()
    {
        Result<Scene> scene = Scene::load(kBearing);
        QVERIFY(scene.ok());
        const Vec3 *positions = scene->view().positions;
        const size_t triangles = scene->stats().triangles;
        const double radius = sam6dRadius(scene->bounds());
        const QDir templates(m_out);
        int checked = 0;
        for (int view : {0, 7, 20, 33, 41}) {
            const QImage mask(templates.filePath(QStringLiteral("mask_%1.png").arg(view)));
            QCOMPARE(mask.format(), QImage::Format_Grayscale8);
            const std::optional<Npy> xyz =
                readNpy(templates.filePath(QStringLiteral("xyz_%1.npy").arg(view)));
            QVERIFY(xyz);
            QCOMPARE(xyz->descr, QStringLiteral("<f2"));
            QCOMPARE(xyz->shape, (QList<int>{72, 96, 3}));
            QCOMPARE(xyz->data.size(), 72 * 96 * 3 * 2);
            const auto *h = reinterpret_cast<const uint16_t *>(xyz->data.constData());
            int object = 0;
            for (int y = 0; y < 72; ++y) {
                for (int x = 0; x < 96; ++x) {
                    const int m = mask.constScanLine(y)[x];
                    QVERIFY2(m == 0 || m == 255, qPrintable(QString::number(m)));
                    const size_t i = 3 * (size_t(y) * 96 + size_t(x));
                    const std::array<double, 3> p{fromHalf(h[i]), fromHalf(h[i + 1]),
                                                  fromHalf(h[i + 2])};
                    if (m == 0) { // SAM-6D's background: -1 in every channel
                        QCOMPARE(p, (std::array<double, 3>{-1.0, -1.0, -1.0}));
                        continue;
                    }
                    ++object;
                    if ((x + y) % 7 != 0) // every 7th object pixel against the mesh
                        continue;
                    double best = 1e300;
                    for (size_t t = 0; t < triangles; ++t)
                        best = std::min(best, pointTriangleDistance(p, positions[3 * t],
                                                                    positions[3 * t + 1],
                                                                    positions[3 * t + 2]));
                    // float16 keeps 11 significant bits: half a step at the largest coordinate.
                    QVERIFY2(best < radius / 1024.0,
                             qPrintable(QStringLiteral("view %1 (%2, %3): %4 from the mesh")
                                            .arg(view)
                                            .arg(x)
                                            .arg(y)
                                            .arg(best)));
                    ++checked;
                }
            }
            QVERIFY2(object > 200, qPrintable(QString::number(object)));
        }
        QVERIFY(checked > 100);
    }

    void numpyLoadsTheFilesAsSam6dDoes()
    {
        const QString python = python3WithNumpy();
        if (python.isEmpty())
            QSKIP("python3 with numpy is not installed (scripts/setup-deps.sh --test installs it)");
        // SAM-6D's template reader: np.load(xyz).astype(np.float32) / 1000.0 for millimetre
        // models, masked by mask == 255 (here from the xyz's own background, as PNG decoding
        // needs more than numpy), as its loaders take them from output_dir/templates.
        const QString script = QStringLiteral(R"(
import numpy as np, os, sys
out = sys.argv[1]
tem = out
n = len([f for f in os.listdir(tem) if f.endswith('.npy')])
assert n == 42, n
for i in range(n):
    raw = np.load(os.path.join(tem, 'xyz_' + str(i) + '.npy'))
    assert raw.dtype == np.float16 and raw.shape == (72, 96, 3), (raw.dtype, raw.shape)
    xyz = raw.astype(np.float32) / 1000.0
    obj = np.any(raw != -1, axis=2)
    assert obj.sum() > 100 and np.all(raw[~obj] == -1)
    assert np.all(np.abs(xyz[obj]) < 1.0)
print('ok', n)
)");
        QProcess p;
        p.start(python, {QStringLiteral("-c"), script, m_out});
        QVERIFY(p.waitForFinished(120000));
        const QString out = QString::fromUtf8(p.readAllStandardOutput());
        QVERIFY2(p.exitCode() == 0, qPrintable(QString::fromUtf8(p.readAllStandardError())));
        QCOMPARE(out.trimmed(), QStringLiteral("ok 42"));
    }

    void directLightHasNoSamplingNoise()
    {
        // One pixel-centre sample, no indirect light: the point light (one shadow ray) and the
        // world's ambient term use no random numbers, so the seed changes nothing.
        QStringList images;
        for (const char *seed : {"1", "77"}) {
            const QString out = m_dir.filePath(QStringLiteral("seed%1").arg(QLatin1String(seed)));
            const farm::test::Run r =
                runCli({kBearing, QStringLiteral("-o"), out, QStringLiteral("--preset"),
                        QStringLiteral("sam6d"), QStringLiteral("--size"), QStringLiteral("64x48"),
                        QStringLiteral("--spp"), QStringLiteral("1"), QStringLiteral("--aa"),
                        QStringLiteral("uniform"), QStringLiteral("--seed"), QLatin1String(seed)});
            QCOMPARE(r.exitCode, 0);
            images.append(QDir(out).filePath(QStringLiteral("rgb_5.png")));
        }
        const QImage a(images[0]), b(images[1]);
        QVERIFY(!a.isNull());
        QCOMPARE(a, b);
        // Lit: the object is much brighter than the world's 0.05.
        int bright = 0;
        for (int y = 0; y < a.height(); ++y)
            for (int x = 0; x < a.width(); ++x)
                bright += qGray(a.pixel(x, y)) > 120;
        QVERIFY2(bright > 100, qPrintable(QString::number(bright)));
    }

    void badArguments_data()
    {
        QTest::addColumn<QStringList>("extra");
        QTest::newRow("unknown preset") << QStringList{"--preset", "cnos9"};
        QTest::newRow("views") << QStringList{"--preset", "sam6d", "--views", "10"};
        QTest::newRow("fov") << QStringList{"--preset", "sam6d", "--fov", "30"};
        QTest::newRow("16 bit") << QStringList{"--preset", "sam6d", "--bit-depth", "16"};
        QTest::newRow("turntable") << QStringList{"--preset", "sam6d", "--turntable"};
        QTest::newRow("aa value") << QStringList{"--preset", "sam6d", "--aa", "some"};
        QTest::newRow("aa alone") << QStringList{"--views", "4", "--aa", "uniform"};
    }
    void badArguments()
    {
        QFETCH(QStringList, extra);
        const farm::test::Run r = runCli(
            QStringList{kBearing, QStringLiteral("-o"), m_dir.filePath(QStringLiteral("bad"))} +
            extra);
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.startsWith(QStringLiteral("error: ")));
    }

private:
    QTemporaryDir m_dir;
    QString m_out;
    QStringList m_log;
};

QTEST_MAIN(TestTemplatePreset)
#include "tst_templatepreset.moc"
