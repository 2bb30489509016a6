#pragma once

// Equirectangular environment map with importance sampling by luminance x sin(theta)
// (pbrt's piecewise-constant 2D distribution): a marginal CDF over rows and one conditional CDF
// per row. Directions: +Y is up; u = 0.5 looks down -Z.

#include "kernel/vecmath.h"

namespace farm::render {

struct EnvironmentView
{
    const float *rgb = nullptr;            // width * height * 3, linear
    const float *marginalCdf = nullptr;    // height + 1 entries, 0 .. 1
    const float *conditionalCdf = nullptr; // height rows of width + 1 entries, 0 .. 1
    int width = 0;
    int height = 0;
    float intensity = 1.f;

    FARM_KERNEL bool valid() const { return rgb && width > 0 && height > 0; }

    FARM_KERNEL void toUv(Vec3 dir, float &u, float &v) const
    {
        u = atan2f(dir.x, -dir.z) * (0.5f / kPi) + 0.5f;
        v = acosf(clampf(dir.y, -1.f, 1.f)) / kPi;
    }

    FARM_KERNEL Vec3 fromUv(float u, float v) const
    {
        const float phi = (u - 0.5f) * 2.f * kPi, theta = v * kPi;
        const float s = sinf(theta);
        return Vec3(s * sinf(phi), cosf(theta), -s * cosf(phi));
    }

    FARM_KERNEL Vec3 texel(int x, int y) const
    {
        x = x < 0 ? 0 : (x >= width ? width - 1 : x);
        y = y < 0 ? 0 : (y >= height ? height - 1 : y);
        const float *p = rgb + 3 * (size_t(y) * size_t(width) + size_t(x));
        return Vec3(p[0], p[1], p[2]);
    }

    /// Radiance from direction `dir` (nearest texel: the pdf is piecewise constant the same way).
    FARM_KERNEL Vec3 radiance(Vec3 dir) const
    {
        float u, v;
        toUv(dir, u, v);
        return texel(int(u * float(width)), int(v * float(height))) * intensity;
    }

    /// Solid-angle density of sample() producing `dir`.
    FARM_KERNEL float pdf(Vec3 dir) const
    {
        float u, v;
        toUv(dir, u, v);
        const int y = clampIndex(int(v * float(height)), height);
        const int x = clampIndex(int(u * float(width)), width);
        const float pRow = (marginalCdf[y + 1] - marginalCdf[y]) * float(height);
        const float *row = conditionalCdf + size_t(y) * size_t(width + 1);
        const float pCol = (row[x + 1] - row[x]) * float(width);
        const float sinTheta = sinf(v * kPi);
        if (sinTheta <= 0.f)
            return 0.f;
        return pRow * pCol / (2.f * kPi * kPi * sinTheta);
    }

    /// Picks a direction proportionally to luminance x sin(theta); false if the map is black.
    FARM_KERNEL bool sample(float u1, float u2, Vec3 &dir, float &pdfOut) const
    {
        const int y = findInterval(marginalCdf, height, u1);
        const float r0 = marginalCdf[y], r1 = marginalCdf[y + 1];
        const float dv = r1 > r0 ? (u1 - r0) / (r1 - r0) : 0.5f;
        const float *row = conditionalCdf + size_t(y) * size_t(width + 1);
        const int x = findInterval(row, width, u2);
        const float c0 = row[x], c1 = row[x + 1];
        const float du = c1 > c0 ? (u2 - c0) / (c1 - c0) : 0.5f;
        const float u = (float(x) + clampf(du, 0.f, 0.9999f)) / float(width);
        const float v = (float(y) + clampf(dv, 0.f, 0.9999f)) / float(height);
        dir = fromUv(u, v);
        pdfOut = pdf(dir);
        return pdfOut > 0.f;
    }

private:
    FARM_KERNEL static int clampIndex(int i, int n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

    /// Largest i in [0, n) with cdf[i] <= value (cdf has n + 1 entries).
    FARM_KERNEL static int findInterval(const float *cdf, int n, float value)
    {
        int lo = 0, hi = n;
        while (hi - lo > 1) {
            const int mid = (lo + hi) / 2;
            if (cdf[mid] <= value)
                lo = mid;
            else
                hi = mid;
        }
        return lo;
    }
};

} // namespace farm::render
