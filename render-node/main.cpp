// render-node: `render-node render ...` renders locally (the renderer's CLI), `render-node encode
// TASK.json` encodes frames to a video (the encode engine's child), `render-node compose
// TASK.json` draws timed text over a video (the compose engine's child); anything else
// runs the agent that takes tasks from a farm server.
#include "agent/agent.h"
#include "agent/nodeconfig.h"
#include "agent/signalwatcher.h"
#include "renderer/gpuinfo.h"
#include "renderer/rendercli.h"
#include "video/composecli.h"
#include "video/encodecli.h"

#include <QCoreApplication>
#include <QTextStream>

#include <csignal>
#include <cstdio>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName("render-node");
    QCoreApplication::setApplicationVersion(farm::kFarmVersion);

    QStringList args = QCoreApplication::arguments();
    if (args.size() > 1 && args.at(1) == "render")
        return farm::render::runRenderCli(args.mid(2));
    if (args.size() > 1 && args.at(1) == "encode")
        return farm::video::runEncodeCli(args.mid(2));
    if (args.size() > 1 && args.at(1) == "compose")
        return farm::video::runComposeCli(args.mid(2));

    auto cmd = farm::node::NodeCommandLine::parse(args);
    if (!cmd) {
        std::fprintf(stderr, "render-node: %s\n", qPrintable(cmd.error().message));
        return 2;
    }
    if (cmd->helpRequested) {
        QTextStream(stdout) << cmd->helpText;
        return 0;
    }
    farm::node::NodeConfig config = cmd->config;
    config.childProgram = QCoreApplication::applicationFilePath();
    QStringList warnings;
    if (auto r = farm::node::applyGpus(config, farm::render::listGpus(), &warnings); !r) {
        std::fprintf(stderr, "render-node: %s\n", qPrintable(r.error().message));
        return 2;
    }
    for (const QString &w : std::as_const(warnings))
        std::fprintf(stderr, "render-node: warning: %s\n", qPrintable(w));

    farm::node::Agent agent(config);
    farm::node::SignalWatcher signalWatcher({SIGINT, SIGTERM});
    QObject::connect(&signalWatcher, &farm::node::SignalWatcher::received, &app, [&](int) {
        agent.stop();
        QCoreApplication::quit();
    });
    agent.start();
    return app.exec();
}
