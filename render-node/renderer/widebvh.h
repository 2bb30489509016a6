#pragma once

// CPU-only 4-wide BVH: the binary SAH tree collapsed so that each node tests four child boxes
// with one SSE instruction per slab, and leaves hold triangles in packets of four tested
// together. The results are identical to the scalar kernel (same operations in the same order,
// no FMA), so images do not depend on which traversal ran.

#include "kernel/sceneview.h"

#include <cstdint>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace farm::render {

struct alignas(64) WideNode
{
    float box[6][4];   // lo x, hi x, lo y, hi y, lo z, hi z per child
    uint32_t child[4]; // interior: node index; leaf: first packet
    uint32_t count[4]; // 0: interior (or empty when child == kEmpty); > 0: packets in the leaf
    static constexpr uint32_t kEmpty = 0xffffffffu;
};

/// Four triangles side by side: v[vertex][axis][lane]; lanes past `count` are unused.
struct alignas(16) TrianglePacket
{
    float v[3][3][4];
    uint32_t slot[4]; // BVH slot of each lane (index into SceneView arrays)
    uint32_t count;
};

struct WideBvh
{
    std::vector<WideNode> nodes;
    std::vector<TrianglePacket> packets;
};

/// Collapses a binary BVH over `view`'s triangles into the 4-wide layout.
WideBvh collapseBvh(const SceneView &view);

/// Closest hit / any hit with the wide BVH; same answers as intersectClosest/intersectAny.
Hit intersectClosestWide(const WideBvh &bvh, const SceneView &view, const Ray &ray);
bool intersectAnyWide(const WideBvh &bvh, const SceneView &view, const Ray &ray);

/// Tracer for the integrator templates on the CPU.
struct WideTracer
{
    const WideBvh *bvh;
    SceneView view;

    Hit closest(const Ray &ray) const { return intersectClosestWide(*bvh, view, ray); }
    bool occluded(const Ray &ray) const { return intersectAnyWide(*bvh, view, ray); }
};

} // namespace farm::render
