#pragma once

#include "kernel/sceneview.h"

namespace farm::render {

/// Picks an emissive triangle in proportion to emitted power (area x luminance of the emissive
/// factor) and a uniform point on it. Fills `hit` (prim = BVH slot, barycentrics) and returns
/// the area pdf of that point; 0 when the scene has no emitters.
FARM_KERNEL float sampleEmitter(const SceneView &scene, float uPick, float u1, float u2, Hit &hit)
{
    if (scene.lightCount == 0 || !scene.lightCdf || !scene.lightSlots || !scene.lightAreaPdf)
        return 0.f;
    uint32_t lo = 0, hi = scene.lightCount - 1; // first entry whose cdf exceeds uPick
    while (lo < hi) {
        const uint32_t mid = (lo + hi) / 2;
        if (scene.lightCdf[mid] > uPick)
            hi = mid;
        else
            lo = mid + 1;
    }
    const uint32_t slot = scene.lightSlots[lo];
    const float r = sqrtf(u1); // uniform on the triangle
    hit.prim = slot;
    hit.b1 = r * (1.f - u2);
    hit.b2 = r * u2;
    return scene.lightAreaPdf[slot];
}

/// Area pdf with which sampleEmitter picks a point on BVH slot `slot` (0: not an emitter).
FARM_KERNEL float emitterAreaPdf(const SceneView &scene, uint32_t slot)
{
    return scene.lightCount > 0 && scene.lightAreaPdf ? scene.lightAreaPdf[slot] : 0.f;
}

} // namespace farm::render
