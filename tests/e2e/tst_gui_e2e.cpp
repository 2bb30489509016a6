// farm-gui against the real farm: a folder dropped on the main window (a glTF with its .bin and
// a texture) becomes one job that a real render node renders with the texture.
#include "dialogs/submitdialog.h"
#include "dropevents.h"
#include "farmfixture.h"
#include "widgets/jobdetails.h"
#include "widgets/mainwindow.h"

#include <QApplication>
#include <QDir>
#include <QImage>
#include <QJsonArray>
#include <QListWidget>
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
    }
};

QTEST_MAIN(TestGuiEndToEnd)
#include "tst_gui_e2e.moc"
