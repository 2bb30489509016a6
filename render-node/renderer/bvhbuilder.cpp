#include "bvhbuilder.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <memory>
#include <thread>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace farm::render {
namespace {

constexpr int kBins = 32;
static_assert(kBins <= 32, "findSplit keeps a bit per bin in a uint32_t");
constexpr uint32_t kParallelThreshold = 16384; // smaller subtrees are not worth a thread
constexpr uint32_t kPartitionBlock = 64;       // primitives classified at once (<= 256)
// Leaves are tested in packets of eight triangles (widebvh.h), one packet costing about as much
// as four single triangle tests (tuned with bench_rays: 8/4 beat 4/4, 8/8, 8/3 and 8/5).
constexpr uint32_t kPacketWidth = 8;
constexpr float kPacketCost = 4.f;

/// A box as two 4-float rows (x, y, z, unused), so growing it is two SSE instructions.
struct alignas(16) Box4
{
    float lo[4] = {kInfinity, kInfinity, kInfinity, kInfinity};
    float hi[4] = {-kInfinity, -kInfinity, -kInfinity, -kInfinity};

    void grow(const float *otherLo, const float *otherHi)
    {
#if defined(__SSE2__)
        _mm_store_ps(lo, _mm_min_ps(_mm_load_ps(lo), _mm_load_ps(otherLo)));
        _mm_store_ps(hi, _mm_max_ps(_mm_load_ps(hi), _mm_load_ps(otherHi)));
#else
        for (int k = 0; k < 4; ++k) {
            lo[k] = minf(lo[k], otherLo[k]);
            hi[k] = maxf(hi[k], otherHi[k]);
        }
#endif
    }
    void grow(const Box4 &b)
    {
        grow(b.lo, b.hi);
    }
    float halfArea() const
    {
        if (!(lo[0] <= hi[0]))
            return 0.f;
        const float dx = hi[0] - lo[0], dy = hi[1] - lo[1], dz = hi[2] - lo[2];
        return dx * dy + dy * dz + dz * dx;
    }
};

/// A primitive's box and index (in lo[3]), moved around by the partitions so that every pass
/// over a node's primitives reads one contiguous block.
struct alignas(16) PrimRef
{
    float lo[4];
    float hi[4];

    uint32_t id() const
    {
        uint32_t v;
        std::memcpy(&v, &lo[3], sizeof v);
        return v;
    }
    float centroid(int axis) const { return (lo[axis] + hi[axis]) * 0.5f; }
};

struct Bin
{
    Box4 box;
    uint32_t count = 0;
};

struct Split
{
    int axis = -1;
    int bin = 0; // primitives in bins <= bin go left
    float cost = kInfinity;
};

int binOf(float c, float lo, float scale)
{
    return std::clamp(int((c - lo) * scale), 0, kBins - 1);
}

class Builder
{
public:
    Builder(const Vec3 *positions, size_t count, const BvhBuildOptions &options)
        : m_options(options)
        // Default-initialized (not zeroed): only the pages the build touches get faulted in.
        , m_nodes(new BvhNode[std::max<size_t>(1, 2 * count)])
    {
        adviseHugePages(m_nodes.get(), 2 * count * sizeof(BvhNode));
        const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
        const int threads = options.threads > 0 ? options.threads : int(hw);
        m_spareThreads = threads - 1;
        resizeHuge(m_refs, count);
        auto fill = [this, positions](size_t begin, size_t end) {
            for (size_t i = begin; i < end; ++i) {
                const Vec3 *v = positions + 3 * i;
                const Vec3 lo = vmin(v[0], vmin(v[1], v[2])), hi = vmax(v[0], vmax(v[1], v[2]));
                PrimRef &r = m_refs[i];
                const uint32_t id = uint32_t(i);
                for (int a = 0; a < 3; ++a) {
                    r.lo[a] = lo[a];
                    r.hi[a] = hi[a];
                }
                std::memcpy(&r.lo[3], &id, sizeof id);
                r.hi[3] = 0.f;
            }
        };
        if (count >= kParallelThreshold && threads > 1) { // halves on two threads
            std::thread half(fill, size_t(0), count / 2);
            fill(count / 2, count);
            half.join();
        } else {
            fill(0, count);
        }
    }

