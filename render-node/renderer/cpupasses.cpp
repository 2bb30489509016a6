// The CPU backend in sample passes (progressive previews): every pass adds a few more samples to
// every pixel, so the image between passes is a meaningful, evenly converged partial frame.
#include "cpubackend.h"
#include "framebuffer.h"

#include <QElapsedTimer>

#include <algorithm>
#include <cmath>
#include <utility>

namespace farm::render {

namespace {

/// NoiseStop's estimate from the running sums of all samples and of the odd ones after an even
/// number `done` of samples.
double noiseEstimate(const Framebuffer &sum, const Framebuffer &odd, int done)
{
    const float half = float(done / 2);
    double squares = 0.0;
    for (size_t i = 0; i < sum.pixels.size(); ++i) {
        const Vec3 b = odd.pixels[i] / half;
        const Vec3 a = (sum.pixels[i] - odd.pixels[i]) / half;
        for (int c = 0; c < 3; ++c) {
            const double d = double(toneCurve(a[c])) - double(toneCurve(b[c]));
            squares += d * d;
        }
    }
    return 0.5 * std::sqrt(squares / (3.0 * double(std::max<size_t>(1, sum.pixels.size()))));
}

} // namespace

int nextPassSamples(int done, int previous, double secondsPerSample, double passSeconds, int spp)
{
    // 1, 1, 2, 4, ...: a first look at once, then passes about as long as everything before.
    int size = done < 2 ? 1 : std::max(1, previous * 2);
    if (secondsPerSample > 0.0) {
        const double fit = std::floor(std::max(0.0, passSeconds) / secondsPerSample);
        size = int(std::clamp(fit, 1.0, double(size)));
    }
    return std::min(size, spp - done);
}

bool renderCpuInPasses(const Scene &scene, const Camera &camera, const RenderParams &params,
                       Framebuffer &out, int threads, const TileProgress &progress,
                       const std::atomic<bool> *cancel, AovBuffers *aovs, const PassHook &onPass,
                       double passSeconds, NoiseStop *stop)
{
    const bool stopRule = stop && stop->active();
    Framebuffer odd;
    if (stopRule)
        odd = Framebuffer(params.width, params.height);
    QElapsedTimer frameTimer;
    frameTimer.start();
    // `out` holds each pixel's running sum until the last pass divides it: the same additions
    // in the same order as renderPixel, so the same bits.
    out = Framebuffer(params.width, params.height);
    const TileGrid grid(params.width, params.height, threads);

    const SceneView view = scene.view();
    const WideTracer tracer{&scene.wideBvh(), view};
    const NocsFrame nocs = nocsFrameFor(scene);
    resetAovs(aovs, params.width, params.height);
    const ConstantBackground bg = constantBackground(scene.bounds(), camera, params);
    int unitsDone = 0; // tiles × samples
    const int unitsTotal = grid.tiles * params.spp;

    int done = 0, previous = 0;
    double secondsPerSample = 0.0;
    // The sums after a pass are copied (a few ms a pass at most) and handed to onPass by the
    // calling thread once the other workers are on the next pass, so nobody waits for a
    // preview to be encoded.
    Framebuffer snapshot;
    int snapshotSamples = 0;
    while (done < params.spp) {
        int size = nextPassSamples(done, previous, secondsPerSample,
                                   stopRule ? std::min(passSeconds, 0.5) : passSeconds, params.spp);
        if (stopRule && stop->timeLimitS > 0.0 && secondsPerSample > 0.0) {
            // Keep to the time limit: no more samples than fit in what is left (at least one).
            const double left = stop->timeLimitS - double(frameTimer.nsecsElapsed()) / 1e9;
            size = std::clamp(int(left / secondsPerSample), 1, size);
        }
        const int s0 = done, s1 = done + size;
        QElapsedTimer timer;
        timer.start();
        const bool finished = grid.run(
            cancel,
            [&](const TileGrid::Rect &r) {
                for (int y = r.y0; y < r.y1; ++y)
                    for (int x = r.x0; x < r.x1; ++x)
                        out.at(x, y) =
                            bg.outside(x, y)
                                ? bg.radiance * float(s1)
                                : addPixelSamples(tracer, view, camera, params, x, y, s0, s1,
                                                  out.at(x, y), stopRule ? &odd.at(x, y) : nullptr);
                if (stopRule) // background pixels: the same light in both halves
                    for (int y = r.y0; y < r.y1; ++y)
                        for (int x = r.x0; x < r.x1; ++x)
                            if (bg.outside(x, y))
                                odd.at(x, y) = bg.radiance * float(s1 / 2);
                // The data passes come from the pixel centre as in a single pass (renderCpu
                // with spp > 1), once, in the first pass.
                if (aovs && s0 == 0)
                    fillAovs(tracer, view, camera, nocs, r, *aovs, bg);
            },
            [&] {
                unitsDone = std::min(unitsDone + (s1 - s0), unitsTotal);
                if (progress)
                    progress(unitsDone, unitsTotal);
            },
            [&] {
                if (snapshotSamples > 0)
                    onPass(snapshot, std::exchange(snapshotSamples, 0));
            });
        if (!finished)
            return false;
        secondsPerSample = double(timer.nsecsElapsed()) / 1e9 / double(size);
        previous = size;
        done = s1;
        if (stopRule && done % 2 == 0) {
            stop->estimate = noiseEstimate(out, odd, done);
            if (stop->onEstimate)
                stop->onEstimate(done, stop->estimate);
        }
        if (stopRule && progress) {
            // spp is only a ceiling here: report how far the frame is towards its target (the
            // error falls as 1 / sqrt(samples), so the share done is (target / estimate)^2) or
            // its time limit, so that progress keeps moving.
            double share = 0.0;
            if (stop->target > 0.0 && stop->estimate > 0.0)
                share = std::pow(std::min(1.0, stop->target / stop->estimate), 2.0);
            if (stop->timeLimitS > 0.0)
                share = std::max(share, double(frameTimer.nsecsElapsed()) / 1e9 / stop->timeLimitS);
            const int units = int(std::min(share, 0.99) * double(unitsTotal));
            if (units > unitsDone) {
                unitsDone = units;
                progress(unitsDone, unitsTotal);
            }
        }
        if (stopRule && done < params.spp &&
            ((stop->target > 0.0 && stop->estimate >= 0.0 && stop->estimate <= stop->target) ||
             (stop->timeLimitS > 0.0 &&
              double(frameTimer.nsecsElapsed()) / 1e9 >= stop->timeLimitS)))
            break;
        if (done < params.spp && onPass) {
            snapshot = out;
            snapshotSamples = done;
        }
    }
    if (stop)
        stop->samples = done;
    const float spp = float(done); // params.spp unless a stop rule ended the frame early
    for (Vec3 &v : out.pixels)
        v = v / spp;
    return true;
}

} // namespace farm::render
