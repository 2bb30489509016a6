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

private:
    uint64_t m_state;
    uint64_t m_inc;
};

} // namespace farm::render