    Bvh run()
    {
        Bvh bvh;
        if (m_refs.empty())
            return bvh;
        const Bounds all = boundsOf(0, uint32_t(m_refs.size()));
        build(0, 0, uint32_t(m_refs.size()), 0, all);
        const size_t nodes = m_nextNode.load();
        bvh.nodes.reserve(nodes);
        adviseHugePages(bvh.nodes.data(), nodes * sizeof(BvhNode));
        bvh.nodes.assign(m_nodes.get(), m_nodes.get() + nodes);
        resizeHuge(bvh.primIds, m_refs.size());
        for (size_t i = 0; i < m_refs.size(); ++i)
            bvh.primIds[i] = m_refs[i].id();
        return bvh;
    }

private:
    /// A range's primitive box and centroid box, the centroids doubled (lo + hi: halved once
    /// per node instead of once per primitive).
    struct Bounds
    {
        Box4 box;
        Box4 centroids2;

        void add(const PrimRef &r)
        {
            box.grow(r.lo, r.hi);
            alignas(16) float c[4];
#if defined(__SSE2__)
            const __m128 xyz = _mm_castsi128_ps(_mm_setr_epi32(-1, -1, -1, 0)); // not the id
            _mm_store_ps(c, _mm_add_ps(_mm_and_ps(_mm_load_ps(r.lo), xyz),
                                       _mm_and_ps(_mm_load_ps(r.hi), xyz)));
#else
            for (int k = 0; k < 4; ++k)
                c[k] = r.lo[k] + r.hi[k];
#endif
            centroids2.grow(c, c);
        }
    };

    Bounds boundsOf(uint32_t begin, uint32_t end) const
    {
        Bounds b;
        for (uint32_t i = begin; i < end; ++i)
            b.add(m_refs[i]);
        return b;
    }

    /// Partitions [begin, end) by `goesLeft` and returns where the right side starts. Hoare's
    /// scheme: the k-th primitive from the left that belongs right trades places with the k-th
    /// from the right that belongs left, for as long as the first lies before the second (the
    /// order within the sides, and so the leaves' order, is this scheme's). Big ranges find
    /// those primitives a block of kPartitionBlock at a time without a branch per primitive
    /// (the test's outcome is random near the top of the tree: a mispredicted branch each
    /// other primitive), then trade them pair by pair in the same order, and finish the middle
    /// one by one; their sides' bounds are one more pass. Small ranges grow the bounds on the
    /// way.
    template<typename Pred>
    uint32_t partition(uint32_t begin, uint32_t end, Pred goesLeft, Bounds &left, Bounds &right)
    {
        PrimRef *l = m_refs.data() + begin, *r = m_refs.data() + end;
        if (end - begin < 2 * kPartitionBlock) {
            for (;;) {
                while (l < r && goesLeft(*l))
                    left.add(*l++);
                while (l < r && !goesLeft(r[-1]))
                    right.add(*--r);
                if (l >= r)
                    break;
                std::swap(*l, r[-1]);
                left.add(*l++);
                right.add(*--r);
            }
            return uint32_t(l - m_refs.data());
        }
        // [l, r): not looked at yet. The left block starts at blockL, the right one ends at
        // blockR; their misplaced primitives' offsets wait in [first, count) of offL / offR.
        uint8_t offL[kPartitionBlock], offR[kPartitionBlock];
        uint32_t firstL = 0, countL = 0, firstR = 0, countR = 0;
        PrimRef *blockL = l, *blockR = r;
        while (r - l >= 2 * std::ptrdiff_t(kPartitionBlock)) {
            if (firstL == countL) {
                firstL = countL = 0;
                blockL = l;
                for (uint32_t i = 0; i < kPartitionBlock; ++i) {
                    offL[countL] = uint8_t(i);
                    countL += goesLeft(l[i]) ? 0u : 1u;
                }
                l += kPartitionBlock;
            }
            if (firstR == countR) {
                firstR = countR = 0;
                blockR = r;
                for (uint32_t i = 0; i < kPartitionBlock; ++i) {
                    offR[countR] = uint8_t(i);
                    countR += goesLeft(r[-1 - std::ptrdiff_t(i)]) ? 1u : 0u;
                }
                r -= kPartitionBlock;
            }
            const uint32_t pairs = std::min(countL - firstL, countR - firstR);
            for (uint32_t k = 0; k < pairs; ++k)
                std::swap(blockL[offL[firstL + k]], blockR[-1 - std::ptrdiff_t(offR[firstR + k])]);
            firstL += pairs;
            firstR += pairs;
        }
        // Resume one by one at the first misplaced primitive not traded yet (at most one side
        // has any; the other side's blocks are all in place).
        if (firstL < countL)
            l = blockL + offL[firstL];
        if (firstR < countR)
            r = blockR - offR[firstR];
        for (;;) {
            while (l < r && goesLeft(*l))
                ++l;
            while (l < r && !goesLeft(r[-1]))
                --r;
            if (l >= r)
                break;
            std::swap(*l, r[-1]);
            ++l;
            --r;
        }
        const uint32_t mid = uint32_t(l - m_refs.data());
        left = boundsOf(begin, mid);
        right = boundsOf(mid, end);
        return mid;
    }

