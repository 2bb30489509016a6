// farmctl as scripts use it: the built binary in a QProcess against the fake server.
#include "fakefarmserver.h"

#include <QDir>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace farm;
using farm::testing::FakeFarmServer;

namespace {

struct Outcome
{
    int code = -1;
    QString out, err;
};

} // namespace

class TestFarmctl : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;

    /// Starts farmctl; the fake server keeps answering because the test's event loop runs while
    /// it waits (QProcess::waitForFinished would block it).
    QProcess *start(const FakeFarmServer &fake, const QStringList &args)
    {
        auto *p = new QProcess(this);
        p->start(FARMCTL_PATH, QStringList{"--server", fake.url().toString()} + args);
        return p;
    }

    Outcome finish(QProcess *p)
    {
        if (p->state() != QProcess::NotRunning) {
            QSignalSpy spy(p, &QProcess::finished);
            spy.wait(30000);
        }
        Outcome o{p->exitStatus() == QProcess::NormalExit ? p->exitCode() : -1,
                  QString::fromUtf8(p->readAllStandardOutput()),
                  QString::fromUtf8(p->readAllStandardError())};
        p->deleteLater();
        return o;
    }

    Outcome run(const FakeFarmServer &fake, const QStringList &args)
    {
        return finish(start(fake, args));
    }

    qint64 addJob(FakeFarmServer &fake)
    {
        fake.files.insert(QString(64, 'e'), "x");
        JobSpec spec;
        spec.name = "engine turntable";
        spec.input = {QString(64, 'e'), "engine.glb"};
        spec.frames = "1-3";
        return fake.addJob(spec).id;
    }

