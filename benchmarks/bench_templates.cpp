// Time per stage of a template set (the render command's --views): scene load + BVH, the rgb
// render and the first-hit data passes (alone, and in one pass as the command runs them), and
// encoding/writing each kind of file, one after the other on the same thread count so each
// stage's share is visible (the render command writes on a separate thread while it renders the
// next view). bench_templates.sh adds the end-to-end time of the command itself.
// Usage: bench_templates [MODEL] [--views N] [--threads N] [--spp N] [--size WxH] [--out DIR]
#include "framebuffer.h"
#include "passes.h"
#include "renderer.h"
#include "scene.h"
#include "templateviews.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QTemporaryDir>

#include <cstdio>
#include <functional>
#include <optional>

using farm::Result;
using namespace farm::render;

namespace {

struct Stage
{
    const char *name;
    double ms = 0.0;
};

double timeMs(const std::function<void()> &f)
{
    QElapsedTimer t;
    t.start();
    f();
    return double(t.nsecsElapsed()) / 1e6;
}

int argInt(const QStringList &args, const QString &flag, int fallback)
{
    const qsizetype i = args.indexOf(flag);
    return i >= 0 && i + 1 < args.size() ? args[i + 1].toInt() : fallback;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments().mid(1);
    QString model = QStringLiteral(
        "/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb");
    if (!args.isEmpty() && !args.first().startsWith(QLatin1String("--")))
        model = args.first();
    const int views = argInt(args, QStringLiteral("--views"), 42);
    const int threads = argInt(args, QStringLiteral("--threads"), 2);
    const int spp = argInt(args, QStringLiteral("--spp"), 1);
    int width = 640, height = 480;
    if (const qsizetype i = args.indexOf(QStringLiteral("--size")); i >= 0 && i + 1 < args.size()) {
        const QStringList wh = args[i + 1].split(QLatin1Char('x'));
        width = wh.value(0).toInt();
        height = wh.value(1).toInt();
    }
    if (views < 1 || threads < 1 || spp < 1 || width < 16 || height < 16) {
        std::fprintf(stderr, "error: bad arguments\n");
        return 2;
    }
    QTemporaryDir tmp;
    QString outDir = tmp.path();
    if (const qsizetype i = args.indexOf(QStringLiteral("--out")); i >= 0 && i + 1 < args.size())
        outDir = args[i + 1];
    QDir().mkpath(outDir);

    std::optional<Scene> scene;
    const double loadMs = timeMs([&] {
        Result<Scene> loaded = Scene::load(model);
        if (loaded)
            scene.emplace(std::move(*loaded));
    });
    if (!scene) {
        std::fprintf(stderr, "error: cannot load %s\n", qPrintable(model));
        return 3;
    }
    // Data passes written one kind at a time so each file type gets its own line.
    const std::pair<const char *, unsigned> passKinds[] = {{"write depth png+exr", PassDepth},
                                                           {"write mask png", PassMask},
                                                           {"write xyz npy+png", PassXyz}};
    // "rgb + aov, one pass" is what the render command runs (RenderOptions::aovs); the two
    // separate stages before it show what each costs alone.
    std::vector<Stage> stages = {
        {"rgb render"}, {"aov render"}, {"rgb + aov, one pass"}, {"write rgb png"}};
    for (const auto &[name, bit] : passKinds)
        stages.push_back({name});
    RenderOptions options;
    options.threads = threads;
    for (int view = 0; view < views; ++view) {
        RenderParams params;
        params.width = width;
        params.height = height;
        params.spp = spp;
        params.frame = uint32_t(view);
        const Camera camera = templateCamera(scene->bounds(), view, views, width, height, params);
        std::optional<Framebuffer> fb;
        stages[0].ms += timeMs([&] {
            Result<Framebuffer> r = renderFrame(*scene, camera, params, options);
            if (r)
                fb.emplace(std::move(*r));
        });
        AovBuffers aovs;
        stages[1].ms += timeMs([&] { aovs = renderAovs(*scene, camera, width, height, threads); });
        RenderOptions fused = options;
        fused.aovs = &aovs;
        stages[2].ms += timeMs([&] {
            Result<Framebuffer> r = renderFrame(*scene, camera, params, fused);
            if (r)
                fb.emplace(std::move(*r));
        });
        const PassNaming naming = viewNaming(outDir, view);
        bool ok = bool(fb);
        stages[3].ms += timeMs([&] {
            ok = ok && writeImage(*fb, naming(QStringLiteral("rgb"), QStringLiteral("png"))).ok();
        });
        for (size_t k = 0; k < std::size(passKinds); ++k)
            stages[4 + k].ms += timeMs(
                [&] { ok = ok && writePasses(aovs, passKinds[k].second, naming, 1000.0).ok(); });
        if (!ok) {
            std::fprintf(stderr, "error: view %d failed\n", view);
            return 4;
        }
    }
    double total = loadMs;
    std::printf("%s: %zu triangles, %d views %dx%d, %d spp, %d threads\n",
                qPrintable(QFileInfo(model).fileName()), scene->stats().triangles, views, width,
                height, spp, threads);
    std::printf("  %-22s %9.1f ms\n", "load + BVH", loadMs);
    for (size_t i = 0; i < stages.size(); ++i) {
        std::printf("  %-22s %9.1f ms  (%.1f ms/view)\n", stages[i].name, stages[i].ms,
                    stages[i].ms / views);
        if (i >= 2) // the fused pass replaces the two before it
            total += stages[i].ms;
    }
    std::printf("  %-22s %9.1f ms  (load + one pass + writes, one after the other)\n", "total",
                total);
    return 0;
}
