#include "dialogs/submitdialog.h"
#include "widgets/frameviewer.h"
#include "widgets/jobactions.h"
#include "widgets/jobdetails.h"
#include "widgets/mainwindow.h"
#include "widgets/theme.h"
#include "widgets/videoplayer.h"

#include "client/apiclient.h"

#include <QAction>
#include <QApplication>
#include <QCommandLineParser>
#include <QLabel>
#include <QPainter>
#include <QSettings>
#include <QTextStream>
#include <QTimer>
#include <QVideoFrame>
#include <QVideoSink>
#include <QVideoWidget>

#include <memory>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName("Farmhand");
    QApplication::setApplicationName("farm-gui");
    QApplication::setApplicationVersion("0.1.0");

    QCommandLineParser parser;
    parser.setApplicationDescription("Farmhand desktop client.");
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption server("server", "Farm server URL to connect to at start.", "URL");
    QCommandLineOption screenshot("screenshot", "Save the window to FILE once jobs are shown.",
                                  "FILE");
    screenshot.setFlags(QCommandLineOption::HiddenFromHelp);
    QCommandLineOption select("select", "Select job ID once jobs are shown.", "ID");
    select.setFlags(QCommandLineOption::HiddenFromHelp);
    QCommandLineOption view("view",
                            "With --screenshot: jobs, log, settings, nodes, farm, viewer:PASS, "
                            "video:OUTPUT, encode or submit:PATH.",
                            "NAME", "jobs");
    view.setFlags(QCommandLineOption::HiddenFromHelp);
    QCommandLineOption size("size", "Window size WxH.", "WxH");
    size.setFlags(QCommandLineOption::HiddenFromHelp);
    const QCommandLineOption theme("theme", "Colours: dark (default), light or system.", "NAME");
    parser.addOptions({server, screenshot, select, theme, view, size});
    parser.process(app);

    QSettings settings;
    const QString themeName =
        parser.isSet(theme) ? parser.value(theme) : settings.value("ui/theme", "system").toString();
    if (!QStringList{"dark", "light", "system"}.contains(themeName)) {
        QTextStream(stderr) << "error: --theme takes dark, light or system, not " << themeName
                            << '\n';
        return 1;
    }
    farm::gui::applyTheme(app, themeName);
    farm::gui::VideoPlayer::chooseBackend();
    farm::gui::MainWindow window(&settings);
    if (parser.isSet(size)) {
        const QStringList wh = parser.value(size).split('x');
        if (wh.size() == 2 && wh[0].toInt() > 0 && wh[1].toInt() > 0)
            window.resize(wh[0].toInt(), wh[1].toInt());
    }
    window.show();
    if (parser.isSet(server)) {
        const auto url = farm::client::ApiClient::parseServerUrl(parser.value(server));
        if (!url) {
            QTextStream(stderr) << "error: " << url.error().message << '\n';
            return 1;
        }
        window.connectTo(*url);
    }
    if (parser.isSet(select)) {
        const qint64 id = parser.value(select).toLongLong();
        QObject::connect(&window, &farm::gui::MainWindow::jobsLoaded, &window,
                         [&window, id] { window.selectJob(id); });
    }
    if (parser.isSet(screenshot)) {
        // Documentation screenshots (scripts/gui-screenshots.sh): one view of the window, or the
        // frame viewer on one pass of the selected job.
        const QString file = parser.value(screenshot);
        const QString shown = parser.value(view);
        auto done = std::make_shared<bool>(false);
        auto save = [done, file](QWidget *w) {
            if (*done)
                return;
            *done = true;
            QApplication::exit(w->grab().save(file) ? 0 : 1);
        };
        auto shoot = [&window, shown, save] {
            using farm::gui::FramePass;
            if (shown == "log")
                window.details()->tabs()->setCurrentIndex(1);
            else if (shown == "settings")
                window.details()->tabs()->setCurrentIndex(2);
            else if (shown == "nodes")
                window.tabs()->setCurrentIndex(1);
            else if (shown == "farm")
                window.tabs()->setCurrentIndex(2); // the chart asks the server for its history
            if (shown.startsWith("video:")) {
                // The video widget draws into a native child window grab() cannot see: the
                // sink's current frame is painted over its place.
                window.details()->playVideo(shown.mid(6));
                auto *poll = new QTimer(&window);
                QObject::connect(poll, &QTimer::timeout, &window, [&window, poll, save] {
                    farm::gui::VideoPlayer *player = window.details()->videoPlayer();
                    if (!player || player->position() < 400)
                        return;
                    poll->stop();
                    player->pause();
                    player->resize(window.size() * 0.7);
                    QTimer::singleShot(300, player, [player, save] {
                        QImage shot = player->grab().toImage();
                        auto *video = player->findChild<QVideoWidget *>("video");
                        const QImage frame = player->videoSink()->videoFrame().toImage();
                        if (video && !frame.isNull()) {
                            QPainter p(&shot);
                            const QRect area(video->mapTo(player, QPoint(0, 0)), video->size());
                            p.fillRect(area, Qt::black);
                            const QSize fitted =
                                frame.size().scaled(area.size(), Qt::KeepAspectRatio);
                            p.drawImage(QRect(area.center() -
                                                  QPoint(fitted.width() / 2, fitted.height() / 2),
                                              fitted),
                                        frame);
                        }
                        auto *holder = new QLabel;
                        holder->setPixmap(QPixmap::fromImage(shot));
                        save(holder);
                    });
                });
                return poll->start(200);
            }
            if (shown == "encode") {
                window.jobActions()->action(farm::gui::JobActions::Encode)->trigger();
                return QTimer::singleShot(400, &window, [&window, save] {
                    if (QDialog *d = window.jobActions()->pendingEncode())
                        save(d);
                });
            }
            if (shown.startsWith("submit:")) {
                window.submitPaths({shown.mid(7)});
                return QTimer::singleShot(1500, &window, [&window, save] {
                    if (auto *d = window.findChild<farm::gui::SubmitDialog *>())
                        save(d);
                });
            }
            if (!shown.startsWith("viewer:"))
                return QTimer::singleShot(shown == "farm" ? 1500 : 400, &window,
                                          [&window, save] { save(&window); });
            const QString pass = shown.mid(7);
            for (const QString &name : window.details()->outputNames())
                if (FramePass::of(name).pass == pass && farm::gui::JobDetails::isImage(name)) {
                    auto *viewer = window.details()->viewFrame(name);
                    viewer->resize(window.size() * 0.8);
                    QObject::connect(
                        viewer, &farm::gui::FrameViewer::imageShown, viewer, [viewer, save] {
                            QTimer::singleShot(300, viewer, [viewer, save] { save(viewer); });
                        });
                    return;
                }
            save(&window);
        };
        // Give thumbnails and the live socket a moment after the list arrives; never hang.
        QObject::connect(&window, &farm::gui::MainWindow::jobsLoaded, &window,
                         [shoot] { QTimer::singleShot(2500, shoot); });
        QTimer::singleShot(shown == "down" ? 4000 : 20000, &window,
                           [&window, save] { save(&window); });
    }
    return app.exec();
}
