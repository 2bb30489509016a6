#pragma once

#include "events/eventsink.h"
#include "jobtypes/jobtyperegistry.h"
#include "protocol/message.h"
#include "scheduler/clock.h"
#include "scheduler/statemachine.h"
#include "scheduler/timeouts.h"
#include "store/jobstore.h"

#include <QHash>
#include <QObject>
#include <QSet>
#include <QTimer>

#include <array>
#include <optional>

namespace farm::server {

class PreviewStore;

/// A live connection to one render node (a WebSocket in production, a recorder in tests).
class NodeLink
{
public:
    virtual ~NodeLink() = default;
    virtual void send(const QString &type, const QJsonObject &data) = 0;
    virtual void close(int code, const QString &reason) = 0;
};

struct SchedulerConfig
{
    int leaseS = 20;
    int heartbeatS = 5;
    QString joinToken; // empty: nodes need none (the transport decides who may connect)
    const JobTypeRegistry *jobTypes = nullptr; // null: JobTypeRegistry::standard()
    /// A task on a node that reports no progress, log or preview for this long fails (an
    /// attempt) and is queued again, away from that node; 0: never. docs/API.md "Timeouts".
    int noProgressS = kDefaultNoProgressS;
    /// The frame images of a job as an input bundle (FrameBundles::forJob), for a task whose
    /// role takes them (an encode task); null: such tasks fail with a clear error.
    std::function<Result<JobInput>(qint64 jobId)> frameInputs;
    /// A job's outputs whose names match, as bundle files under `folder`
    /// (FrameBundles::outputs), for a task whose role adds them (a compose join's segments).
    std::function<Result<JobInput>(qint64 jobId, const QRegularExpression &names,
                                   const QString &folder)>
        jobOutputs;
    /// Progress of running tasks is kept in memory and written (and announced) in one
    /// transaction every this many milliseconds; 0: each report at once. State changes are
    /// never kept in memory (at most until the end of the turn: batchChanges).
    /// docs/PERFORMANCE.md.
    int progressFlushMs = 0;
    /// A slot freed by task.done or task.failed is filled by one dispatch once the event loop
    /// has handled the messages already waiting (many slots, one transaction) instead of a
    /// dispatch per message.
    bool deferDispatch = false;
    /// A node's task.accepted (the task starts running) and task.done are committed together
    /// with the others handled in the same turn of the event loop: one transaction, one job
    /// read and one `job.updated` per job for the batch (StateMachine::applyLater). Each is
    /// committed before it is announced and before the slot it frees is given out again.
    bool batchChanges = false;
    /// Other controllers share the database (PostgreSQL, docs/CONTROLLERS.md): tasks are
    /// claimed row by row, a start re-queues only the tasks of nodes no controller has seen for
    /// a lease, and this one re-queues those too while it runs.
    bool sharedDatabase = false;
};

/// Push scheduler: tracks live nodes and their slots, hands queued tasks to free slots, handles
/// the node protocol (docs/API.md, /ws/node) and leases. State changes go through StateMachine.
class Scheduler : public QObject
{
    Q_OBJECT
public:
    /// A node whose tasks of one job failed this often gets no more of that job's tasks while
    /// another connected node could run them.
    static constexpr int kBlocklistAfter = 2;
    static constexpr std::array<double, 9> kLatencyBuckets{0.005, 0.01, 0.05, 0.1,  0.5,
                                                           1.0,   5.0,  30.0, 300.0};
    struct Metrics
    {
        qint64 dispatched = 0;
        std::array<qint64, kLatencyBuckets.size()>
            buckets{}; // cumulative: dispatches at or under each bound
        double latencySum = 0.0;
    };

    Scheduler(JobStore &store, StateMachine &machine, const Clock &clock, EventSink &events,
              SchedulerConfig config, QObject *parent = nullptr);
    /// Commits the changes still waiting for their batch (SchedulerConfig::batchChanges).
    ~Scheduler() override;

