// The `compose` job type: timed text cues (a scenario file) drawn over an uploaded video, or
// over a colour or gradient background, and encoded to an MP4 with the video's audio kept
// (docs/JOBTYPES.md, "compose"). The node's engine is render-node/engines/compose.
#include "files/videoprobe.h"
#include "jobtypes/jobtype.h"
#include "jobtypes/schemafields.h"
#include "model/composesegments.h"
#include "model/questioncard.h"
#include "model/scenario.h"

#include <QFile>
#include <QJsonDocument>

#include <cmath>

namespace farm::server {

using namespace schema;

namespace {

const char *kGroup = "Video";
// A compose job longer than one segment is split (docs/JOBTYPES.md, "Segments").
constexpr double kDefaultSegmentSeconds = 60;
constexpr int kMaxSegments = 1000;
const QString kColourPattern = QStringLiteral("#[0-9A-Fa-f]{6}");

// The node reads these keys (render-node/video/composer.h, ComposeSettings::fromJson).
QJsonObject composeSchema()
{
    QJsonObject props;
    QJsonArray order;
    const auto add = [&](const char *key, const QJsonObject &f) {
        props.insert(QLatin1String(key), f);
        order.append(QLatin1String(key));
    };
    add("width", with(integer("Width", kGroup, 0, 7680),
                      {{"default", 0},
                       {"subtype", "resolution"},
                       {"description", "Pixels; 0: the input video's (1280 without one). One "
                                       "side 0 keeps the input's aspect"}}));
    add("height", with(integer("Height", kGroup, 0, 4320),
                       {{"default", 0},
                        {"subtype", "resolution"},
                        {"description", "Pixels; 0: the input video's (720 without one)"}}));
    add("fps", with(field("number", "Frame rate", kGroup),
                    {{"minimum", 0},
                     {"maximum", 240},
                     {"default", 0},
                     {"description", "0: the input video's (30 without one); another rate "
                                     "repeats or drops frames"}}));
    for (const auto &[key, f] : videoSchemaFields(kGroup))
        if (QLatin1String(key) != QLatin1String("fps"))
            add(key, f);
    add("background",
        with(field("string", "Background", "Background"),
             {{"default", "#000000"},
              {"pattern", kColourPattern},
              {"subtype", "color"},
              {"description", "Without an input video: the colour (#RRGGBB) behind the text"}}));
    add("background_to",
        with(field("string", "Gradient to", "Background"),
             {{"default", ""},
              {"pattern", "(" + kColourPattern + ")?"},
              {"subtype", "color"},
              {"description", "A vertical gradient from the background colour (top) to this "
                              "one (bottom); empty: one colour"}}));
    add("duration", with(field("number", "Duration", "Background"),
                         {{"minimum", 0},
                          {"maximum", kMaxCueSeconds},
                          {"default", 0},
                          {"subtype", "seconds"},
                          {"description", "Seconds of background video without an input; 0: "
                                          "until the last cue ends"}}));
    add("segment_seconds",
        with(field("number", "Segment length", kGroup),
             {{"minimum", 0},
              {"maximum", kMaxCueSeconds},
              {"default", kDefaultSegmentSeconds},
              {"subtype", "seconds"},
              {"description", "A longer video is split into segments of this many seconds, "
                              "made on several nodes and joined without re-encoding; 0: "
                              "never split"}}));
    return {{"type", "object"}, {"properties", props}, {"order", order}};
}

QString extensionOf(const QString &path)
{
    const QString name = path.section('/', -1);
    return name.contains('.') ? name.section('.', -1).toLower() : QString();
}

} // namespace

JobType composeJobType()
{
    JobType t;
    t.name = "compose";
    t.label = "Text over video";
    t.description = "Timed text cues from a scenario file (.json) drawn over an uploaded video "
                    "(its audio kept) or a colour background, encoded to an MP4: subtitles, "
                    "motion text, title cards.";
    t.engine = "compose";
    t.extensions = {"json"};
    t.sideExtensions = kComposeVideoExtensions;
    t.frames = false;
    t.schema = SettingsSchema(composeSchema());
    t.check = [](const JobSpec &spec) -> Result<void> {
        QStringList videos;
        for (const BundleFile &f : spec.input.files) {
            if (f.path == spec.input.main)
                continue;
            if (!kComposeVideoExtensions.contains(extensionOf(f.path)))
                return makeError(
                    "invalid_field",
                    QString("compose jobs take a scenario (.json) and at most one video (.%1); "
                            "'%2' is neither")
                        .arg(kComposeVideoExtensions.join(", ."), f.path));
            videos.append(f.path);
        }
        if (composeSegmentPattern().match(spec.settings.value("output").toString()).hasMatch())
            return makeError("invalid_field",
                             QString("settings.output '%1' is the name of a segment of a split "
                                     "job: name the video otherwise")
                                 .arg(spec.settings.value("output").toString()));
        const double segment = spec.settings.value("segment_seconds").toDouble();
        if (segment > 0 && segment < 1)
            return makeError("invalid_field", "settings.segment_seconds must be 0 (never split) "
                                              "or at least 1");
        if (videos.size() > 1)
            return makeError("invalid_field", QString("compose jobs take one video, not %1 (%2)")
                                                  .arg(videos.size())
                                                  .arg(videos.join(", ")));
        return {};
    };
    // The scenario is read and checked at submit: a bad cue is a 400 naming it, not a failed
    // task later.
    t.checkInput = [](const JobSpec &spec, const JobType::ReadInput &read) -> Result<void> {
        const auto bytes = read(spec.input.main, kMaxScenarioBytes);
        if (!bytes)
            return makeError("invalid_scenario", QString("%1: cannot read it (over %2 MiB?)")
                                                     .arg(spec.input.mainName())
                                                     .arg(kMaxScenarioBytes >> 20));
        const auto scenario = Scenario::fromJson(*bytes);
        if (!scenario)
            return makeError(
                scenario.error().code,
                QString("%1: %2").arg(spec.input.mainName(), scenario.error().message));
        const bool hasVideo = spec.input.files.size() > 1;
        if (!hasVideo && scenario->cues.isEmpty() &&
            spec.settings.value("duration").toDouble() <= 0)
            return makeError("invalid_scenario",
                             "nothing to compose: no input video, no settings.duration and no "
                             "cues");
        return {};
    };
    t.compile = [](const JobSpec &) {
        return Result<QList<TaskPlan>>(QList<TaskPlan>{{FrameRange(QList<int>{1}), {}}});
    };
    // Split or not: the video's length (its headers) or the background's, against
    // settings.segment_seconds. A split job's tasks: index 0 makes the last segment (to the
    // input's end: the headers' length may be off by a frame), 1..N-1 segments 1..N-1 (frames
    // {k}: the segment's number), then the join, after all of them (frames "": a role).
    t.compileInput = [](const JobSpec &spec,
                        const JobType::InputFile &file) -> Result<QList<TaskPlan>> {
        const QList<TaskPlan> one{{FrameRange(QList<int>{1}), {}}};
        const double seconds = spec.settings.value("segment_seconds").toDouble();
        if (seconds <= 0)
            return one;
        double fps = spec.settings.value("fps").toDouble(), duration = 0;
        QString video;
        for (const BundleFile &f : spec.input.files)
            if (f.path != spec.input.main)
                video = f.path;
        if (!video.isEmpty()) {
            // Not a video: one task, which fails with the node's message. A video named by URL
            // is fetched after the job is made: one task too.
            if (file(video).isEmpty())
                return one;
            const auto facts = probeVideo(file(video), video.section('/', -1));
            if (!facts)
                return one;
            duration = facts->duration;
            fps = fps > 0 ? fps : facts->fps > 0 ? facts->fps : 30.0;
        } else {
            fps = fps > 0 ? fps : 30.0;
            duration = spec.settings.value("duration").toDouble();
            if (duration <= 0) {
                QFile scenario(file(spec.input.main));
                if (!scenario.open(QIODevice::ReadOnly))
                    return one;
                const auto parsed = Scenario::fromJson(scenario.read(kMaxScenarioBytes + 1));
                if (!parsed)
                    return one;
                duration = parsed->lastEnd();
            }
        }
        const qint64 total = std::llround(duration * fps);
        const qint64 per = std::max<qint64>(1, std::llround(seconds * fps));
        if (total <= per)
            return one;
        // Narration is mixed over the whole video in one task: a narrated card is not split.
        if (QFile scenario(file(spec.input.main));
            scenario.open(QIODevice::ReadOnly) &&
            scenarioWantsNarration(
                QJsonDocument::fromJson(scenario.read(kMaxScenarioBytes + 1)).object()))
            return makeError("invalid_field",
                             QString("a narrated question card is made in one task, but this "
                                     "%1 s video would be split into segments of %2 s: set "
                                     "settings.segment_seconds to 0 (or above %1)")
                                 .arg(duration, 0, 'f', 1)
                                 .arg(seconds));
        const qint64 count = (total + per - 1) / per;
        if (count > kMaxSegments)
            return makeError("invalid_field",
                             QString("settings.segment_seconds: %1 s of video in segments of %2 "
                                     "s makes %3 segments, more than %4: make them longer")
                                 .arg(duration, 0, 'f', 1)
                                 .arg(seconds)
                                 .arg(count)
                                 .arg(kMaxSegments));
        QList<TaskPlan> plans{{FrameRange(QList<int>{int(count)}), {}}};
        TaskPlan join{FrameRange(), {0}};
        for (int k = 1; k < count; ++k) {
            plans.append({FrameRange(QList<int>{k}), {}});
            join.after.append(k);
        }
        plans.append(join);
        return plans;
    };
    // The tasks of a split job run as segments or as the join: their settings say which.
    t.role = [](const JobSpec &spec, const Task &task) -> std::optional<TaskRole> {
        QJsonObject settings = spec.settings;
        if (task.frames.isEmpty()) {
            settings.insert(kComposeJoinKey, true);
            TaskRole join{
                "compose", "compose", settings, 0, composeSegmentPattern(), kComposeSegmentFolder};
            return join;
        }
        const auto range = FrameRange::parse(task.frames);
        if (!range || range->size() != 1)
            return std::nullopt;
        const int number = range->frames().first();
        if (task.index == 0 && number == 1) // not split: the whole video
            return std::nullopt;
        settings.insert(kComposeSegmentKey,
                        QJsonObject{{"number", number}, {"to_end", task.index == 0}});
        return TaskRole{"compose", "compose", settings, 0, {}, {}};
    };
    // Its single task writes a video, not a frame.
    t.frameOutput = QRegularExpression(QStringLiteral("(?!)"));
    return t;
}

} // namespace farm::server
