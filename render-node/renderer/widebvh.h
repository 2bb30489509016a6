#pragma once

// CPU-only 8-wide BVH: the binary SAH tree collapsed so that each node tests eight child boxes
// at once (one AVX2 instruction per slab, or two SSE ones), and leaves hold triangles in packets
// of eight tested together. The results are identical to the scalar kernel (same operations in
// the same order, no FMA), so images do not depend on which traversal ran.

#include "kernel/sceneview.h"

#include <cstdint>
#include <vector>

namespace farm::render {

constexpr int kWideLanes = 8;

struct alignas(64) WideNode
{
    float box[6][kWideLanes];   // lo x, hi x, lo y, hi y, lo z, hi z per child
    uint32_t child[kWideLanes]; // interior: node index; leaf: first packet
    uint32_t count[kWideLanes]; // 0: interior (or empty when child == kEmpty); > 0: triangles
    static constexpr uint32_t kEmpty = 0xffffffffu;
};

/// Eight triangles side by side: v[vertex][axis][lane]. A leaf of n triangles has
/// ceil(n / 8) packets, the lanes past the last triangle unused (they repeat it). Five cache
/// lines; the slots, on the last one, are read only for a hit.
struct alignas(64) TrianglePacket
{
    TrianglePacket() {} // left uninitialised: collapseBvh writes every field of a new packet

    float v[3][3][kWideLanes];
    uint32_t slot[kWideLanes]; // BVH slot of each lane (index into SceneView arrays)
};
static_assert(sizeof(TrianglePacket) == 320);

struct WideBvh
{
    std::vector<WideNode> nodes;
    std::vector<TrianglePacket> packets;
};

/// Collapses a binary BVH over `view`'s triangles into the 8-wide layout.
WideBvh collapseBvh(const SceneView &view);

/// Closest hit / any hit with the wide BVH; same answers as intersectClosest/intersectAny.
Hit intersectClosestWide(const WideBvh &bvh, const SceneView &view, const Ray &ray);
bool intersectAnyWide(const WideBvh &bvh, const SceneView &view, const Ray &ray);

/// Most rays traced together by the packet functions below.
constexpr int kPacketRays = 16;

/// Closest hits / any hits of `n` rays (n <= kPacketRays) with the wide BVH: the same answers
/// as intersectClosestWide / intersectAnyWide ray by ray, bit for bit (tst_bvh), except on
/// coincident faces: where two triangles' hits lie within rounding of each other (z-fighting
/// copies), the order in which leaves are visited can pick the other one, as a different tree
/// would (8 of the 14 million closest hits of 2CylinderEngine's sam6d set). Meant for rays that run
/// close together: a pixel's camera rays, and shadow rays from one point light towards nearby
/// shaded points (directlight.h; from the hits towards the light their origins spread over the
/// pixels' footprint and the bounds were too loose on a 1M-triangle mesh): the
/// packet walks the upper tree once, testing each node's boxes against the bounds of all its
/// rays, and each ray tests only the leaves (and their triangles) that its own boxes lead to.
/// Rays that cannot share such bounds (a direction component of zero, or of both signs on one
/// axis) and alpha-masked scenes are traced one by one.
void intersectClosestWidePacket(const WideBvh &bvh, const SceneView &view, const Ray *rays, int n,
                                Hit *hits);
void intersectAnyWidePacket(const WideBvh &bvh, const SceneView &view, const Ray *rays, int n,
                            bool *occluded);

/// Which instruction set the wide traversal uses. Picked once from the CPU (AVX2 where the CPU
/// has it); tests force each one in turn to check that they agree.
enum class WideIsa { Sse, Avx2 };
WideIsa wideIsa();
bool wideIsaSupported(WideIsa isa);
void setWideIsa(WideIsa isa); // ignored when the CPU lacks it

/// Tracer for the integrator templates on the CPU.
struct WideTracer
{
    const WideBvh *bvh;
    SceneView view;

    Hit closest(const Ray &ray) const { return intersectClosestWide(*bvh, view, ray); }
    bool occluded(const Ray &ray) const { return intersectAnyWide(*bvh, view, ray); }
};

} // namespace farm::render
