// The Blender engine with Debian's real Blender: a small scene made by Blender's own Python
// (a plane whose image texture lies beside the .blend as //tex/colour.png, a camera, a light)
// rendered through RenderTask as the agent runs it, against a fake server that serves the
// bundle's files and takes the uploads. Renders are tiny: the machines have two cores.
#include "agent/inputcache.h"
#include "agent/nodeconfig.h"
#include "agent/rendertask.h"
#include "engines/blender/blenderengine.h"
#include "fakeserver.h"

#include <QCryptographicHash>
#include <QImage>
#include <QJsonArray>
#include <QNetworkAccessManager>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>
#include <unistd.h>

using namespace farm;
using namespace farm::node;

namespace {

const QColor kTexture(30, 200, 90);

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

QString sha256(const QByteArray &bytes)
{
    return QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
}

int colourDistance(const QColor &a, const QColor &b)
{
    return std::abs(a.red() - b.red()) + std::abs(a.green() - b.green()) +
           std::abs(a.blue() - b.blue());
}

/// Fields of /proc/<pid>/stat after the command name: [0] state, [1] ppid, [2] pgrp.
QList<QByteArray> statFields(const QString &pid)
{
    const QByteArray stat = readAll(QString("/proc/%1/stat").arg(pid));
    return stat.mid(stat.lastIndexOf(')') + 2).split(' ');
}

/// Live processes (zombies excluded) in process group `group`, or children of `parent`
/// whose command is blender.
QStringList processesOf(qint64 group, qint64 parent)
{
    QStringList found;
    for (const QString &pid : QDir("/proc").entryList(QDir::Dirs)) {
        if (pid.toLongLong() <= 0)
            continue;
        const QList<QByteArray> f = statFields(pid);
        if (f.size() < 3 || f[0] == "Z")
            continue;
        const QByteArray comm = readAll(QString("/proc/%1/comm").arg(pid)).trimmed();
        if ((group > 0 && f[2].toLongLong() == group) ||
            (f[1].toLongLong() == parent && comm.startsWith("blender")))
            found.append(pid + ' ' + QString::fromUtf8(comm));
    }
    return found;
}

} // namespace

class TestBlenderEngine : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_blender;
    QByteArray m_scene, m_noCamera, m_texture;
    std::unique_ptr<FakeServer> m_server;
    std::unique_ptr<QNetworkAccessManager> m_network;
    std::unique_ptr<InputCache> m_cache;
    std::shared_ptr<BlenderEngine> m_engine;
    NodeConfig m_config;
    int m_nextTask = 1;

    struct Run
    {
        qint64 task = 0;
        QString error;
        QStringList outputs;
        QString log;
        QList<double> progress;
        bool finished = false;
    };

    bool makeScene(const QString &blend, const QStringList &extra = {})
    {
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(m_blender, QStringList{"-b", "--factory-startup", "--python-exit-code", "1", "-P",
                                       QFINDTESTDATA("make_scene.py"), "--", blend,
                                       m_dir.filePath("tex/colour.png")} +
                               extra);
        if (!p.waitForFinished(120000) || p.exitCode() != 0) {
            qWarning("making %s failed:\n%s", qPrintable(blend), p.readAll().constData());
            return false;
        }
        return true;
    }

    QJsonObject assign(const QList<std::pair<QString, QByteArray>> &files, const QString &frames,
                       const QJsonObject &settings)
    {
        QJsonArray list;
        for (const auto &[path, bytes] : files)
            list.append(QJsonObject{{"path", path}, {"file", m_server->addFile(bytes)}});
        return {{"task", m_nextTask++},
                {"job", 1},
                {"type", "blender"},
                {"engine", "blender"},
                {"frames", frames},
                {"job_frames", frames},
                {"input", QJsonObject{{"main", files.first().first}, {"files", list}}},
                {"settings", settings}};
    }

    QJsonObject smallSettings() const
    {
        return {{"render_engine", "CYCLES"},
                {"samples", 2},
                {"width", 64},
                {"height", 48},
                {"denoise", false},
                {"format", "PNG"},
                {"gpu_backend", "CUDA"},
                {"resolution_percentage", 100}};
    }

    /// Starts a RenderTask as the agent does; `run` fills in as it goes.
    RenderTask *start(const QJsonObject &message, Run &run, TaskSlot slot = {})
    {
        auto spec = TaskSpec::fromAssign(message);
        if (!spec)
            qFatal("%s", qPrintable(spec.error().message));
        if (auto checked = m_engine->check(*spec); !checked)
            qFatal("%s", qPrintable(checked.error().message));
        run.task = spec->id;
        auto *task =
            new RenderTask(*spec, m_engine, m_config, m_network.get(), m_cache.get(), slot);
        connect(task, &RenderTask::log, this,
                [&run](qint64, const QString &text) { run.log += text; });
        connect(task, &RenderTask::progress, this,
                [&run](qint64, double fraction, int) { run.progress.append(fraction); });
        connect(task, &RenderTask::finished, this,
                [&run](qint64, const QStringList &outputs, const QString &error) {
                    run.outputs = outputs;
                    run.error = error;
                    run.finished = true;
                });
        task->start();
        return task;
    }

    Run render(const QJsonObject &message, TaskSlot slot = {}, int timeoutMs = 120000)
    {
        Run run;
        start(message, run, slot);
        if (!QTest::qWaitFor([&] { return run.finished; }, timeoutMs))
            qWarning("task %lld did not finish; log:\n%s", run.task, qPrintable(run.log));
        return run;
    }

    QImage uploaded(qint64 task, const QString &name) const
    {
        for (const FakeServer::Upload &u : m_server->uploads)
            if (u.task == task && u.name == name)
                return QImage::fromData(u.body);
        return {};
    }

