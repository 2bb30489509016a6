// Stand-alone `render` command for the CLI tests, as render-node's main() runs it.
#include "rendercli.h"

#include <QCoreApplication>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    return farm::render::runRenderCli(app.arguments().mid(1));
}
