// The built-in renderer as an engine: its checks, the child's command line and environment,
// and the translation of the child-output protocol (renderer/childprotocol.h).
#include "agent/nodeconfig.h"
#include "agent/taskspec.h"
#include "engines/engineregistry.h"
#include "engines/farmhand/farmhandengine.h"
#include "renderer/childprotocol.h"

#include <QJsonArray>
#include <QtTest>

using namespace farm;
using namespace farm::node;

namespace {

QJsonObject assign(const QJsonObject &settings, const QString &type = "model")
{
    const QString sha(64, 'f');
    return {{"task", 5},
            {"job", 2},
            {"type", type},
            {"engine", "farmhand"},
            {"frames", "5-8"},
            {"job_frames", "3-26"},
            {"input",
             QJsonObject{{"main", "m.glb"},
                         {"files", QJsonArray{QJsonObject{{"path", "m.glb"}, {"file", sha}}}}}},
            {"settings", settings}};
}

TaskSpec spec(const QJsonObject &message)
{
    auto s = TaskSpec::fromAssign(message);
    if (!s)
        qFatal("%s", qPrintable(s.error().message));
    return *s;
}

} // namespace

class TestFarmhandEngine : public QObject
{
    Q_OBJECT

    FarmhandEngine m_engine{"/bin/render-node", {}};

    QStringList launchArgs(const TaskSpec &t, int threads = 2, TaskSlot slot = {})
    {
        const LaunchContext context{t, "/w", "/w/input/m.glb", slot, threads};
        auto l = m_engine.launch(context);
        if (!l)
            qFatal("%s", qPrintable(l.error().message));
        return l->arguments;
    }

private slots:
    void detects()
    {
        const EngineDetection d = m_engine.detect();
        QVERIFY(d.available);
        QCOMPARE(d.version, QString(kFarmVersion));
        QCOMPARE(d.devices, QStringList{"CPU"});
        const EngineDetection gpu =
            FarmhandEngine("/bin/render-node", {{"RTX A4000", "GPU-1", 16000, "8.6", "550"}})
                .detect();
        QCOMPARE(gpu.devices, (QStringList{"CPU", "CUDA: RTX A4000"}));
        QVERIFY(!FarmhandEngine("", {}).detect().available);
    }

    void launch()
    {
        const TaskSpec t = spec(assign({{"width", 320},
                                        {"height", 200},
                                        {"spp", 4},
                                        {"seed", 9},
                                        {"camera", QJsonObject{{"mode", "turntable"}}}}));
        QVERIFY(m_engine.check(t).ok());
        const LaunchContext context{t, "/w", "/w/input/m.glb", {}, 2};
        const auto l = m_engine.launch(context);
        QVERIFY(l.ok());
        QCOMPARE(l->program, QString("/bin/render-node"));
        QCOMPARE(l->workDir, QString("/w"));
        QCOMPARE(l->expectedFrames, 4);
        QCOMPARE(l->unit, QString("frames"));
        QVERIFY(!l->expectsCameraFiles);
        // CPU slot: only the renderer's malloc settings (added to the node's own, if any),
        // so that the child need not start itself again to get them.
        QCOMPARE(l->environment.keys(), QStringList{"GLIBC_TUNABLES"});
        QCOMPARE(l->environment.value("GLIBC_TUNABLES"),
                 childprotocol::childMallocTunables(qEnvironmentVariable("GLIBC_TUNABLES")));
        QVERIFY(childprotocol::hasMallocTunables(l->environment.value("GLIBC_TUNABLES")));
        QCOMPARE(childprotocol::childMallocTunables(""),
                 QString::fromLatin1(childprotocol::kMallocTunables));
        QCOMPARE(childprotocol::childMallocTunables("glibc.malloc.arena_max=2"),
                 "glibc.malloc.arena_max=2:" + QString::fromLatin1(childprotocol::kMallocTunables));
        QCOMPARE(childprotocol::childMallocTunables("glibc.malloc.hugetlb=0"),
                 QString("glibc.malloc.hugetlb=0")); // the node's own stands
        QCOMPARE(l->arguments, (QStringList{"render",
                                            "/w/input/m.glb",
                                            "-o",
                                            "/w/frame_####.png",
                                            "--frames",
                                            "5-8",
                                            "--size",
                                            "320x200",
                                            "--spp",
                                            "4",
                                            "--seed",
                                            "9",
                                            "--threads",
                                            "2",
                                            "--passes",
                                            "rgb",
                                            "--bit-depth",
                                            "8",
                                            "--turntable",
                                            "--cycle",
                                            "3:24",
                                            "--root",
                                            "/w/input",
                                            "--device",
                                            "cpu",
                                            "--preview",
                                            "/w/preview.jpg",
                                            "--preview-interval",
                                            "1.5"}));

        // A GPU slot: CUDA in the environment and on the command line.
        const auto gpu = m_engine.launch({t, "/w", "/w/input/m.glb", {1, "GPU-abc"}, 2});
        QVERIFY(gpu.ok());
        QCOMPARE(gpu->environment.value("CUDA_VISIBLE_DEVICES"), QString("GPU-abc"));
        QCOMPARE(gpu->arguments.mid(gpu->arguments.indexOf("--device"), 2),
                 (QStringList{"--device", "cuda"}));
    }

