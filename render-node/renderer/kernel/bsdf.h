#pragma once

// glTF 2.0 metallic-roughness BSDF (after the spec's appendix B): a Lambert base under a
// dielectric GGX coat (F0 = 0.04), blended with a GGX conductor tinted by the base colour as
// metallic grows. Sampling picks the diffuse or the specular lobe and samples the GGX distribution
// of visible normals (Heitz 2018); pdf() returns the combined one-sample density of both lobes.

#include "kernel/vecmath.h"

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
        m_f0 = lerp(Vec3(0.04f), m_base, m_metallic);
    }

    /// f(wo, wi) * |cos(wi)| for world directions (wo towards the viewer).
    FARM_KERNEL Vec3 evalCos(Vec3 woWorld, Vec3 wiWorld) const
    {
        const Vec3 wo = m_frame.toLocal(woWorld), wi = m_frame.toLocal(wiWorld);
        if (wo.z <= 0.f || wi.z <= 0.f)
            return Vec3(0.f);
        const Vec3 h = normalize(wo + wi);
        const float voh = maxf(dot(wo, h), 0.f);
        const Vec3 f = schlick(m_f0, voh);
        const float d = ggxD(h.z);
        const float vis = smithG2(wo.z, wi.z) / (4.f * wo.z * wi.z);
        // Dielectric part: the diffuse base gets what the coat transmits on the way in and out,
        // renormalized by the coat's hemispherical average (Kelemen & Szirmay-Kalos 2001). It is
        // reciprocal, a white base reflects everything the coat does not, and unlike glTF's mix
        // by F(v.h) it never returns more than arrives at grazing angles.
        constexpr float kAverageCoat = 0.04f + 0.96f / 21.f; // 2 * integral of F(mu) mu dmu
        const float transmitted = (1.f - dielectricFresnel(wo.z)) * (1.f - dielectricFresnel(wi.z));
        const Vec3 diffuse =
            m_base * ((1.f - m_metallic) * transmitted / (kPi * (1.f - kAverageCoat)));
        return (diffuse + f * (d * vis)) * wi.z;
    }

    /// Density of sample() choosing wi, in solid angle.
    FARM_KERNEL float pdf(Vec3 woWorld, Vec3 wiWorld) const
    {
        const Vec3 wo = m_frame.toLocal(woWorld), wi = m_frame.toLocal(wiWorld);
        if (wo.z <= 0.f || wi.z <= 0.f)
            return 0.f;
        const float ps = specularProbability(wo.z);
        const Vec3 h = normalize(wo + wi);
        return ps * specularPdf(wo, h) + (1.f - ps) * wi.z / kPi;
    }

    /// Samples wi; returns false when no direction could be made. `weight` = evalCos / pdf.
    FARM_KERNEL bool sample(Vec3 woWorld, float uLobe, float u1, float u2, Vec3 &wiWorld,
                            Vec3 &weight, float &pdfOut) const
    {
        const Vec3 wo = m_frame.toLocal(woWorld);
        if (wo.z <= 0.f)
            return false;
        Vec3 wi;
        if (uLobe < specularProbability(wo.z)) {
            const Vec3 h = sampleVisibleNormal(wo, u1, u2);
            wi = h * (2.f * dot(wo, h)) - wo;
        } else {
            const float r = sqrtf(u1), phi = 2.f * kPi * u2;
            wi = Vec3(r * cosf(phi), r * sinf(phi), sqrtf(maxf(0.f, 1.f - u1)));
        }
        if (wi.z <= 0.f)
            return false;
        wiWorld = normalize(m_frame.toWorld(wi));
        pdfOut = pdf(woWorld, wiWorld);
        if (!(pdfOut > 0.f))
            return false;
        weight = evalCos(woWorld, wiWorld) / pdfOut;
        return true;
    }

    FARM_KERNEL Vec3 normal() const { return m_frame.n; }

private:
    FARM_KERNEL float specularProbability(float cosO) const
    {
        const float spec = luminance(schlick(m_f0, cosO));
        const float diff = (1.f - m_metallic) * luminance(m_base);
        return clampf(spec / maxf(spec + diff, 1e-6f), 0.1f, 0.9f);
    }

    FARM_KERNEL float ggxD(float cosH) const
    {
        const float a2 = m_alpha * m_alpha;
        const float d = cosH * cosH * (a2 - 1.f) + 1.f;
        return a2 / (kPi * d * d);
    }

    FARM_KERNEL float lambda(float cosT) const
    {
        const float c2 = maxf(cosT * cosT, 1e-12f);
        const float tan2 = (1.f - c2) / c2;
        return 0.5f * (sqrtf(1.f + m_alpha * m_alpha * tan2) - 1.f);
    }
    FARM_KERNEL float smithG1(float cosT) const { return 1.f / (1.f + lambda(cosT)); }
    FARM_KERNEL float smithG2(float cosO, float cosI) const
    {
        return 1.f / (1.f + lambda(cosO) + lambda(cosI)); // height-correlated
    }

    /// pdf of the VNDF-sampled reflection: D_wo(h) / (4 wo.h) = G1(wo) D(h) / (4 wo.z).
    FARM_KERNEL float specularPdf(Vec3 wo, Vec3 h) const
    {
        if (h.z <= 0.f || dot(wo, h) <= 0.f)
            return 0.f;
        return smithG1(wo.z) * ggxD(h.z) / (4.f * wo.z);
    }

    FARM_KERNEL Vec3 sampleVisibleNormal(Vec3 wo, float u1, float u2) const
    {
        const Vec3 vh = normalize(Vec3(m_alpha * wo.x, m_alpha * wo.y, wo.z));
        const float lensq = vh.x * vh.x + vh.y * vh.y;
        const Vec3 t1 = lensq > 0.f ? Vec3(-vh.y, vh.x, 0.f) / sqrtf(lensq) : Vec3(1.f, 0.f, 0.f);
        const Vec3 t2 = cross(vh, t1);
        const float r = sqrtf(u1), phi = 2.f * kPi * u2;
        const float p1 = r * cosf(phi);
        float p2 = r * sinf(phi);
        const float s = 0.5f * (1.f + vh.z);
        p2 = (1.f - s) * sqrtf(maxf(0.f, 1.f - p1 * p1)) + s * p2;
        const Vec3 nh = t1 * p1 + t2 * p2 + vh * sqrtf(maxf(0.f, 1.f - p1 * p1 - p2 * p2));
        return normalize(Vec3(m_alpha * nh.x, m_alpha * nh.y, maxf(1e-6f, nh.z)));
    }

    Frame m_frame;
    Vec3 m_base;
    Vec3 m_f0;
    float m_metallic;
    float m_alpha;
};

/// Power heuristic (beta = 2) for multiple importance sampling.
FARM_KERNEL float powerHeuristic(float a, float b)
{
    const float a2 = a * a, b2 = b * b;
    return a2 + b2 > 0.f ? a2 / (a2 + b2) : 0.f;
}

} // namespace farm::render
