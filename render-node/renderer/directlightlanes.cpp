// The baseline (SSE2) compilation of the direct-light lanes and the dispatch to the AVX2 one
// (directlightlanes_avx2.cpp) on CPUs that have it.
#include "directlightlanes.h"

#if defined(__SSE2__)
#include "directlightlanes_impl.h"
#endif
#include "widebvh.h"

namespace farm::render {

#if defined(FARM_LANES_AVX2)
// directlightlanes_avx2.cpp
void directSamplesAvx2(const SceneView &scene, const RenderParams &p, const Ray *rays,
                       const SurfacePoint *s, const int *index, int m, bool lightSide,
                       DirectSample *out);
void directSamplesAvx2(const SceneView &scene, const RenderParams &p, const Ray *rays,
                       const Hit *hits, const int *index, int m, bool lightSide, SurfacePoint *s,
                       DirectSample *out);
void cameraRaysAvx2(const Camera &camera, const float *sx, const float *sy, int n, int width,
                    int height, Ray *out);
#endif

void cameraRays(const Camera &camera, const float *sx, const float *sy, int n, int width,
                int height, Ray *out)
{
    if (!camera.orthographic()) {
#if defined(FARM_LANES_AVX2)
        if (wideIsa() == WideIsa::Avx2)
            return cameraRaysAvx2(camera, sx, sy, n, width, height, out);
#endif
#if defined(__SSE2__)
        return cameraRaysIn<F4>(camera, sx, sy, n, width, height, out);
#endif
    }
    for (int k = 0; k < n; ++k)
        out[k] = camera.generateRay(sx[k], sy[k], width, height);
}

void directSamples(const SceneView &scene, const RenderParams &p, const Ray *rays,
                   const SurfacePoint *s, const int *index, int m, bool lightSide,
                   DirectSample *out)
{
    if (!p.environment.valid()) { // (directLightOnly rules an environment map out)
#if defined(FARM_LANES_AVX2)
        if (wideIsa() == WideIsa::Avx2)
            return directSamplesAvx2(scene, p, rays, s, index, m, lightSide, out);
#endif
#if defined(__SSE2__)
        return directSamplesIn<F4>(scene, p, rays, s, index, m, lightSide, out);
#endif
    }
    for (int k = 0; k < m; ++k)
        out[index[k]] = directSample(scene, p, rays[index[k]], s[index[k]], lightSide);
}

void directSamples(const SceneView &scene, const RenderParams &p, const Ray *rays, const Hit *hits,
                   int n, bool lightSide, SurfacePoint *surfaces, DirectSample *out)
{
    for (int k = 0; k < n; ++k) { // the surfaces' data, fetched side by side (big meshes miss)
        if (hits[k].valid()) {
            const size_t base = 3 * size_t(hits[k].prim);
            for (const Vec3 *a : {scene.positions, scene.normals, scene.albedo}) {
                __builtin_prefetch(a + base); // 36 bytes: on one or two cache lines
                __builtin_prefetch(reinterpret_cast<const char *>(a + base + 3) - 1);
            }
        }
    }
    int index[kPacketRays];
    int m = 0;
    for (int k = 0; k < n; ++k) {
        if (!hits[k].valid())
            out[k] = directSample(scene, p, rays[k], hits[k], lightSide);
        else
            index[m++] = k;
    }
    if (!(scene.uvs && scene.textures) && !p.environment.valid()) { // surfaceAt without textures
#if defined(FARM_LANES_AVX2)
        if (wideIsa() == WideIsa::Avx2)
            return directSamplesAvx2(scene, p, rays, hits, index, m, lightSide, surfaces, out);
#endif
#if defined(__SSE2__)
        return directSamplesIn<F4>(scene, p, rays, hits, index, m, lightSide, surfaces, out);
#endif
    }
    for (int k = 0; k < m; ++k)
        surfaces[index[k]] = surfaceAt(scene, rays[index[k]], hits[index[k]]);
    directSamples(scene, p, rays, surfaces, index, m, lightSide, out);
}

} // namespace farm::render
