// collapseBvh: binary SAH tree -> 4-wide nodes and triangle packets.
#include "widebvh.h"

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
        m_out.packets.reserve(m_view.triangleCount / 4 + 1); // the least packets possible
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
        uint32_t children[4] = {n.first, n.first + 1, 0, 0}; // no heap: one call per node
        size_t size = 2;
        while (size < 4) {
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
        for (int i = 0; i < 4; ++i) {
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
                node.count[i] = makePackets(c.first, c.count);
            } else {
                node.child[i] = collapse(children[i]);
            }
        }
        m_out.nodes[me] = node;
    }

    uint32_t makePackets(uint32_t first, uint32_t count)
    {
        uint32_t packets = 0;
        for (uint32_t base = 0; base < count; base += 4, ++packets) {
            TrianglePacket p{};
            p.count = std::min(4u, count - base);
            for (uint32_t lane = 0; lane < 4; ++lane) {
                // Unused lanes repeat the last triangle; the lane mask keeps them out.
                const uint32_t slot = first + base + std::min(lane, p.count - 1);
                p.slot[lane] = slot;
                for (int k = 0; k < 3; ++k)
                    for (int a = 0; a < 3; ++a)
                        p.v[k][a][lane] = m_view.positions[3 * slot + k][a];
            }
            m_out.packets.push_back(p);
        }
        return packets;
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
