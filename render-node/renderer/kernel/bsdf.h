#pragma once

// glTF 2.0 metallic-roughness BSDF (after the spec's appendix B): a Lambert base under a
// dielectric GGX coat (F0 = 0.04), blended with a GGX conductor tinted by the base colour as
// metallic grows. Sampling picks the diffuse or the specular lobe and samples the GGX distribution
// of visible normals (Heitz 2018); pdf() returns the combined one-sample density of both lobes.

#include "kernel/vecmath.h"

// The CPU build evaluates fixed sets of four directions with SSE (evalLocal4); nvcc never sees it.
#if defined(__SSE2__) && !defined(__CUDACC__)
#define FARM_BSDF_SSE 1
#include <emmintrin.h>
#endif

namespace farm::render {

/// Material parameters at a surface point (textures already applied).
struct BsdfParams
{
    Vec3 baseColor{0.7f};
    float metallic = 0.f;
    float roughness = 0.5f; // perceptual; alpha = roughness^2
};

FARM_KERNEL float luminance(Vec3 c)
{
    return 0.2126f * c.x + 0.7152f * c.y + 0.0722f * c.z;
}

FARM_KERNEL float dielectricFresnel(float cosTheta)
{
    const float m = clampf(1.f - cosTheta, 0.f, 1.f);
    return 0.04f + 0.96f * ((m * m) * (m * m) * m);
}

FARM_KERNEL Vec3 schlick(Vec3 f0, float cosTheta)
{
    const float m = clampf(1.f - cosTheta, 0.f, 1.f);
    const float m5 = (m * m) * (m * m) * m;
    return f0 + (Vec3(1.f) - f0) * m5;
}

/// sin and cos of 2 pi u for u in [0, 1) (a sampled azimuth): the quadrant from 4u, then Taylor
/// polynomials on [0, pi/2) (truncation below 6e-8, under float rounding of the result). About a
/// third of the cost of sincosf, whose general range reduction an azimuth never needs.
FARM_KERNEL void sinCos2Pi(float u, float &s, float &c)
{
    const float q4 = u * 4.f;
    int quadrant = int(q4);
    const float x = (q4 - float(quadrant)) * (0.5f * kPi);
    quadrant &= 3;
    const float x2 = x * x;
    const float sx =
        x * (1.f +
             x2 * (-1.f / 6.f +
                   x2 * (1.f / 120.f +
                         x2 * (-1.f / 5040.f + x2 * (1.f / 362880.f + x2 * (-1.f / 39916800.f))))));
    const float cx =
        1.f + x2 * (-0.5f + x2 * (1.f / 24.f +
                                  x2 * (-1.f / 720.f +
                                        x2 * (1.f / 40320.f + x2 * (-1.f / 3628800.f +
                                                                    x2 * (1.f / 479001600.f))))));
    // Rotate by the quadrant: sin(x + k pi/2), cos(x + k pi/2).
    s = quadrant == 0 ? sx : (quadrant == 1 ? cx : (quadrant == 2 ? -sx : -cx));
    c = quadrant == 0 ? cx : (quadrant == 1 ? -sx : (quadrant == 2 ? -cx : sx));
}

/// Shading frame: z is the shading normal.
struct Frame
{
    Vec3 t, b, n;
    FARM_KERNEL explicit Frame(Vec3 normal)
        : n(normal)
    {
        orthonormalBasis(normal, t, b);
    }
    FARM_KERNEL Vec3 toLocal(Vec3 v) const { return Vec3(dot(v, t), dot(v, b), dot(v, n)); }
    FARM_KERNEL Vec3 toWorld(Vec3 v) const { return t * v.x + b * v.y + n * v.z; }
};

class Bsdf
{
public:
    FARM_KERNEL Bsdf(const BsdfParams &p, Vec3 shadingNormal)
        : m_frame(shadingNormal)
    {
        m_base = vmin(vmax(p.baseColor, Vec3(0.f)), Vec3(1.f));
        m_metallic = clampf(p.metallic, 0.f, 1.f);
        const float r = clampf(p.roughness, 0.03f, 1.f);
        m_alpha = r * r;
        m_alpha2 = m_alpha * m_alpha;
        m_f0 = lerp(Vec3(0.04f), m_base, m_metallic);
        // Dielectric part: the diffuse base gets what the coat transmits on the way in and out,
        // renormalized by the coat's hemispherical average (Kelemen & Szirmay-Kalos 2001). It is
        // reciprocal, a white base reflects everything the coat does not, and unlike glTF's mix
        // by F(v.h) it never returns more than arrives at grazing angles.
        constexpr float kAverageCoat = 0.04f + 0.96f / 21.f; // 2 * integral of F(mu) mu dmu
        m_diffuse = m_base * ((1.f - m_metallic) / (kPi * (1.f - kAverageCoat)));
        m_diffuseLuminance = (1.f - m_metallic) * luminance(m_base);
    }

