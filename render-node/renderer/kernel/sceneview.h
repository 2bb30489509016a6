#pragma once

#include "kernel/material.h"
#include "kernel/triangle.h"

namespace farm::render {

/// Binary BVH node, 32 bytes. Interior nodes (count == 0) keep their two children side by side
/// at `first` and `first + 1`; leaves hold `count` triangles starting at slot `first`.
struct BvhNode
{
    float lo[3];
    uint32_t first;
    float hi[3];
    uint32_t count;
};

/// Everything the kernels read, as raw arrays (host or device memory), triangles in BVH order.
struct SceneView
{
    const BvhNode *nodes = nullptr;
    const Vec3 *positions = nullptr;   // 3 per triangle
    const Vec3 *normals = nullptr;     // 3 per triangle, unit length
    const Vec3 *albedo = nullptr;      // 3 per triangle, linear base colour (times vertex colour)
    const uint32_t *primIds = nullptr; // original triangle index of each BVH slot
    const float *uvs = nullptr;        // 2 floats per vertex (3 vertices per triangle), or null
    const Vec3 *tangents = nullptr;    // per vertex, or null (no normal maps)
    const float *tangentSigns = nullptr;
    const uint32_t *materialIds = nullptr; // per triangle, index into materials
    const Material *materials = nullptr;
    const TextureView *textures = nullptr;
    uint32_t materialCount = 0;
    uint32_t textureCount = 0;
    uint32_t nodeCount = 0;
    uint32_t triangleCount = 0;
    Vec3 center;
    float radius = 1.f;
    float epsilon = 1e-5f;     // offset for secondary ray origins, scaled to the scene
    bool alphaMasked = false;  // some material has alphaCutoff >= 0 (else no per-hit test)
    bool alphaBlended = false; // some material is glTF BLEND (integrator.h: stochastic see-through)
    const uint32_t *instanceIds = nullptr; // per BVH slot: mesh instance (instance pass), or null
    // Emissive triangles for light sampling (emitters.h): BVH slots, the cumulative pick
    // probability of each (last = 1), and per slot the area pdf of a sampled point (0: dark).
    const uint32_t *lightSlots = nullptr;
    const float *lightCdf = nullptr;
    const float *lightAreaPdf = nullptr; // triangleCount entries, or null without emitters
    uint32_t lightCount = 0;
};

/// Any-hit test for glTF alpha masks: whether a hit at barycentrics (b1, b2) on BVH slot `slot`
/// lands on a cut-out part of its material (alpha below the cutoff) and must be ignored.
FARM_HOST_DEVICE inline bool alphaCutOut(const SceneView &scene, uint32_t slot, float b1, float b2)
{
    if (!scene.alphaMasked || !scene.materialIds || !scene.materials)
        return false;
    const uint32_t id = scene.materialIds[slot];
    if (id >= scene.materialCount)
        return false;
    const Material &m = scene.materials[id];
    if (!(m.alphaCutoff >= 0.f))
        return false;
    float alpha = m.baseAlpha;
    if (scene.uvs && scene.textures && m.baseColorTexture >= 0 &&
        uint32_t(m.baseColorTexture) < scene.textureCount) {
        // Same interpolation as the shading code in integrator.h.
        const float b0 = 1.f - b1 - b2;
        const float *uv = scene.uvs + 6 * size_t(slot);
        const float u = uv[0] * b0 + uv[2] * b1 + uv[4] * b2;
        const float w = uv[1] * b0 + uv[3] * b1 + uv[5] * b2;
        float texel[4];
        sampleTexture(scene.textures[m.baseColorTexture], u, w, texel);
        alpha *= texel[3];
    }
    return alpha < m.alphaCutoff;
}

constexpr int kTraversalStack = 64;

/// Closest hit along the ray. Equal distances resolve to the lower original triangle index, so
/// the answer does not depend on traversal order (the BVH tests compare it with brute force) --
/// except between coincident triangles: intersectTriangle's no-division check against the
/// current distance can turn away a copy at exactly that distance, and the copy met first wins.
FARM_HOST_DEVICE inline Hit intersectClosest(const SceneView &scene, const Ray &ray)
{
    Hit hit;
    hit.t = ray.tMax;
    if (scene.nodeCount == 0)
        return hit;
    const PreparedRay r(ray);
    uint32_t stack[kTraversalStack];
    int top = 0;
    uint32_t nodeIndex = 0;
    if (intersectBox(r, scene.nodes[0].lo, scene.nodes[0].hi, hit.t) < 0.f)
        return hit;
    for (;;) {
        const BvhNode &node = scene.nodes[nodeIndex];
        if (node.count > 0) {
            for (uint32_t i = node.first; i < node.first + node.count; ++i) {
                float t, b1, b2;
                const Vec3 *v = scene.positions + 3 * i;
                if (!intersectTriangle(r, v[0], v[1], v[2], hit.t, t, b1, b2))
                    continue;
                if (t == hit.t && hit.valid() && scene.primIds[i] > scene.primIds[hit.prim])
                    continue;
                if (alphaCutOut(scene, i, b1, b2))
                    continue;
                hit.t = t;
                hit.b1 = b1;
                hit.b2 = b2;
                hit.prim = i;
            }
        } else {
            const uint32_t left = node.first;
            const float tl = intersectBox(r, scene.nodes[left].lo, scene.nodes[left].hi, hit.t);
            const float tr =
                intersectBox(r, scene.nodes[left + 1].lo, scene.nodes[left + 1].hi, hit.t);
            if (tl >= 0.f && tr >= 0.f) {
                const bool leftFirst = tl <= tr;
                if (top < kTraversalStack)
                    stack[top++] = leftFirst ? left + 1 : left;
                nodeIndex = leftFirst ? left : left + 1;
                continue;
            }
            if (tl >= 0.f) {
                nodeIndex = left;
                continue;
            }
            if (tr >= 0.f) {
                nodeIndex = left + 1;
                continue;
            }
        }
        if (top == 0)
            break;
        nodeIndex = stack[--top];
    }
    return hit;
}

/// Whether anything lies along the ray before tMax (shadow and visibility rays).
FARM_HOST_DEVICE inline bool intersectAny(const SceneView &scene, const Ray &ray)
{
    if (scene.nodeCount == 0)
        return false;
    const PreparedRay r(ray);
    uint32_t stack[kTraversalStack];
    int top = 0;
    stack[top++] = 0;
    while (top > 0) {
        const BvhNode &node = scene.nodes[stack[--top]];
        if (intersectBox(r, node.lo, node.hi, ray.tMax) < 0.f)
            continue;
        if (node.count > 0) {
            for (uint32_t i = node.first; i < node.first + node.count; ++i) {
                float t, b1, b2;
                const Vec3 *v = scene.positions + 3 * i;
                if (intersectTriangle(r, v[0], v[1], v[2], ray.tMax, t, b1, b2) &&
                    !alphaCutOut(scene, i, b1, b2))
                    return true;
            }
        } else if (top + 2 <= kTraversalStack) {
            stack[top++] = node.first + 1;
            stack[top++] = node.first;
        }
    }
    return false;
}

/// Tracer over the binary BVH, for the integrator templates (used by the CUDA backend; the CPU
/// backend uses the 8-wide WideTracer with the same answers).
struct BinaryTracer
{
    SceneView scene;

    FARM_HOST_DEVICE Hit closest(const Ray &ray) const { return intersectClosest(scene, ray); }
    FARM_HOST_DEVICE bool occluded(const Ray &ray) const { return intersectAny(scene, ray); }
};

} // namespace farm::render
