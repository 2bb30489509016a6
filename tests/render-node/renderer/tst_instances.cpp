// The instance pass: one id per (node, mesh) pair of the file's node graph, 0 for background,
// the same id for the same part in every view; the render command's 16-bit PNG and JSON map.
#include "clirun.h"
#include "framing.h"
#include "passes.h"
#include "rendercli.h"

#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

using farm::Result;
using namespace farm::render;
using namespace farm::test;

namespace {

constexpr int kW = 96, kH = 72;

Camera turntableCamera(const Scene &scene, int frame)
{
    CameraRig rig;
    rig.mode = CameraMode::Turntable;
    rig.cycleFirst = 1;
    rig.cycleCount = 6; // 60 degrees apart
    RenderParams p;
    return frameCamera(scene.bounds(), rig, frame, kW, kH, p);
}

/// Pixel of camera `c` (pinhole) that sees world point `p`, with its depth; false if behind.
bool project(const Camera &c, Vec3 p, int &x, int &y, float &depth)
{
    const Vec3 v = p - c.position;
    depth = -dot(v, c.w);
    if (!(depth > 0.f))
        return false;
    const float fx = dot(v, c.u) / depth / (c.tanHalfFovY * c.aspect);
    const float fy = dot(v, c.v) / depth / c.tanHalfFovY;
    x = int(std::floor((fx + 1.f) * 0.5f * kW));
    y = int(std::floor((1.f - fy) * 0.5f * kH));
    return x >= 0 && x < kW && y >= 0 && y < kH;
}

} // namespace

class TestInstances : public QObject
{
    Q_OBJECT

private:
    std::optional<Scene> m_engine;

private slots:
    void initTestCase()
    {
        Result<Scene> s = Scene::load(kEngine);
        QVERIFY(s.ok());
        m_engine.emplace(std::move(*s));
    }

    void instancesFollowTheNodeGraph()
    {
        // 2CylinderEngine.glb has many nodes sharing a few meshes: every (node, mesh) pair is
        // its own instance, so there are more instances than distinct meshes.
        const std::vector<SceneInstance> &instances = m_engine->instances();
        QVERIFY2(instances.size() > 20, qPrintable(QString::number(instances.size())));
        QSet<QString> meshes, pairs;
        for (const SceneInstance &i : instances) {
            meshes.insert(i.mesh);
            pairs.insert(i.node + QLatin1Char('/') + i.mesh);
        }
        QCOMPARE(qsizetype(pairs.size()), qsizetype(instances.size()));
        QVERIFY(meshes.size() < pairs.size());
        const std::vector<uint32_t> &ids = m_engine->instanceIds();
        QCOMPARE(ids.size(), m_engine->triangleCount());
        QSet<uint32_t> used;
        for (uint32_t id : ids) {
            QVERIFY(id < instances.size());
            used.insert(id);
        }
        QVERIFY(used.size() > 20);
        QCOMPARE(m_engine->view().instanceIds, ids.data());
    }

    void idsInTwoViews()
    {
        const Camera a = turntableCamera(*m_engine, 1), b = turntableCamera(*m_engine, 2);
        const AovBuffers aovA = renderAovs(*m_engine, a, kW, kH, 2);
        const AovBuffers aovB = renderAovs(*m_engine, b, kW, kH, 2);
        QSet<uint32_t> seen;
        for (const AovBuffers *buffers : {&aovA, &aovB}) {
            for (const AovSample &s : buffers->pixels) {
                QCOMPARE(s.instance > 0, s.hit); // every object pixel has an id, background 0
                QVERIFY(s.instance <= m_engine->instances().size());
                if (s.hit)
                    seen.insert(s.instance);
            }
        }
        QVERIFY2(seen.size() > 5, qPrintable(QString::number(seen.size())));
        // A surface point of view A that view B sees (same depth there) has the same id in B.
        int compared = 0, differ = 0;
        for (int y = 0; y < kH; ++y) {
            for (int x = 0; x < kW; ++x) {
                const AovSample &s = aovA.pixels[size_t(y * kW + x)];
                if (!s.hit)
                    continue;
                const Ray r = a.generateRay(x + 0.5f, y + 0.5f, kW, kH);
                const Vec3 p = r.origin + r.dir * (s.depth / dot(r.dir, -a.w));
                int bx, by;
                float depth;
                if (!project(b, p, bx, by, depth))
                    continue;
                const AovSample &o = aovB.pixels[size_t(by * kW + bx)];
                if (!o.hit || std::fabs(o.depth - depth) > 2e-3f * depth)
                    continue; // hidden in view B, or B's pixel centre lands elsewhere
                ++compared;
                differ += o.instance != s.instance ? 1 : 0;
            }
        }
        // Pixel centres differ between the views, so a few samples straddle part borders.
        QVERIFY2(compared > 100 && differ * 50 < compared,
                 qPrintable(QStringLiteral("%1 of %2 differ").arg(differ).arg(compared)));
    }