    /// Everything about the outgoing direction that eval and pdf share, computed once per
    /// vertex (bindOutgoing) instead of once per light sample.
    struct Outgoing
    {
        Vec3 wo; // local
        float lambda = 0.f;
        float coat = 0.f; // 1 - F(wo.z)
        float specularProbability = 0.f;
        float specularScale = 0.f; // G1(wo) / (4 wo.z): specular pdf = D(h) x this
        bool valid = false;
    };

    FARM_KERNEL Outgoing bindOutgoing(Vec3 woWorld) const
    {
        Outgoing o;
        o.wo = m_frame.toLocal(woWorld);
        if (o.wo.z <= 0.f)
            return o;
        o.valid = true;
        o.lambda = lambda(o.wo.z);
        o.coat = 1.f - dielectricFresnel(o.wo.z);
        o.specularProbability = specularProbability(o.wo.z);
        o.specularScale = 1.f / ((1.f + o.lambda) * 4.f * o.wo.z);
        return o;
    }

    FARM_KERNEL Vec3 toLocal(Vec3 v) const { return m_frame.toLocal(v); }
    FARM_KERNEL Vec3 toWorld(Vec3 v) const { return m_frame.toWorld(v); }

    /// f(wo, wi) * cos(wi) for a local wi, and (when `pdfOut` is set) the density of sample()
    /// choosing wi: the half vector, D and the visibility terms are shared by both.
    FARM_KERNEL Vec3 evalLocal(const Outgoing &o, Vec3 wi, float *pdfOut) const
    {
        if (!o.valid || wi.z <= 0.f) {
            if (pdfOut)
                *pdfOut = 0.f;
            return Vec3(0.f);
        }
        const Vec3 h = normalize(o.wo + wi);
        const float voh = dot(o.wo, h);
        const float d = ggxD(h.z);
        const float vis = 1.f / ((1.f + o.lambda + lambda(wi.z)) * (4.f * o.wo.z * wi.z));
        const Vec3 f = schlick(m_f0, maxf(voh, 0.f));
        const Vec3 diffuse = m_diffuse * (o.coat * (1.f - dielectricFresnel(wi.z)));
        if (pdfOut) {
            const float specularPdf = h.z > 0.f && voh > 0.f ? d * o.specularScale : 0.f;
            *pdfOut = o.specularProbability * specularPdf +
                      (1.f - o.specularProbability) * wi.z * (1.f / kPi);
        }
        return (diffuse + f * (d * vis)) * wi.z;
    }

#if defined(FARM_BSDF_SSE)
    /// evalLocal(o, wi[k], nullptr) for four local directions at once, each lane with the same
    /// operations in the same order as evalLocal (no FMA; SSE's add, mul, div and sqrt round as
    /// the scalar ones do, its min/max pick as minf/maxf do), so the results are the same bit for
    /// bit. The caller checks o.valid and wz > 0 (as evalLocal would).
    FARM_KERNEL void evalLocal4(const Outgoing &o, const float wx[4], const float wy[4],
                                const float wz[4], float rx[4], float ry[4], float rz[4]) const
    {
        const __m128 one = _mm_set1_ps(1.f), zero = _mm_setzero_ps();
        const __m128 x = _mm_loadu_ps(wx), y = _mm_loadu_ps(wy), z = _mm_loadu_ps(wz);
        // h = normalize(wo + wi)
        __m128 hx = _mm_add_ps(_mm_set1_ps(o.wo.x), x);
        __m128 hy = _mm_add_ps(_mm_set1_ps(o.wo.y), y);
        __m128 hz = _mm_add_ps(_mm_set1_ps(o.wo.z), z);
        const __m128 len = _mm_sqrt_ps(
            _mm_add_ps(_mm_add_ps(_mm_mul_ps(hx, hx), _mm_mul_ps(hy, hy)), _mm_mul_ps(hz, hz)));
        const __m128 inv = _mm_div_ps(one, len);
        const __m128 positive = _mm_cmpgt_ps(len, zero);
        hx = _mm_and_ps(positive, _mm_mul_ps(hx, inv));
        hy = _mm_and_ps(positive, _mm_mul_ps(hy, inv));
        hz = _mm_or_ps(_mm_and_ps(positive, _mm_mul_ps(hz, inv)), _mm_andnot_ps(positive, one));
        const __m128 voh = _mm_add_ps(
            _mm_add_ps(_mm_mul_ps(_mm_set1_ps(o.wo.x), hx), _mm_mul_ps(_mm_set1_ps(o.wo.y), hy)),
            _mm_mul_ps(_mm_set1_ps(o.wo.z), hz));
        // d = ggxD(h.z)
        const __m128 a2 = _mm_set1_ps(m_alpha2);
        const __m128 dd =
            _mm_add_ps(_mm_mul_ps(_mm_mul_ps(hz, hz), _mm_set1_ps(m_alpha2 - 1.f)), one);
        const __m128 d = _mm_div_ps(a2, _mm_mul_ps(_mm_mul_ps(_mm_set1_ps(kPi), dd), dd));
        // lambda(wi.z)
        const __m128 c2 = _mm_max_ps(_mm_mul_ps(z, z), _mm_set1_ps(1e-12f));
        const __m128 tan2 = _mm_div_ps(_mm_sub_ps(one, c2), c2);
        const __m128 lam = _mm_mul_ps(
            _mm_set1_ps(0.5f), _mm_sub_ps(_mm_sqrt_ps(_mm_add_ps(one, _mm_mul_ps(a2, tan2))), one));
        const __m128 vis = _mm_div_ps(one, _mm_mul_ps(_mm_add_ps(_mm_set1_ps(1.f + o.lambda), lam),
                                                      _mm_mul_ps(_mm_set1_ps(4.f * o.wo.z), z)));
        // schlick(m_f0, max(voh, 0)) weight and dielectricFresnel(wi.z)
        const auto fifth = [&](__m128 c) {
            const __m128 m = _mm_min_ps(_mm_max_ps(_mm_sub_ps(one, c), zero), one);
            const __m128 m2 = _mm_mul_ps(m, m);
            return _mm_mul_ps(_mm_mul_ps(m2, m2), m);
        };
        const __m128 m5 = fifth(_mm_max_ps(voh, zero));
        const __m128 fresnelIn =
            _mm_add_ps(_mm_set1_ps(0.04f), _mm_mul_ps(_mm_set1_ps(0.96f), fifth(z)));
        const __m128 coat = _mm_mul_ps(_mm_set1_ps(o.coat), _mm_sub_ps(one, fresnelIn));
        const __m128 dvis = _mm_mul_ps(d, vis);
        const auto channel = [&](float f0, float diffuse, float *r) {
            const __m128 f = _mm_add_ps(_mm_set1_ps(f0), _mm_mul_ps(_mm_set1_ps(1.f - f0), m5));
            const __m128 sum =
                _mm_add_ps(_mm_mul_ps(_mm_set1_ps(diffuse), coat), _mm_mul_ps(f, dvis));
            _mm_storeu_ps(r, _mm_mul_ps(sum, z));
        };
        channel(m_f0.x, m_diffuse.x, rx);
        channel(m_f0.y, m_diffuse.y, ry);
        channel(m_f0.z, m_diffuse.z, rz);
    }
#endif

