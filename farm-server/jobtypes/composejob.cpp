// The `compose` job type: timed text cues (a scenario file) drawn over an uploaded video, or
// over a colour or gradient background, and encoded to an MP4 with the video's audio kept
// (docs/JOBTYPES.md, "compose"). The node's engine is render-node/engines/compose.
#include "jobtypes/jobtype.h"
#include "jobtypes/schemafields.h"
#include "model/scenario.h"

namespace farm::server {

using namespace schema;

namespace {

const char *kGroup = "Video";
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
    // Its single task writes a video, not a frame.
    t.frameOutput = QRegularExpression(QStringLiteral("(?!)"));
    return t;
}

} // namespace farm::server
