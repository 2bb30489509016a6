#pragma once

// directSample (directlight.h) for many camera samples at once, in SIMD lanes: surfaceAt (scenes
// without textures), the BSDF set-up, the point light's term and the ambient sky term of the
// template presets' direct-light shading, which took a fifth of a preset's time one sample at a
// time. Eight lanes with AVX2 where the CPU has it (the same switch as the wide traversal,
// setWideIsa), four with SSE2 otherwise (directlightlanes_impl.h). Every lane gives directSample's
// (and surfaceAt's) result bit for bit (tst_render `directSamplesInLanesMatchOneByOne`).

#include "directlight.h"

namespace farm::render {

/// directSample(scene, p, rays[i], s[i], lightSide) into out[i] for each i of index[0..m): the
/// camera samples that hit something, s[i] their surfaceAt.
void directSamples(const SceneView &scene, const RenderParams &p, const Ray *rays,
                   const SurfacePoint *s, const int *index, int m, bool lightSide,
                   DirectSample *out);

/// DirectSample of n (<= kPacketRays) camera samples (rays and their closest hits; misses see the
/// sky). `surfaces` (n entries) receives surfaceAt of each hit.
void directSamples(const SceneView &scene, const RenderParams &p, const Ray *rays, const Hit *hits,
                   int n, bool lightSide, SurfacePoint *surfaces, DirectSample *out);

/// camera.generateRay(sx[i], sy[i], width, height) into out[i] for i < n, in lanes (the same rays
/// bit for bit).
void cameraRays(const Camera &camera, const float *sx, const float *sy, int n, int width,
                int height, Ray *out);

} // namespace farm::render