    void build(uint32_t nodeIndex, uint32_t begin, uint32_t end, int depth, const Bounds &in)
    {
        const Box4 &bounds = in.box;
        Box4 centroidBounds = in.centroids2;
        for (int a = 0; a < 3; ++a) {
            centroidBounds.lo[a] *= 0.5f;
            centroidBounds.hi[a] *= 0.5f;
        }
        BvhNode &node = m_nodes[nodeIndex];
        for (int a = 0; a < 3; ++a) {
            node.lo[a] = bounds.lo[a];
            node.hi[a] = bounds.hi[a];
        }
        const uint32_t count = end - begin;
        auto makeLeaf = [&] {
            node.first = begin;
            node.count = count;
        };
        if (count == 1 || depth >= m_options.maxDepth)
            return makeLeaf();

        const Split split = findSplit(begin, end, centroidBounds);
        // Costs in units of one triangle test; leaves are tested eight triangles at a time.
        const float leafCost = float((count + kPacketWidth - 1) / kPacketWidth) * kPacketCost;
        const float splitCost =
            m_options.traversalCost + split.cost / std::max(bounds.halfArea(), 1e-30f);
        if (count <= uint32_t(m_options.maxLeafSize) && (split.axis < 0 || splitCost >= leafCost))
            return makeLeaf();

        uint32_t mid = begin + count / 2;
        Bounds leftBounds, rightBounds;
        if (split.axis >= 0) {
            const int axis = split.axis;
            const float lo = centroidBounds.lo[axis];
            const float scale = kBins / (centroidBounds.hi[axis] - lo);
            mid = partition(
                begin, end,
                [&](const PrimRef &r) { return binOf(r.centroid(axis), lo, scale) <= split.bin; },
                leftBounds, rightBounds);
        }
        if (split.axis < 0 || mid == begin || mid == end) {
            // No usable split (coincident centroids): halve.
            mid = begin + count / 2;
            leftBounds = boundsOf(begin, mid);
            rightBounds = boundsOf(mid, end);
        }

        const uint32_t left = m_nextNode.fetch_add(2);
        node.first = left;
        node.count = 0;
        if (count >= kParallelThreshold && takeThread()) {
            std::thread worker([=, this] { build(left, begin, mid, depth + 1, leftBounds); });
            build(left + 1, mid, end, depth + 1, rightBounds);
            worker.join();
            m_spareThreads.fetch_add(1);
        } else {
            build(left, begin, mid, depth + 1, leftBounds);
            build(left + 1, mid, end, depth + 1, rightBounds);
        }
    }

