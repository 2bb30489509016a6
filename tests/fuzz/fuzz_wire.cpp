// WebSocket messages (docs/API.md "WebSockets"): Envelope::parse on any text, then every payload
// reader that runs without a server on its data: a node's hello (NodeCapabilities), a
// task.assign as a node reads it (TaskSpec), a task's settings (RenderSettings), and the job,
// task and node objects dashboards read.
#include "fuzzcheck.h"

#include "model/job.h"
#include "model/node.h"
#include "model/task.h"
#include "protocol/message.h"
#include "taskspec.h"
#include "util/json.h"

#include <QJsonDocument>
#include <QSet>

using namespace farm;

namespace {

QString show(const QJsonObject &o)
{
    return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact).left(2000));
}

void checkTaskSpec(const node::TaskSpec &t)
{
    FUZZ_CHECK(t.id > 0 && t.attempt >= 1, QString::number(t.id));
    FUZZ_CHECK(isValidTypeName(t.type) && isValidTypeName(t.engine), t.type + " " + t.engine);
    FUZZ_CHECK(!t.frames.isEmpty() && !t.jobFrames.isEmpty(), t.frames.toString());
    FUZZ_CHECK(t.files.size() >= 1 && t.files.size() <= kMaxBundleFiles,
               QString::number(t.files.size()));
    FUZZ_CHECK(t.mainFile() != nullptr, t.main);
    QSet<QString> seen;
    for (const BundleFile &f : t.files) {
        // The node lays these out under its work directory: never outside it.
        FUZZ_CHECK(isSafeBundlePath(f.path), f.path);
        FUZZ_CHECK(!f.path.startsWith(u'/') && !f.path.split(u'/').contains(QStringLiteral("..")),
                   f.path);
        FUZZ_CHECK(isSha256Hex(f.file), f.file);
        FUZZ_CHECK(!seen.contains(f.path), f.path);
        seen.insert(f.path);
    }
}

void readPayload(const QJsonObject &data)
{
    if (const auto caps = NodeCapabilities::fromJson(data)) {
        FUZZ_CHECK(!caps->name.isEmpty() && caps->slotCount >= 1, caps->name);
        const auto back = NodeCapabilities::fromJson(caps->toJson());
        FUZZ_CHECK(back.ok(), back.error().message + " for " + show(caps->toJson()));
        FUZZ_CHECK(*back == *caps, show(back->toJson()) + " != " + show(caps->toJson()));
    }
    if (const auto task = node::TaskSpec::fromAssign(data))
        checkTaskSpec(*task);
    if (const auto settings = RenderSettings::fromJson(data)) {
        const auto back = RenderSettings::fromJson(settings->toJson());
        FUZZ_CHECK(back.ok(), back.error().message + " for " + show(settings->toJson()));
        FUZZ_CHECK(*back == *settings, show(back->toJson()) + " != " + show(settings->toJson()));
    }
    if (const auto job = Job::fromJson(data))
        (void)Job::fromJson(job->toJson());
    if (const auto task = Task::fromJson(data))
        (void)Task::fromJson(task->toJson());
    if (const auto node = Node::fromJson(data))
        (void)Node::fromJson(node->toJson());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArray text = fuzz::bytes(data, size);
    const auto e = Envelope::parse(text);
    if (!e) {
        FUZZ_CHECK(!e.error().code.isEmpty() && !e.error().message.isEmpty(), e.error().code);
        FUZZ_CHECK(json::findUnpairedSurrogate(QJsonObject{{"m", e.error().message}}).isEmpty(),
                   "an error message that cannot be sent as UTF-8");
        return 0;
    }
    FUZZ_CHECK(!e->type.isEmpty(), show(e->data));
    FUZZ_CHECK(json::findUnpairedSurrogate(e->data).isEmpty() &&
                   json::findUnpairedSurrogate(QJsonObject{{"type", e->type}}).isEmpty(),
               e->type);
    // What a peer sends comes back the same through the writer's form.
    const auto back = Envelope::parse(e->toJson());
    FUZZ_CHECK(back.ok(), back.error().message);
    FUZZ_CHECK(back->type == e->type && back->seq == e->seq && back->data == e->data, e->type);
    readPayload(e->data);
    return 0;
}
