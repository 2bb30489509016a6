#include "rendercli.h"

#include "childprotocol.h"
#include "environment.h"
#include "frameoutput.h"
#include "framing.h"
#include "passes.h"
#include "previewwriter.h"
#include "renderer.h"
#include "renderoptions.h"
#include "templatepreset.h"
#include "templateviews.h"
#include "util/framerange.h"

#include <QCommandLineParser>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSaveFile>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#if defined(__linux__) && defined(__GLIBC__)
#include <unistd.h>
#endif

namespace farm::render {
namespace {

static_assert(CliInvalidInput == childprotocol::kExitInvalidInput);

/// How the command ends when the model or the environment map does not load: a file that
/// cannot be opened (io_error) may be there on another try; one that opens but is unusable
/// (bad_model, bad_environment) will not be.
int loadFailureExit(const Error &error)
{
    return error.code == QLatin1String("io_error") ? CliBadModel : CliInvalidInput;
}

FrameJob baseJob(const CliOptions &o, int frame, qsizetype index, qsizetype total)
{
    FrameJob job;
    job.frame = frame;
    job.index = index;
    job.total = total;
    job.params.width = o.width;
    job.params.height = o.height;
    job.params.spp = o.spp;
    job.params.seed = o.seed;
    job.params.frame = uint32_t(frame);
    job.params.maxBounces = o.bounces;
    job.params.environment = o.environmentView;
    if (job.params.environment.valid()) // the map is the whole lighting: no extra key light
        job.params.sunIrradiance = Vec3(0.f);
    job.bitDepth = o.bitDepth;
    job.passes = o.passes;
    job.depthScale = o.depthScale;
    job.noiseTarget = o.noiseTarget;
    job.timeLimitS = o.timeLimitS;
    job.threads = o.threads;
    job.device = o.device;
    return job;
}

/// Writes the instance pass's id map (instanceMapJson) to `path`.
bool writeInstanceMap(const Scene &scene, const QString &path)
{
    if (!QDir().mkpath(QFileInfo(path).absolutePath()))
        return false;
    const QByteArray data = instanceMapJson(scene);
    QSaveFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(data) == data.size() && file.commit();
}

/// Renders a job and hands it to the writer thread; a write error of an earlier frame stops
/// the run (its code is returned). `frameMap`: the instance pass's id map goes next to the
/// frame (frame_0001_instance.json); template sets write one instances.json instead.
int renderAndQueue(const Scene &scene, const FrameJob &job, const RenderOptions &options,
                   FrameWriter &writer, bool frameMap = true)
{
    RenderedFrame rendered;
    const qsizetype index = job.index;
    const LinePrinter print = [&writer, index](const QString &line) { writer.say(index, line); };
    if (frameMap && (job.passes & PassInstance)) {
        const QString path = job.naming(QStringLiteral("instance"), QStringLiteral("json"));
        if (!writeInstanceMap(scene, path))
            return fail(CliRenderFailed, QStringLiteral("cannot write %1").arg(path));
        print(childprotocol::outputLine(job.frame, QStringLiteral("instance"), path));
    }
    if (const int code = renderJob(scene, job, options, rendered, print); code != CliOk)
        return code;
    return writer.submit(std::move(rendered));
}

/// Template set: views 0..N-1 over the sphere (or a preset's), then the camera files. The sam6d
/// preset's OUT is SAM-6D's templates folder: it counts the .npy files there as its views, so
/// its cameras go to cameras.json only (no poses.npy / intrinsics.npy).
int renderViews(const Scene &scene, const CliOptions &o, const RenderOptions &options,
                PreviewWriter *preview)
{
    const QString dir = QFileInfo(o.output).absoluteFilePath();
    const bool sam6d = o.preset == TemplatePreset::Sam6d;
    QList<Camera> cameras;
    FrameWriter writer;
    for (int view = 0; view < o.views; ++view) {
        FrameJob job = baseJob(o, view, view, o.views);
        job.preview = preview;
        if (sam6d) {
            job.camera = sam6dCamera(scene.bounds(), view, o.width, o.height, job.params);
            job.xyzFormat = XyzFormat::ModelFloat16;
            job.adaptiveThreshold = o.adaptiveAa ? kSam6dEdgeThreshold : 0.f;
        } else {
            job.camera = templateCamera(scene.bounds(), view, o.views, o.width, o.height,
                                        job.params, o.rig.fovYDegrees);
        }
        job.naming = viewNaming(dir, view);
        job.rgbPath = job.naming(QStringLiteral("rgb"), QStringLiteral("png"));
        if (const int code = renderAndQueue(scene, job, options, writer, false); code != CliOk)
            return code;
        cameras.append(job.camera);
    }
    if (const int code = writer.finish(); code != CliOk)
        return code;
    QJsonObject extra;
    if (sam6d) {
        const double radius = sam6dRadius(scene.bounds());
        extra = QJsonObject{
            {"preset", "sam6d"},
            {"radius", radius},
            {"object_scale", 1.0 / (2.0 * radius)},
            {"pose_file_to_camera",
             "camera centre (model units) = pose file translation (mm) / 1000 * 2 * 2 * radius; "
             "camera_to_world rotation = the pose file's rotation"}};
    }
    Result<QStringList> files = writeCameraFiles(dir, cameras, o.width, o.height, extra, !sam6d);
    if (!files)
        return fail(CliRenderFailed, files.error().message);
    if (o.passes & PassInstance) {
        const QString map = QDir(dir).filePath(QStringLiteral("instances.json"));
        if (!writeInstanceMap(scene, map))
            return fail(CliRenderFailed, QStringLiteral("cannot write %1").arg(map));
        files->append(map);
    }
    for (const QString &file : *files)
        printLine(childprotocol::camerasLine(file));
    return CliOk;
}

/// Runs this process again (same PID, arguments and environment) with glibc's malloc told to
/// advise transparent huge pages for the memory it maps (the tunable glibc.malloc.hugetlb=1,
/// read only at process start), once: without, the big buffers of loading a model (Assimp's
/// arrays, ours, the BVH's) fault in 4 KiB at a time, and on a virtual machine that cost more
/// than the work itself (a 1M-triangle STL: load 2.7 s -> 0.8 s, BVH 1.3 s -> 0.9 s). Returns
/// only when it did not (already set, not Linux/glibc, exec failed).
/// Also, every block comes from malloc's heap (mmap_max=0) and the heap is not given back
/// (trim_threshold 64 GiB): by default a block over 32 MiB is mapped for itself and unmapped when
/// freed, so the next one faults in new pages again; so the loader's freed arrays (Assimp's
/// scene, the unsorted triangles) become the BVH's and the sorted mesh's without a fault (a
/// 1M-triangle STL, one process start: ~4,500 page faults instead of ~13,000).
/// The settings are childprotocol::kMallocTunables; the node starts its render children with
/// them, so only a command started by hand runs twice.
void reexecWithHugePageMalloc()
{
#if defined(__linux__) && defined(__GLIBC__)
    const char *tunables = std::getenv(childprotocol::kMallocTunablesVariable);
    const QString previous = QString::fromLocal8Bit(tunables ? tunables : "");
    if (childprotocol::hasMallocTunables(previous))
        return; // set (by the first run, by the node, or by whoever started us: theirs stands)
    QFile cmdline(QStringLiteral("/proc/self/cmdline"));
    if (!cmdline.open(QIODevice::ReadOnly))
        return;
    QByteArray bytes = cmdline.readAll();
    if (bytes.isEmpty())
        return;
    if (!bytes.endsWith('\0'))
        bytes.append('\0');
    std::vector<char *> argv;
    for (qsizetype start = 0; start < bytes.size();) {
        argv.push_back(bytes.data() + start);
        start += qsizetype(std::strlen(bytes.data() + start)) + 1;
    }
    argv.push_back(nullptr);
    const QByteArray value = childprotocol::childMallocTunables(previous).toLocal8Bit();
    if (setenv(childprotocol::kMallocTunablesVariable, value.constData(), 1) != 0)
        return;
    std::fflush(stdout);
    std::fflush(stderr);
    execv("/proc/self/exe", argv.data());
    // exec failed: carry on as we are, with the environment as it was.
    if (tunables)
        setenv(childprotocol::kMallocTunablesVariable, previous.toLocal8Bit().constData(), 1);
    else
        unsetenv(childprotocol::kMallocTunablesVariable);
#endif
}

} // namespace

QString frameOutputPath(const QString &pattern, int frame, bool multipleFrames)
{
    const QFileInfo info(pattern);
    const QString name = info.fileName();
    static const QRegularExpression hashes(QStringLiteral("#+"));
    QRegularExpressionMatch last;
    for (auto it = hashes.globalMatch(name); it.hasNext();)
        last = it.next();
    QString fileName = name;
    if (last.hasMatch()) {
        const QString number = QString::number(frame).rightJustified(last.capturedLength(), '0');
        fileName = name.left(last.capturedStart()) + number + name.mid(last.capturedEnd());
    } else if (multipleFrames) {
        const QString suffix = info.suffix();
        const QString stem = name.left(name.size() - suffix.size() - 1);
        fileName = QStringLiteral("%1_%2.%3")
                       .arg(stem, QString::number(frame).rightJustified(4, '0'), suffix);
    }
    const QString dir = pattern.left(pattern.size() - name.size());
    return dir + fileName;
}

int runRenderCli(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Render a 3D model with the built-in renderer."));
    parser.addPositionalArgument(QStringLiteral("file"),
                                 QStringLiteral("Model file (anything Assimp reads)."));
    addRenderOptions(parser);
    const QCommandLineOption help = parser.addHelpOption();
    QStringList argv = withOptionalValues(args);
    argv.prepend(QStringLiteral("render"));
    if (!parser.parse(argv))
        return fail(CliBadArguments, parser.errorText());
    if (parser.isSet(help)) {
        printLine(parser.helpText());
        return CliOk;
    }
    CliOptions o;
    if (const QString problem = readOptions(parser, o); !problem.isEmpty())
        return fail(CliBadArguments, problem);
    reexecWithHugePageMalloc(); // the arguments are good: worth a second start

    Result<Scene> loaded = Scene::load(o.input, o.root);
    if (!loaded)
        return fail(loadFailureExit(loaded.error()), loaded.error().message);
    const Scene &scene = *loaded;
    const SceneStats &st = scene.stats();
    printLine(QStringLiteral("scene: %1 triangles (%2 dropped), %3 meshes, %4 materials, "
                             "%5 textures, load %6 ms, BVH %7 nodes in %8 ms")
                  .arg(st.triangles)
                  .arg(st.droppedTriangles)
                  .arg(st.meshes)
                  .arg(st.materials)
                  .arg(st.textures)
                  .arg(st.loadMs, 0, 'f', 1)
                  .arg(st.bvhNodes)
                  .arg(st.bvhBuildMs, 0, 'f', 1));

    if (const char *tunables = std::getenv("GLIBC_TUNABLES");
        tunables && std::strstr(tunables, "glibc.malloc.hugetlb=1"))
        printLine(QStringLiteral("memory: malloc advises huge pages (glibc.malloc.hugetlb=1)"));
    for (const QString &warning : st.warnings)
        printLine(QStringLiteral("warning: %1").arg(warning));
    if (o.cameraFromFile >= 0) {
        if (const QString problem = applyFileCamera(scene, o); !problem.isEmpty())
            return fail(CliBadArguments, problem);
    }

    std::optional<Environment> environment;
    if (!o.environment.isEmpty()) {
        Result<Environment> env = Environment::load(o.environment, o.environmentIntensity);
        if (!env)
            return fail(loadFailureExit(env.error()), env.error().message);
        environment.emplace(std::move(*env));
        printLine(QStringLiteral("environment: %1 (%2x%3)")
                      .arg(o.environment)
                      .arg(environment->width())
                      .arg(environment->height()));
        o.environmentView = environment->view();
    }
    RenderOptions options;
    options.device = o.device;
    options.threads = o.threads;
    std::optional<PreviewWriter> preview;
    if (!o.preview.isEmpty())
        preview.emplace(o.preview, o.previewIntervalS);
    PreviewWriter *previewWriter = preview ? &*preview : nullptr;
    if (o.views > 0)
        return renderViews(scene, o, options, previewWriter);
    const QList<int> &frames = o.frames.frames();
    const bool multiple = frames.size() > 1;
    FrameWriter writer;
    for (qsizetype i = 0; i < frames.size(); ++i) {
        FrameJob job = baseJob(o, frames[i], i, frames.size());
        job.preview = previewWriter;
        job.camera = frameCamera(scene.bounds(), o.rig, job.frame, o.width, o.height, job.params);
        // Frames are filtered as Cycles filters them (template views keep the box).
        job.params.pixelFilter =
            o.filterWidth > 0.f ? PixelFilter::BlackmanHarris : PixelFilter::Box;
        job.params.filterRadius = o.filterWidth > 0.f ? o.filterWidth : kDefaultFilterRadius;
        job.rgbPath = QFileInfo(frameOutputPath(o.output, job.frame, multiple)).absoluteFilePath();
        job.naming = siblingNaming(job.rgbPath);
        if (const int code = renderAndQueue(scene, job, options, writer); code != CliOk)
            return code;
    }
    return writer.finish();
}

} // namespace farm::render