    /// Best binned SAH split over all three axes, binned in one pass over the primitives.
    Split findSplit(uint32_t begin, uint32_t end, const Box4 &centroidBounds) const
    {
        Bin bins[3][kBins];
        float lo[3], scale[3];
        bool usable[3];
        for (int a = 0; a < 3; ++a) {
            lo[a] = centroidBounds.lo[a];
            const float extent = centroidBounds.hi[a] - lo[a];
            usable[a] = extent > 0.f;
            scale[a] = usable[a] ? kBins / extent : 0.f;
        }
#if defined(__SSE2__)
        // The three bin indices at once, with binOf's arithmetic: ((lo + hi) * 0.5 - lo) * scale,
        // clamped to [0, kBins - 1] in float before truncating (same result as clamping after).
        const __m128 lo4 = _mm_setr_ps(lo[0], lo[1], lo[2], 0.f);
        const __m128 scale4 = _mm_setr_ps(scale[0], scale[1], scale[2], 0.f);
        const __m128 half = _mm_set1_ps(0.5f), zero = _mm_setzero_ps();
        const __m128 maxBin = _mm_set1_ps(float(kBins - 1));
        const __m128 xyzMask = _mm_castsi128_ps(_mm_setr_epi32(-1, -1, -1, 0));
        for (uint32_t i = begin; i < end; ++i) {
            const PrimRef &r = m_refs[i];
            const __m128 rlo = _mm_load_ps(r.lo), rhi = _mm_load_ps(r.hi);
            // Lane 3 holds the id's bits (a denormal as a float: slow arithmetic): zero it.
            const __m128 c =
                _mm_mul_ps(_mm_add_ps(_mm_and_ps(rlo, xyzMask), _mm_and_ps(rhi, xyzMask)), half);
            const __m128 f =
                _mm_min_ps(_mm_max_ps(_mm_mul_ps(_mm_sub_ps(c, lo4), scale4), zero), maxBin);
            alignas(16) int32_t index[4];
            _mm_store_si128(reinterpret_cast<__m128i *>(index), _mm_cvttps_epi32(f));
            for (int a = 0; a < 3; ++a) {
                Bin &b = bins[a][index[a]];
                _mm_store_ps(b.box.lo, _mm_min_ps(_mm_load_ps(b.box.lo), rlo));
                _mm_store_ps(b.box.hi, _mm_max_ps(_mm_load_ps(b.box.hi), rhi));
                ++b.count;
            }
        }
#else
        for (uint32_t i = begin; i < end; ++i) {
            const PrimRef &r = m_refs[i];
            for (int a = 0; a < 3; ++a) {
                Bin &b = bins[a][binOf(r.centroid(a), lo[a], scale[a])];
                b.box.grow(r.lo, r.hi);
                ++b.count;
            }
        }
#endif
        Split best;
        for (int axis = 0; axis < 3; ++axis) {
            if (!usable[axis])
                continue;
            // Empty bins (most of them in small nodes) change neither the box nor the count:
            // their costs are those of the next bin that is not (right) or skipped (left: a
            // split after an empty bin costs exactly what the split before it does, which was
            // seen first and wins the tie). So both sweeps visit only the bins in `used`.
            uint32_t used = 0;
            for (int b = 0; b < kBins; ++b)
                used |= uint32_t(bins[axis][b].count != 0) << b;
            // rightCost[b] for the bins in `used` (b > 0): the bins from b up.
            float rightCost[kBins];
            Box4 acc;
            uint32_t n = 0;
            for (uint32_t rest = used & ~1u; rest;) {
                const int b = int(std::bit_width(rest)) - 1;
                rest &= ~(1u << b);
                acc.grow(bins[axis][b].box);
                n += bins[axis][b].count;
                rightCost[b] = acc.halfArea() * float(n);
            }
            // The cost of the bins above b: that of the first used one, 0 when none is.
            const auto costAbove = [&](int b) {
                const uint32_t above = b + 1 < kBins ? used >> (b + 1) : 0u;
                return above ? rightCost[b + 1 + std::countr_zero(above)] : 0.f;
            };
            acc = Box4();
            n = 0;
            // Bin 0 always (a split there may have nothing on its left), then the used ones
            // below the last bin, in increasing order.
            for (uint32_t rest = (used | 1u) & ((1u << (kBins - 1)) - 1u); rest;) {
                const int b = std::countr_zero(rest);
                rest &= rest - 1u;
                acc.grow(bins[axis][b].box);
                n += bins[axis][b].count;
                const float cost = (n ? acc.halfArea() * float(n) : 0.f) + costAbove(b);
                if (cost < best.cost)
                    best = Split{axis, b, cost};
            }
        }
        return best;
    }

    bool takeThread()
    {
        int spare = m_spareThreads.load();
        while (spare > 0) {
            if (m_spareThreads.compare_exchange_weak(spare, spare - 1))
                return true;
        }
        return false;
    }

    BvhBuildOptions m_options;
    std::vector<PrimRef> m_refs;
    std::unique_ptr<BvhNode[]> m_nodes;
    std::atomic<uint32_t> m_nextNode{1};
    std::atomic<int> m_spareThreads{0};
};

} // namespace

void adviseHugePages(const void *data, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    constexpr uintptr_t kHuge = uintptr_t(2) << 20;
    if (bytes < 2 * kHuge)
        return;
    // Whole huge pages inside the range only: the advice applies to the pages it names.
    const uintptr_t begin = (uintptr_t(data) + kHuge - 1) & ~(kHuge - 1);
    const uintptr_t end = (uintptr_t(data) + bytes) & ~(kHuge - 1);
    if (end > begin)
        madvise(reinterpret_cast<void *>(begin), end - begin,
                MADV_HUGEPAGE); // a hint: ignore errors
#else
    (void)data;
    (void)bytes;
#endif
}

Bvh buildBvh(const Vec3 *positions, size_t triangleCount, const BvhBuildOptions &options)
{
    return Builder(positions, triangleCount, options).run();
}

} // namespace farm::render
