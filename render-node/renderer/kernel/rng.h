#pragma once

#include "kernel/hostdevice.h"

#include <stdint.h>

namespace farm::render {

/// 32-bit integer hash (Jarzynski & Olano 2020, "pcg" variant): seeds a stream per pixel sample.
FARM_KERNEL uint32_t hashU32(uint32_t v)
{
    const uint32_t state = v * 747796405u + 2891336453u;
    const uint32_t word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

/// PCG32 (O'Neill 2014). Each pixel sample owns one stream derived only from the seed, the
/// frame, the pixel and the sample index, so images do not depend on the thread count or on
/// the order tiles are rendered in.
class Rng
{
public:
    /// An unseeded stream (a placeholder to assign a seeded one to).
    FARM_KERNEL Rng()
        : m_state(0u)
        , m_inc(1u)
    {}

    FARM_KERNEL Rng(uint32_t seed, uint32_t frame, uint32_t pixel, uint32_t sample)
    {
        const uint32_t a = hashU32(seed ^ hashU32(frame + 0x9e3779b9u));
        const uint32_t b = hashU32(pixel ^ hashU32(sample + a));
        m_state = 0u;
        m_inc = (uint64_t(b) << 1u) | 1u;
        next();
        m_state += (uint64_t(a) << 32u) | b;
        next();
    }

    FARM_KERNEL uint32_t next()
    {
        const uint64_t old = m_state;
        m_state = old * 6364136223846793005ull + m_inc;
        const uint32_t xorShifted = uint32_t(((old >> 18u) ^ old) >> 27u);
        const uint32_t rot = uint32_t(old >> 59u);
        return (xorShifted >> rot) | (xorShifted << ((32u - rot) & 31u));
    }

    /// Uniform in [0, 1).
    FARM_KERNEL float uniform() { return float(next() >> 8) * (1.f / 16777216.f); }

    // The sampler interface of traceRadiance (see PixelSampler): independent numbers here.
    FARM_KERNEL float get1D(uint32_t) { return uniform(); }
    FARM_KERNEL void get2D(uint32_t, float &u, float &v)
    {
        u = uniform();
        v = uniform();
    }

private:
    uint64_t m_state;
    uint64_t m_inc;
};

/// Reverses the bit order of a 32-bit word.
FARM_KERNEL uint32_t reverseBits32(uint32_t x)
{
#if defined(__CUDA_ARCH__)
    return __brev(x);
#else
    x = (x << 16u) | (x >> 16u);
    x = ((x & 0x00ff00ffu) << 8u) | ((x >> 8u) & 0x00ff00ffu);
    x = ((x & 0x0f0f0f0fu) << 4u) | ((x >> 4u) & 0x0f0f0f0fu);
    x = ((x & 0x33333333u) << 2u) | ((x >> 2u) & 0x33333333u);
    x = ((x & 0x55555555u) << 1u) | ((x >> 1u) & 0x55555555u);
    return x;
#endif
}

/// A seeded bijection of 32-bit words in which output bit i is input bit i flipped by a function
/// of the seed and the input bits below i only (every step is an addition, a multiplication by
/// an odd number or x ^= x * even: all carry information upwards only). Applied to bit-reversed
/// values it is a hash-based Owen scramble (Burley 2020): each binary digit of a number in [0, 1)
/// is flipped depending on the digits before it, which keeps every stratum of an elementary
/// interval inside one stratum of the same size.
FARM_KERNEL uint32_t scrambleLowToHigh(uint32_t x, uint32_t seed)
{
    x += seed;
    x ^= x * 0x2c1b3c6cu;
    x *= (seed ^ 0x7feb352du) | 1u;
    x ^= x * 0x8e5a4d2au;
    x += seed >> 11u;
    x ^= x * 0x5bd1e994u;
    x *= 0x846ca68bu;
    return x;
}

/// Sobol dimension 1 from dimension 0: `vdc` is the van der Corput value (the index
/// bit-reversed) and the result the second coordinate, both as 32 fraction bits. The generator
/// matrix of dimension 1 is Pascal's triangle mod 2, and C(i, j) is odd exactly when j's bits
/// are a subset of i's; with the bit positions reversed that is a subset-sum transform over the
/// 5-bit positions: five shift/mask steps for all 32 bits, no bit reversal.
FARM_KERNEL uint32_t sobolDim1FromVdc(uint32_t vdc)
{
    uint32_t b = vdc;
    b ^= (b << 1u) & 0xaaaaaaaau;
    b ^= (b << 2u) & 0xccccccccu;
    b ^= (b << 4u) & 0xf0f0f0f0u;
    b ^= (b << 8u) & 0xff00ff00u;
    b ^= (b << 16u) & 0xffff0000u;
    return b;
}

FARM_KERNEL float toUnitFloat(uint32_t bits)
{
    return float(bits >> 8u) * (1.f / 16777216.f);
}

/// Low-discrepancy numbers for one pixel sample: every sampling decision of a path asks for its
/// own slot (1D or 2D, numbered by the integrator), and slot d of sample s is point s' of the
/// 2D Sobol sequence (dimensions 0 and 1; dimension 0 alone for 1D slots), where s' is s put
/// through an Owen scramble of the index bits seeded by a hash of (seed, frame, pixel, d), and
/// the point is then XOR-ed with a random 32-bit digital shift per slot ("padded", shuffled
/// Sobol after Burley 2020, with a digital shift in place of the second Owen scramble: it keeps
/// the strata and costs one XOR). The index scramble maps the first 2^k samples to one aligned
/// block of 2^k Sobol indices, so in every slot they form a (0, k, 2)-net (one point in each of
/// 2^k equal elementary rectangles; 1D: one per stratum 1/2^k), while its per-slot seed makes
/// the order of the points in different slots and pixels independent. The scramble works on
/// the bit-reversed index, which is the van der Corput value itself, and dimension 1 follows
/// from it by sobolDim1FromVdc: no bit reversal at all. Every number is a pure function of
/// (seed, frame, pixel, sample, slot): a sample range renders the same as the whole pixel, on
/// any thread count. `uniform()` draws from the sample's independent PCG stream for decisions
/// without a fixed slot, and so do slots from `slotCount` on (deep vertices, where the gain is
/// small).
class PixelSampler
{
public:
    FARM_KERNEL PixelSampler(uint32_t seed, uint32_t frame, uint32_t pixel, uint32_t sample,
                             uint32_t slotCount = 0xffffffffu)
        : m_seed(seed)
        , m_frame(frame)
        , m_pixel(pixel)
        , m_sample(sample)
        , m_sampleReversed(reverseBits32(sample))
        , m_key(pixelKey(seed, frame, pixel))
        , m_slotCount(slotCount)
    {}

    /// The hash of (seed, frame, pixel) that every slot key of the pixel starts from.
    FARM_KERNEL static uint32_t pixelKey(uint32_t seed, uint32_t frame, uint32_t pixel)
    {
        return hashU32(hashU32(seed ^ hashU32(frame + 0x632be5abu)) ^ (pixel * 0x85ebca6bu));
    }
    /// The key of slot `slot` of a pixel (pixelKey): one per pixel, whatever the sample.
    FARM_KERNEL static uint32_t slotKey(uint32_t pixelKey, uint32_t slot)
    {
        return hashU32(pixelKey ^ (slot * 0x9e3779b9u + 0x1b56c4e9u));
    }
    /// get2D's numbers of sample `sample` in the slot whose key is `key` (slotKey; a slot below
    /// slotCount): the same as PixelSampler(..., sample).get2D(slot) for every sample of the
    /// pixel, with the pixel's hashing done once.
    FARM_KERNEL static void slot2D(uint32_t key, uint32_t sample, float &u, float &v)
    {
        point2D(scrambleLowToHigh(reverseBits32(sample), key), key, u, v);
    }

    /// The sample's independent PCG stream (the one Rng(seed, frame, pixel, sample) gives),
    /// started on first use: most paths never need it.
    FARM_KERNEL float uniform()
    {
        if (!m_rngStarted) {
            m_rng = Rng(m_seed, m_frame, m_pixel, m_sample);
            m_rngStarted = true;
        }
        return m_rng.uniform();
    }

    FARM_KERNEL float get1D(uint32_t slot)
    {
        if (slot >= m_slotCount)
            return uniform();
        const uint32_t k = slotKey(slot);
        return toUnitFloat(vanDerCorput(k) ^ (k * 0x2545f491u));
    }

    FARM_KERNEL void get2D(uint32_t slot, float &u, float &v)
    {
        if (slot >= m_slotCount) {
            u = uniform();
            v = uniform();
            return;
        }
        const uint32_t k = slotKey(slot);
        point2D(vanDerCorput(k), k, u, v);
    }

    /// The per-slot key (the seed of the index scramble and of the shift words), the same for
    /// every sample of the pixel (the CPU backend's batched camera rays use it).
    FARM_KERNEL uint32_t slotKeyFor(uint32_t slot) const { return slotKey(slot); }

private:
    FARM_KERNEL uint32_t slotKey(uint32_t slot) const { return slotKey(m_key, slot); }

    /// The 2D point of van der Corput value `x` (the shuffled index) in the slot keyed `k`.
    FARM_KERNEL static void point2D(uint32_t x, uint32_t k, float &u, float &v)
    {
        u = toUnitFloat(x ^ (k * 0x2545f491u));
        v = toUnitFloat(sobolDim1FromVdc(x) ^ (k * 0x6c8e9cf5u + 0xb5297a4du));
    }

    /// Van der Corput value of the shuffled index: an Owen scramble of the index (high bits
    /// most significant) is scrambleLowToHigh on the reversed index, and its reversal is the
    /// van der Corput value, so that reversal cancels.
    FARM_KERNEL uint32_t vanDerCorput(uint32_t key) const
    {
        return scrambleLowToHigh(m_sampleReversed, key);
    }

    uint32_t m_seed, m_frame, m_pixel, m_sample;
    uint32_t m_sampleReversed;
    uint32_t m_key;
    uint32_t m_slotCount;
    bool m_rngStarted = false;
    Rng m_rng;
};

} // namespace farm::render
