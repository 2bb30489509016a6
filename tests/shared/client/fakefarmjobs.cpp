// Job routes and job state of the fake server.
#include "fakefarmserver.h"

#include "protocol/message.h"
#include "util/json.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QUrlQuery>

namespace farm::testing {

namespace {

QByteArray toJson(const QJsonObject &o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

} // namespace

Job &FakeFarmServer::addJob(const JobSpec &spec)
{
    Job job;
    job.id = m_nextJob++;
    job.spec = spec;
    job.createdAt = QDateTime::currentDateTimeUtc();
    const auto range = FrameRange::parse(spec.frames);
    const QList<FrameRange> chunks = range ? range.value().chunks(spec.chunk) : QList<FrameRange>{};
    QList<Task> list;
    int index = 0;
    for (const FrameRange &chunk : chunks) {
        Task t;
        t.id = m_nextTask++;
        t.jobId = job.id;
        t.index = index++;
        t.frames = chunk.toString();
        list.append(t);
    }
    job.tasks.total = job.tasks.queued = int(list.size());
    tasks.insert(job.id, list);
    jobs.insert(job.id, job);
    broadcast(msg::JobCreated, job.toJson());
    emit jobCreated(job.id);
    return jobs[job.id];
}

void FakeFarmServer::setJobState(qint64 id, JobState state, double progress, const QString &error)
{
    Job &job = jobs[id];
    job.state = state;
    job.progress = progress;
    job.error = error;
    if (state == JobState::Active && !job.startedAt.isValid())
        job.startedAt = QDateTime::currentDateTimeUtc();
    if (isFinal(state))
        job.finishedAt = QDateTime::currentDateTimeUtc();
    broadcast(msg::JobUpdated, job.toJson());
}

void FakeFarmServer::completeJob(qint64 id, const QByteArray &frameBytes)
{
    Job &job = jobs[id];
    QList<QPair<QString, QByteArray>> files;
    for (Task &t : tasks[id]) {
        t.state = TaskState::Done;
        t.progress = 1.0;
        t.attempts = 1;
        t.nodeName = "fake-node";
        broadcast(msg::TaskUpdated, t.toJson());
        const auto range = FrameRange::parse(t.frames);
        const QList<int> frames = range ? range.value().frames() : QList<int>{};
        for (int frame : frames) {
            files.append({frameFileName(frame), frameBytes});
            broadcast(
                msg::TaskPreview,
                {{"task", t.id}, {"job", id}, {"frame", frame}, {"output", frameFileName(frame)}});
        }
    }
    outputs.insert(id, files);
    job.tasks.done = job.tasks.total;
    job.tasks.queued = job.tasks.running = 0;
    setJobState(id, JobState::Completed, 1.0);
}

void FakeFarmServer::addJobRoutes()
{
    auto route = [this](const char *method, const char *pattern, auto handler) {
        m_routes.append({method, QRegularExpression(QString("^%1$").arg(pattern)), handler});
    };
    auto notFound = [](qint64 id) {
        return Response{404, errorBody("not_found", QString("job %1 not found").arg(id))};
    };
    route("POST", "/api/v1/jobs", [this](const Request &r, const QRegularExpressionMatch &) {
        const auto body = json::parseObject(r.body);
        if (!body)
            return Response{400, errorBody(body.error().code, body.error().message)};
        const auto spec = JobSpec::fromJson(*body);
        if (!spec)
            return Response{400, errorBody(spec.error().code, spec.error().message)};
        const bool knownType =
            std::any_of(jobTypes.begin(), jobTypes.end(), [&](const QJsonValue &t) {
                return t.toObject().value("name").toString() == spec->type;
            });
        if (!knownType)
            return Response{400, errorBody("invalid_field",
                                           QString("type '%1' is not a job type").arg(spec->type))};
        if (!spec->input.archive.isEmpty() && !files.contains(spec->input.archive))
            return Response{400,
                            errorBody("invalid_field", "input.archive is not an uploaded file")};
        for (const BundleFile &f : spec->input.files)
            if (!files.contains(f.file))
                return Response{400, errorBody("invalid_field",
                                               QString("input: %1 was not uploaded").arg(f.path))};
        return Response{201, toJson(addJob(*spec).toJson())};
    });
    route("GET", "/api/v1/jobs", [this](const Request &r, const QRegularExpressionMatch &) {
        const QUrlQuery q(r.query);
        const QStringList states = q.queryItemValue("state").split(',', Qt::SkipEmptyParts);
        const int limit = q.hasQueryItem("limit") ? q.queryItemValue("limit").toInt() : 50;
        const int offset = q.queryItemValue("offset").toInt();
        QList<Job> matching;
        const QList<Job> all = jobs.values();
        for (auto it = all.crbegin(); it != all.crend(); ++it) // newest first
            if (states.isEmpty() || states.contains(toString(it->state)))
                matching.append(*it);
        QJsonArray page;
        for (const Job &j : matching.mid(offset, limit))
            page.append(j.toJson());
        return Response{200, toJson({{"jobs", page}, {"total", int(matching.size())}})};
    });
    route("GET", "/api/v1/jobs/(\\d+)",
          [=, this](const Request &, const QRegularExpressionMatch &m) {
              const qint64 id = m.captured(1).toLongLong();
              if (!jobs.contains(id))
                  return notFound(id);
              return Response{200, toJson(jobs.value(id).toJson())};
          });
    route("POST", "/api/v1/jobs/(\\d+)/cancel",
          [=, this](const Request &, const QRegularExpressionMatch &m) {
              const qint64 id = m.captured(1).toLongLong();
              if (!jobs.contains(id))
                  return notFound(id);
              if (isFinal(jobs.value(id).state))
                  return Response{409,
                                  errorBody("conflict", QString("job %1 is already %2")
                                                            .arg(id)
                                                            .arg(toString(jobs.value(id).state)))};
              setJobState(id, JobState::Canceled, jobs.value(id).progress, "canceled by user");
              return Response{200, toJson(jobs.value(id).toJson())};
          });
    route("GET", "/api/v1/jobs/(\\d+)/tasks",
          [=, this](const Request &, const QRegularExpressionMatch &m) {
              const qint64 id = m.captured(1).toLongLong();
              if (!jobs.contains(id))
                  return notFound(id);
              QJsonArray a;
              for (const Task &t : tasks.value(id))
                  a.append(t.toJson());
              return Response{200, toJson({{"tasks", a}})};
          });
    route("GET", "/api/v1/jobs/(\\d+)/outputs",
          [=, this](const Request &, const QRegularExpressionMatch &m) {
              const qint64 id = m.captured(1).toLongLong();
              if (!jobs.contains(id))
                  return notFound(id);
              QJsonArray a;
              for (const auto &[name, bytes] : outputs.value(id))
                  a.append(QJsonObject{{"name", name},
                                       {"size", bytes.size()},
                                       {"task_id", tasks.value(id).value(0).id},
                                       {"frame", name.mid(6, name.indexOf('.') - 6).toInt()}});
              return Response{200, toJson({{"outputs", a}})};
          });
    route("GET", "/api/v1/jobs/(\\d+)/outputs/([A-Za-z0-9._-]+)",
          [=, this](const Request &, const QRegularExpressionMatch &m) {
              const qint64 id = m.captured(1).toLongLong();
              for (const auto &[name, bytes] : outputs.value(id))
                  if (name == m.captured(2))
                      return Response{200, bytes, "image/png"};
              return Response{404, errorBody("not_found", "no such output")};
          });
}

} // namespace farm::testing