private slots:
    void submitTemplatesAndPasses()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        QFile model(m_dir.filePath("part.obj"));
        QVERIFY(model.open(QIODevice::WriteOnly));
        model.write("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n");
        model.close();

        const Outcome templates =
            run(fake, {"submit", model.fileName(), "--type", "templates", "--views", "42",
                       "--passes", "rgb,mask,xyz,depth", "--bit-depth", "16", "--size", "160x120"});
        QVERIFY2(templates.code == 0, qPrintable(templates.err));
        QCOMPARE(templates.out, QString("1\n"));
        const JobSpec &tpl = fake.jobs[1].spec;
        QCOMPARE(tpl.type, QString("templates"));
        QCOMPARE(tpl.settings.views, 42);
        QCOMPARE(tpl.settings.passes, (QStringList{"rgb", "mask", "xyz", "depth"}));
        QCOMPARE(tpl.settings.bitDepth, 16);
        QCOMPARE(tpl.frames, QString("1"));
        const Outcome passes =
            run(fake, {"submit", model.fileName(), "--passes", "rgb,depth,mask"});
        QVERIFY2(passes.code == 0, qPrintable(passes.err));
        QCOMPARE(fake.jobs[2].spec.type, QString("model"));
        QCOMPARE(fake.jobs[2].spec.settings.passes, (QStringList{"rgb", "depth", "mask"}));
        QCOMPARE(fake.jobs[2].spec.settings.projection, QString("perspective"));

        const Outcome ortho = run(fake, {"submit", model.fileName(), "--ortho"});
        QVERIFY2(ortho.code == 0, qPrintable(ortho.err));
        QCOMPARE(fake.jobs[3].spec.settings.projection, QString("orthographic"));
        QCOMPARE(fake.jobs[3].spec.settings.orthoWidth, 0.0);
        const Outcome orthoWidth =
            run(fake, {"submit", model.fileName(), "--ortho-width", "2.5", "--turntable"});
        QVERIFY2(orthoWidth.code == 0, qPrintable(orthoWidth.err));
        QCOMPARE(fake.jobs[4].spec.settings.projection, QString("orthographic"));
        QCOMPARE(fake.jobs[4].spec.settings.orthoWidth, 2.5);
        QCOMPARE(fake.jobs[4].spec.settings.cameraMode, QString("turntable"));

        const Outcome badWidth = run(fake, {"submit", model.fileName(), "--ortho-width", "-1"});
        QVERIFY(badWidth.code != 0);
        QVERIFY2(badWidth.err.contains("ortho_width"), qPrintable(badWidth.err));
        const Outcome notNumber = run(fake, {"submit", model.fileName(), "--ortho-width", "wide"});
        QVERIFY(notNumber.code != 0);
        QVERIFY2(notNumber.err.contains("--ortho-width must be a number"),
                 qPrintable(notNumber.err));
        const Outcome orthoTemplates =
            run(fake, {"submit", model.fileName(), "--type", "templates", "--ortho"});
        QVERIFY(orthoTemplates.code != 0);
        QVERIFY2(orthoTemplates.err.contains("orthographic"), qPrintable(orthoTemplates.err));
        QCOMPARE(fake.jobs.size(), 4); // the refused ones created nothing
    }

    void submitWaitDownload()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.chunkSize = 1024;
        QFile model(m_dir.filePath("cube.obj"));
        QVERIFY(model.open(QIODevice::WriteOnly));
        for (int i = 0; i < 400; ++i)
            model.write(QString("v %1 %2 %3\n").arg(i).arg(i * 2).arg(i * 3).toUtf8());
        model.close();
        QVERIFY(model.size() > 3 * 1024);

        const Outcome submit = run(fake, {"submit", model.fileName(), "--frames", "1-4", "--chunk",
                                          "2", "--turntable", "--size", "320x240", "--spp", "4",
                                          "--priority", "70", "--name", "cube spin"});
        QVERIFY2(submit.code == 0, qPrintable(submit.err));
        QCOMPARE(submit.out, QString("1\n"));
        QVERIFY(fake.jobs.contains(1));
        const JobSpec &spec = fake.jobs[1].spec;
        QCOMPARE(spec.name, QString("cube spin"));
        QCOMPARE(spec.frames, QString("1-4"));
        QCOMPARE(spec.chunk, 2);
        QCOMPARE(spec.priority, 70);
        QCOMPARE(spec.settings.cameraMode, QString("turntable"));
        QCOMPARE(spec.settings.width, 320);
        QCOMPARE(spec.settings.height, 240);
        QCOMPARE(spec.settings.spp, 4);
        QCOMPARE(spec.input.name, QString("cube.obj"));
        QVERIFY(fake.files.contains(spec.input.file));
        QVERIFY(fake.putChunks.size() >= 4); // really chunked

        QSignalSpy subscribed(&fake, &FakeFarmServer::eventClientConnected);
        QProcess *wait = start(fake, {"wait", "1", "--timeout", "60"});
        QVERIFY(subscribed.wait(10000));
        fake.setJobState(1, JobState::Active, 0.5);
        fake.completeJob(1, QByteArray("\x89PNG fake frame", 15));
        const Outcome waited = finish(wait);
        QVERIFY2(waited.code == 0, qPrintable(waited.err));
        QVERIFY(waited.err.contains("job 1 completed"));

        const QString outDir = m_dir.filePath("out/frames");
        const Outcome download = run(fake, {"download", "1", outDir});
        QVERIFY2(download.code == 0, qPrintable(download.err));
        QCOMPARE(download.out, QString("4\n"));
        const QStringList files = QDir(outDir).entryList(QDir::Files, QDir::Name);
        QCOMPARE(files, (QStringList{"frame_0001.png", "frame_0002.png", "frame_0003.png",
                                     "frame_0004.png"}));
        QFile frame(QDir(outDir).filePath("frame_0003.png"));
        QVERIFY(frame.open(QIODevice::ReadOnly));
        QCOMPARE(frame.readAll(), QByteArray("\x89PNG fake frame", 15));
    }

    void waitReportsFailure()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        const qint64 id = addJob(fake);
        QSignalSpy subscribed(&fake, &FakeFarmServer::eventClientConnected);
        QProcess *wait = start(fake, {"wait", QString::number(id)});
        QVERIFY(subscribed.wait(10000));
        fake.setJobState(id, JobState::Failed, 0.3, "model has no triangles");
        const Outcome o = finish(wait);
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.endsWith("error: job 1 failed: model has no triangles\n"),
                 qPrintable(o.err));
    }

    void waitPollsWithoutWebSocket()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.acceptWebSockets = false;
        const qint64 id = addJob(fake);
        QProcess *wait = start(fake, {"wait", QString::number(id), "--timeout", "60"});
        const QString get = QString("GET /api/v1/jobs/%1").arg(id);
        // The first GET comes at start; later ones only from the 1 s poll.
        QTRY_VERIFY_WITH_TIMEOUT(fake.requestLog.count(get) >= 3, 15000);
        fake.completeJob(id, "png");
        const Outcome o = finish(wait);
        QVERIFY2(o.code == 0, qPrintable(o.err));
    }

    void waitTimesOut()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        const qint64 id = addJob(fake);
        const Outcome o = run(fake, {"wait", QString::number(id), "--timeout", "1"});
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains("error: timed out after 1 s waiting for job 1 (still queued)"),
                 qPrintable(o.err));
    }

    void readableErrors()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        const Outcome missing = run(fake, {"status", "42"});
        QCOMPARE(missing.code, 1);
        QCOMPARE(missing.err, QString("error: job 42 not found\n"));
        QVERIFY(missing.out.isEmpty());

        const Outcome usage = run(fake, {"status", "abc"});
        QVERIFY(usage.code != 0);
        QCOMPARE(usage.err, QString("error: JOB must be a positive number, not 'abc'\n"));

        fake.requestLog.clear();
        const Outcome turntableTemplates =
            run(fake, {"submit", FARMCTL_PATH, "--type", "templates", "--turntable"});
        QVERIFY(turntableTemplates.code != 0);
        QVERIFY2(turntableTemplates.err.contains("turntable"), qPrintable(turntableTemplates.err));
        const Outcome badPass = run(fake, {"submit", FARMCTL_PATH, "--passes", "rgb,uv"});
        QVERIFY(badPass.code != 0);
        QVERIFY2(badPass.err.contains("'uv'"), qPrintable(badPass.err));
        const Outcome badViews =
            run(fake, {"submit", FARMCTL_PATH, "--type", "templates", "--views", "0"});
        QVERIFY(badViews.code != 0);
        QVERIFY2(badViews.err.contains("settings.views"), qPrintable(badViews.err));
        const Outcome viewsOnModel = run(fake, {"submit", FARMCTL_PATH, "--views", "5"});
        QVERIFY(viewsOnModel.code != 0);
        QVERIFY2(viewsOnModel.err.contains("only to templates"), qPrintable(viewsOnModel.err));
        QVERIFY(fake.requestLog.isEmpty()); // all refused before uploading anything
        const Outcome badSpec = run(fake, {"submit", FARMCTL_PATH, "--spp", "0"});
        QVERIFY(badSpec.code != 0);
        QVERIFY2(badSpec.err.contains("settings.spp must be between 1 and 4096"),
                 qPrintable(badSpec.err));
        QVERIFY(fake.requestLog.isEmpty()); // refused before uploading anything

        quint16 port = 0;
        {
            FakeFarmServer gone;
            QVERIFY(gone.listen());
            port = gone.url().port();
        }
        QProcess p;
        p.start(FARMCTL_PATH, {"--server", QString("http://127.0.0.1:%1").arg(port), "jobs"});
        QVERIFY(p.waitForFinished(30000)); // no fake to serve here
        QCOMPARE(p.exitCode(), 1);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.startsWith("error: cannot reach server") && err.count('\n') == 1,
                 qPrintable(err));
    }

    void statusJobsNodesCancelLog()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        const qint64 id = addJob(fake);
        Node n;
        n.id = 2;
        n.caps.name = "ws-lab-3";
        n.caps.cores = 16;
        n.caps.ramMb = 65536;
        n.caps.gpus.append({"RTX A6000", "GPU-9", 49140, "8.6", "550.54"});
        n.state = NodeState::Busy;
        n.running = {100};
        fake.nodes.append(n);
        fake.logs.insert(100, "frame 1 done");

        const Outcome status = run(fake, {"status", QString::number(id)});
        QCOMPARE(status.code, 0);
        QVERIFY2(status.out.startsWith("job 1: engine turntable\n"), qPrintable(status.out));
        QVERIFY(status.out.contains("state     queued"));
        QVERIFY(status.out.contains("3 total: 3 queued"));
        const Outcome json = run(fake, {"status", QString::number(id), "--json"});
        QCOMPARE(QJsonDocument::fromJson(json.out.toUtf8()).object().value("id").toInt(), 1);

        const Outcome jobs = run(fake, {"jobs", "--state", "queued", "--limit", "5"});
        QCOMPARE(jobs.code, 0);
        QVERIFY(jobs.out.startsWith("ID  STATE "));
        QVERIFY(jobs.out.contains("engine turntable"));
        QVERIFY(fake.requestLog.last().contains("state=queued&limit=5"));
        QVERIFY(run(fake, {"jobs", "--state", "sleeping"}).code != 0);

        const Outcome nodes = run(fake, {"nodes"});
        QCOMPARE(nodes.code, 0);
        QVERIFY(nodes.out.contains("ws-lab-3"));
        QVERIFY(nodes.out.contains("RTX A6000"));
        QVERIFY(nodes.out.contains("64.0 GiB"));

        const Outcome log = run(fake, {"log", "100"});
        QCOMPARE(log.out, QString("frame 1 done\n"));

        const Outcome cancel = run(fake, {"cancel", QString::number(id)});
        QCOMPARE(cancel.code, 0);
        QCOMPARE(cancel.out, QString("job 1 canceled\n"));
        QVERIFY(fake.jobs[id].state == JobState::Canceled);
        const Outcome again = run(fake, {"cancel", QString::number(id)});
        QCOMPARE(again.code, 1);
        QCOMPARE(again.err, QString("error: job 1 is already canceled\n"));
    }
};

QTEST_GUILESS_MAIN(TestFarmctl)
#include "tst_farmctl.moc"
