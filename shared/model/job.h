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
/// `settings.preset` of a `templates` job: none (views over a Fibonacci sphere) or a pose
/// estimator's own template layout (docs/TEMPLATES.md).
inline const QStringList kTemplatePresets{"none", "sam6d"};
/// Views of the sam6d preset (its pose file's level-0 icosphere; the renderer's kSam6dViews).
constexpr int kSam6dTemplateViews = 42;
/// Upper bounds of `settings.noise_target` and `settings.time_limit_s` of a `model` job.
constexpr double kMaxNoiseTarget = 0.5;
constexpr double kMaxFrameTimeLimitS = 86400.0;

/// Settings of the built-in renderer (the `model` and `templates` job types), as a node reads
/// them from a task's settings object. The server validates a job's settings against its job
/// type's schema (docs/JOBTYPES.md); this is the renderer's own reading of the same keys.
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
    /// Time-or-noise target of `model` frames: stop a frame once its noise estimate (tone-mapped
    /// RMSE, 0..1) is at most `noiseTarget` or after `timeLimitS` seconds; `spp` is then the
    /// ceiling. 0 (and absent from JSON): off.
    double noiseTarget = 0.0;
    double timeLimitS = 0.0;
    /// Template preset (kTemplatePresets); "none" (and absent from JSON) otherwise.
    QString preset = QStringLiteral("none");

    QJsonObject toJson() const;
    static Result<RenderSettings> fromJson(const QJsonObject &o);
    bool operator==(const RenderSettings &) const = default;
};

/// Longest `callback_url` a job may carry.
constexpr int kMaxCallbackUrlChars = 2048;
/// Most files one job's input bundle may hold (docs/JOBTYPES.md, "Input bundles").
constexpr int kMaxBundleFiles = 10000;
/// Most jobs one job may wait for (`depends_on`).
constexpr int kMaxJobDependencies = 100;
/// Upper bound of a job's `max_run_s` (30 days).
constexpr int kMaxRunSeconds = 30 * 24 * 3600;

/// Longest `url` an input file may name (docs/API.md, "Input by URL").
constexpr int kMaxInputUrlChars = 2048;
/// Most files of one job's input that may be named by URL.
constexpr int kMaxInputUrls = 16;

/// One file of an input bundle: where it lies in the bundle and its content's SHA-256.
struct BundleFile
{
    QString path; // relative, '/'-separated (isSafeBundlePath)
    QString file; // sha256 hex; empty while the server fetches `url`
    /// Where the server fetches (or fetched) the bytes from instead of an upload: an http(s)
    /// URL (inputUrlProblem); empty for an uploaded file.
    QString url;
    bool pending() const { return file.isEmpty() && !url.isEmpty(); }
    bool operator==(const BundleFile &) const = default;
};

/// Why `url` cannot name an input file (empty: it can): http or https with a host, no user name
/// or password in it, at most kMaxInputUrlChars characters.
QString inputUrlProblem(const QString &url);

/// A job's input: a main file and its side files with their relative paths, or (only in a
/// submission, before the server unpacks it) a zip archive.
struct JobInput
{
    QString main;
    QList<BundleFile> files;
    QString archive; // sha256 of a .zip to unpack; empty once unpacked

    const BundleFile *mainFile() const;
    /// Files named by URL that the server has not fetched yet: the job's tasks wait for them.
    bool fetching() const;
    /// The main file's own name, without its folders ("scene.gltf").
    QString mainName() const;
    QJsonObject toJson() const;
    /// Strict: the bundle form, the single-file form `{file, name}` of earlier versions, or
    /// the archive form (docs/JOBTYPES.md).
    static Result<JobInput> fromJson(const QJsonObject &o);
    bool operator==(const JobInput &) const = default;
};

struct Requirements
{
    bool gpu = false;
    QStringList tags;
    bool operator==(const Requirements &) const = default;
};

/// A job as a user submits it. fromJson validates the envelope (type name, input bundle,
/// frames, chunk, priority, requirements) and rejects unknown fields; `settings` belong to the
/// job type, whose schema the server validates them against (farm::server::JobTypeRegistry).
struct JobSpec
{
    QString name;
    QString type = QStringLiteral("model");
    int priority = 50;
    JobInput input;
    QString frames = QStringLiteral("1");
    int chunk = 1;
    QJsonObject settings;
    Requirements requirements;
    /// Jobs that must complete before this one starts (docs/API.md, "Job dependencies").
    QList<qint64> dependsOn;
    /// Longest one task attempt of this job may run, in seconds; 0: no limit.
    int maxRunS = 0;
    /// Where webhooks about this job go (docs/API.md, "Webhooks"); empty: none. fromJson checks
    /// the form (http/https with a host); the server checks it against its allowed list.
    QString callbackUrl;

    QJsonObject toJson() const;
    static Result<JobSpec> fromJson(const QJsonObject &o);
    /// Never fails: reads what it can and keeps the rest at defaults, so that a client shows a
    /// job of a type (or a version) it does not know instead of dropping it.
    static JobSpec fromJsonLenient(const QJsonObject &o);
    bool operator==(const JobSpec &) const = default;
};

struct TaskCounts
{
    int total = 0, queued = 0, running = 0, done = 0, failed = 0, canceled = 0;
    QJsonObject toJson() const;
    static TaskCounts fromJson(const QJsonObject &o);
    bool operator==(const TaskCounts &) const = default;
};

/// A job as stored and returned by the server. fromJson is lenient about the spec (see
/// JobSpec::fromJsonLenient) and fails only when the job's own fields are unreadable.
struct Job
{
    qint64 id = 0;
    JobSpec spec;
    JobState state = JobState::Queued;
    QDateTime createdAt, startedAt, finishedAt;
    double progress = 0.0;
    TaskCounts tasks;
    QString error;
    QString owner; // the user who submitted it ('' for jobs from before users existed)

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
/// True for a relative bundle path (bundle::bundlePathProblem finds nothing wrong with it).
bool isSafeBundlePath(const QString &path);
/// Job type names: ^[a-z][a-z0-9_-]{0,31}$.
bool isValidTypeName(const QString &name);

} // namespace farm