    /// Server start: tasks the database still shows on nodes lost their nodes with the old process.
    Result<void> recover();
    /// Handles `hello`; on success the node is registered, welcomed and given work. A known
    /// name needs that node's secret (else `name_taken`, and the node keeps its connection); a
    /// new name needs the join token and gets a secret in `welcome`. Every error means the
    /// caller must close the new connection with a policy violation.
    Result<qint64> connectNode(NodeLink *link, const QJsonObject &hello);
    /// The node a queued task was taken from when that node was lost (or the server
    /// restarted) and that may claim it back on reconnect; 0 when none.
    qint64 lastHolder(qint64 taskId) const { return m_lastHolder.value(taskId); }
    /// The job of a task this controller has on node `nodeId` (assigned or running there, as
    /// last committed), from memory; 0 when it has no such task there or does not know its job.
    qint64 jobOfTaskOn(qint64 taskId, qint64 nodeId) const;
    /// The node whose own secret (from `welcome`) this is, 0 when it is none's. A connected
    /// node's is known from its hello (no database read for each of its uploads).
    qint64 nodeForSecret(const QByteArray &secret) const;
    /// Releases an offline node's name and secret (its machine was reinstalled or retired):
    /// the next node to join under the name with the join token is a new node.
    Result<void> forgetNode(qint64 id);
    /// The node's socket is gone: it goes offline and its tasks return to the queue.
    void disconnectNode(qint64 nodeId, NodeLink *link, const QString &why);
    /// Any message after hello; an error is answered to the node, the connection stays.
    Result<void> handleMessage(qint64 nodeId, const Envelope &message);
    /// Nodes silent for longer than the lease are treated as lost. Called by a timer.
    void checkLeases();
    /// Fails tasks silent for longer than noProgressS and tasks that ran past their job's
    /// max_run_s, although their nodes are alive. Called by a timer.
    void checkTasks();
    /// The task showed life (progress, log, preview, an output uploaded): its no-progress
    /// clock starts over.
    void touchTask(qint64 taskId);
    /// Hands queued tasks to free slots. Called whenever work or capacity appears.
    void dispatch();
    /// An event another controller of the same database published (docs/CONTROLLERS.md): new
    /// work is dispatched here too; a task taken off one of this controller's nodes over there
    /// (canceled, re-queued) is stopped on the node; a node's admin state is read again.
    void onPeerEvent(const QString &type, const QJsonObject &data);
    /// Tasks the database shows on nodes that no controller has seen for a lease go back to the
    /// queue, each by one controller only (a claim). Called by checkLeases() when shared.
    void requeueStale();
    /// dispatch() now, or once the waiting messages are handled (SchedulerConfig::deferDispatch).
    void requestDispatch();
    /// Writes and announces the progress kept in memory (SchedulerConfig::progressFlushMs).
    void flushProgress();
    /// Tells nodes to stop tasks (job canceled or failed).
    void sendCancels(const QList<std::pair<qint64, qint64>> &cancels);

    /// Sentences saying why a job's queued tasks are not running ("Why isn't my job running?").
    QStringList explain(const Job &job) const;

    QList<Node> nodes() const;
    std::optional<Node> node(qint64 id) const;
    /// The GPU load connected nodes reported in their last heartbeat (for /metrics).
    struct GpuLoad
    {
        QString node;
        GpuSample gpu;
    };
    QList<GpuLoad> gpuLoad() const;
    /// drain | enable | disable.
    Result<Node> setNodeAdmin(qint64 id, const QString &action);
    int onlineCount() const { return int(m_live.size()); }
    const Metrics &metrics() const { return m_metrics; }
    const SchedulerConfig &config() const { return m_config; }
    const JobTypeRegistry &jobTypes() const
    {
        return m_config.jobTypes ? *m_config.jobTypes : JobTypeRegistry::standard();
    }
    /// Where `task.partial` previews go; without one they are refused.
    void setPreviews(PreviewStore *previews) { m_previews = previews; }

private:
    struct LiveNode
    {
        qint64 id = 0;
        NodeCapabilities caps;
        NodeLink *link = nullptr;
        QString admin;
        QDateTime connectedAt, lastSeen;
        QSet<qint64> tasks;         // assigned or running here
        QList<GpuSample> gpus;      // from the last heartbeat that had them
        std::optional<double> load; // 1-minute load average, from the last heartbeat with it
        /// Shared database: at its first heartbeat, tasks the database gives it that it does
        /// not run go back to the queue (requeueUnreported()).
        bool checkHeld = false;
        QByteArray secretHash; // of the secret its hello proved or its welcome carried
    };
    using Handler = Result<void> (Scheduler::*)(LiveNode &, const QJsonObject &);

    /// Tasks the database shows on node `n` that it neither holds here nor reports in
    /// `running` (assigned by a controller that died before the node got them, or whose
    /// report died with it) go back to the queue.
    void requeueUnreported(LiveNode &n, const QList<qint64> &running);

    /// With `task`, the engine that task needs (an encode task's, docs/JOBTYPES.md "Video").
    bool hasEngine(const LiveNode &n, const JobSpec &spec, const Task *task = nullptr) const;
    /// The engine hasEngine looks for; nullopt when the job type is unknown (no node has it).
    std::optional<QString> engineNeeded(const JobSpec &spec, const Task *task) const;
    bool hasEngine(const LiveNode &n, const std::optional<QString> &engine) const;
    Result<void> onHeartbeat(LiveNode &n, const QJsonObject &d);
    Result<void> onAccepted(LiveNode &n, const QJsonObject &d);
    Result<void> onProgress(LiveNode &n, const QJsonObject &d);
    Result<void> onLog(LiveNode &n, const QJsonObject &d);
    Result<void> onDone(LiveNode &n, const QJsonObject &d);
    Result<void> onFailed(LiveNode &n, const QJsonObject &d);
    Result<void> onPartial(LiveNode &n, const QJsonObject &d);

