// farm-gui against the real farm: a folder dropped on the main window (a glTF with its .bin and
// a texture) becomes one job that a real render node renders with the texture; a compose video
// named by URL in the submit dialog is fetched by the server (its 400 shown for a host it does
// not fetch from).
#include "dialogs/submitdialog.h"
#include "dropevents.h"
#include "farmfixture.h"
#include "fileorigin.h"
#include "widgets/frameviewer.h"
#include "widgets/jobdetails.h"
#include "widgets/mainwindow.h"

#include <QApplication>
#include <QDir>
#include <QImage>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QProcess>
#include <QSignalSpy>
#include <QSpinBox>
#include <QtTest>

using namespace farm;

namespace {
const char *kBoxTextured = "/usr/share/assimp/models/glTF2/BoxTextured-glTF";
} // namespace

class TestGuiEndToEnd : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase() { FARM_E2E_REQUIRE(QString(kBoxTextured) + "/BoxTextured.gltf"); }

    void droppedFolderRendersWithItsTexture()
    {
        // The artist's folder: the model, its buffer and its texture (made pure red here, so
        // the frame shows whether the texture travelled with the job).
        QTemporaryDir dir;
        const QString box = dir.filePath("Box scene");
        QDir().mkpath(box + "/maps");
        QFile::copy(QString(kBoxTextured) + "/BoxTextured0.bin", box + "/BoxTextured0.bin");
        QFile gltf(QString(kBoxTextured) + "/BoxTextured.gltf");
        QVERIFY(gltf.open(QIODevice::ReadOnly));
        QFile copy(box + "/BoxTextured.gltf");
        QVERIFY(copy.open(QIODevice::WriteOnly));
        copy.write(gltf.readAll().replace("\"CesiumLogoFlat.png\"", "\"maps/red%20logo.png\""));
        copy.close();
        QVERIFY(writeSolidPng(box + "/maps/red logo.png", Qt::red));
        // Beside them, a note the model type does not take (the server would refuse the job).
        QFile note(box + "/notes.txt");
        QVERIFY(note.open(QIODevice::WriteOnly));
        note.write("render the red side first\n");
        note.close();

        FarmFixture farm;
        QVERIFY(farm.startServer());
        farm.startNode("gui-e2e-node");
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 20000));

        gui::MainWindow window(nullptr);
        window.show();
        QSignalSpy loaded(&window, &gui::MainWindow::jobsLoaded);
        window.connectTo(QUrl(farm.serverUrl()));
        QVERIFY(loaded.wait(10000));

        QVERIFY(testing::dropUrls(window, {QUrl::fromLocalFile(box)}));
        QTRY_VERIFY_WITH_TIMEOUT(window.findChild<gui::SubmitDialog *>(), 10000);
        auto *dialog = window.findChild<gui::SubmitDialog *>();
        QCOMPARE(dialog->bundle().files(),
                 (QStringList{"BoxTextured.gltf", "BoxTextured0.bin", "maps/red logo.png"}));
        // Left out before any upload, and named (side_extensions of the served model type).
        QCOMPARE(dialog->bundle().leftOut(), QStringList{"notes.txt"});
        auto *leftOut = dialog->findChild<QLabel *>("leftOut");
        QVERIFY(!leftOut->isHidden());
        QVERIFY2(leftOut->text().contains("notes.txt") && leftOut->text().contains(".bin"),
                 qPrintable(leftOut->text()));
        dialog->findChild<QSpinBox *>("width")->setValue(64);
        dialog->findChild<QSpinBox *>("height")->setValue(48);
        dialog->findChild<QSpinBox *>("spp")->setValue(4);
        QSignalSpy finished(&window, &gui::MainWindow::submissionFinished);
        dialog->accept();
        QVERIFY(finished.wait(30000));
        QCOMPARE(finished.first().first().toInt(), 1);
        QTRY_VERIFY_WITH_TIMEOUT(window.details()->jobId() > 0, 10000);
        const qint64 job = window.details()->jobId();

        const QJsonObject done = farm.waitForJob(job, 180000);
        QCOMPARE(done.value("state").toString(), QString("completed"));
        QCOMPARE(done.value("input").toObject().value("files").toArray().size(), 3);
        const auto frame = farm.get(QString("/api/v1/jobs/%1/outputs/frame_0001.png").arg(job));
        QCOMPARE(frame.status, 200);
        const QImage image = QImage::fromData(frame.body, "PNG");
        QCOMPARE(image.size(), QSize(64, 48));
        const double red = dominantShare(image, 0);
        qInfo("farm-gui folder drop: red covers %.3f of the frame", red);
        QVERIFY2(red > 0.08, qPrintable(QString("red covers %1 of the frame").arg(red)));
        // The desktop app shows the finished frame's job with its three files.
        QTRY_COMPARE_WITH_TIMEOUT(window.details()->findChild<QListWidget *>("jobFiles")->count(),
                                  3, 10000);
        // Its row reaches 100 %, its frame lands as a thumbnail and opens full size.
        QTRY_COMPARE_WITH_TIMEOUT(window.jobsModel()->job(job)->progress, 1.0, 20000);
        // The tray would say it finished, once (what the offscreen platform cannot show).
        auto notified = [&] {
            return std::count_if(window.trayState()->sent().begin(),
                                 window.trayState()->sent().end(),
                                 [&](const gui::TrayState::Notification &n) {
                                     return n.job == job && n.state == JobState::Completed;
                                 });
        };
        QTRY_COMPARE_WITH_TIMEOUT(notified(), 1, 20000);
        QCOMPARE(window.trayState()->sent().size(), 1);
        QCOMPARE(window.trayState()->activeJobs(), 0);
        QTRY_COMPARE_WITH_TIMEOUT(window.details()->thumbnailCount(), 1, 20000);
        gui::FrameViewer *viewer = window.details()->viewFrame("frame_0001.png");
        QVERIFY(viewer);
        QTRY_COMPARE_WITH_TIMEOUT(viewer->shownImage().size(), QSize(64, 48), 20000);
        QVERIFY(dominantShare(viewer->shownImage(), 0) > 0.08);
        // Every output as the server's archive.
        QTemporaryDir saved;
        QString error = "pending";
        window.details()->saveAll(saved.filePath("all.zip"),
                                  [&error](const QString &e) { error = e; });
        QTRY_VERIFY_WITH_TIMEOUT(error != "pending", 20000);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QFile zip(saved.filePath("all.zip"));
        QVERIFY(zip.open(QIODevice::ReadOnly));
        QVERIFY(zip.read(2) == "PK");
        QVERIFY(zip.readAll().contains("frame_0001.png"));
    }

    // A compose scenario dropped with its video named by URL ("File by URL"): a host the server
    // does not fetch from is refused by the server (its 400 shown in the window, no job); then
    // the loopback origin's clip is fetched into the job beside the uploaded scenario.
    void fileByUrlIsFetchedByTheServer()
    {
        QTemporaryDir dir;
        const QString clip = dir.filePath("clip.mp4");
        QProcess ffmpeg;
        ffmpeg.start("ffmpeg",
                     {"-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10", "-t", "1",
                      "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", clip});
        QVERIFY2(ffmpeg.waitForFinished(60000) && ffmpeg.exitCode() == 0,
                 ffmpeg.readAllStandardError().constData());
        QFile clipFile(clip);
        QVERIFY(clipFile.open(QIODevice::ReadOnly));
        testing::FileOrigin origin;
        origin.body = clipFile.readAll();
        QVERIFY(origin.listen());
        const QString scenario = dir.filePath("captions.json");
        QFile cues(scenario);
        QVERIFY(cues.open(QIODevice::WriteOnly));
        cues.write(R"({"version": "1.3", "cues": [{"start": 0, "end": 1, "text": "By URL"}]})");
        cues.close();

        FarmFixture farm;
        QVERIFY(farm.startServer(0, {"--fetch-allow", "http://127.0.0.1"}));
        gui::MainWindow window(nullptr);
        window.show();
        QSignalSpy loaded(&window, &gui::MainWindow::jobsLoaded);
        window.connectTo(QUrl(farm.serverUrl()));
        QVERIFY(loaded.wait(10000));

        const auto submitWithUrl = [&](const QString &url) -> int {
            if (!testing::dropUrls(window, {QUrl::fromLocalFile(scenario)}))
                return -1;
            if (!QTest::qWaitFor([&] { return window.findChild<gui::SubmitDialog *>(); }, 10000))
                return -4;
            auto *dialog = window.findChild<gui::SubmitDialog *>();
            if (!dialog->currentType() || dialog->currentType()->name != "compose")
                return -2;
            dialog->findChild<QLineEdit *>("inputUrl")->setText(url);
            QSignalSpy finished(&window, &gui::MainWindow::submissionFinished);
            dialog->accept();
            if (!finished.wait(30000))
                return -3;
            if (!QTest::qWaitFor([&] { return !window.findChild<gui::SubmitDialog *>(); }, 5000))
                return -5;
            return finished.first().first().toInt();
        };

        // localhost is not among --fetch-allow: the server's own message, and no job.
        const QString refused = QString("http://localhost:%1/clip.mp4").arg(origin.port());
        QCOMPARE(submitWithUrl(refused), 0);
        const QString status = window.findChild<QLabel *>("statusMessage")->text();
        QVERIFY2(status.contains("input.files[1].url") &&
                     status.contains("is not a scheme and host this server fetches from"),
                 qPrintable(status));
        QCOMPARE(farm.get("/api/v1/jobs").json().value("jobs").toArray().size(), 0);
        QCOMPARE(origin.requests, 0);

        QCOMPARE(submitWithUrl(origin.url("clip.mp4")), 1);
        QTRY_VERIFY_WITH_TIMEOUT(window.details()->jobId() > 0, 10000);
        const qint64 job = window.details()->jobId();
        QJsonArray files;
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                files = farm.get(QString("/api/v1/jobs/%1").arg(job))
                            .json()
                            .value("input")
                            .toObject()
                            .value("files")
                            .toArray();
                return files.size() == 2 && !files[1].toObject().value("file").toString().isEmpty();
            }(),
            30000);
        QCOMPARE(files[0].toObject().value("path").toString(), QString("captions.json"));
        const QJsonObject fetched = files[1].toObject();
        QCOMPARE(fetched.value("path").toString(), QString("clip.mp4"));
        QCOMPARE(fetched.value("url").toString(), origin.url("clip.mp4"));
        QCOMPARE(fetched.value("file").toString(),
                 QString::fromLatin1(
                     QCryptographicHash::hash(origin.body, QCryptographicHash::Sha256).toHex()));
        QCOMPARE(origin.requests, 1);
    }

    // One task renders four frames: its log shows in the job view while it runs and grows
    // by itself up to the last frame.
    void logViewerFollowsARunningTask()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        farm.startNode("gui-log-node");
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 30000));
        QFile obj("/usr/share/assimp/models/OBJ/box.obj");
        QVERIFY(obj.open(QIODevice::ReadOnly));
        const QString sha = farm.upload(obj.readAll(), "box.obj");
        QVERIFY(!sha.isEmpty());

        gui::MainWindow window(nullptr);
        window.show();
        QSignalSpy loaded(&window, &gui::MainWindow::jobsLoaded);
        window.connectTo(QUrl(farm.serverUrl()));
        QVERIFY(loaded.wait(20000));
        const qint64 job =
            farm.submit({{"name", "spider"},
                         {"type", "model"},
                         {"input", QJsonObject{{"file", sha}, {"name", "box.obj"}}},
                         {"frames", "1-4"},
                         {"chunk", 4},
                         {"settings", QJsonObject{{"width", 480}, {"height", 360}, {"spp", 128}}}});
        QVERIFY(job > 0);
        window.selectJob(job);
        QTRY_COMPARE_WITH_TIMEOUT(window.details()->jobId(), job, 20000);
        auto running = [&] {
            const auto &tasks = window.details()->tasksModel()->tasks();
            return !tasks.isEmpty() && tasks.first().state == TaskState::Running;
        };
        // While it runs, the log is there (the node's "running" line) without a click.
        QTRY_VERIFY_WITH_TIMEOUT(running() && window.details()->logText().contains("running"),
                                 120000);
        QVERIFY(window.details()->logTask() > 0);
        QVERIFY(!window.details()->logText().contains("frame 4 written"));
        // It follows: the last frame's line arrives by itself.
        QTRY_VERIFY_WITH_TIMEOUT(window.details()->logText().contains("frame 4 written"), 240000);
        QCOMPARE(farm.waitForJob(job, 120000).value("state").toString(), QString("completed"));
        auto *log = window.details()->findChild<QPlainTextEdit *>("taskLog");
        QVERIFY(log->isReadOnly());
        QVERIFY(log->textInteractionFlags() & Qt::TextSelectableByMouse);
    }
};

QTEST_MAIN(TestGuiEndToEnd)
#include "tst_gui_e2e.moc"
