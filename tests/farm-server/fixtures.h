#pragma once

#include "events/eventsink.h"
#include "scheduler/clock.h"
#include "scheduler/scheduler.h"
#include "scheduler/statemachine.h"
#include "store/sqlstore.h"
#include "testdatabase.h"

#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

// QTest cannot print enum classes without Q_ENUM: compare their names.
#define COMPARE_STATE(actual, expected) QCOMPARE(farm::toString(actual), farm::toString(expected))

namespace farm::server::test {

/// Remembers every published event and what the database said at that moment.
class RecordingSink : public EventSink
{
public:
    struct Event
    {
        QString type;
        QJsonObject data;
    };
    std::function<void(const Event &)> onPublish;
    QList<Event> events;

    void publish(const QString &type, const QJsonObject &data) override
    {
        events.append({type, data});
        if (onPublish)
            onPublish(events.last());
    }
    QList<Event> ofType(const QString &type) const
    {
        QList<Event> out;
        for (const Event &e : events)
            if (e.type == type)
                out.append(e);
        return out;
    }
};

/// A node connection that records what the scheduler sends it.
class RecordingLink : public NodeLink
{
public:
    QList<std::pair<QString, QJsonObject>> sent;
    int closedWith = 0;

    void send(const QString &type, const QJsonObject &data) override { sent.append({type, data}); }
    void close(int code, const QString &) override { closedWith = code; }

    QList<QJsonObject> of(const QString &type) const
    {
        QList<QJsonObject> out;
        for (const auto &[t, d] : sent)
            if (t == type)
                out.append(d);
        return out;
    }
    /// The node's own secret from the first welcome that carried one; empty when none did.
    QString secret() const
    {
        for (const QJsonObject &d : of("welcome"))
            if (d.contains("secret"))
                return d.value("secret").toString();
        return {};
    }
    QList<qint64> assignedTasks() const
    {
        QList<qint64> out;
        for (const QJsonObject &d : of("task.assign"))
            out.append(d.value("task").toInteger());
        return out;
    }
};

inline JobSpec makeSpec(const QString &frames = "1-4", int chunk = 2, int priority = 50)
{
    JobSpec s;
    s.name = "test job";
    s.input.main = "model.glb";
    s.input.files = {{"model.glb", QString(64, 'a')}};
    s.frames = frames;
    s.chunk = chunk;
    s.priority = priority;
    return s;
}

inline QJsonObject hello(const QString &name, int slotCount = 1, QJsonArray running = {},
                         QJsonArray tags = {}, bool gpu = false)
{
    QJsonObject h{{"protocol", 1},
                  {"name", name},
                  {"slots", slotCount},
                  {"cores", 4},
                  {"ram_mb", 8000},
                  {"engines", QJsonArray{QJsonObject{{"name", "farmhand"}, {"version", "1"}}}},
                  {"gpus", QJsonArray{}},
                  {"tags", tags},
                  {"running", running}};
    if (gpu) {
        QJsonObject g;
        g.insert("name", "RTX");
        g.insert("uuid", "GPU-1");
        g.insert("vram_mb", 8192);
        h.insert("gpus", QJsonArray{g});
    }
    return h;
}

/// `h` proving it comes from the node that holds `secret` (a reconnect).
inline QJsonObject withSecret(QJsonObject h, const QString &secret)
{
    h.insert("secret", secret);
    return h;
}

/// Store, clock, state machine and scheduler on a fresh database (a SQLite file, or a schema of
/// the test PostgreSQL in a test's _pg variant: TestDatabase).
struct Core
{
    QTemporaryDir dir;
    TestDatabase db{dir};
    ManualClock clock;
    RecordingSink sink;
    SqlStore store;
    std::unique_ptr<StateMachine> machine;
    std::unique_ptr<Scheduler> scheduler;

    Core()
    {
        const auto r = store.open(db.url());
        if (!r)
            qFatal("store: %s", qPrintable(r.error().message));
        machine = std::make_unique<StateMachine>(store, clock, sink);
        scheduler = std::make_unique<Scheduler>(store, *machine, clock, sink, SchedulerConfig{});
    }

    qint64 addJob(const JobSpec &spec)
    {
        const auto range = FrameRange::parse(spec.frames);
        const auto id = store.insertJob(spec, range->chunks(spec.chunk), clock.now());
        clock.advance(10); // distinct submit times keep the order well defined
        return *id;
    }

    Envelope message(const QString &type, const QJsonObject &data)
    {
        return Envelope{type, 1, data};
    }
};

} // namespace farm::server::test