    Result<TaskRecord> ownTask(const LiveNode &n, const QJsonObject &d);
    /// Why task.done may not complete this task (empty: it may): a frame of a job type whose
    /// frames each have a main image (JobType::frameOutput) without that image.
    QString framesWithoutImage(const TaskRecord &t, const QList<OutputRecord> &landed);
    /// The spec of a job (cached: what scheduling needs of it never changes); null when gone.
    const JobSpec *specOf(qint64 jobId);
    /// Progress kept for the next batch (SchedulerConfig::progressFlushMs) and announced now.
    void keepProgress(qint64 taskId, double progress);
    /// A change of a node's report: batched when SchedulerConfig::batchChanges, else now.
    Result<void> applyReported(const TaskChange &change);
    /// Commits the batched changes now: before reading what they change to make others.
    void flushChanges() { m_machine.flushLater(); }
    /// What a batch of reported changes did (StateMachine::LaterHandler).
    void reportedApplied(const QList<TaskChange> &changes, const Result<Outcome> &out);
    /// The task left its node (done, failed, re-queued, canceled there): its bookkeeping goes.
    void release(qint64 taskId);
    /// The task went onto a node: its no-progress and run-time clocks start.
    void watchTask(qint64 taskId, qint64 jobId, const QString &frames);
    void timeOut(qint64 taskId, qint64 nodeId, const QString &why);
    bool meets(const LiveNode &n, const JobSpec &spec, const Task *task = nullptr) const;
    /// As above with engineNeeded(spec, task) worked out once (dispatch: for every free node).
    bool meets(const LiveNode &n, const JobSpec &spec, const std::optional<QString> &engine) const;
    bool blocked(qint64 jobId, qint64 nodeId) const;
    /// Some enabled node meets the job and is not blocklisted for it (busy or not).
    bool hasUnblockedNode(qint64 jobId, const JobSpec &spec) const;
    Node toNode(const LiveNode &n) const;
    Node toNode(const NodeRecord &r) const;
    void publishNode(qint64 id);
    void forget(const Outcome &out);
    /// Checks the hello's secret or join token; yields whether a new secret must be issued.
    Result<bool> authenticate(const NodeCapabilities &caps, const QJsonObject &hello);
    /// Takes back the tasks a (re)connecting node says it runs, as far as they are its own.
    void reconcile(LiveNode &n, const QList<qint64> &running);
    /// Why a node may not keep task `taskId` it says it runs (empty: it may). `kept` counts the
    /// tasks it keeps already.
    QString refuseAdoption(const LiveNode &n, const std::optional<TaskRecord> &task,
                           int kept) const;
    QJsonObject assignment(const TaskRecord &task, const JobSpec &spec,
                           const QString &frames) const;
    /// task.assign for a task with a role: its type, engine, settings and frame input.
    Result<QJsonObject> roleAssignment(const TaskRecord &task, const JobSpec &spec,
                                       const TaskRole &role) const;

    JobStore &m_store;
    StateMachine &m_machine;
    const Clock &m_clock;
    EventSink &m_events;
    SchedulerConfig m_config;
    QHash<qint64, LiveNode> m_live;
    QHash<QByteArray, qint64> m_liveSecrets;      // secret hash → connected node (nodeForSecret)
    QHash<qint64, QHash<qint64, int>> m_failures; // job → node → failed tasks (blocklist)
    // Task → the node it was taken from when that node was lost (or the server restarted):
    // only that node may claim the queued task back in hello.running.
    QHash<qint64, qint64> m_lastHolder;
    struct Watch
    {
        QDateTime since;    // first seen on its node (this attempt)
        QDateTime lastSign; // latest progress, log or preview
        int maxRunS = 0;    // the job's max_run_s
        qint64 jobId = 0;   // served in the node's `tasks`
        QString frames;
    };
    QHash<qint64, Watch> m_watch;            // tasks on nodes: when they last showed life
    QHash<qint64, JobSpec> m_specs;          // job → its spec (specOf())
    QHash<qint64, qint64> m_holder;          // task → the live node whose list holds it
    QSet<qint64> m_running;                  // tasks known to be running (progress needs no read)
    QHash<qint64, double> m_pendingProgress; // task → latest progress not yet written
    QTimer *m_progressTimer = nullptr;
    bool m_dispatchQueued = false;
    bool m_flushQueued = false;
    QSet<qint64> m_doneLater; // task.done waiting for its batch (a repeat is not queued again)
    Metrics m_metrics;
    PreviewStore *m_previews = nullptr;
    bool m_dispatching = false;
    bool m_dispatchAgain = false;
    QDateTime m_lastStaleCheck; // requeueStale(), when shared
};

} // namespace farm::server