    void templates()
    {
        // A template set: --views into a directory, its passes and bit depth, no frames.
        QJsonObject m = assign({{"width", 160},
                                {"height", 120},
                                {"views", 42},
                                {"bit_depth", 16},
                                {"passes", QJsonArray{"rgb", "mask", "xyz", "depth"}}},
                               "templates");
        m["frames"] = "1";
        m["job_frames"] = "1";
        const TaskSpec t = spec(m);
        QVERIFY(m_engine.check(t).ok());
        const auto l = m_engine.launch({t, "/w", "/w/input/m.glb", {}, 3});
        QVERIFY(l.ok());
        QCOMPARE(l->arguments.mid(0, 18),
                 (QStringList{"render", "/w/input/m.glb", "-o", "/w/", "--views", "42", "--size",
                              "160x120", "--spp", "16", "--seed", "1", "--threads", "3", "--passes",
                              "rgb,mask,xyz,depth", "--bit-depth", "16"}));
        QCOMPARE(l->expectedFrames, 42);
        QCOMPARE(l->unit, QString("views"));
        QVERIFY(l->expectsCameraFiles);
        QVERIFY(!l->arguments.contains("--ortho"));
    }

    void orthographic()
    {
        // --ortho (width fitted; the server's default 0 means the same) or --ortho-width W.
        for (const QJsonObject &camera :
             {QJsonObject{{"mode", "still"}, {"projection", "orthographic"}},
              QJsonObject{{"projection", "orthographic"}, {"ortho_width", 0}}}) {
            const QStringList args = launchArgs(
                spec(assign({{"camera", camera}, {"passes", QJsonArray{"rgb", "instance"}}})));
            QVERIFY2(args.contains("--ortho") && !args.contains("--ortho-width"),
                     qPrintable(args.join(' ')));
            QCOMPARE(args.mid(args.indexOf("--passes"), 2),
                     (QStringList{"--passes", "rgb,instance"}));
        }
        const QStringList width = launchArgs(spec(assign(
            {{"camera", QJsonObject{{"projection", "orthographic"}, {"ortho_width", 2.5}}}})));
        QCOMPARE(width.mid(width.indexOf("--ortho-width"), 2),
                 (QStringList{"--ortho-width", "2.5"}));
        QVERIFY(!width.contains("--ortho"));
    }

    void refuses_data()
    {
        QTest::addColumn<QJsonObject>("message");
        QTest::addColumn<QString>("expected");
        QJsonObject tplOrtho = assign(
            {{"views", 3}, {"camera", QJsonObject{{"projection", "orthographic"}}}}, "templates");
        QTest::newRow("templates ortho") << tplOrtho << "a templates task needs views";
        QTest::newRow("templates without views")
            << assign({{"width", 160}}, "templates") << "a templates task needs views";
        QTest::newRow("views on model") << assign({{"views", 3}}) << "applies only to templates";
        QTest::newRow("bad width") << assign({{"width", 3}}) << "settings.width";
        QTest::newRow("blender type") << assign({}, "blender") << "does not render 'blender'";
    }

