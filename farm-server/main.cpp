// farm-server: command line → FarmServer; SIGINT/SIGTERM shut it down cleanly.
#include "farmserver.h"
#include "protocol/states.h"
#include "store/sqldialect.h"

#include <QCoreApplication>
#include <QSocketNotifier>

#include <csignal>
#include <cstdio>
#include <malloc.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

int g_signalFd[2] = {-1, -1};

void onSignal(int)
{
    const char c = 1;
    [[maybe_unused]] const auto n = ::write(g_signalFd[1], &c, 1);
}

} // namespace

int main(int argc, char **argv)
{
    // Freed memory at the top of the heap is kept up to this much instead of going back to the
    // kernel at once: with the HTTP front end's thread allocating beside the event loop, glibc's
    // default (trim above 128 KiB, adjusted as it goes) fell at times into giving back and
    // faulting in again the pages of each response (GET /api/v1/jobs pages at a fifth of their
    // rate, docs/PERFORMANCE.md "/health off the event loop").
    constexpr int kHeapKeptBytes = 64 * 1024 * 1024;
    mallopt(M_TRIM_THRESHOLD, kHeapKeptBytes);
    mallopt(M_TOP_PAD, 4 * 1024 * 1024);
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName("farm-server");
    QCoreApplication::setApplicationVersion(farm::kFarmVersion);

    auto config = farm::server::ServerConfig::fromArguments(QCoreApplication::arguments());
    if (!config) {
        if (config.error().code == "help") {
            std::fputs(qPrintable(config.error().message), stdout);
            return 0;
        }
        std::fprintf(stderr, "farm-server: %s\n", qPrintable(config.error().message));
        return 2;
    }

    // Self-pipe: the handler only writes a byte; the event loop does the shutting down.
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, g_signalFd) != 0) {
        std::fprintf(stderr, "farm-server: cannot create the signal pipe\n");
        return 1;
    }
    QSocketNotifier notifier(g_signalFd[0], QSocketNotifier::Read);
    QObject::connect(&notifier, &QSocketNotifier::activated, &app, [] {
        char c;
        [[maybe_unused]] const auto n = ::read(g_signalFd[0], &c, 1);
        QCoreApplication::quit();
    });
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);

    int rc = 0;
    {
        farm::server::FarmServer server(*config);
        const auto port = server.start();
        if (!port) {
            std::fprintf(stderr, "farm-server: %s\n", qPrintable(port.error().message));
            return 1;
        }
        const auto database = farm::server::DatabaseUrl::parse(config->database);
        std::printf("farm-server listening on %s (data: %s%s)\n", qPrintable(server.url()),
                    qPrintable(config->dataDir),
                    qPrintable(database ? ", database: " + database->display() : QString()));
        std::fflush(stdout);
        rc = app.exec();
    } // the server (and its database) closes here
    return rc;
}
