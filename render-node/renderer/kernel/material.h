#pragma once

#include "kernel/vecmath.h"

namespace farm::render {

/// A decoded texture: linear RGBA floats, row-major, top row first.
struct TextureView
{
    const float *texels = nullptr;
    int width = 0;
    int height = 0;
};

/// glTF metallic-roughness material. The base colour factor (times vertex colour) lives in the
/// per-vertex albedo array; textures multiply it. Texture indices are -1 when absent.
struct Material
{
    float metallic = 0.f;
    float roughness = 0.5f;
    Vec3 emissive{0.f};
    int baseColorTexture = -1;
    int metallicRoughnessTexture = -1; // glTF: roughness in G, metallic in B
    int emissiveTexture = -1;
    int normalTexture = -1; // tangent-space normal map (needs uvs and tangents)
    float normalScale = 1.f;
    // glTF alphaMode MASK: hits where baseAlpha x base colour texture alpha < alphaCutoff are
    // ignored by every ray (cut-out leaves, fences). Negative: opaque (OPAQUE and BLEND).
    float alphaCutoff = -1.f;
    float baseAlpha = 1.f; // alpha of the base colour factor
    // glTF alphaMode BLEND: a surface of coverage alpha = baseAlpha x texture alpha, rendered by
    // stochastic transparency (integrator.h); false: opaque or masked.
    bool alphaBlend = false;
};

/// Bilinear lookup with repeat wrapping (glTF's default sampler).
FARM_KERNEL void sampleTexture(const TextureView &t, float u, float v, float out[4])
{
    if (!t.texels || t.width <= 0 || t.height <= 0 || !isfinite(u) || !isfinite(v)) {
        out[0] = out[1] = out[2] = out[3] = 1.f;
        return;
    }
    const float x = (u - floorf(u)) * float(t.width) - 0.5f;
    const float y = (v - floorf(v)) * float(t.height) - 0.5f;
    const float fx = floorf(x), fy = floorf(y);
    const float ax = x - fx, ay = y - fy;
    int x0 = int(fx) % t.width, y0 = int(fy) % t.height;
    if (x0 < 0)
        x0 += t.width;
    if (y0 < 0)
        y0 += t.height;
    const int x1 = (x0 + 1) % t.width, y1 = (y0 + 1) % t.height;
    const float *p00 = t.texels + 4 * (size_t(y0) * size_t(t.width) + size_t(x0));
    const float *p10 = t.texels + 4 * (size_t(y0) * size_t(t.width) + size_t(x1));
    const float *p01 = t.texels + 4 * (size_t(y1) * size_t(t.width) + size_t(x0));
    const float *p11 = t.texels + 4 * (size_t(y1) * size_t(t.width) + size_t(x1));
    for (int c = 0; c < 4; ++c) {
        const float top = p00[c] + (p10[c] - p00[c]) * ax;
        const float bottom = p01[c] + (p11[c] - p01[c]) * ax;
        out[c] = top + (bottom - top) * ay;
    }
}

} // namespace farm::render
