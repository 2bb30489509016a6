#pragma once

#include "framebuffer.h"
#include "framing.h"
#include "passes.h"
#include "scene.h"

#include <atomic>
#include <functional>

namespace farm::render {

enum class Device { Cpu, Cuda };

struct RenderOptions
{
    Device device = Device::Cpu;
    int threads = 0; // CPU threads, <= 0: every core
    int gpu = 0;     // CUDA device index
    const std::atomic<bool> *cancel = nullptr;
    /// When set, the first-hit data passes (renderAovs) are filled in the same pass: on the CPU
    /// tile by tile next to the beauty pixels (no second sweep over the threads), after a CUDA
    /// frame on the CPU.
    AovBuffers *aovs = nullptr;
    /// When set, the CPU renders in sample passes over the whole image (1, 1, 2, 4, ...
    /// samples per pixel, each pass kept to about `passSeconds` once timed) and calls this
    /// after each pass but the last, on the calling thread while the other threads go on with
    /// the next pass, with a copy of each pixel's radiance summed over its first `samples`
    /// samples. The final image is the same bit for bit: every pixel still adds its samples in
    /// sample order. Unset: all samples per tile.
    std::function<void(const Framebuffer &sums, int samples)> onPass;
    double passSeconds = 1.0;
    /// > 0 (CPU, spp > 1): adaptive anti-aliasing. Every pixel first gets one sample through its
    /// centre (sharing the data passes' hit); only pixels whose 3x3 neighbourhood crosses the
    /// object's outline or differs by more than this in tone-mapped luminance (0..1) are
    /// rendered with the full `spp` stratified samples (renderCpuAdaptive). For direct light
    /// without noise (template presets), where a pixel's samples differ only across edges.
    /// No sample passes (onPass is not called); CUDA renders every pixel with spp samples.
    float adaptiveThreshold = 0.f;
    /// Time-or-noise target (CPU): stop before `spp` once the noise estimate is at most
    /// `noiseTarget` or the frame has rendered `timeLimitS` seconds (0: no such limit). See
    /// NoiseStop in cpubackend.h.
    double noiseTarget = 0.0;
    double timeLimitS = 0.0;
    /// Called after each noise estimate with (samples per pixel so far, estimate).
    std::function<void(int samples, double estimate)> onNoise;
};

/// What actually ran: a CUDA request falls back to the CPU when no GPU is usable.
struct RenderReport
{
    Device device = Device::Cpu;
    QString fallbackReason; // empty unless a CUDA request ran on the CPU
    double renderMs = 0.0;
    int samples = 0;             // samples per pixel rendered (below spp when a target stopped it)
    double noiseEstimate = -1.0; // the last noise estimate (< 0: none made)
    int edgePixels = 0; // adaptive anti-aliasing (CPU): pixels rendered with all spp samples
    int extendedEdgePixels = 0; // of those, pixels that took 2 x spp (kEdgeSpreadForMore)
};

/// Fraction of the frame done, 0..1 (from any thread, serialized).
using FrameProgress = std::function<void(double)>;

constexpr int kMaxImageSide = 8192;
constexpr int kMaxSpp = 4096;

/// Renders one frame. Errors: `invalid_argument` (size outside 1..8192, spp outside 1..4096),
/// `canceled`, `render_failed`.
Result<Framebuffer> renderFrame(const Scene &scene, const Camera &camera,
                                const RenderParams &params, const RenderOptions &options,
                                const FrameProgress &progress = {}, RenderReport *report = nullptr);

} // namespace farm::render
