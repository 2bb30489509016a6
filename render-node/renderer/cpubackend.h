#pragma once

#include "framebuffer.h"
#include "kernel/integrator.h"
#include "passes.h"
#include "scene.h"

#include <atomic>
#include <functional>

namespace farm::render {

/// Called after each finished tile with (tiles done, tiles in all); serialized, any thread.
using TileProgress = std::function<void(int done, int total)>;

/// Renders the whole frame on `threads` threads (<= 0: every core) over 32x32 tiles, tracing
/// with the scene's 4-wide BVH. Returns false when `cancel` was raised before the frame finished.
/// `aovs`, when set, also gets the first-hit data of every pixel (as renderAovs computes it),
/// each tile right after its beauty pixels while its part of the BVH is in cache.
bool renderCpu(const Scene &scene, const Camera &camera, const RenderParams &params,
               Framebuffer &out, int threads, const TileProgress &progress = {},
               const std::atomic<bool> *cancel = nullptr, AovBuffers *aovs = nullptr);

} // namespace farm::render