    void refuses()
    {
        QFETCH(QJsonObject, message);
        QFETCH(QString, expected);
        const auto checked = m_engine.check(spec(message));
        QVERIFY(!checked.ok());
        QVERIFY2(checked.error().message.contains(expected), qPrintable(checked.error().message));
    }

    void readsTheProtocol()
    {
        const TaskSpec t = spec(assign({{"spp", 32}}));
        auto reader = m_engine.reader(t);
        using Kind = ChildEvent::Kind;
        const auto out = ChildOutputReader::Stream::Stdout;

        // What the renderer writes (childprotocol.h) reads back as the same event.
        auto one = [&](const QString &line) {
            const QList<ChildEvent> events = reader->translate(line, out);
            if (events.size() != 1)
                qFatal("%lld events for %s", qint64(events.size()), qPrintable(line));
            return events.first();
        };
        ChildEvent e = one(childprotocol::progressLine(0.25, 6));
        QCOMPARE(e.kind, Kind::Progress);
        QCOMPARE(e.fraction, 0.25);
        QCOMPARE(e.frame, 6);
        e = one(childprotocol::frameLine(6, "/w/dir with space/frame_0006.png"));
        QCOMPARE(e.kind, Kind::Frame);
        QCOMPARE(e.frame, 6);
        QCOMPARE(e.path, QString("/w/dir with space/frame_0006.png"));
        e = one(childprotocol::outputLine(6, "depth", "/w/frame_0006_depth.png"));
        QCOMPARE(e.kind, Kind::Output);
        QCOMPARE(e.pass, QString("depth"));
        QCOMPARE(e.path, QString("/w/frame_0006_depth.png"));
        e = one(childprotocol::previewLine(6, 8, "/w/preview.jpg"));
        QCOMPARE(e.kind, Kind::Preview);
        QCOMPARE(e.samples, 8);
        QCOMPARE(e.spp, 32);
        QCOMPARE(e.path, QString("/w/preview.jpg"));
        e = one(childprotocol::camerasLine("/w/cameras.json"));
        QCOMPARE(e.kind, Kind::Cameras);
        QCOMPARE(e.path, QString("/w/cameras.json"));

        // A malformed output line still is one, without a path: the node refuses it.
        e = one("FRAME x /w/frame_0001.png");
        QCOMPARE(e.kind, Kind::Frame);
        QVERIFY(e.path.isEmpty());
        QCOMPARE(one("PROGRESS 7 1").kind, Kind::Log);
        QCOMPARE(one("PREVIEW 1 0 /w/p.jpg").kind, Kind::Log);
        QCOMPARE(one("scene: 12 triangles").kind, Kind::Log);
        QCOMPARE(one("FRAMES are not frames").kind, Kind::Log);
        const QList<ChildEvent> err =
            reader->translate("error: cannot import", ChildOutputReader::Stream::Stderr);
        QCOMPARE(err.size(), 1);
        QCOMPARE(err.first().kind, Kind::Error);
    }

    void registry()
    {
        NodeConfig config;
        config.childProgram = "/bin/render-node";
        config.blenderProgram = "/nonexistent/blender";
        auto engines = EngineRegistry::builtins(config);
        QVERIFY(!engines->find("farmhand")); // nothing before detection
        engines->detect();
        // farmhand, then encode (frames to video) and compose (text over video), both in the
        // same binary; Blender is not there.
        const QList<EngineInfo> found = engines->available();
        QCOMPARE(found.size(), 3);
        QCOMPARE(found.first(), (EngineInfo{"farmhand", kFarmVersion, {"CPU"}}));
        QCOMPARE(found.at(1).name, QString("encode"));
        QCOMPARE(found.last().name, QString("compose"));
        QVERIFY(found.last().version.startsWith("libass 0."));
        QVERIFY(engines->find("encode"));
        QVERIFY(engines->find("compose"));
        QVERIFY(engines->find("farmhand"));
        QVERIFY(!engines->find("blender"));
        QVERIFY2(engines->whyUnavailable("blender").contains("/nonexistent/blender"),
                 qPrintable(engines->whyUnavailable("blender")));
        QVERIFY(engines->whyUnavailable("povray").contains("no engine 'povray'"));
    }
};

QTEST_GUILESS_MAIN(TestFarmhandEngine)
#include "tst_farmhandengine.moc"