    /// Samples a local wi for a bound outgoing direction; false when no direction could be
    /// made. `weight` = evalCos / pdf.
    FARM_KERNEL bool sampleLocal(const Outgoing &o, float uLobe, float u1, float u2, Vec3 &wi,
                                 Vec3 &weight, float &pdfOut) const
    {
        if (!o.valid)
            return false;
        if (uLobe < o.specularProbability) {
            const Vec3 h = sampleVisibleNormal(o.wo, u1, u2);
            wi = h * (2.f * dot(o.wo, h)) - o.wo;
        } else {
            wi = cosineDirection(u1, u2);
        }
        if (wi.z <= 0.f)
            return false;
        const Vec3 f = evalLocal(o, wi, &pdfOut);
        if (!(pdfOut > 0.f))
            return false;
        weight = f / pdfOut;
        return true;
    }

    /// Cosine-distributed local direction (density z / pi).
    FARM_KERNEL static Vec3 cosineDirection(float u1, float u2)
    {
        const float r = sqrtf(u1);
        float s, c;
        sinCos2Pi(u2, s, c);
        return Vec3(r * c, r * s, sqrtf(maxf(0.f, 1.f - u1)));
    }

    /// f(wo, wi) * |cos(wi)| for world directions (wo towards the viewer).
    FARM_KERNEL Vec3 evalCos(Vec3 woWorld, Vec3 wiWorld) const
    {
        return evalLocal(bindOutgoing(woWorld), m_frame.toLocal(wiWorld), nullptr);
    }

