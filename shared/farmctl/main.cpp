#include "farmctl/commands.h"

#include <QCoreApplication>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName("farmctl");
    QCoreApplication::setApplicationVersion("0.1.0");
    return farm::ctl::run(QCoreApplication::arguments());
}
