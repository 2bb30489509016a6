// farm-gui against the real farm-server: job actions from the context menu, delete with its
// confirmation, a server restart, switching servers, refused files and a wrong token.
#include "dialogs/encodedialog.h"
#include "dialogs/submitdialog.h"
#include "dropevents.h"
#include "farmfixture.h"
#include "widgets/connectionbar.h"
#include "widgets/farmchart.h"
#include "widgets/jobactions.h"
#include "widgets/jobdetails.h"
#include "widgets/mainwindow.h"
#include "widgets/schemaform.h"
#include "widgets/videoplayer.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QContextMenuEvent>
#include <QDoubleSpinBox>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QSet>
#include <QSignalSpy>
#include <QTableView>
#include <QToolBar>
#include <QVideoFrame>
#include <QVideoSink>
#include <QtTest>

using namespace farm;

namespace {

const char *kBox = "/usr/share/assimp/models/OBJ/box.obj";

QJsonObject boxJob(const QString &sha, const QString &name, const QString &frames = "1")
{
    return {{"name", name},
            {"type", "model"},
            {"input", QJsonObject{{"file", sha}, {"name", "box.obj"}}},
            {"frames", frames},
            {"settings", QJsonObject{{"width", 32}, {"height", 24}, {"spp", 1}}}};
}

QString boxSha(FarmFixture &farm)
{
    QFile box(kBox);
    if (!box.open(QIODevice::ReadOnly))
        return {};
    return farm.upload(box.readAll(), "box.obj");
}

QString jobState(FarmFixture &farm, qint64 id)
{
    return farm.get(QString("/api/v1/jobs/%1").arg(id)).json().value("state").toString();
}

/// Right-clicks the job's row and returns the menu that opened.
QMenu *openContextMenu(gui::MainWindow &window, qint64 jobId)
{
    QTableView *view = window.jobsView();
    const int row = window.jobsModel()->rowOf(jobId);
    const QPoint pos = view->visualRect(window.jobsModel()->index(row, 1)).center();
    QContextMenuEvent event(QContextMenuEvent::Mouse, pos, view->viewport()->mapToGlobal(pos));
    QApplication::sendEvent(view->viewport(), &event);
    auto *menu = window.findChild<QMenu *>("jobsMenu");
    return menu && menu->isVisible() ? menu : nullptr;
}

/// Clicks the menu entry; false when it is missing or greyed.
bool clickMenu(QMenu *menu, const char *objectName)
{
    for (QAction *a : menu->actions())
        if (a->objectName() == objectName) {
            if (!a->isEnabled())
                return false;
            menu->hide();
            a->trigger();
            return true;
        }
    return false;
}

} // namespace

