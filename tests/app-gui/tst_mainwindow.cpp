// The main window against the fake farm server on loopback: rows after connect, live events,
// details with thumbnails, cancel, and a submission from a dropped file.
#include "dialogs/submitdialog.h"
#include "dropevents.h"
#include "fakefarmserver.h"
#include "guitesting.h"
#include "widgets/connectionbar.h"
#include "widgets/frameviewer.h"
#include "widgets/jobdetails.h"
#include "widgets/mainwindow.h"
#include "widgets/videoplayer.h"

#include <QAction>
#include <QApplication>
#include <QBuffer>
#include <QImage>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

using namespace farm;
using farm::gui::ConnectionBar;
using farm::gui::MainWindow;
using farm::testing::FakeFarmServer;

namespace {

const QString kSha = QString(64, 'f');

JobSpec spec(const QString &name, const QString &frames)
{
    JobSpec s;
    s.name = name;
    s.input.main = name + ".glb";
    s.input.files = {{name + ".glb", kSha}};
    s.frames = frames;
    s.chunk = 2;
    return s;
}

QByteArray jpegBytes(const QColor &colour)
{
    QImage image(96, 72, QImage::Format_RGB32);
    image.fill(colour);
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, "JPG");
    return bytes;
}

QByteArray pngBytes()
{
    QImage image(64, 48, QImage::Format_RGB32);
    image.fill(QColor(40, 120, 200));
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, "PNG");
    return bytes;
}

} // namespace

class TestMainWindow : public QObject
{
    Q_OBJECT
private slots:
    void showsRowsAfterConnectAndFollowsEvents()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.files.insert(kSha, "x");
        fake.addJob(spec("engine", "1-4"));
        const qint64 done = fake.addJob(spec("bolt", "1-3")).id;
        fake.completeJob(done, pngBytes());
        fake.addJob(spec("gear", "1"));
        Node n;
        n.id = 1;
        n.caps.name = "ws-lab-1";
        n.state = NodeState::Idle;
        fake.nodes.append(n);

        MainWindow window(nullptr);
        window.show();
        QSignalSpy loaded(&window, &MainWindow::jobsLoaded);
        window.connectTo(fake.url());
        QVERIFY(loaded.wait(10000));
        QCOMPARE(window.jobsModel()->rowCount(), 3);
        QCOMPARE(window.jobsModel()->index(0, gui::JobsModel::Name).data().toString(),
                 QString("gear"));
        QTRY_COMPARE(window.nodesModel()->rowCount(), 1); // its own request
        QTRY_VERIFY(window.connectionBar()->state() == ConnectionBar::State::Connected);

        // Live: a job created elsewhere appears, an update changes its row.
        const qint64 live = fake.addJob(spec("propeller", "1-2")).id;
        QTRY_COMPARE(window.jobsModel()->rowCount(), 4);
        fake.setJobState(live, JobState::Active, 0.5);
        QTRY_COMPARE(window.jobsModel()
                         ->index(window.jobsModel()->rowOf(live), gui::JobsModel::State)
                         .data()
                         .toString(),
                     QString("active"));

        // Selecting the finished job shows its tasks and one thumbnail per frame.
        window.selectJob(done);
        QCOMPARE(window.details()->jobId(), done);
        QTRY_COMPARE(window.details()->tasksModel()->rowCount(), 2);
        QTRY_COMPARE(window.details()->thumbnailCount(), 3);
        QVERIFY(!window.details()->findChild<QPushButton *>("cancelJob")->isEnabled());

