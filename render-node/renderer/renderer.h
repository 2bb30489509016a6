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
};

/// What actually ran: a CUDA request falls back to the CPU when no GPU is usable.
struct RenderReport
{
    Device device = Device::Cpu;
    QString fallbackReason; // empty unless a CUDA request ran on the CPU
    double renderMs = 0.0;
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