    void bareTrianglesAreOneInstance()
    {
        TriangleMesh mesh;
        mesh.positions = {Vec3(-1, -1, 0), Vec3(1, -1, 0), Vec3(0, 1, 0)};
        Result<Scene> scene = Scene::fromTriangles(std::move(mesh), 1);
        QVERIFY(scene.ok());
        QVERIFY(scene->instances().empty());
        const Camera c = lookAt(Vec3(0, 0, 5), Vec3(0.f), Vec3(0, 1, 0), 40.f, 1.f);
        const AovBuffers a = renderAovs(*scene, c, 16, 16, 1);
        QCOMPARE(a.pixels[8 * 16 + 8].instance, 1u);
        QCOMPARE(a.pixels[0].instance, 0u);
        const QJsonObject map = QJsonDocument::fromJson(instanceMapJson(*scene)).object();
        QCOMPARE(map.value("instances").toArray().size(), 1);
    }

    void renderCommand()
    {
        QTemporaryDir dir;
        const Run r = runCli({kEngine, "-o", dir.filePath("f_####.png"), "--size", "96x72", "--spp",
                              "1", "--frames", "1-2", "--turntable", "--cycle", "1:6", "--passes",
                              "mask,instance"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(linesStartingWith(r.out, "OUTPUT 1 instance ").size(), 2); // PNG and map
        const QJsonObject map = [&] {
            QFile f(dir.filePath("f_0001_instance.json"));
            return f.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(f.readAll()).object()
                                               : QJsonObject();
        }();
        QCOMPARE(map.value("background").toInt(-1), 0);
        const QJsonArray list = map.value("instances").toArray();
        QCOMPARE(size_t(list.size()), m_engine->instances().size());
        for (qsizetype i = 0; i < list.size(); ++i) {
            QCOMPARE(list[i].toObject().value("id").toInt(), int(i + 1));
            QCOMPARE(list[i].toObject().value("node").toString(), m_engine->instances()[i].node);
        }
        QSet<int> ids;
        for (const char *frame : {"0001", "0002"}) {
            const QImage png(dir.filePath(QStringLiteral("f_%1_instance.png").arg(frame)));
            const QImage mask(dir.filePath(QStringLiteral("f_%1_mask.png").arg(frame)));
            QCOMPARE(png.format(), QImage::Format_Grayscale16);
            QCOMPARE(png.size(), QSize(kW, kH));
            for (int y = 0; y < kH; ++y) {
                const auto *row = reinterpret_cast<const quint16 *>(png.constScanLine(y));
                for (int x = 0; x < kW; ++x) {
                    QCOMPARE(row[x] > 0, qGray(mask.pixel(x, y)) > 0);
                    QVERIFY(row[x] <= list.size());
                    if (row[x] > 0)
                        ids.insert(row[x]);
                }
            }
        }
        QVERIFY2(ids.size() > 5, qPrintable(QString::number(ids.size())));

        // Template sets: instance_N.png per view and one instances.json.
        const Run views = runCli({kEngine, "-o", dir.filePath("tpl"), "--size", "32x24", "--spp",
                                  "1", "--views", "2", "--passes", "mask,instance"});
        QVERIFY2(views.exitCode == 0, qPrintable(views.err));
        QVERIFY(QFile::exists(dir.filePath("tpl/instance_0.png")));
        QVERIFY(QFile::exists(dir.filePath("tpl/instance_1.png")));
        QCOMPARE(
            linesStartingWith(views.out, "CAMERAS " + dir.filePath("tpl/instances.json")).size(),
            1);
    }
};

QTEST_GUILESS_MAIN(TestInstances)
#include "tst_instances.moc"
