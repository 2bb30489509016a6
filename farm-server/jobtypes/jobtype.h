#pragma once

#include "model/job.h"
#include "model/settingsschema.h"
#include "store/jobstore.h"
#include "util/result.h"

#include <QJsonObject>
#include <QRegularExpression>
#include <QStringList>

#include <functional>

namespace farm::server {

/// The codecs a video may ask for (the node's encoders: render-node/video/videosettings.h).
inline const QStringList kVideoCodecs{"h264", "hevc", "av1", "vp9"};

/// A task that runs as another type than its job's: the encode task a frame job's compiler
/// adds after its frames (docs/JOBTYPES.md, "Video"). Its input is not the job's bundle but the
/// frame images of job `framesOf` (FrameBundles), and its settings are its own.
struct TaskRole
{
    QString type;   // task.assign.type
    QString engine; // task.assign.engine, and what a node needs to get the task
    QJsonObject settings;
    qint64 framesOf = 0; // > 0: the input is that job's frames (FrameBundles), not the bundle
    /// Outputs of the task's own job whose names match, added to its bundle as
    /// `outputFolder/<name>` (the join of a split compose job gets its segments); none if empty.
    QRegularExpression outputs;
    QString outputFolder;
};

/// One job type (docs/JOBTYPES.md): what it is called, the engine its tasks need, the files it
/// takes, its settings schema, its rules across fields and its compiler. One source file per
/// type defines one (modeljob.cpp, templatesjob.cpp, blenderjob.cpp); nothing else in the
/// server, the node protocol or the clients knows the type.
struct JobType
{
    QString name;
    QString label;
    QString description;
    QString engine;
    QStringList extensions; // main-file extensions, lower case, without the dot
    /// Extensions of the files a bundle may carry beside its main file (lower case, without
    /// the dot); the single entry "*" takes any file. Served as `side_extensions`: clients
    /// leave other files out of a drop, and validate() refuses a bundle holding one.
    QStringList sideExtensions;
    bool frames = true; // whether `frames` and `chunk` apply
    SettingsSchema schema;
    /// Rules across fields, run on a spec whose settings have their defaults (optional).
    std::function<Result<void>(const JobSpec &)> check;
    /// Job → tasks. Runs on a validated spec.
    std::function<Result<QList<TaskPlan>>(const JobSpec &)> compile;
    /// Where a bundle file lies on the server (the content store; empty when it is not there).
    using InputFile = std::function<QString(const QString &bundlePath)>;
    /// Job → tasks with the input files at hand (optional; used instead of compile where the
    /// caller has them): a compose job's video length decides its segments.
    std::function<Result<QList<TaskPlan>>(const JobSpec &, const InputFile &file)> compileInput;
    /// Output names that are a frame's main image (group 1: the frame number): a frame whose
    /// main image landed is complete and never rendered again.
    QRegularExpression frameOutput{QStringLiteral("^frame_(\\d{1,9})\\.[A-Za-z0-9]+$")};
    /// The role of a task that is not one of the type's own (optional; see TaskRole).
    std::function<std::optional<TaskRole>(const JobSpec &, const Task &)> role;
    /// The settings the type's own tasks carry (optional; default: the job's settings).
    /// settings.video is the server's business: frame tasks go without it.
    std::function<QJsonObject(const JobSpec &)> frameTaskSettings;
    /// Checks of the input files' contents at submit (optional): `read` gives a bundle file's
    /// bytes (at most `maxBytes`; nullopt when it is not in the bundle or larger).
    using ReadInput =
        std::function<std::optional<QByteArray>(const QString &path, qint64 maxBytes)>;
    std::function<Result<void>(const JobSpec &, const ReadInput &read)> checkInput;

    /// Whether a bundle of this type may carry the file at bundle path `path` beside its main
    /// file.
    bool takesSideFile(const QString &path) const;
    /// As served by GET /api/v1/job-types.
    QJsonObject toJson() const;
};

/// The extension of a bundle path's file name, lower case ("" without one).
QString bundleExtension(const QString &path);
/// What side_extensions holds for "any file".
inline const QString kAnySideFile = QStringLiteral("*");

/// Chunks of `chunk` consecutive frames of the job's range, no dependencies: the compiler of
/// every type whose frames render independently.
Result<QList<TaskPlan>> compileFrameChunks(const JobSpec &spec);

JobType modelJobType();
JobType templatesJobType();
JobType blenderJobType();
/// Image frames to an MP4 (engine `encode`).
JobType encodeJobType();
/// The video keys of an encode task's settings (codec, fps, crf, bitrate_kbps, pixel_format,
/// preset, faststart, output), as schema fields in `group`: the types that encode share them.
QList<std::pair<const char *, QJsonObject>> videoSchemaFields(const QString &group);
/// Timed text (a scenario file) over an optional video, to an MP4 (engine `compose`).
JobType composeJobType();
/// `type` with `settings.video` (off by default): on, its compiler adds an encode task that
/// waits for every frame task, and the type's check refuses frames the encoder cannot read.
JobType withVideo(JobType type);

} // namespace farm::server
