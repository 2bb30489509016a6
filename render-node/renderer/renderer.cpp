#include "renderer.h"

#include "cpubackend.h"
#include "gpuinfo.h"

#if FARM_HAVE_CUDA
#include "cudabackend.h"
#endif

#include <QElapsedTimer>

namespace farm::render {
namespace {

#if FARM_HAVE_CUDA
bool renderCuda(const Scene &scene, const Camera &camera, const RenderParams &params, int gpu,
                Framebuffer &out, QString &why)
{
    out = Framebuffer(params.width, params.height);
    std::string reason;
    if (cuda::render(scene.view(), camera, params, out.pixels.data(), gpu, reason))
        return true;
    why = QString::fromStdString(reason);
    return false;
}
#endif

} // namespace

Result<Framebuffer> renderFrame(const Scene &scene, const Camera &camera,
                                const RenderParams &params, const RenderOptions &options,
                                const FrameProgress &progress, RenderReport *report)
{
    if (params.width < 1 || params.width > kMaxImageSide || params.height < 1 ||
        params.height > kMaxImageSide)
        return makeError("invalid_argument", QStringLiteral("image size %1x%2 is outside 1..%3")
                                                 .arg(params.width)
                                                 .arg(params.height)
                                                 .arg(kMaxImageSide));
    if (params.spp < 1 || params.spp > kMaxSpp)
        return makeError(
            "invalid_argument",
            QStringLiteral("samples per pixel %1 is outside 1..%2").arg(params.spp).arg(kMaxSpp));
    RenderReport local;
    RenderReport &r = report ? *report : local;
    r = RenderReport();
    QElapsedTimer timer;
    timer.start();
    Framebuffer fb;

    if (options.device == Device::Cuda) {
        QString why;
#if FARM_HAVE_CUDA
        if (cudaUsable(&why) && renderCuda(scene, camera, params, options.gpu, fb, why)) {
            r.device = Device::Cuda;
            if (options.aovs)
                *options.aovs =
                    renderAovs(scene, camera, params.width, params.height, options.threads);
            r.renderMs = double(timer.nsecsElapsed()) / 1e6;
            if (progress)
                progress(1.0);
            return fb;
        }
#else
        cudaUsable(&why);
#endif
        r.fallbackReason = why;
        timer.restart();
    }

    NoiseStop stop{options.noiseTarget, options.timeLimitS, options.onNoise};
    AdaptiveStats adaptive;
    const bool finished = renderCpu(
        scene, camera, params, fb, options.threads,
        [&](int done, int total) {
            if (progress)
                progress(double(done) / double(total));
        },
        options.cancel, options.aovs, options.onPass, options.passSeconds,
        options.adaptiveThreshold, &stop, &adaptive);
    if (!finished)
        return makeError("canceled", QStringLiteral("rendering was canceled"));
    r.device = Device::Cpu;
    r.samples = stop.active() && params.spp > 1 ? stop.samples : params.spp;
    r.noiseEstimate = stop.estimate;
    r.edgePixels = adaptive.edgePixels;
    r.extendedEdgePixels = adaptive.extendedPixels;
    r.renderMs = double(timer.nsecsElapsed()) / 1e6;
    return fb;
}

} // namespace farm::render
