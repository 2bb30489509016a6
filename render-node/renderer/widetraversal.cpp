// The baseline compilation of the wide traversal (SSE2 on x86-64) and the dispatch to the
// AVX2 one (widetraversal_avx2.cpp) on CPUs that have it; no -march flag, so the binary runs on
// any x86-64.
#include "widetraversal_impl.h"

#include <atomic>

namespace farm::render {

Hit intersectClosestWideBase(const WideBvh &bvh, const SceneView &view, const Ray &ray)
{
    return closestEntry(bvh, view, ray);
}

bool intersectAnyWideBase(const WideBvh &bvh, const SceneView &view, const Ray &ray)
{
    return anyEntry(bvh, view, ray);
}

void intersectClosestWidePacketBase(const WideBvh &bvh, const SceneView &view, const Ray *rays,
                                    int n, Hit *hits)
{
    closestPacketEntry(bvh, view, rays, n, hits);
}

void intersectAnyWidePacketBase(const WideBvh &bvh, const SceneView &view, const Ray *rays, int n,
                                bool *occluded)
{
    anyPacketEntry(bvh, view, rays, n, occluded);
}

namespace {

bool cpuHasAvx2()
{
#if defined(FARM_WIDE_AVX2) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2"); // also checks that the OS saves the YMM registers
#else
    return false;
#endif
}

std::atomic<bool> &useAvx2()
{
    static std::atomic<bool> flag{cpuHasAvx2()};
    return flag;
}

} // namespace

bool wideIsaSupported(WideIsa isa)
{
    return isa == WideIsa::Sse || cpuHasAvx2();
}

WideIsa wideIsa()
{
    return useAvx2().load(std::memory_order_relaxed) ? WideIsa::Avx2 : WideIsa::Sse;
}

void setWideIsa(WideIsa isa)
{
    useAvx2().store(isa == WideIsa::Avx2 && cpuHasAvx2());
}

Hit intersectClosestWide(const WideBvh &bvh, const SceneView &view, const Ray &ray)
{
#if defined(FARM_WIDE_AVX2)
    if (useAvx2().load(std::memory_order_relaxed))
        return intersectClosestWideAvx2(bvh, view, ray);
#endif
    return intersectClosestWideBase(bvh, view, ray);
}

bool intersectAnyWide(const WideBvh &bvh, const SceneView &view, const Ray &ray)
{
#if defined(FARM_WIDE_AVX2)
    if (useAvx2().load(std::memory_order_relaxed))
        return intersectAnyWideAvx2(bvh, view, ray);
#endif
    return intersectAnyWideBase(bvh, view, ray);
}

void intersectClosestWidePacket(const WideBvh &bvh, const SceneView &view, const Ray *rays, int n,
                                Hit *hits)
{
#if defined(FARM_WIDE_AVX2)
    if (useAvx2().load(std::memory_order_relaxed))
        return intersectClosestWidePacketAvx2(bvh, view, rays, n, hits);
#endif
    intersectClosestWidePacketBase(bvh, view, rays, n, hits);
}

void intersectAnyWidePacket(const WideBvh &bvh, const SceneView &view, const Ray *rays, int n,
                            bool *occluded)
{
#if defined(FARM_WIDE_AVX2)
    if (useAvx2().load(std::memory_order_relaxed))
        return intersectAnyWidePacketAvx2(bvh, view, rays, n, occluded);
#endif
    intersectAnyWidePacketBase(bvh, view, rays, n, occluded);
}

} // namespace farm::render
