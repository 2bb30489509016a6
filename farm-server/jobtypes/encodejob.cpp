// Frames to video: the `encode` job type (an image sequence, or a finished job's frames,
// encoded again), and `settings.video` on the types whose tasks write frames, whose compiler
// then adds an encode task after every frame task (docs/JOBTYPES.md, "Video").
#include "jobtypes/jobtype.h"
#include "jobtypes/schemafields.h"

namespace farm::server {

using namespace schema;

namespace {

// The node reads these keys (render-node/video/videosettings.h, VideoSettings::fromJson); its
// defaults are these defaults (tests/farm-server/jobtypes/tst_encodejob.cpp holds them equal).
QList<std::pair<const char *, QJsonObject>> videoFields(const QString &group,
                                                        const QJsonObject &shownWhen)
{
    auto shown = [&](QJsonObject f) {
        if (!shownWhen.isEmpty())
            f.insert("visible_when", shownWhen);
        return f;
    };
    return {
        {"codec", shown(with(choice("Codec", group, kVideoCodecs),
                             {{"default", "h264"},
                              {"description", "h264 plays everywhere; hevc and av1 are smaller "
                                              "at the same quality; vp9 for the web. NVENC "
                                              "(h264, hevc) on a GPU slot, else the CPU"}}))},
        {"fps", shown(with(field("number", "Frame rate", group),
                           {{"minimum", 1}, {"maximum", 240}, {"default", 30}}))},
        {"crf", shown(with(integer("Quality (CRF)", group, 0, 63),
                           {{"default", 23},
                            {"description", "Constant quality when no bitrate is set: lower is "
                                            "better and larger (NVENC: cq)"}}))},
        {"bitrate_kbps",
         shown(with(integer("Bitrate (kbit/s)", group, 0, 500000),
                    {{"default", 0}, {"description", "Average bitrate; 0 uses the quality"}}))},
        {"pixel_format",
         shown(with(choice("Pixel format", group, {"yuv420p", "yuv444p", "yuv420p10le"}),
                    {{"default", "yuv420p"},
                     {"description", "yuv420p plays everywhere (odd sides lose a pixel); "
                                     "yuv444p keeps full colour; yuv420p10le is 10-bit"}}))},
        {"preset", shown(with(choice("Preset", group,
                                     {"ultrafast", "superfast", "veryfast", "faster", "fast",
                                      "medium", "slow", "slower", "veryslow"}),
                              {{"default", "medium"},
                               {"description", "x264/x265 speed against size; NVENC uses p4"}}))},
        {"faststart", shown(with(field("boolean", "Fast start", group),
                                 {{"default", true},
                                  {"description", "Index at the front: plays while loading"}}))},
        {"output", shown(with(field("string", "File name", group),
                              {{"default", "video.mp4"},
                               {"pattern", "[A-Za-z0-9_-][A-Za-z0-9._-]{0,123}\\.mp4"},
                               {"maxLength", 128}}))},
    };
}

QJsonObject encodeSchema()
{
    QJsonObject props;
    QJsonArray order;
    for (const auto &[k, v] : videoFields("Video", {})) {
        props.insert(QLatin1String(k), v);
        order.append(QLatin1String(k));
    }
    return {{"type", "object"}, {"properties", props}, {"order", order}};
}

QJsonObject videoObjectField()
{
    QJsonObject props{{"enabled", with(field("boolean", "Make a video", "Video"),
                                       {{"default", false},
                                        {"description", "Encode the frames to an MP4 once "
                                                        "they are all rendered"}})}};
    QJsonArray order{"enabled"};
    for (const auto &[k, v] : videoFields("Video", QJsonObject{{"enabled", QJsonArray{true}}})) {
        props.insert(QLatin1String(k), v);
        order.append(QLatin1String(k));
    }
    return {{"type", "object"},
            {"label", "Video"},
            {"group", "Video"},
            {"properties", props},
            {"order", order}};
}

const QStringList kFrameExtensions{"png", "jpg", "jpeg"};

bool videoEnabled(const JobSpec &spec)
{
    return spec.settings.value("video").toObject().value("enabled").toBool();
}

// The encode task's settings: the video keys without `enabled`.
QJsonObject videoSettings(const JobSpec &spec)
{
    QJsonObject v = spec.settings.value("video").toObject();
    v.remove("enabled");
    return v;
}

} // namespace

QList<std::pair<const char *, QJsonObject>> videoSchemaFields(const QString &group)
{
    return videoFields(group, {});
}

JobType encodeJobType()
{
    JobType t;
    t.name = "encode";
    t.label = "Frames to video";
    t.description = "Image frames (PNG or JPEG, in the order of the numbers in their names) "
                    "encoded to an MP4. POST /api/v1/jobs/{id}/encode makes one from a finished "
                    "job's frames.";
    t.engine = "encode";
    // No extensions: a PNG is a texture far more often than a one-frame video, so clients do
    // not offer this type for a dropped image; check() holds the main file to an image.
    t.extensions = {};
    t.sideExtensions = kFrameExtensions; // the other frames
    t.check = [](const JobSpec &spec) -> Result<void> {
        const QString ext = spec.input.mainName().section('.', -1).toLower();
        if (!kFrameExtensions.contains(ext) || !spec.input.mainName().contains('.'))
            return makeError("invalid_field",
                             QString("encode jobs take .%1 frames, not '%2'")
                                 .arg(kFrameExtensions.join(", ."), spec.input.mainName()));
        return {};
    };
    t.frames = false;
    t.schema = SettingsSchema(encodeSchema());
    t.compile = [](const JobSpec &) {
        return Result<QList<TaskPlan>>(QList<TaskPlan>{{FrameRange(QList<int>{1}), {}}});
    };
    // Its single task is a video, not a frame.
    t.frameOutput = QRegularExpression(QStringLiteral("(?!)"));
    return t;
}

JobType withVideo(JobType type)
{
    QJsonObject schema = type.schema.json();
    QJsonObject props = schema.value("properties").toObject();
    props.insert("video", videoObjectField());
    QJsonArray order = schema.value("order").toArray();
    order.append("video");
    schema.insert("properties", props);
    schema.insert("order", order);
    type.schema = SettingsSchema(schema);

    auto check = type.check;
    type.check = [check](const JobSpec &spec) -> Result<void> {
        if (check)
            if (auto r = check(spec); !r)
                return r;
        const QString format = spec.settings.value("format").toString().toLower();
        if (videoEnabled(spec) && !format.isEmpty() && format != "png" && format != "jpeg")
            return makeError("invalid_field",
                             QString("settings.video needs PNG or JPEG frames, not format '%1'")
                                 .arg(spec.settings.value("format").toString()));
        return {};
    };
    auto compile = type.compile;
    type.compile = [compile](const JobSpec &spec) -> Result<QList<TaskPlan>> {
        auto plans = compile(spec);
        if (!plans || !videoEnabled(spec))
            return plans;
        // The encode task has no frames of its own (frames_total counts rendered frames) and
        // waits for every frame task.
        TaskPlan encode{FrameRange(), {}};
        for (int i = 0; i < plans->size(); ++i)
            encode.after.append(i);
        plans->append(encode);
        return plans;
    };
    type.frameTaskSettings = [](const JobSpec &spec) {
        QJsonObject s = spec.settings;
        s.remove("video");
        return s;
    };
    type.role = [](const JobSpec &spec, const Task &task) -> std::optional<TaskRole> {
        if (!videoEnabled(spec) || !task.frames.isEmpty())
            return std::nullopt;
        return TaskRole{"encode", "encode", videoSettings(spec), task.jobId};
    };
    return type;
}

} // namespace farm::server
