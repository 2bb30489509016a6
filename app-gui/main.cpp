#include "widgets/mainwindow.h"

#include "client/apiclient.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QSettings>
#include <QStyleFactory>
#include <QTextStream>
#include <QTimer>

#include <memory>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName("Farmhand");
    QApplication::setApplicationName("farm-gui");
    QApplication::setApplicationVersion("0.1.0");
    QApplication::setStyle(QStyleFactory::create("Fusion"));

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
    parser.addOptions({server, screenshot, select});
    parser.process(app);

    QSettings settings;
    farm::gui::MainWindow window(&settings);
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
        const QString file = parser.value(screenshot);
        auto shoot = [&window, file, done = std::make_shared<bool>(false)] {
            if (*done)
                return;
            *done = true;
            const bool ok = window.grab().save(file);
            QApplication::exit(ok ? 0 : 1);
        };
        // Give thumbnails and the live socket a moment after the list arrives; never hang.
        QObject::connect(&window, &farm::gui::MainWindow::jobsLoaded, &window,
                         [shoot] { QTimer::singleShot(1500, shoot); });
        QTimer::singleShot(15000, &window, shoot);
    }
    return app.exec();
}
