// The AVX2 compilation of the direct-light lanes (this file alone is built with -mavx2; see
// directlightlanes.cpp for the dispatch). FMA must stay off: fused products would round
// differently from the scalar shading and break bit-identical results.
#if !defined(__AVX2__)
#error "directlightlanes_avx2.cpp must be compiled with -mavx2"
#endif
#if defined(__FMA__)
#error "directlightlanes_avx2.cpp must be compiled without FMA"
#endif

#include "directlightlanes_impl.h"

namespace farm::render {

void directSamplesAvx2(const SceneView &scene, const RenderParams &p, const Ray *rays,
                       const SurfacePoint *s, const int *index, int m, bool lightSide,
                       DirectSample *out)
{
    directSamplesIn<F8>(scene, p, rays, s, index, m, lightSide, out);
}

void directSamplesAvx2(const SceneView &scene, const RenderParams &p, const Ray *rays,
                       const Hit *hits, const int *index, int m, bool lightSide, SurfacePoint *s,
                       DirectSample *out)
{
    directSamplesIn<F8>(scene, p, rays, hits, index, m, lightSide, s, out);
}

void cameraRaysAvx2(const Camera &camera, const float *sx, const float *sy, int n, int width,
                    int height, Ray *out)
{
    cameraRaysIn<F8>(camera, sx, sy, n, width, height, out);
}

} // namespace farm::render
