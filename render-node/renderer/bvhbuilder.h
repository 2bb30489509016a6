#pragma once

#include "kernel/sceneview.h"

#include <cstdint>
#include <vector>

namespace farm::render {

struct BvhBuildOptions
{
    int threads = 0;           // <= 0: every core
    int maxLeafSize = 16;      // leaves never hold more unless the primitives cannot be separated
    float traversalCost = 3.f; // of a node visit, in triangle tests (tuned with bench_rays)
    int maxDepth = 56;         // keeps traversal within the fixed kernel stack
};

struct Bvh
{
    std::vector<BvhNode> nodes;
    std::vector<uint32_t> primIds; // BVH slot -> input triangle index
};

/// Binned SAH build (32 bins per axis over the centroid bounds) of triangles given as three
/// positions each. Subtrees above a size threshold are built on separate threads; the tree is
/// the same whatever the thread count (only node numbering differs).
Bvh buildBvh(const Vec3 *positions, size_t triangleCount, const BvhBuildOptions &options = {});

} // namespace farm::render
