#pragma once

#include "kernel/hostdevice.h"

#include <stdint.h>

namespace farm::render {

/// The pixel filter of path-traced frames, applied by importance sampling: each camera sample's
/// position in the pixel is drawn from the filter's distribution and the pixel is the plain
/// mean of its samples (every sample has weight 1, so the estimate stays unbiased for the
/// filtered image and pixels stay independent). The 2D filter is the product of two 1D ones.
enum class PixelFilter : uint8_t {
    // Uniform over the pixel's own square (what template presets keep).
    Box = 0,
    // The 4-term Blackman-Harris window over [-radius, radius] pixels around the centre: Blender
    // Cycles' default pixel filter, whose "filter width" 1.5 is this radius (kDefaultFilterRadius).
    // Standard deviation 0.2770 x radius (0.4155 px at 1.5; a box's is 0.2887 px).
    BlackmanHarris = 1,
};

/// The Blackman-Harris radius of `model` renders in pixels (Cycles' default filter width).
constexpr float kDefaultFilterRadius = 1.5f;

/// Inverse of the Blackman-Harris window's cumulative distribution on one side of its centre,
/// radius 1: entry i is the offset r in [0, 1] with G(r) = i / kBhTableSize, where G(r) is the
/// window's mass within [-r, r]. With t = (r + 1) / 2 the window is a0 - a1 cos 2 pi t + a2 cos
/// 4 pi t - a3 cos 6 pi t (a = 0.35875, 0.48829, 0.14128, 0.01168), so G(r) = 2 F(t) - 1 with
/// F(t) = (a0 t - a1 sin(2 pi t) / 2 pi + a2 sin(4 pi t) / 4 pi - a3 sin(6 pi t) / 6 pi) / a0;
/// each entry is the root of G(r) = v found by bisection to double precision. Linear
/// interpolation between entries keeps the sampled mass within 0.0018 of G everywhere (the
/// error is largest in the last interval, the window's near-zero tail); tst_sampler checks the
/// drawn offsets against G and the window's variance.
constexpr int kBhTableSize = 256;
#define FARM_BH_INVERSE_CDF                                                                        \
    {                                                                                              \
        0.0000000f, 0.0014014f, 0.0028028f, 0.0042042f, 0.0056058f, 0.0070075f, 0.0084093f,        \
            0.0098114f, 0.0112136f, 0.0126161f, 0.0140189f, 0.0154220f, 0.0168255f, 0.0182293f,    \
            0.0196336f, 0.0210382f, 0.0224434f, 0.0238491f, 0.0252553f, 0.0266621f, 0.0280694f,    \
            0.0294775f, 0.0308861f, 0.0322955f, 0.0337057f, 0.0351165f, 0.0365282f, 0.0379408f,    \
            0.0393542f, 0.0407684f, 0.0421837f, 0.0435999f, 0.0450171f, 0.0464353f, 0.0478546f,    \
            0.0492750f, 0.0506965f, 0.0521192f, 0.0535432f, 0.0549683f, 0.0563948f, 0.0578225f,    \
            0.0592517f, 0.0606822f, 0.0621141f, 0.0635475f, 0.0649824f, 0.0664188f, 0.0678568f,    \
            0.0692964f, 0.0707376f, 0.0721806f, 0.0736252f, 0.0750716f, 0.0765199f, 0.0779699f,    \
            0.0794219f, 0.0808757f, 0.0823316f, 0.0837894f, 0.0852493f, 0.0867113f, 0.0881754f,    \
            0.0896417f, 0.0911102f, 0.0925809f, 0.0940540f, 0.0955294f, 0.0970072f, 0.0984874f,    \
            0.0999701f, 0.1014553f, 0.1029432f, 0.1044336f, 0.1059267f, 0.1074225f, 0.1089211f,    \
            0.1104226f, 0.1119268f, 0.1134340f, 0.1149442f, 0.1164574f, 0.1179737f, 0.1194931f,    \
            0.1210157f, 0.1225415f, 0.1240706f, 0.1256031f, 0.1271389f, 0.1286783f, 0.1302211f,    \
            0.1317676f, 0.1333176f, 0.1348714f, 0.1364290f, 0.1379903f, 0.1395556f, 0.1411248f,    \
            0.1426980f, 0.1442754f, 0.1458569f, 0.1474426f, 0.1490326f, 0.1506269f, 0.1522258f,    \
            0.1538291f, 0.1554370f, 0.1570495f, 0.1586668f, 0.1602890f, 0.1619160f, 0.1635480f,    \
            0.1651850f, 0.1668272f, 0.1684747f, 0.1701274f, 0.1717856f, 0.1734492f, 0.1751185f,    \
            0.1767934f, 0.1784741f, 0.1801606f, 0.1818532f, 0.1835518f, 0.1852566f, 0.1869677f,    \
            0.1886851f, 0.1904091f, 0.1921397f, 0.1938769f, 0.1956211f, 0.1973722f, 0.1991303f,    \
            0.2008957f, 0.2026684f, 0.2044486f, 0.2062363f, 0.2080318f, 0.2098351f, 0.2116465f,    \
            0.2134660f, 0.2152938f, 0.2171300f, 0.2189749f, 0.2208285f, 0.2226910f, 0.2245626f,    \
            0.2264435f, 0.2283338f, 0.2302338f, 0.2321435f, 0.2340632f, 0.2359932f, 0.2379335f,    \
            0.2398843f, 0.2418460f, 0.2438187f, 0.2458026f, 0.2477980f, 0.2498050f, 0.2518240f,    \
            0.2538552f, 0.2558988f, 0.2579551f, 0.2600243f, 0.2621068f, 0.2642029f, 0.2663127f,    \
            0.2684367f, 0.2705751f, 0.2727283f, 0.2748966f, 0.2770803f, 0.2792798f, 0.2814955f,    \
            0.2837278f, 0.2859770f, 0.2882435f, 0.2905279f, 0.2928304f, 0.2951516f, 0.2974919f,    \
            0.2998519f, 0.3022320f, 0.3046328f, 0.3070547f, 0.3094985f, 0.3119646f, 0.3144536f,    \
            0.3169663f, 0.3195033f, 0.3220653f, 0.3246529f, 0.3272670f, 0.3299084f, 0.3325779f,    \
            0.3352763f, 0.3380046f, 0.3407636f, 0.3435545f, 0.3463782f, 0.3492359f, 0.3521286f,    \
            0.3550577f, 0.3580243f, 0.3610299f, 0.3640759f, 0.3671637f, 0.3702950f, 0.3734714f,    \
            0.3766948f, 0.3799669f, 0.3832900f, 0.3866660f, 0.3900973f, 0.3935863f, 0.3971356f,    \
            0.4007481f, 0.4044267f, 0.4081747f, 0.4119955f, 0.4158929f, 0.4198709f, 0.4239339f,    \
            0.4280867f, 0.4323346f, 0.4366831f, 0.4411385f, 0.4457076f, 0.4503980f, 0.4552179f,    \
            0.4601767f, 0.4652846f, 0.4705531f, 0.4759953f, 0.4816257f, 0.4874611f, 0.4935206f,    \
            0.4998260f, 0.5064030f, 0.5132813f, 0.5204962f, 0.5280897f, 0.5361127f, 0.5446273f,    \
            0.5537110f, 0.5634619f, 0.5740069f, 0.5855150f, 0.5982184f, 0.6124492f, 0.6287091f,    \
            0.6478121f, 0.6712264f, 0.7020825f, 0.7496040f, 1.0000000f                             \
    }
#if defined(__CUDACC__)
__device__ const float kBhInverseCdfDevice[kBhTableSize + 1] = FARM_BH_INVERSE_CDF;
#endif
inline constexpr float kBhInverseCdf[kBhTableSize + 1] = FARM_BH_INVERSE_CDF;
#undef FARM_BH_INVERSE_CDF

/// Offset from the pixel centre, in units of the radius, of a Blackman-Harris sample for the
/// uniform number u in [0, 1): monotone in u, so equal strata of u map to strata of equal filter
/// mass and a stratified u stays stratified.
FARM_KERNEL float blackmanHarrisOffset(float u)
{
#if defined(__CUDA_ARCH__)
    const float *table = kBhInverseCdfDevice;
#else
    const float *table = kBhInverseCdf;
#endif
    const float v = u < 0.5f ? 1.f - 2.f * u : 2.f * u - 1.f; // mass from the centre outwards
    const float x = v * float(kBhTableSize);
    int i = int(x);
    i = i < 0 ? 0 : (i > kBhTableSize - 1 ? kBhTableSize - 1 : i);
    const float f = x - float(i);
    const float r = table[i] + (table[i + 1] - table[i]) * f;
    return u < 0.5f ? -r : r;
}

/// Film position of a camera sample in pixel (x, y) from the sampler's 2D camera point (u, v):
/// anywhere in the pixel's square for the box, around its centre by the filter otherwise.
FARM_KERNEL void filterSamplePosition(PixelFilter filter, float radius, int x, int y, float u,
                                      float v, float &sx, float &sy)
{
    if (filter == PixelFilter::BlackmanHarris) {
        sx = float(x) + 0.5f + radius * blackmanHarrisOffset(u);
        sy = float(y) + 0.5f + radius * blackmanHarrisOffset(v);
        return;
    }
    sx = float(x) + u;
    sy = float(y) + v;
}

} // namespace farm::render