    /// Density of sample() choosing wi, in solid angle.
    FARM_KERNEL float pdf(Vec3 woWorld, Vec3 wiWorld) const
    {
        float p = 0.f;
        evalLocal(bindOutgoing(woWorld), m_frame.toLocal(wiWorld), &p);
        return p;
    }

    /// Samples wi; returns false when no direction could be made. `weight` = evalCos / pdf.
    FARM_KERNEL bool sample(Vec3 woWorld, float uLobe, float u1, float u2, Vec3 &wiWorld,
                            Vec3 &weight, float &pdfOut) const
    {
        Vec3 wi;
        if (!sampleLocal(bindOutgoing(woWorld), uLobe, u1, u2, wi, weight, pdfOut))
            return false;
        wiWorld = m_frame.toWorld(wi);
        return true;
    }

    FARM_KERNEL Vec3 normal() const
    {
        return m_frame.n;
    }

private:
    FARM_KERNEL float specularProbability(float cosO) const
    {
        const float spec = luminance(schlick(m_f0, cosO));
        return clampf(spec / maxf(spec + m_diffuseLuminance, 1e-6f), 0.1f, 0.9f);
    }

    FARM_KERNEL float ggxD(float cosH) const
    {
        const float d = cosH * cosH * (m_alpha2 - 1.f) + 1.f;
        return m_alpha2 / (kPi * d * d);
    }

    FARM_KERNEL float lambda(float cosT) const
    {
        const float c2 = maxf(cosT * cosT, 1e-12f);
        const float tan2 = (1.f - c2) / c2;
        return 0.5f * (sqrtf(1.f + m_alpha2 * tan2) - 1.f);
    }

    FARM_KERNEL Vec3 sampleVisibleNormal(Vec3 wo, float u1, float u2) const
    {
        const Vec3 vh = normalize(Vec3(m_alpha * wo.x, m_alpha * wo.y, wo.z));
        const float lensq = vh.x * vh.x + vh.y * vh.y;
        const Vec3 t1 = lensq > 0.f ? Vec3(-vh.y, vh.x, 0.f) / sqrtf(lensq) : Vec3(1.f, 0.f, 0.f);
        const Vec3 t2 = cross(vh, t1);
        const float r = sqrtf(u1);
        float sn, cs;
        sinCos2Pi(u2, sn, cs);
        const float p1 = r * cs;
        float p2 = r * sn;
        const float s = 0.5f * (1.f + vh.z);
        p2 = (1.f - s) * sqrtf(maxf(0.f, 1.f - p1 * p1)) + s * p2;
        const Vec3 nh = t1 * p1 + t2 * p2 + vh * sqrtf(maxf(0.f, 1.f - p1 * p1 - p2 * p2));
        return normalize(Vec3(m_alpha * nh.x, m_alpha * nh.y, maxf(1e-6f, nh.z)));
    }

    Frame m_frame;
    Vec3 m_base;
    Vec3 m_f0;
    Vec3 m_diffuse; // base x (1 - metallic) / (pi (1 - average coat))
    float m_diffuseLuminance;
    float m_metallic;
    float m_alpha;
    float m_alpha2;
};

/// Power heuristic (beta = 2) for multiple importance sampling.
FARM_KERNEL float powerHeuristic(float a, float b)
{
    const float a2 = a * a, b2 = b * b;
    return a2 + b2 > 0.f ? a2 / (a2 + b2) : 0.f;
}

} // namespace farm::render
