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

/// Asks the OS to back the pages of [data, data + bytes) with huge pages (Linux: madvise
/// MADV_HUGEPAGE; elsewhere nothing). Called on big buffers before they are first written:
/// one fault per 2 MiB instead of per 4 KiB (here 120 MB took 55–100 ms to fault in with 4 KiB
/// pages, 10–15 ms with 2 MiB ones).
void adviseHugePages(const void *data, size_t bytes);

/// reserve() + adviseHugePages: a big vector to be filled by push_back, faulted in huge pages.
template<typename T> void reserveHuge(std::vector<T> &v, size_t size)
{
    if (v.capacity() < size) {
        v.reserve(size);
        adviseHugePages(v.data(), size * sizeof(T));
    }
}

/// reserve() + adviseHugePages + resize(): a big vector that is faulted in huge pages.
template<typename T> void resizeHuge(std::vector<T> &v, size_t size)
{
    if (v.capacity() < size) {
        v.reserve(size);
        adviseHugePages(v.data(), size * sizeof(T));
    }
    v.resize(size);
}

/// Binned SAH build (32 bins per axis over the centroid bounds) of triangles given as three
/// positions each. Subtrees above a size threshold are built on separate threads; the tree is
/// the same whatever the thread count (only node numbering differs).
Bvh buildBvh(const Vec3 *positions, size_t triangleCount, const BvhBuildOptions &options = {});

} // namespace farm::render
