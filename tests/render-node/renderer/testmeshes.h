#pragma once

// Procedural meshes for the renderer tests.
#include "scene.h"

#include <array>
#include <cmath>
#include <map>
#include <utility>
#include <vector>

namespace farm::render::test {

/// Closed, convex icosphere around the origin: shared vertices, consistent winding.
struct IndexedMesh
{
    std::vector<Vec3> vertices;
    std::vector<std::array<uint32_t, 3>> faces;

    TriangleMesh toTriangles(Vec3 albedo = Vec3(0.7f)) const
    {
        TriangleMesh m;
        for (const auto &f : faces) {
            for (uint32_t i : f) {
                m.positions.push_back(vertices[i]);
                m.normals.push_back(normalize(vertices[i]));
                m.albedo.push_back(albedo);
            }
        }
        return m;
    }
};

inline IndexedMesh icosphere(int subdivisions, float radius = 1.f)
{
    const float t = (1.f + std::sqrt(5.f)) / 2.f;
    IndexedMesh m;
    m.vertices = {{-1, t, 0},  {1, t, 0},  {-1, -t, 0}, {1, -t, 0}, {0, -1, t},  {0, 1, t},
                  {0, -1, -t}, {0, 1, -t}, {t, 0, -1},  {t, 0, 1},  {-t, 0, -1}, {-t, 0, 1}};
    m.faces = {{0, 11, 5},  {0, 5, 1},  {0, 1, 7},  {0, 7, 10}, {0, 10, 11}, {1, 5, 9}, {5, 11, 4},
               {11, 10, 2}, {10, 7, 6}, {7, 1, 8},  {3, 9, 4},  {3, 4, 2},   {3, 2, 6}, {3, 6, 8},
               {3, 8, 9},   {4, 9, 5},  {2, 4, 11}, {6, 2, 10}, {8, 6, 7},   {9, 8, 1}};
    for (auto &v : m.vertices)
        v = normalize(v);
    for (int s = 0; s < subdivisions; ++s) {
        std::map<std::pair<uint32_t, uint32_t>, uint32_t> midpoints;
        auto mid = [&](uint32_t a, uint32_t b) {
            const auto key = std::minmax(a, b);
            const auto it = midpoints.find(key);
            if (it != midpoints.end())
                return it->second;
            m.vertices.push_back(normalize(m.vertices[a] + m.vertices[b]));
            const uint32_t id = uint32_t(m.vertices.size() - 1);
            midpoints[key] = id;
            return id;
        };
        std::vector<std::array<uint32_t, 3>> next;
        for (const auto &f : m.faces) {
            const uint32_t ab = mid(f[0], f[1]), bc = mid(f[1], f[2]), ca = mid(f[2], f[0]);
            next.push_back({f[0], ab, ca});
            next.push_back({f[1], bc, ab});
            next.push_back({f[2], ca, bc});
            next.push_back({ab, bc, ca});
        }
        m.faces = std::move(next);
    }
    for (auto &v : m.vertices)
        v = v * radius;
    return m;
}

} // namespace farm::render::test