private slots:
    void initTestCase()
    {
        m_blender = QStandardPaths::findExecutable("blender");
        if (m_blender.isEmpty())
            QSKIP("blender is not installed (scripts/setup-deps.sh installs it)");
        QVERIFY(m_dir.isValid());
        QVERIFY(QDir().mkpath(m_dir.filePath("tex")));
        QImage texture(16, 16, QImage::Format_RGB32);
        texture.fill(kTexture);
        QVERIFY(texture.save(m_dir.filePath("tex/colour.png")));
        m_texture = readAll(m_dir.filePath("tex/colour.png"));
        QVERIFY(makeScene(m_dir.filePath("scene.blend")));
        QVERIFY(makeScene(m_dir.filePath("nocamera.blend"), {"nocamera"}));
        m_scene = readAll(m_dir.filePath("scene.blend"));
        m_noCamera = readAll(m_dir.filePath("nocamera.blend"));
        QVERIFY(m_scene.startsWith("BLENDER"));
    }

    void init()
    {
        m_server = std::make_unique<FakeServer>();
        QVERIFY(m_server->isListening());
        m_network = std::make_unique<QNetworkAccessManager>();
        m_config = NodeConfig{};
        m_config.server = QUrl(m_server->url());
        m_config.cacheDir = m_dir.filePath("cache");
        m_config.token = "secret";
        m_config.uploadRetryMs = 50;
        m_config.blenderProgram = m_blender;
        m_cache = std::make_unique<InputCache>(m_network.get(), m_config);
        m_engine = std::make_shared<BlenderEngine>(m_blender);
        const EngineDetection d = m_engine->detect();
        QVERIFY2(d.available, qPrintable(d.reason));
    }

    void cleanup()
    {
        m_cache.reset();
        m_network.reset();
        m_server.reset();
    }

    void detects()
    {
        const EngineDetection d = m_engine->detect();
        QVERIFY(d.available);
        QVERIFY2(QRegularExpression("^\\d+\\.\\d+(\\.\\d+)?$").match(d.version).hasMatch(),
                 qPrintable(d.version));
        // Debian's package is 3.4.1; the version is Blender's own line, not a guess.
        QProcess p;
        p.start(m_blender, {"--version"});
        QVERIFY(p.waitForFinished(30000));
        QVERIFY(p.readAllStandardOutput().startsWith("Blender " + d.version.toUtf8()));

        QCOMPARE(d.devices, QStringList{"CPU"});
        // On a node with GPU slots Cycles is asked for its GPUs: none on these machines, and
        // any it finds are named by backend.
        const EngineDetection probed = BlenderEngine(m_blender, true).detect();
        QVERIFY(probed.available);
        QCOMPARE(probed.devices.first(), QString("CPU"));
        for (const QString &device : probed.devices.mid(1))
            QVERIFY2(QRegularExpression("^(CUDA|OPTIX|HIP): .+").match(device).hasMatch(),
                     qPrintable(device));

        const EngineDetection missing = BlenderEngine("/nonexistent/blender").detect();
        QVERIFY(!missing.available);
        QVERIFY2(missing.reason.contains("/nonexistent/blender"), qPrintable(missing.reason));
        const EngineDetection notBlender = BlenderEngine("/bin/true").detect();
        QVERIFY(!notBlender.available);
        QVERIFY2(notBlender.reason.contains("no Blender version"), qPrintable(notBlender.reason));
    }

    void rendersFrames()
    {
        // Two frames of a stepped range, the texture beside the .blend as //tex/colour.png.
        QJsonObject settings = smallSettings();
        settings["denoise"] = true; // Debian's build has no OpenImageDenoise: turned off
        const Run run = render(
            assign({{"scene.blend", m_scene}, {"tex/colour.png", m_texture}}, "1-3:2", settings));
        QVERIFY2(run.error.isEmpty(), qPrintable(run.error + "\n" + run.log));
        QCOMPARE(run.outputs, (QStringList{"frame_0001.png", "frame_0003.png"}));
        for (const QString &name : run.outputs) {
            const QImage img = uploaded(run.task, name);
            QVERIFY2(!img.isNull(), qPrintable(name + " was not uploaded as an image"));
            QCOMPARE(img.size(), QSize(64, 48));
            const QColor centre = img.pixelColor(32, 24);
            const QColor corner = img.pixelColor(1, 1);
            // Not blank: the texture in the middle, the empty world around it.
            QVERIFY2(colourDistance(centre, kTexture) <= 12,
                     qPrintable(QString("%1: centre %2 is not the texture's %3")
                                    .arg(name, centre.name(), kTexture.name())));
            QVERIFY2(colourDistance(corner, centre) > 100,
                     qPrintable(QString("%1: corner %2").arg(name, corner.name())));
        }
        QVERIFY2(run.log.contains("denoising turned off"), qPrintable(run.log));
        QVERIFY2(run.log.contains("from camera 'shot_cam' at 64x48"), qPrintable(run.log));
        QVERIFY(!run.log.contains("Fra:")); // status lines only move the progress
        QVERIFY(!run.progress.isEmpty());
        // (At most 4 a second reach the server, so a render this short shows few of them;
        // readsBlenderOutput checks the values line by line.)
        // Per sample and per frame, never backwards: frame 1's samples, then frame 3's.
        for (qsizetype i = 0; i < run.progress.size(); ++i) {
            QVERIFY(run.progress[i] >= 0.0 && run.progress[i] <= 1.0);
            if (i > 0)
                QVERIFY2(run.progress[i] >= run.progress[i - 1],
                         qPrintable(QString("progress went from %1 to %2")
                                        .arg(run.progress[i - 1])
                                        .arg(run.progress[i])));
        }
    }

    void gpuSlotWithoutGpu_data()
    {
        QTest::addColumn<QString>("backend");
        QTest::newRow("CUDA") << "CUDA";
        QTest::newRow("OPTIX") << "OPTIX"; // Debian's build has no OptiX at all
    }

    void gpuSlotWithoutGpu()
    {
        // A GPU slot on a machine without that GPU: the frame still renders, on the CPU, and
        // the log says why, as the built-in renderer does.
        QFETCH(QString, backend);
        QJsonObject settings = smallSettings();
        settings["gpu_backend"] = backend;
        const Run run =
            render(assign({{"scene.blend", m_scene}, {"tex/colour.png", m_texture}}, "2", settings),
                   TaskSlot{0, "GPU-00000000-0000-0000-0000-000000000000"});
        QVERIFY2(run.error.isEmpty(), qPrintable(run.error + "\n" + run.log));
        QCOMPARE(run.outputs, QStringList{"frame_0002.png"});
        QVERIFY2(run.log.contains("CUDA_VISIBLE_DEVICES=GPU-00000000"), qPrintable(run.log));
        QVERIFY2(run.log.contains(QString("note: %1 unavailable").arg(backend)) &&
                     run.log.contains("rendering on the CPU"),
                 qPrintable(run.log));
        QCOMPARE(uploaded(run.task, "frame_0002.png").size(), QSize(64, 48));
    }

    void missingTexture()
    {
        // The texture was not sent: the pre-pass names it before anything renders.
        const Run run = render(assign({{"shot.blend", m_scene}}, "1", smallSettings()));
        QVERIFY2(run.error.contains("shot.blend needs //tex/colour.png, which was not sent"),
                 qPrintable(run.error + "\n" + run.log));
        QVERIFY(m_server->uploads.isEmpty());
        QVERIFY(!run.log.contains("Saved:"));
    }

    void corruptBlend()
    {
        QByteArray garbage(4096, '\0');
        for (int i = 0; i < garbage.size(); ++i)
            garbage[i] = char((i * 131 + 7) % 251);
        const Run run = render(assign({{"broken.blend", garbage}}, "1", smallSettings()));
        QVERIFY(!run.error.isEmpty());
        // Blender's own words, in the error and the log.
        QVERIFY2(run.error.contains("File format is not supported"), qPrintable(run.error));
        QVERIFY2(run.log.contains("Error: File format is not supported"), qPrintable(run.log));
        QVERIFY(m_server->uploads.isEmpty());
    }

    void cameras()
    {
        // No camera in the scene and none named: a clear failure, not a black frame.
        Run run = render(assign({{"nocamera.blend", m_noCamera}, {"tex/colour.png", m_texture}},
                                "1", smallSettings()));
        QVERIFY2(run.error.contains("has no active camera"), qPrintable(run.error));
        QVERIFY(m_server->uploads.isEmpty());

        QJsonObject named = smallSettings();
        named["camera"] = "sun";
        run = render(assign({{"scene.blend", m_scene}, {"tex/colour.png", m_texture}}, "1", named));
        QVERIFY2(run.error.contains("settings.camera names 'sun', which is not a camera"),
                 qPrintable(run.error));
        QVERIFY2(run.error.contains("cameras: shot_cam"), qPrintable(run.error));
    }

    void cancelKillsProcessGroup()
    {
        // Many samples at a size that takes minutes: canceled while it renders.
        QJsonObject settings = smallSettings();
        settings["samples"] = 65536;
        settings["width"] = 320;
        settings["height"] = 240;
        Run run;
        RenderTask *task = start(
            assign({{"scene.blend", m_scene}, {"tex/colour.png", m_texture}}, "1-50", settings),
            run);
        QPointer<RenderTask> alive(task);
        QTRY_VERIFY_WITH_TIMEOUT(!run.progress.isEmpty(), 60000);
        const qint64 pid = task->childPid();
        QVERIFY(pid > 0);
        QVERIFY(!processesOf(pid, ::getpid()).isEmpty());
        task->cancel();
        QTRY_VERIFY_WITH_TIMEOUT(alive.isNull(), 15000); // it deletes itself once reaped
        QTRY_VERIFY_WITH_TIMEOUT(processesOf(pid, ::getpid()).isEmpty(), 10000);
        QVERIFY(!run.finished); // a canceled task reports nothing
    }

    void readsBlenderOutput()
    {
        // Status lines of Cycles and Eevee place the progress within the task's frames.
        auto spec =
            TaskSpec::fromAssign(assign({{"a.blend", "x"}}, "10-12", QJsonObject{{"samples", 32}}));
        QVERIFY(spec.ok());
        auto reader = m_engine->reader(*spec);
        const auto out = ChildOutputReader::Stream::Stdout;
        QList<ChildEvent> e = reader->translate(
            "Fra:11 Mem:9.55M (Peak 9.69M) | Time:00:00.26 | Remaining:00:00.00 | Mem:0.87M, "
            "Peak:0.87M | Scene, ViewLayer | Sample 16/32",
            out);
        QCOMPARE(e.size(), 1);
        QCOMPARE(e.first().kind, ChildEvent::Kind::Progress);
        QCOMPARE(e.first().frame, 11);
        QCOMPARE(e.first().fraction, 0.5); // (1 frame done + 16/32) of 3
        e = reader->translate("Fra:12 Mem:20M | Time:00:01.00 | Rendering 4 / 16 samples", out);
        QCOMPARE(e.size(), 1);
        QCOMPARE(e.first().fraction, (2.0 + 0.25) / 3.0);
        QVERIFY(reader->translate("Fra:12 Mem:20M | Updating Shaders", out).isEmpty());
        e = reader->translate("FRAME 12 /w/frame_0012.png", out);
        QCOMPARE(e.size(), 2);
        QCOMPARE(e[0].kind, ChildEvent::Kind::Frame);
        QCOMPARE(e[0].path, QString("/w/frame_0012.png"));
        QCOMPARE(e[1].fraction, 1.0);
        e = reader->translate("Traceback (most recent call last):", out);
        QCOMPARE(e.first().kind, ChildEvent::Kind::Log);
        QCOMPARE(reader->translate("  File \"x.py\", line 3", out).first().kind,
                 ChildEvent::Kind::Log);
        e = reader->translate("KeyError: 'bpy_prop_collection[key]: key \"x\" not found'", out);
        QCOMPARE(e.first().kind, ChildEvent::Kind::Error);
        QCOMPARE(reader->translate("Error: Cannot read file", out).first().kind,
                 ChildEvent::Kind::Error);
        QCOMPARE(reader->translate("Saved: '/w/frame_0012.png'", out).first().kind,
                 ChildEvent::Kind::Log);
    }
};

QTEST_MAIN(TestBlenderEngine)
#include "tst_blenderengine.moc"