class TestGuiActionsE2e : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase() { FARM_E2E_REQUIRE(QString(kBox)); }

    // No node: jobs stay queued, so each action's effect is the server's state.
    void actionsFromContextMenuAndDeleteWithConfirmation()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        const QString sha = boxSha(farm);
        QVERIFY(!sha.isEmpty());
        const qint64 a = farm.submit(boxJob(sha, "first"));
        const qint64 b = farm.submit(boxJob(sha, "second"));
        QVERIFY(a > 0 && b > 0);

        gui::MainWindow window(nullptr);
        window.show();
        QSignalSpy loaded(&window, &gui::MainWindow::jobsLoaded);
        window.connectTo(QUrl(farm.serverUrl()));
        QVERIFY(loaded.wait(20000));
        QCOMPARE(window.jobsModel()->rowCount(), 2);

        // Search and state filter, answered by the server.
        window.setFilter({}, "secon");
        QTRY_COMPARE_WITH_TIMEOUT(window.jobsModel()->rowCount(), 1, 20000);
        QCOMPARE(window.jobsModel()->jobAt(0)->spec.name, QString("second"));
        window.setFilter("failed", {});
        QTRY_COMPARE_WITH_TIMEOUT(window.jobsModel()->rowCount(), 0, 20000);
        window.setFilter("queued", {});
        QTRY_COMPARE_WITH_TIMEOUT(window.jobsModel()->rowCount(), 2, 20000);
        window.setFilter({}, {});

        // Pause from the context menu; the menu offers Resume afterwards, not Pause.
        window.selectJob(a);
        QMenu *menu = openContextMenu(window, a);
        QVERIFY(menu);
        QVERIFY(!window.jobActions()->action(gui::JobActions::Resume)->isEnabled());
        QVERIFY(clickMenu(menu, "pauseJobs"));
        QTRY_COMPARE_WITH_TIMEOUT(jobState(farm, a), QString("paused"), 20000);
        QTRY_VERIFY_WITH_TIMEOUT(window.jobsModel()->job(a)->state == JobState::Paused, 20000);
        menu = openContextMenu(window, a);
        QVERIFY(menu);
        QVERIFY(!window.jobActions()->action(gui::JobActions::Pause)->isEnabled());
        QVERIFY(clickMenu(menu, "resumeJobs"));
        QTRY_COMPARE_WITH_TIMEOUT(jobState(farm, a), QString("queued"), 20000);

        // The keyboard: Ctrl+P pauses, Ctrl+Shift+P resumes the selected job.
        QApplication::setActiveWindow(&window);
        QVERIFY(QTest::qWaitForWindowActive(&window));
        window.jobsView()->setFocus();
        QTRY_VERIFY(window.jobsModel()->job(a)->state == JobState::Queued);
        QTest::keySequence(&window, QKeySequence(Qt::CTRL | Qt::Key_P));
        QTRY_COMPARE_WITH_TIMEOUT(jobState(farm, a), QString("paused"), 20000);
        QTRY_VERIFY_WITH_TIMEOUT(window.jobsModel()->job(a)->state == JobState::Paused, 20000);
        QTest::keySequence(&window, QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_P));
        QTRY_COMPARE_WITH_TIMEOUT(jobState(farm, a), QString("queued"), 20000);
        // QTest leaves Ctrl+Shift held in the application's state: let them go.
        QTest::keyClick(&window, Qt::Key_Shift, Qt::NoModifier);
        QCOMPARE(QGuiApplication::keyboardModifiers(), Qt::NoModifier);

        // Priority of the selected job.
        window.jobActions()->setPriority({a}, 80);
        QTRY_COMPARE_WITH_TIMEOUT(
            farm.get(QString("/api/v1/jobs/%1").arg(a)).json().value("priority").toInt(), 80,
            20000);

        // Both jobs selected: one click pauses both, a second cancels both.
        window.selectJobs({a, b});
        QCOMPARE(window.selectedJobs().size(), 2);
        window.jobActions()->action(gui::JobActions::Pause)->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(jobState(farm, a), QString("paused"), 20000);
        QTRY_COMPARE_WITH_TIMEOUT(jobState(farm, b), QString("paused"), 20000);
        // Why is it not running? The server's reasons appear in the details pane.
        window.selectJob(a);
        QTRY_VERIFY_WITH_TIMEOUT(window.jobActions()->action(gui::JobActions::Explain)->isEnabled(),
                                 10000);
        window.jobActions()->action(gui::JobActions::Explain)->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(window.details()->explanation().contains("paused"), 20000);

        window.selectJobs({a, b});
        menu = openContextMenu(window, a);
        QVERIFY(menu);
        QVERIFY(clickMenu(menu, "cancelJobs"));
        QTRY_COMPARE_WITH_TIMEOUT(jobState(farm, a), QString("canceled"), 20000);
        QTRY_COMPARE_WITH_TIMEOUT(jobState(farm, b), QString("canceled"), 20000);

        // Retry from the context menu brings a canceled job back.
        QTRY_VERIFY_WITH_TIMEOUT(window.jobsModel()->job(a)->state == JobState::Canceled, 20000);
        window.selectJob(a);
        menu = openContextMenu(window, a);
        QVERIFY(menu);
        QVERIFY(clickMenu(menu, "retryJobs"));
        QTRY_COMPARE_WITH_TIMEOUT(jobState(farm, a), QString("queued"), 20000);

        // Delete asks first; Cancel keeps the job, Delete removes it on the server and here.
        QTRY_VERIFY_WITH_TIMEOUT(window.jobsModel()->job(b)->state == JobState::Canceled, 20000);
        window.selectJob(b);
        menu = openContextMenu(window, b);
        QVERIFY(menu);
        QVERIFY(clickMenu(menu, "deleteJobs"));
        QMessageBox *confirm = window.jobActions()->pendingConfirmation();
        QVERIFY(confirm);
        QVERIFY(confirm->text().contains("cannot be undone"));
        confirm->button(QMessageBox::Cancel)->click();
        QTRY_VERIFY(!window.jobActions()->pendingConfirmation());
        QTest::qWait(300);
        QCOMPARE(farm.get(QString("/api/v1/jobs/%1").arg(b)).status, 200);

        window.jobActions()->action(gui::JobActions::Delete)->trigger();
        confirm = window.jobActions()->pendingConfirmation();
        QVERIFY(confirm);
        confirm->findChild<QPushButton *>("confirmDeleteButton")->click();
        QTRY_COMPARE_WITH_TIMEOUT(farm.get(QString("/api/v1/jobs/%1").arg(b)).status, 404, 20000);
        QTRY_VERIFY_WITH_TIMEOUT(!window.jobsModel()->job(b), 20000);
        QTRY_COMPARE_WITH_TIMEOUT(window.countsText(), QString("1 job on the farm"), 20000);
    }

    // "Encode video…" on a finished job: the form is the served encode schema; the new job's
    // node encodes the frames, and the video plays in the app's own player.
    void encodesAFinishedJobIntoAVideo()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        farm.startNode("gui-encode-node");
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 30000));
        const QString sha = boxSha(farm);
        const qint64 job = farm.submit(boxJob(sha, "spin", "1-6"));
        QCOMPARE(farm.waitForJob(job, 180000).value("state").toString(), QString("completed"));

        gui::MainWindow window(nullptr);
        window.show();
        QSignalSpy loaded(&window, &gui::MainWindow::jobsLoaded);
        window.connectTo(QUrl(farm.serverUrl()));
        QVERIFY(loaded.wait(20000));
        window.selectJob(job);
        QAction *encode = window.jobActions()->action(gui::JobActions::Encode);
        QTRY_VERIFY_WITH_TIMEOUT(encode->isEnabled(), 20000); // once the job types are in
        encode->trigger();
        auto *dialog = qobject_cast<gui::EncodeDialog *>(window.jobActions()->pendingEncode());
        QVERIFY(dialog);
        // Drawn from the schema: the codec's choices, the frame rate's limits.
        auto *codec = dialog->form()->findChild<QComboBox *>("codec");
        QVERIFY(codec && codec->findText("hevc") >= 0);
        auto *fps = dialog->form()->findChild<QDoubleSpinBox *>("fps");
        QVERIFY(fps);
        QCOMPARE(fps->maximum(), 240.0);
        fps->setValue(12);
        auto *output = dialog->form()->findChild<QLineEdit *>("output");
        QVERIFY(output);
        output->setText("spin.mp4");
        dialog->findChild<QLineEdit *>("encodeName")->setText("spin video");
        dialog->accept();
        QTRY_VERIFY_WITH_TIMEOUT(window.details()->jobId() != job && window.details()->jobId() > 0,
                                 20000);
        const qint64 video = window.details()->jobId();
        QCOMPARE(window.jobsModel()->job(video)->spec.name, QString("spin video"));
        QCOMPARE(window.jobsModel()->job(video)->spec.type, QString("encode"));
        const QJsonObject done = farm.waitForJob(video, 180000);
        QCOMPARE(done.value("state").toString(), QString("completed"));
        QCOMPARE(done.value("settings").toObject().value("fps").toDouble(), 12.0);
        QTRY_VERIFY_WITH_TIMEOUT(window.details()->outputNames().contains("spin.mp4"), 20000);

        // Played in the app: frames arrive and the position moves (6 frames at 12 fps).
        window.details()->playVideo("spin.mp4");
        QTRY_VERIFY_WITH_TIMEOUT(window.details()->videoPlayer(), 20000);
        gui::VideoPlayer *player = window.details()->videoPlayer();
        int frames = 0;
        connect(player->videoSink(), &QVideoSink::videoFrameChanged, this,
                [&frames](const QVideoFrame &f) { frames += f.isValid(); });
        QTRY_VERIFY_WITH_TIMEOUT(frames >= 3 && player->position() > 0, 30000);
        QVERIFY2(std::abs(player->duration() - 500) <= 100,
                 qPrintable(QString::number(player->duration())));
        QVERIFY(player->errorText().isEmpty());

        // A job still rendering cannot be encoded: the action is greyed.
        const qint64 running = farm.submit(boxJob(sha, "later", "1-200"));
        QTRY_VERIFY_WITH_TIMEOUT(window.jobsModel()->job(running), 20000);
        window.selectJob(running);
        QTRY_VERIFY(!encode->isEnabled());
    }

    // The server stops: a banner, greyed actions; it comes back: the selected job's details
    // are filled again without a click.
    void reconnectsAndRepopulatesTheSelectedJob()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        farm.startNode("gui-reconnect-node");
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 30000));
        const QString sha = boxSha(farm);
        const qint64 job = farm.submit(boxJob(sha, "box", "1-2"));
        QCOMPARE(farm.waitForJob(job, 180000).value("state").toString(), QString("completed"));

        gui::MainWindow window(nullptr);
        window.show();
        QSignalSpy loaded(&window, &gui::MainWindow::jobsLoaded);
        window.connectTo(QUrl(farm.serverUrl()));
        QVERIFY(loaded.wait(20000));
        window.selectJob(job);
        QTRY_COMPARE_WITH_TIMEOUT(window.details()->tasksModel()->rowCount(), 2, 20000);
        QTRY_COMPARE_WITH_TIMEOUT(window.details()->thumbnailCount(), 2, 20000);
        QTRY_VERIFY_WITH_TIMEOUT(
            window.connectionBar()->state() == gui::ConnectionBar::State::Connected, 20000);
        QVERIFY(window.jobActions()->action(gui::JobActions::Rerun)->isEnabled());

        const int port = farm.port();
        QCOMPARE(farm.stopServer(), 0);
        QTRY_VERIFY_WITH_TIMEOUT(window.banner()->isVisible(), 20000);
        QVERIFY(window.banner()->text().contains("does not answer"));
        QVERIFY(!window.jobActions()->action(gui::JobActions::Rerun)->isEnabled());

        QVERIFY(farm.startServer(port));
        QTRY_VERIFY_WITH_TIMEOUT(!window.banner()->isVisible(), 60000);
        QTRY_VERIFY_WITH_TIMEOUT(
            window.connectionBar()->state() == gui::ConnectionBar::State::Connected, 60000);
        QCOMPARE(window.details()->jobId(), job);
        QTRY_COMPARE_WITH_TIMEOUT(window.details()->tasksModel()->rowCount(), 2, 20000);
        QTRY_COMPARE_WITH_TIMEOUT(window.details()->thumbnailCount(), 2, 20000);
        QVERIFY(window.jobActions()->action(gui::JobActions::Rerun)->isEnabled());

        // Re-queue one task from the tasks' context menu: it renders again.
        auto *tasks = window.details()->findChild<QTableView *>("tasks");
        tasks->selectRow(0);
        QAction *requeue = window.details()->tasksMenu()->findChild<QAction *>("requeueTask");
        QVERIFY(requeue);
        requeue->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(jobState(farm, job) != "completed", 20000);
        QCOMPARE(farm.waitForJob(job, 180000).value("state").toString(), QString("completed"));
    }

    // More jobs than one page of GET /api/v1/jobs (500): the next page comes on scrolling to
    // the end of the list, and the rest with the "load more" button; none twice, none missed,
    // also when jobs are added and deleted between the pages.
    void pagesBeyondFiveHundredJobs()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        const QString sha = boxSha(farm);
        QVERIFY(!sha.isEmpty());
        constexpr int kJobs = 1030; // three pages: 500, 500, 30
        for (int first = 0; first < kJobs; first += 100) {
            QJsonArray batch;
            for (int i = first; i < std::min(kJobs, first + 100); ++i)
                batch.append(boxJob(sha, QString("paged-%1").arg(i)));
            const auto r = farm.post("/api/v1/jobs:batch",
                                     QJsonDocument(QJsonObject{{"jobs", batch}}).toJson());
            QCOMPARE(r.status, 201);
        }
        gui::MainWindow window(nullptr);
        window.resize(1280, 720);
        window.show();
        QSignalSpy loaded(&window, &gui::MainWindow::jobsLoaded);
        window.connectTo(QUrl(farm.serverUrl()));
        QVERIFY(loaded.wait(20000));
        // The list is read again once the live socket is up: that read is awaited, so the
        // first page is the one the rows below come from.
        QTRY_VERIFY_WITH_TIMEOUT(
            window.connectionBar()->state() == gui::ConnectionBar::State::Connected, 20000);
        QTRY_VERIFY_WITH_TIMEOUT(loaded.count() >= 2, 20000);
        QCOMPARE(window.jobsModel()->rowCount(), 500);
        QVERIFY(window.hasMoreJobs());
        auto *more = window.findChild<QPushButton *>("moreJobs");
        QVERIFY(more && more->isVisible());
        QVERIFY(more->text().contains("500 shown"));
        QVERIFY(window.countsText().contains(QString::number(kJobs)));

        // A job created now goes on top and is counted; the next page still follows on.
        const qint64 late = farm.submit(boxJob(sha, "paged-late"));
        QVERIFY(late > 0);
        QTRY_VERIFY_WITH_TIMEOUT(window.jobsModel()->job(late) != nullptr, 20000);

        // Between the pages two jobs of the first page are deleted, one of them its last row
        // (where the next page starts): the next pages follow the server's cursor, so the jobs
        // after them are neither skipped nor repeated.
        auto idOf = [&](const QString &name) -> qint64 {
            for (int row = 0; row < window.jobsModel()->rowCount(); ++row)
                if (window.jobsModel()->jobAt(row)->spec.name == name)
                    return window.jobsModel()->jobAt(row)->id;
            return 0;
        };
        // The first page's last row: its oldest job (paged-530, or paged-531 when the list was
        // read again after the late job came).
        qint64 oldest = late;
        for (int row = 0; row < window.jobsModel()->rowCount(); ++row)
            oldest = std::min(oldest, window.jobsModel()->jobAt(row)->id);
        const QString lastRow = window.jobsModel()->job(oldest)->spec.name;
        const QString afterIt = QString("paged-%1").arg(lastRow.mid(6).toInt() - 1);
        QVERIFY2(lastRow == "paged-530" || lastRow == "paged-531", qPrintable(lastRow));
        for (const QString &name : {QString("paged-700"), lastRow}) {
            const qint64 id = idOf(name);
            QVERIFY2(id > 0, qPrintable(name));
            QCOMPARE(farm.post(QString("/api/v1/jobs/%1/cancel").arg(id), {}).status, 200);
            QCOMPARE(farm.request("DELETE", QString("/api/v1/jobs/%1").arg(id)).status, 204);
            QTRY_VERIFY_WITH_TIMEOUT(window.jobsModel()->job(id) == nullptr, 20000);
        }
        constexpr int kLeft = kJobs + 1 - 2;

        window.jobsView()->scrollToBottom();
        QTRY_VERIFY_WITH_TIMEOUT(window.jobsModel()->rowCount() >= 998, 30000);
        QTRY_VERIFY_WITH_TIMEOUT(more->isEnabled(), 20000);
        QVERIFY(window.hasMoreJobs());
        QVERIFY(window.jobsModel()->rowCount() < kLeft);
        more->click();
        QTRY_COMPARE_WITH_TIMEOUT(window.jobsModel()->rowCount(), kLeft, 30000);
        QVERIFY(!window.hasMoreJobs());
        QTRY_VERIFY_WITH_TIMEOUT(!more->isVisible(), 20000);
        QSet<QString> names;
        for (int row = 0; row < window.jobsModel()->rowCount(); ++row)
            names.insert(window.jobsModel()->jobAt(row)->spec.name);
        QCOMPARE(names.size(), kLeft);
        QVERIFY(names.contains("paged-0") && names.contains("paged-1029"));
        QVERIFY(names.contains(afterIt)); // the first job after the deleted last row
        QVERIFY(!names.contains(lastRow) && !names.contains("paged-700"));
    }

    // The Farm tab charts the last hour from GET /api/v1/farm/history: the frames a node
    // rendered show as frames per minute, and its busy time as the share of slots busy.
    void farmChartShowsThroughputAndUtilisation()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        farm.startNode("gui-chart-node");
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 30000));
        const QString sha = boxSha(farm);
        const qint64 job = farm.submit(boxJob(sha, "charted", "1-3"));
        QVERIFY(job > 0);
        QCOMPARE(farm.waitForJob(job, 180000).value("state").toString(), QString("completed"));

        gui::MainWindow window(nullptr);
        window.resize(1280, 720);
        window.show();
        QSignalSpy loaded(&window, &gui::MainWindow::jobsLoaded);
        window.connectTo(QUrl(farm.serverUrl()));
        QVERIFY(loaded.wait(20000));
        auto *chart = window.findChild<gui::FarmChart *>("farmChart");
        QVERIFY(chart);
        window.tabs()->setCurrentWidget(chart);
        auto framesCharted = [&] {
            double sum = 0;
            for (const QPointF &p : chart->throughput()->points())
                sum += p.y(); // minute buckets: frames per minute is the bucket's frames
            return sum;
        };
        QTRY_COMPARE_WITH_TIMEOUT(framesCharted(), 3.0, 20000);
        QCOMPARE(chart->throughput()->count(), 60);
        QCOMPARE(chart->utilisation()->count(), 60);
        double busiest = 0;
        for (const QPointF &p : chart->utilisation()->points())
            busiest = std::max(busiest, p.y());
        QVERIFY2(busiest > 0 && busiest <= 100, qPrintable(QString::number(busiest)));
        QVERIFY2(chart->summary().contains("3 frames"), qPrintable(chart->summary()));
    }

    // Drain, disable and enable a node from the nodes' context menu.
    void nodeActionsFromTheNodesMenu()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        farm.startNode("gui-nodes-node");
        QVERIFY(farm.waitUntil([&] { return farm.onlineNodes() == 1; }, 30000));
        gui::MainWindow window(nullptr);
        window.show();
        QSignalSpy loaded(&window, &gui::MainWindow::jobsLoaded);
        window.connectTo(QUrl(farm.serverUrl()));
        QVERIFY(loaded.wait(20000));
        QTRY_COMPARE_WITH_TIMEOUT(window.nodesModel()->rowCount(), 1, 20000);
        QTRY_VERIFY_WITH_TIMEOUT(window.tabs()->tabText(1) == "Nodes (1)", 20000);
        auto *nodes = window.findChild<QTableView *>("nodes");
        window.tabs()->setCurrentIndex(1);
        nodes->selectRow(0);
        // The node's version from its hello; its load from a heartbeat, which sends no event:
        // the rows are read again while the Nodes tab shows, and the selection stays.
        const auto *model = window.nodesModel();
        QCOMPARE(model->index(0, gui::NodesModel::Version).data().toString(),
                 QString(kFarmVersion));
        QTRY_VERIFY_WITH_TIMEOUT(model->nodeAt(0)->load.has_value(), 30000);
        QVERIFY(model->index(0, gui::NodesModel::Load).data().toString().contains('%'));
        QCOMPARE(nodes->selectionModel()->selectedRows().size(), 1);
        QCOMPARE(model->index(0, gui::NodesModel::Current).data().toString().trimmed(),
                 QString("0/1"));
        auto nodeState = [&] {
            const QJsonArray list = farm.get("/api/v1/nodes").json().value("nodes").toArray();
            return list.isEmpty() ? QString() : list.first().toObject().value("state").toString();
        };
        auto click = [&](const char *name) {
            nodes->selectRow(0); // a node event may have refreshed the rows
            QAction *a = window.nodesMenu()->findChild<QAction *>(name);
            if (!a || !a->isEnabled() || nodes->selectionModel()->selectedRows().size() != 1)
                return false;
            a->trigger();
            return true;
        };
        QVERIFY(click("disableNode"));
        QTRY_COMPARE_WITH_TIMEOUT(nodeState(), QString("disabled"), 20000);
        QTRY_VERIFY_WITH_TIMEOUT(window.nodesModel()->nodeAt(0)->state == NodeState::Disabled,
                                 20000);
        QVERIFY(click("enableNode"));
        QTRY_COMPARE_WITH_TIMEOUT(nodeState(), QString("idle"), 20000);
        QVERIFY(click("drainNode"));
        QTRY_VERIFY_WITH_TIMEOUT(nodeState() == "draining" || nodeState() == "disabled", 20000);
        QVERIFY(click("enableNode"));
        QTRY_COMPARE_WITH_TIMEOUT(nodeState(), QString("idle"), 20000);
    }

    void switchingServersShowsOnlyTheNewServersJobs()
    {
        FarmFixture first;
        FarmFixture second;
        QVERIFY(first.startServer());
        QVERIFY(second.startServer());
        const QString sha1 = boxSha(first);
        const QString sha2 = boxSha(second);
        const qint64 a1 = first.submit(boxJob(sha1, "on-first-a"));
        first.submit(boxJob(sha1, "on-first-b"));
        second.submit(boxJob(sha2, "on-second"));

        gui::MainWindow window(nullptr);
        window.show();
        QSignalSpy loaded(&window, &gui::MainWindow::jobsLoaded);
        window.connectTo(QUrl(first.serverUrl()));
        QVERIFY(loaded.wait(20000));
        QCOMPARE(window.jobsModel()->rowCount(), 2);
        window.selectJob(a1);
        QTRY_COMPARE_WITH_TIMEOUT(window.details()->tasksModel()->rowCount(), 1, 20000);

        loaded.clear();
        window.connectTo(QUrl(second.serverUrl()));
        QCOMPARE(window.jobsModel()->rowCount(), 0); // nothing of the first server stays
        QCOMPARE(window.details()->jobId(), 0);
        QVERIFY(loaded.wait(20000));
        QCOMPARE(window.jobsModel()->rowCount(), 1);
        QCOMPARE(window.jobsModel()->jobAt(0)->spec.name, QString("on-second"));
        // A job created on the first server now is not shown.
        first.submit(boxJob(sha1, "on-first-late"));
        QTest::qWait(1500);
        QCOMPARE(window.jobsModel()->rowCount(), 1);
        QCOMPARE(window.countsText(), QString("1 job on the farm"));
    }

    void refusesUnsupportedAndEmptyFilesBeforeUpload()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer());
        gui::MainWindow window(nullptr);
        window.show();
        QSignalSpy types(&window, &gui::MainWindow::jobTypesLoaded);
        window.connectTo(QUrl(farm.serverUrl()));
        QVERIFY(types.wait(20000));

        QTemporaryDir dir;
        QFile notes(dir.filePath("notes.txt"));
        QVERIFY(notes.open(QIODevice::WriteOnly));
        notes.write("not a model\n");
        notes.close();
        QFile empty(dir.filePath("empty.obj"));
        QVERIFY(empty.open(QIODevice::WriteOnly));
        empty.close();

        QVERIFY(testing::dropUrls(window, {QUrl::fromLocalFile(notes.fileName())}));
        QTRY_VERIFY_WITH_TIMEOUT(window.statusText().contains("notes.txt"), 10000);
        QVERIFY(window.statusText().contains(".txt"));
        // The extensions named are the server's, from its job types.
        for (const auto &type : window.jobTypes())
            for (const QString &ext : type.extensions)
                QVERIFY2(window.statusText().contains("." + ext), qPrintable(ext));

        QVERIFY(testing::dropUrls(window, {QUrl::fromLocalFile(empty.fileName())}));
        QTRY_VERIFY_WITH_TIMEOUT(window.statusText().contains("empty.obj is empty"), 10000);
        QTest::qWait(300);
        QVERIFY(!window.findChild<gui::SubmitDialog *>());
        // Nothing reached the server.
        QCOMPARE(farm.get("/api/v1/jobs").json().value("total").toInt(), 0);
    }

    void wrongTokenSaysSo()
    {
        FarmFixture farm;
        QVERIFY(farm.startServer(0, {"--token", "s3cret", "--no-trust-loopback"}));
        gui::MainWindow window(nullptr);
        window.show();
        window.connectTo(QUrl(farm.serverUrl()), "wrong");
        QTRY_VERIFY_WITH_TIMEOUT(
            window.connectionBar()->state() == gui::ConnectionBar::State::Failed, 20000);
        QVERIFY2(window.connectionBar()->message().contains("Wrong token"),
                 qPrintable(window.connectionBar()->message()));
        QVERIFY(window.banner()->isVisible());
        QVERIFY(!window.jobActions()->action(gui::JobActions::Pause)->isEnabled());

        window.connectTo(QUrl(farm.serverUrl()));
        QTRY_VERIFY_WITH_TIMEOUT(window.connectionBar()->message().contains("needs a token"),
                                 20000);

        QSignalSpy loaded(&window, &gui::MainWindow::jobsLoaded);
        window.connectTo(QUrl(farm.serverUrl()), "s3cret");
        QVERIFY(loaded.wait(20000));
        QTRY_VERIFY_WITH_TIMEOUT(
            window.connectionBar()->state() == gui::ConnectionBar::State::Connected, 20000);
        QVERIFY(!window.banner()->isVisible());
    }
};

QTEST_MAIN(TestGuiActionsE2e)
#include "tst_gui_actions_e2e.moc"
