// collapseBvh: binary SAH tree -> 8-wide nodes and triangle packets of eight.
#include "widebvh.h"

#include "bvhbuilder.h"

#include <algorithm>

namespace farm::render {
namespace {

float halfArea(const BvhNode &n)
{
    const float dx = n.hi[0] - n.lo[0], dy = n.hi[1] - n.lo[1], dz = n.hi[2] - n.lo[2];
    return dx * dy + dy * dz + dz * dx;
}

class Collapser
{
public:
    explicit Collapser(const SceneView &view)
        : m_view(view)
    {}

    WideBvh run()
    {
        if (m_view.nodeCount == 0)
            return {};
        m_out.nodes.reserve(m_view.nodeCount / 2 + 1);
        size_t packets = 0; // exactly: no reallocation (copying) while collapsing
        for (uint32_t i = 0; i < m_view.nodeCount; ++i)
            packets += (m_view.nodes[i].count + kWideLanes - 1) / kWideLanes;
        m_out.packets.reserve(packets);
        adviseHugePages(m_out.packets.data(), packets * sizeof(TrianglePacket));
        const BvhNode &root = m_view.nodes[0];
        if (root.count > 0) { // a single leaf: wrap it so traversal always starts at a node
            m_out.nodes.emplace_back();
            const uint32_t only[1] = {0u};
            fill(0, only, 1);
        } else {
            collapse(0);
        }
        return std::move(m_out);
    }

private:
    /// Builds the wide node for binary interior node `index`; returns its position.
    uint32_t collapse(uint32_t index)
    {
        const BvhNode &n = m_view.nodes[index];
        uint32_t children[kWideLanes] = {n.first, n.first + 1}; // no heap: one call per node
        size_t size = 2;
        while (size < kWideLanes) {
            // Open the interior child with the largest surface: it is the likeliest to be hit.
            int best = -1;
            float bestArea = -1.f;
            for (size_t i = 0; i < size; ++i) {
                const BvhNode &c = m_view.nodes[children[i]];
                if (c.count == 0 && halfArea(c) > bestArea) {
                    bestArea = halfArea(c);
                    best = int(i);
                }
            }
            if (best < 0)
                break;
            const uint32_t opened = children[size_t(best)];
            children[size_t(best)] = m_view.nodes[opened].first;
            children[size++] = m_view.nodes[opened].first + 1;
        }
        const uint32_t me = uint32_t(m_out.nodes.size());
        m_out.nodes.emplace_back();
        fill(me, children, size);
        return me;
    }

    void fill(uint32_t me, const uint32_t *children, size_t size)
    {
        WideNode node;
        for (int i = 0; i < kWideLanes; ++i) {
            for (int a = 0; a < 3; ++a) {
                node.box[2 * a][i] = kInfinity; // empty slot: a box no ray can enter
                node.box[2 * a + 1][i] = -kInfinity;
            }
            node.child[i] = WideNode::kEmpty;
            node.count[i] = 0;
        }
        for (size_t i = 0; i < size; ++i) {
            const BvhNode &c = m_view.nodes[children[i]];
            for (int a = 0; a < 3; ++a) {
                node.box[2 * a][i] = c.lo[a];
                node.box[2 * a + 1][i] = c.hi[a];
            }
            if (c.count > 0) {
                node.child[i] = uint32_t(m_out.packets.size());
                makePackets(c.first, c.count);
                node.count[i] = c.count;
            } else {
                node.child[i] = collapse(children[i]);
            }
        }
        m_out.nodes[me] = node;
    }

    void makePackets(uint32_t first, uint32_t count)
    {
        for (uint32_t base = 0; base < count; base += kWideLanes) {
            TrianglePacket &p = m_out.packets.emplace_back();
            const uint32_t used = std::min(uint32_t(kWideLanes), count - base);
            for (uint32_t lane = 0; lane < kWideLanes; ++lane) {
                // Unused lanes repeat the last triangle; the lane mask keeps them out.
                const uint32_t slot = first + base + std::min(lane, used - 1);
                p.slot[lane] = slot;
                for (int k = 0; k < 3; ++k)
                    for (int a = 0; a < 3; ++a)
                        p.v[k][a][lane] = m_view.positions[3 * slot + k][a];
            }
        }
    }

    const SceneView &m_view;
    WideBvh m_out;
};

} // namespace

WideBvh collapseBvh(const SceneView &view)
{
    return Collapser(view).run();
}

} // namespace farm::render
