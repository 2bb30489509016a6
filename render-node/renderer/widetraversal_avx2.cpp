// The AVX2 compilation of the wide traversal (this file alone is built with -mavx2; see
// widetraversal.cpp for the dispatch). FMA must stay off: fused products would round
// differently from the scalar kernel and break bit-identical hits.
#if !defined(__AVX2__)
#error "widetraversal_avx2.cpp must be compiled with -mavx2"
#endif
#if defined(__FMA__)
#error "widetraversal_avx2.cpp must be compiled without FMA"
#endif

#include "widetraversal_impl.h"

namespace farm::render {

Hit intersectClosestWideAvx2(const WideBvh &bvh, const SceneView &view, const Ray &ray)
{
    return closestEntry(bvh, view, ray);
}

bool intersectAnyWideAvx2(const WideBvh &bvh, const SceneView &view, const Ray &ray)
{
    return anyEntry(bvh, view, ray);
}

void intersectClosestWidePacketAvx2(const WideBvh &bvh, const SceneView &view, const Ray *rays,
                                    int n, Hit *hits)
{
    closestPacketEntry(bvh, view, rays, n, hits);
}

void intersectAnyWidePacketAvx2(const WideBvh &bvh, const SceneView &view, const Ray *rays, int n,
                                bool *occluded)
{
    anyPacketEntry(bvh, view, rays, n, occluded);
}

} // namespace farm::render
