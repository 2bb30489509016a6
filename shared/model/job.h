#pragma once

#include "protocol/states.h"
#include "util/framerange.h"
#include "util/result.h"

#include <QDateTime>
#include <QJsonObject>
#include <QStringList>

namespace farm {

/// Passes the renderer can write (docs/API.md, "Job (as submitted)").
inline const QStringList kRenderPasses{"rgb",  "depth", "normal",  "albedo",
                                       "mask", "xyz",   "instance"};
/// Default and upper bound of `settings.views` of a `templates` job.
constexpr int kDefaultTemplateViews = 42;
constexpr int kMaxTemplateViews = 10000;

/// Renderer settings of a `model` or `templates` job (docs/API.md, "Job (as submitted)").
struct RenderSettings
{
    int width = 640;
    int height = 480;
    int spp = 16;
    qint64 seed = 1;
    QString cameraMode = QStringLiteral("still");       // still | turntable
    QString projection = QStringLiteral("perspective"); // perspective | orthographic
    double orthoWidth = 0.0; // orthographic view width in model units; 0: fitted to the model
    QStringList passes{QStringLiteral("rgb")};
    QString format = QStringLiteral("png");
    int bitDepth = 8; // 8 | 16 bits per PNG channel
    /// Views of a template set; 0 (and absent from JSON) for `model` jobs.
    int views = 0;

    QJsonObject toJson() const;
    /// Validates the fields on their own; JobSpec::fromJson checks what depends on the job type.
    static Result<RenderSettings> fromJson(const QJsonObject &o);
    bool operator==(const RenderSettings &) const = default;
};

struct JobInput
{
    QString file; // sha256 hex
    QString name;
    bool operator==(const JobInput &) const = default;
};

struct Requirements
{
    bool gpu = false;
    QStringList tags;
    bool operator==(const Requirements &) const = default;
};

/// A job as a user submits it; fromJson validates every field and rejects unknown ones.
/// `type` is `model` (frames, chunks, still/turntable camera) or `templates` (one task that
/// renders `settings.views` views around the object; frames is "1", chunk 1, camera still).
struct JobSpec
{
    QString name;
    QString type = QStringLiteral("model");
    int priority = 50;
    JobInput input;
    QString frames = QStringLiteral("1");
    int chunk = 1;
    RenderSettings settings;
    Requirements requirements;

    QJsonObject toJson() const;
    static Result<JobSpec> fromJson(const QJsonObject &o);
    bool operator==(const JobSpec &) const = default;
};

struct TaskCounts
{
    int total = 0, queued = 0, running = 0, done = 0, failed = 0, canceled = 0;
    QJsonObject toJson() const;
    static TaskCounts fromJson(const QJsonObject &o);
    bool operator==(const TaskCounts &) const = default;
};

/// A job as stored and returned by the server.
struct Job
{
    qint64 id = 0;
    JobSpec spec;
    JobState state = JobState::Queued;
    QDateTime createdAt, startedAt, finishedAt;
    double progress = 0.0;
    TaskCounts tasks;
    QString error;

    QJsonObject toJson() const;
    static Result<Job> fromJson(const QJsonObject &o);
};

/// True for names a file may safely carry: no separators, no "..", no control characters.
bool isSafeFileName(const QString &name, int maxLen = 255);
/// Output names: ^[A-Za-z0-9._-]{1,128}$, not starting with '.'.
bool isValidOutputName(const QString &name);
/// "frame_0001.png" for frame 1; more digits when the number needs them.
QString frameFileName(int frame, const QString &extension = QStringLiteral("png"));
bool isSha256Hex(const QString &s);

} // namespace farm
