#pragma once

#include "kernel/hostdevice.h"

#include <math.h>
#include <stdint.h>

namespace farm::render {

constexpr float kPi = 3.14159265358979323846f;
constexpr float kInfinity = 3.402823466e+38f; // FLT_MAX: finite, so 0 * kInfinity stays 0

FARM_KERNEL float minf(float a, float b)
{
    return a < b ? a : b;
}
FARM_KERNEL float maxf(float a, float b)
{
    return a > b ? a : b;
}
FARM_KERNEL float clampf(float v, float lo, float hi)
{
    return minf(maxf(v, lo), hi);
}

struct Vec3
{
    float x = 0.f, y = 0.f, z = 0.f;

    Vec3() = default;
    FARM_KERNEL constexpr Vec3(float ax, float ay, float az)
        : x(ax)
        , y(ay)
        , z(az)
    {}
    FARM_KERNEL explicit constexpr Vec3(float v)
        : x(v)
        , y(v)
        , z(v)
    {}

    FARM_KERNEL float operator[](int i) const { return i == 0 ? x : (i == 1 ? y : z); }
    FARM_KERNEL float &operator[](int i) { return i == 0 ? x : (i == 1 ? y : z); }
};

FARM_KERNEL Vec3 operator+(Vec3 a, Vec3 b)
{
    return {a.x + b.x, a.y + b.y, a.z + b.z};
}
FARM_KERNEL Vec3 operator-(Vec3 a, Vec3 b)
{
    return {a.x - b.x, a.y - b.y, a.z - b.z};
}
FARM_KERNEL Vec3 operator-(Vec3 a)
{
    return {-a.x, -a.y, -a.z};
}
FARM_KERNEL Vec3 operator*(Vec3 a, Vec3 b)
{
    return {a.x * b.x, a.y * b.y, a.z * b.z};
}
FARM_KERNEL Vec3 operator*(Vec3 a, float s)
{
    return {a.x * s, a.y * s, a.z * s};
}
FARM_KERNEL Vec3 operator*(float s, Vec3 a)
{
    return {a.x * s, a.y * s, a.z * s};
}
FARM_KERNEL Vec3 operator/(Vec3 a, float s)
{
    return a * (1.f / s);
}
FARM_KERNEL Vec3 &operator+=(Vec3 &a, Vec3 b)
{
    a = a + b;
    return a;
}
FARM_KERNEL Vec3 &operator*=(Vec3 &a, Vec3 b)
{
    a = a * b;
    return a;
}

FARM_KERNEL float dot(Vec3 a, Vec3 b)
{
    return a.x * b.x + a.y * b.y + a.z * b.z;
}
FARM_KERNEL Vec3 cross(Vec3 a, Vec3 b)
{
    return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
FARM_KERNEL float length(Vec3 a)
{
    return sqrtf(dot(a, a));
}
FARM_KERNEL Vec3 normalize(Vec3 a)
{
    const float len = length(a);
    return len > 0.f ? a / len : Vec3(0.f, 0.f, 1.f);
}
FARM_KERNEL Vec3 vmin(Vec3 a, Vec3 b)
{
    return {minf(a.x, b.x), minf(a.y, b.y), minf(a.z, b.z)};
}
FARM_KERNEL Vec3 vmax(Vec3 a, Vec3 b)
{
    return {maxf(a.x, b.x), maxf(a.y, b.y), maxf(a.z, b.z)};
}
FARM_KERNEL Vec3 vabs(Vec3 a)
{
    return {fabsf(a.x), fabsf(a.y), fabsf(a.z)};
}
FARM_KERNEL float maxComponent(Vec3 a)
{
    return maxf(a.x, maxf(a.y, a.z));
}
FARM_KERNEL int maxDimension(Vec3 a)
{
    return (a.x > a.y) ? (a.x > a.z ? 0 : 2) : (a.y > a.z ? 1 : 2);
}
FARM_KERNEL bool isFinite(Vec3 a)
{
    return isfinite(a.x) && isfinite(a.y) && isfinite(a.z);
}
FARM_KERNEL Vec3 lerp(Vec3 a, Vec3 b, float t)
{
    return a * (1.f - t) + b * t;
}

/// Right-handed orthonormal basis around a unit vector n (Duff et al. 2017, branchless).
FARM_KERNEL void orthonormalBasis(Vec3 n, Vec3 &t, Vec3 &b)
{
    const float sign = copysignf(1.f, n.z);
    const float a = -1.f / (sign + n.z);
    const float c = n.x * n.y * a;
    t = Vec3(1.f + sign * n.x * n.x * a, sign * c, -sign * n.x);
    b = Vec3(c, sign + n.y * n.y * a, -n.y);
}

struct Aabb
{
    Vec3 lo{kInfinity};
    Vec3 hi{-kInfinity};

    FARM_KERNEL void grow(Vec3 p)
    {
        lo = vmin(lo, p);
        hi = vmax(hi, p);
    }
    FARM_KERNEL void grow(const Aabb &b)
    {
        lo = vmin(lo, b.lo);
        hi = vmax(hi, b.hi);
    }
    FARM_KERNEL bool valid() const { return lo.x <= hi.x && lo.y <= hi.y && lo.z <= hi.z; }
    FARM_KERNEL Vec3 extent() const { return hi - lo; }
    FARM_KERNEL Vec3 center() const { return (lo + hi) * 0.5f; }
    FARM_KERNEL float halfArea() const
    {
        if (!valid())
            return 0.f;
        const Vec3 e = extent();
        return e.x * e.y + e.y * e.z + e.z * e.x;
    }
};

struct Ray
{
    Vec3 origin;
    Vec3 dir;
    float tMax = kInfinity;
};

} // namespace farm::render