        // Cancel the live job from the details pane.
        window.selectJob(live);
        auto *cancel = window.details()->findChild<QPushButton *>("cancelJob");
        QVERIFY(cancel->isEnabled());
        cancel->click();
        QTRY_VERIFY(fake.jobs[live].state == JobState::Canceled);
        QTRY_VERIFY(!cancel->isEnabled());
    }

    // A video output is listed with a play icon; a double-click plays it, fetched, in the app's
    // own player (these bytes are no video: it says so); Open hands it to the desktop's player.
    void opensAVideoOutput()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.files.insert(kSha, "x");
        const qint64 job = fake.addJob(spec("turntable", "1-2")).id;
        fake.completeJob(job, pngBytes());
        const QByteArray video("\0\0\0\x20"
                               "ftypisom not really a video, bytes to compare",
                               48);
        fake.outputs[job].append({"video.mp4", video});
        MainWindow window(nullptr);
        window.show();
        QSignalSpy loaded(&window, &MainWindow::jobsLoaded);
        window.connectTo(fake.url());
        QVERIFY(loaded.wait(10000));
        QList<QUrl> opened;
        window.details()->setOpener([&opened](const QUrl &url) {
            opened.append(url);
            return true;
        });
        window.selectJob(job);
        QTRY_COMPARE(window.details()->thumbnailCount(), 3);
        auto *frames = window.details()->findChild<QListWidget *>("frames");
        QVERIFY(frames);
        QListWidgetItem *first = frames->item(0); // the video leads the frames
        QCOMPARE(first->text(), QString("video.mp4"));
        QVERIFY(!first->icon().isNull());
        emit frames->itemActivated(first);
        QTRY_VERIFY(window.details()->videoPlayer());
        gui::VideoPlayer *player = window.details()->videoPlayer();
        QVERIFY(player->source().toLocalFile().endsWith(QString("job%1-video.mp4").arg(job)));
        QTRY_VERIFY_WITH_TIMEOUT(!player->errorText().isEmpty(), 20000);
        QVERIFY(opened.isEmpty());
        {
            QFile played(player->source().toLocalFile());
            QVERIFY(played.open(QIODevice::ReadOnly));
            QCOMPARE(played.readAll(), video);
        }
        frames->setCurrentItem(first);
        window.details()->findChild<QAction *>("openOutput")->trigger();
        QTRY_COMPARE(opened.size(), 1);
        QVERIFY(opened.first().isLocalFile());
        QVERIFY(opened.first().toLocalFile().endsWith(QString("job%1-video.mp4").arg(job)));
        QFile file(opened.first().toLocalFile());
        QVERIFY(file.open(QIODevice::ReadOnly));
        QCOMPARE(file.readAll(), video);
    }

    // A template set: 42 views of rgb, mask, depth (16-bit) and xyz.npy plus three JSON files,
    // 171 outputs: all listed, by view number; data files on an icon with their name; the frame
    // viewer flips through the views and shows the depth pass in false colour.
    void listsEveryTemplateOutputInViewOrder()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.files.insert(kSha, "x");
        const qint64 job = fake.addJob(spec("templates", "1")).id;
        fake.completeJob(job, pngBytes());
        fake.outputs[job].clear();
        QImage depth(32, 24, QImage::Format_Grayscale16);
        for (int y = 0; y < 24; ++y)
            for (int x = 0; x < 32; ++x)
                reinterpret_cast<quint16 *>(depth.scanLine(y))[x] =
                    quint16(x < 4 ? 0 : 1000 + 40 * x);
        QByteArray depthPng;
        QBuffer buffer(&depthPng);
        buffer.open(QIODevice::WriteOnly);
        QVERIFY(depth.save(&buffer, "PNG"));
        for (int v = 41; v >= 0; --v) { // landed in any order
            fake.outputs[job].append({QString("rgb_%1.png").arg(v), pngBytes()});
            fake.outputs[job].append({QString("mask_%1.png").arg(v), pngBytes()});
            fake.outputs[job].append({QString("depth_%1.png").arg(v), depthPng});
            fake.outputs[job].append({QString("xyz_%1.npy").arg(v), QByteArray("\x93NUMPY")});
        }
        for (const char *name : {"camera_poses.json", "intrinsics.json", "instances.json"})
            fake.outputs[job].append({name, QByteArray("{}")});

        MainWindow window(nullptr);
        window.show();
        QSignalSpy loaded(&window, &MainWindow::jobsLoaded);
        window.connectTo(fake.url());
        QVERIFY(loaded.wait(10000));
        window.selectJob(job);
        QTRY_COMPARE_WITH_TIMEOUT(window.details()->thumbnailCount(), 171, 20000);
        const QStringList names = window.details()->outputNames();
        QCOMPARE(names.mid(0, 4),
                 (QStringList{"depth_0.png", "mask_0.png", "rgb_0.png", "xyz_0.npy"}));
        QCOMPARE(names.indexOf("rgb_2.png") < names.indexOf("rgb_10.png"), true);
        QCOMPARE(names.indexOf("rgb_9.png") < names.indexOf("rgb_10.png"), true);
        QCOMPARE(names.last(), QString("intrinsics.json"));
        auto *frames = window.details()->findChild<QListWidget *>("frames");
        const auto npy = frames->findItems("xyz_7.npy", Qt::MatchExactly);
        QCOMPARE(npy.size(), 1);
        QVERIFY(!npy.first()->icon().isNull());
        QCOMPARE(npy.first()->text(), QString("xyz_7.npy"));

        gui::FrameViewer *viewer = window.details()->viewFrame("rgb_9.png");
        QVERIFY(viewer);
        QCOMPARE(viewer->frames().size(), 42);
        QCOMPARE(viewer->currentFrame(), QString("9"));
        QTRY_COMPARE_WITH_TIMEOUT(viewer->shownImage().size(), QSize(64, 48), 10000);
        viewer->next();
        QCOMPARE(viewer->currentFrame(), QString("10"));
        QCOMPARE(viewer->passes(), (QStringList{"rgb", "depth", "mask", "xyz"}));
        viewer->setPass("depth");
        QTRY_COMPARE_WITH_TIMEOUT(viewer->shownImage().size(), QSize(32, 24), 10000);
        QVERIFY(viewer->legendText().contains("1160"));
        QVERIFY(viewer->legendText().contains("2240"));
        // No surface is black; near is blue, far is red.
        QCOMPARE(viewer->shownImage().pixel(0, 0), qRgb(0, 0, 0));
        const QColor near = viewer->shownImage().pixel(4, 5),
                     far = viewer->shownImage().pixel(31, 5);
        QVERIFY(near.blue() > near.red());
        QVERIFY(far.red() > far.blue());
        viewer->previous();
        QCOMPARE(viewer->currentFrame(), QString("9"));
        QCOMPARE(viewer->currentPass(), QString("depth")); // the pass stays while flipping
        viewer->setPass("xyz");
        QTRY_VERIFY(viewer->legendText().contains("not an image"));
    }

    void showsLivePartialPreviewUntilTheFrameLands()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.files.insert(kSha, "x");
        const qint64 job = fake.addJob(spec("engine", "1-2")).id;
        Task &task = fake.tasks[job].first();
        task.state = TaskState::Running;
        const qint64 taskId = task.id;
        QByteArray jpeg = jpegBytes(QColor(200, 60, 30));
        fake.intercept =
            [&](const FakeFarmServer::Request &r) -> std::optional<FakeFarmServer::Response> {
            if (r.path != QString("/api/v1/tasks/%1/preview").arg(taskId))
                return std::nullopt;
            return FakeFarmServer::Response{200, jpeg, "image/jpeg"};
        };
        fake.setJobState(job, JobState::Active, 0.1);

        MainWindow window(nullptr);
        window.show();
        QSignalSpy loaded(&window, &MainWindow::jobsLoaded);
        window.connectTo(fake.url());
        QVERIFY(loaded.wait(10000));
        QTRY_VERIFY(window.connectionBar()->state() == ConnectionBar::State::Connected);
        auto *live = window.details()->findChild<QWidget *>("livePreview");
        QVERIFY(live);

        // Opening the job fetches the running task's latest partial image; nothing moves when
        // it appears (the Cancel button stays under the cursor, the frames keep their place).
        auto *frames = window.details()->findChild<QListWidget *>("frames");
        auto *cancel = window.details()->findChild<QPushButton *>("cancelJob");
        const QRect framesBefore(frames->mapTo(&window, QPoint()), frames->size());
        const QPoint cancelBefore = cancel->mapTo(&window, QPoint());
        window.selectJob(job);
        QTRY_COMPARE(window.details()->liveTask(), taskId);
        QVERIFY(live->isVisible());
        QApplication::processEvents();
        QCOMPARE(QRect(frames->mapTo(&window, QPoint()), frames->size()), framesBefore);
        QCOMPARE(cancel->mapTo(&window, QPoint()), cancelBefore);
        QCOMPARE(window.details()->liveImage().size(), QSize(96, 72));
        QVERIFY(qRed(window.details()->liveImage().pixel(48, 36)) > 150);

        // A newer partial image replaces it, with its samples in the caption.
        jpeg = jpegBytes(QColor(30, 60, 200));
        fake.broadcast("task.partial", {{"task", taskId},
                                        {"job", job},
                                        {"frame", 1},
                                        {"samples", 8},
                                        {"spp", 64},
                                        {"url", "/api/v1/tasks/x/preview"}});
        QTRY_VERIFY(qBlue(window.details()->liveImage().pixel(48, 36)) > 150);
        QCOMPARE(window.details()->liveCaption(), QString("frame 1 · 8 of 64 samples"));

        // Another job's partial is not shown here.
        fake.broadcast(
            "task.partial",
            {{"task", 999}, {"job", job + 100}, {"frame", 1}, {"samples", 1}, {"spp", 2}});
        QTest::qWait(200);
        QCOMPARE(window.details()->liveTask(), taskId);

        // The finished frame lands: the partial image gives way to its thumbnail.
        fake.outputs[job].append({frameFileName(1), pngBytes()});
        fake.broadcast(
            "task.preview",
            {{"task", taskId}, {"job", job}, {"frame", 1}, {"output", frameFileName(1)}});
        QTRY_COMPARE(window.details()->liveTask(), qint64(0));
        QVERIFY(!live->isVisible());
        QTRY_COMPARE(window.details()->thumbnailCount(), 1);
    }

    void submitsBundleAndSelectsJob()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.chunkSize = 4096;
        QTemporaryDir dir;
        QFile model(dir.filePath("cube.obj"));
        QVERIFY(model.open(QIODevice::WriteOnly));
        model.write("mtllib cube.mtl\n");
        for (int i = 0; i < 2000; ++i)
            model.write("v 1 2 3\n");
        model.close();
        QFile mtl(dir.filePath("cube.mtl"));
        QVERIFY(mtl.open(QIODevice::WriteOnly));
        mtl.write("newmtl a\nKd 1 0 0\n");
        mtl.close();

        MainWindow window(nullptr);
        QSignalSpy loaded(&window, &MainWindow::jobsLoaded);
        window.connectTo(fake.url());
        QVERIFY(loaded.wait(10000));
        QSignalSpy finished(&window, &MainWindow::submissionFinished);
        client::BundleSource source;
        source.root = dir.path();
        source.main = "cube.obj";
        source.files = {"cube.obj", "cube.mtl"};
        window.startSubmission(source, [](const JobInput &input) {
            JobSpec s;
            s.input = input;
            s.name = "dropped cube";
            return Result<JobSpec>(s);
        });
        QVERIFY(finished.wait(10000));
        QCOMPARE(finished.first().first().toInt(), 1);
        QCOMPARE(fake.jobs.size(), 1);
        QCOMPARE(fake.jobs.first().spec.name, QString("dropped cube"));
        QCOMPARE(fake.jobs.first().spec.input.files.size(), 2);
        QVERIFY(fake.putChunks.size() >= 4);
        QCOMPARE(window.details()->jobId(), fake.jobs.firstKey());
        QCOMPARE(window.jobsModel()->rowCount(), 1);
        QCOMPARE(window.details()->inputFiles(), (QStringList{"cube.obj", "cube.mtl"}));
    }

    void droppedFolderBecomesOneJob()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        QTemporaryDir dir;
        const QString box = dir.filePath("box");
        if (!testing::copyFolder(testing::kBoxTextured, box))
            QSKIP("assimp-testmodels is not installed");
        MainWindow window(nullptr);
        window.show();
        QSignalSpy loaded(&window, &MainWindow::jobsLoaded);
        window.connectTo(fake.url());
        QVERIFY(loaded.wait(10000));

        QVERIFY(testing::dropUrls(window, {QUrl::fromLocalFile(box)}));
        QTRY_VERIFY(window.findChild<gui::SubmitDialog *>());
        auto *dialog = window.findChild<gui::SubmitDialog *>();
        QCOMPARE(dialog->bundle().files(),
                 (QStringList{"BoxTextured.gltf", "BoxTextured0.bin", "CesiumLogoFlat.png"}));
        dialog->findChild<QSpinBox *>("width")->setValue(64);
        QSignalSpy finished(&window, &MainWindow::submissionFinished);
        dialog->accept();
        QVERIFY(finished.wait(10000));
        QCOMPARE(fake.jobs.size(), 1);
        const JobSpec job = fake.jobs.first().spec;
        QCOMPARE(job.type, QString("model"));
        QCOMPARE(job.name, QString("BoxTextured.gltf"));
        QCOMPARE(job.input.main, QString("BoxTextured.gltf"));
        QStringList paths;
        for (const BundleFile &f : job.input.files) {
            paths.append(f.path);
            QVERIFY(fake.files.contains(f.file));
        }
        QCOMPARE(paths,
                 (QStringList{"BoxTextured.gltf", "BoxTextured0.bin", "CesiumLogoFlat.png"}));
        QCOMPARE(job.settings.value("width").toInt(), 64);
        QTRY_COMPARE(window.details()->jobId(), fake.jobs.firstKey());
        // In the schema's order: width first.
        QCOMPARE(window.details()->settingsRows().value(0), QString("width = 64"));
        QCOMPARE(window.details()->findChild<QListWidget *>("jobFiles")->count(), 3);
    }

    void showsJobsOfUnknownTypes()
    {
        FakeFarmServer fake;
        QVERIFY(fake.listen());
        fake.addJob(spec("engine", "1-4"));
        JobSpec odd = spec("flip sim", "1-2");
        odd.type = "houdini_sim";
        odd.settings = {{"solver", "flip"}, {"cache", QJsonObject{{"format", "vdb"}}}};
        const qint64 id = fake.addJob(odd).id;
        MainWindow window(nullptr);
        window.show();
        QSignalSpy loaded(&window, &MainWindow::jobsLoaded);
        window.connectTo(fake.url());
        QVERIFY(loaded.wait(10000));
        QCOMPARE(window.jobsModel()->rowCount(), 2);
        const int row = window.jobsModel()->rowOf(id);
        QCOMPARE(window.jobsModel()->index(row, gui::JobsModel::Type).data().toString(),
                 QString("houdini_sim"));
        window.selectJob(id);
        QCOMPARE(window.details()->jobId(), id);
        QCOMPARE(window.details()->settingsRows(),
                 (QStringList{"cache.format = vdb", "solver = flip"}));
        QVERIFY(
            window.details()->findChild<QLabel *>("jobSummary")->text().contains("houdini_sim"));
    }

    // 800x600 and 1280x720 fit: the window takes the size and the list keeps several rows.
    void fitsSmallScreens_data()
    {
        QTest::addColumn<QSize>("size");
        QTest::newRow("800x600") << QSize(800, 600);
        QTest::newRow("1280x720") << QSize(1280, 720);
    }
    void fitsSmallScreens()
    {
        QFETCH(QSize, size);
        MainWindow window(nullptr);
        window.resize(size);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QCOMPARE(window.size(), size);
        QVERIFY(window.minimumSizeHint().width() <= 800);
        QVERIFY(window.minimumSizeHint().height() <= 600);
        QVERIFY2(window.jobsView()->height() >= 3 * 28 + 24,
                 qPrintable(QString::number(window.jobsView()->height())));
    }

    void reportsUnreachableServer()
    {
        quint16 port = 0;
        {
            FakeFarmServer gone;
            QVERIFY(gone.listen());
            port = gone.url().port();
        }
        MainWindow window(nullptr);
        window.connectTo(QUrl(QString("http://127.0.0.1:%1").arg(port)));
        QTRY_VERIFY(window.connectionBar()->state() == ConnectionBar::State::Failed);
        QVERIFY(window.connectionBar()->message().contains("cannot reach server"));
        QCOMPARE(window.jobsModel()->rowCount(), 0);
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
