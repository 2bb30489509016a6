// Noise per sample: RMSE of a low-spp frame against a high-spp reference, with the per-pixel
// Owen-scrambled Sobol sampler (RenderParams::lowDiscrepancy, the default) and with independent
// PCG numbers, over a few seeds, plus the render time of each. The reference uses independent
// numbers and a seed no test frame uses, so it favours neither sampler.
// Usage: bench_noise [MODEL ...] [--size WxH] [--spp N] [--ref-spp N] [--seeds N] [--threads N]
#include "framing.h"
#include "renderer.h"
#include "scene.h"

#include <QCoreApplication>
#include <QElapsedTimer>

#include <cmath>
#include <cstdio>

using farm::Result;
using namespace farm::render;

namespace {

int argInt(const QStringList &args, const QString &flag, int fallback)
{
    const qsizetype i = args.indexOf(flag);
    return i >= 0 && i + 1 < args.size() ? args[i + 1].toInt() : fallback;
}

/// Root-mean-square difference over all pixels and channels (linear radiance).
double rmse(const Framebuffer &a, const Framebuffer &b)
{
    double sum = 0.0;
    for (size_t i = 0; i < a.pixels.size(); ++i) {
        const Vec3 d = a.pixels[i] - b.pixels[i];
        sum += double(dot(d, d));
    }
    return std::sqrt(sum / (3.0 * double(a.pixels.size())));
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments().mid(1);
    QStringList models;
    for (qsizetype i = 0; i < args.size(); ++i) {
        if (args[i].startsWith(QLatin1String("--")))
            ++i; // every flag takes a value
        else
            models << args[i];
    }
    if (models.isEmpty())
        models = {
            QStringLiteral("/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/"
                           "2CylinderEngine.glb"),
            QStringLiteral("/usr/share/assimp/models/glTF2/ClearCoat-glTF/ClearCoatTest.gltf")};
    int width = 320, height = 240;
    const qsizetype sizeAt = args.indexOf(QStringLiteral("--size"));
    if (sizeAt >= 0 && sizeAt + 1 < args.size()) {
        const QStringList wh = args[sizeAt + 1].split(QLatin1Char('x'));
        if (wh.size() == 2) {
            width = wh[0].toInt();
            height = wh[1].toInt();
        }
    }
    const int spp = argInt(args, QStringLiteral("--spp"), 32);
    const int refSpp = argInt(args, QStringLiteral("--ref-spp"), 1024);
    const int seeds = argInt(args, QStringLiteral("--seeds"), 3);
    RenderOptions options;
    options.threads = argInt(args, QStringLiteral("--threads"), 2);
    if (width < 16 || height < 16 || spp < 1 || refSpp < spp || seeds < 1) {
        std::fprintf(stderr, "bad arguments\n");
        return 2;
    }
    std::printf("%dx%d, %d spp against a %d spp reference (independent numbers, seed 1000), "
                "%d seeds, %d threads\n",
                width, height, spp, refSpp, seeds, options.threads);
    std::printf("%-22s %-16s %12s %12s %10s\n", "model", "sampler", "RMSE", "RMSE/indep",
                "ms/frame");
    for (const QString &model : models) {
        Result<Scene> scene = Scene::load(model);
        if (!scene) {
            std::fprintf(stderr, "%s: %s\n", qPrintable(model), qPrintable(scene.error().message));
            return 1;
        }
        RenderParams params;
        params.width = width;
        params.height = height;
        const Camera camera = frameCamera(scene->bounds(), CameraRig(), 1, width, height, params);
        const auto render = [&](bool lowDiscrepancy, int samples, uint32_t seed, double *ms) {
            RenderParams p = params;
            p.spp = samples;
            p.seed = seed;
            p.lowDiscrepancy = lowDiscrepancy;
            QElapsedTimer timer;
            timer.start();
            Result<Framebuffer> fb = renderFrame(*scene, camera, p, options);
            if (ms)
                *ms = double(timer.nsecsElapsed()) / 1e6;
            if (!fb) {
                std::fprintf(stderr, "render failed: %s\n", qPrintable(fb.error().message));
                std::exit(1);
            }
            return std::move(*fb);
        };
        const Framebuffer reference = render(false, refSpp, 1000u, nullptr);
        double independent = 0.0;
        for (bool lowDiscrepancy : {false, true}) {
            double error = 0.0, ms = 0.0;
            for (int s = 0; s < seeds; ++s) {
                double t = 0.0;
                error += rmse(render(lowDiscrepancy, spp, uint32_t(s + 1), &t), reference);
                ms += t;
            }
            error /= seeds;
            if (!lowDiscrepancy)
                independent = error;
            std::printf("%-22s %-16s %12.5f %12.3f %10.1f\n",
                        qPrintable(model.section(QLatin1Char('/'), -1)),
                        lowDiscrepancy ? "scrambled Sobol" : "independent", error,
                        error / independent, ms / seeds);
        }
    }
    return 0;
}
