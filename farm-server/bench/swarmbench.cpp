// Simulated swarm: many nodes finish tasks as fast as the scheduler hands them out. Prints the
// cost of submitting a big job and the end-to-end dispatch throughput (no sockets, real SQLite).
#include "scheduler/scheduler.h"
#include "store/sqlstore.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QTemporaryDir>

#include <cstdio>

using namespace farm;
using namespace farm::server;

namespace {

class NullSink : public EventSink
{
public:
    qint64 count = 0;
    void publish(const QString &, const QJsonObject &) override { ++count; }
};

class QueueLink : public NodeLink
{
public:
    QList<qint64> pending;
    void send(const QString &type, const QJsonObject &data) override
    {
        if (type == msg::TaskAssign)
            pending.append(data.value("task").toInteger());
    }
    void close(int, const QString &) override {}
};

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const int nodes = argc > 1 ? atoi(argv[1]) : 200;
    const int frames = argc > 2 ? atoi(argv[2]) : 20000;
    QTemporaryDir dir;
    SystemClock clock;
    NullSink sink;
    SqlStore store;
    if (auto r = store.open(dir.filePath("farm.db")); !r) {
        std::fprintf(stderr, "swarmbench: %s\n", qPrintable(r.error().message));
        return 1;
    }
    StateMachine machine(store, clock, sink);
    Scheduler scheduler(store, machine, clock, sink, {});

    JobSpec spec;
    spec.name = "swarm";
    spec.type = "model";
    spec.input.main = "m.glb";
    spec.input.files = {BundleFile{"m.glb", QString(64, 'a')}};
    spec.frames = QString("1-%1").arg(frames);
    QElapsedTimer t;
    t.start();
    const auto id = store.insertJob(spec, FrameRange::parse(spec.frames)->chunks(1), clock.now());
    std::printf("submit %d-task job: %lld ms\n", frames, t.elapsed());

    QList<QueueLink *> links;
    QList<qint64> ids;
    t.restart();
    for (int i = 0; i < nodes; ++i) {
        auto *link = new QueueLink;
        QJsonObject hello{{"protocol", 1},
                          {"name", QString("node-%1").arg(i)},
                          {"slots", 2},
                          {"engines", QJsonArray{QJsonObject{{"name", "farmhand"}}}}};
        ids.append(*scheduler.connectNode(link, hello));
        links.append(link);
    }
    std::printf("connect %d nodes (2 slots each) and fill them: %lld ms\n", nodes, t.elapsed());

    t.restart();
    qint64 finished = 0;
    bool progress = true;
    while (progress) {
        progress = false;
        for (int i = 0; i < links.size(); ++i) {
            const QList<qint64> work = std::exchange(links[i]->pending, {});
            for (qint64 task : work) {
                const auto r =
                    scheduler.handleMessage(ids[i], Envelope{msg::TaskDone, 0, {{"task", task}}});
                if (!r) {
                    std::fprintf(stderr, "done failed: %s\n", qPrintable(r.error().message));
                    return 1;
                }
                ++finished;
                progress = true;
            }
        }
    }
    const double s = t.elapsed() / 1000.0;
    std::printf("%lld tasks done+dispatched in %.2f s: %.0f tasks/s; job %s; %lld events\n",
                finished, s, finished / s, qPrintable(toString(store.job(*id)->state)), sink.count);
    const auto &m = scheduler.metrics();
    std::printf("dispatched %lld, mean queue-to-dispatch latency %.3f s\n", m.dispatched,
                m.dispatched ? m.latencySum / m.dispatched : 0.0);
    qDeleteAll(links);
    return 0;
}
