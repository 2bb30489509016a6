// Low-discrepancy pixel sampler (kernel/rng.h): Sobol generator, net property of the
// Owen-scrambled points, pure function of (seed, frame, pixel, sample, slot), less integration
// error than independent numbers, and an unbiased, less noisy render of a real model. The
// Blackman-Harris pixel filter (kernel/pixelfilter.h): offsets drawn with the window's
// distribution, and an edge rendered with the window's profile (the box's is another).
#include "kernel/integrator.h"
#include "renderer.h"
#include "scene.h"

#include <QTest>

#include <algorithm>
#include <cmath>
#include <vector>

using farm::Result;
using namespace farm::render;

namespace {
const QString kEngine = QStringLiteral(
    "/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb");

/// Sobol dimension 1 from its direction numbers (primitive polynomial x + 1: v_k = v_{k-1} ^
/// (v_{k-1} >> 1), v_0 = 1/2), one index bit at a time.
uint32_t sobolDim1Reference(uint32_t index)
{
    uint32_t result = 0, v = 0x80000000u;
    for (; index; index >>= 1u, v ^= v >> 1u)
        if (index & 1u)
            result ^= v;
    return result;
}

/// True when the points form a (0, k, 2)-net: for every split k = a + b, each of the 2^a x 2^b
/// equal rectangles holds exactly one point.
bool isNet(const std::vector<float> &u, const std::vector<float> &v, int k)
{
    const int n = 1 << k;
    for (int a = 0; a <= k; ++a) {
        std::vector<int> count(size_t(n), 0);
        for (int i = 0; i < n; ++i) {
            const int cx = int(u[size_t(i)] * float(1 << a));
            const int cy = int(v[size_t(i)] * float(1 << (k - a)));
            if (cx < 0 || cx >= (1 << a) || cy < 0 || cy >= (1 << (k - a)))
                return false;
            ++count[size_t(cy * (1 << a) + cx)];
        }
        for (int c : count)
            if (c != 1)
                return false;
    }
    return true;
}

/// True when each of the 2^k equal intervals of [0, 1) holds exactly one value.
bool isStratified(const std::vector<float> &w, int k)
{
    std::vector<int> count(w.size(), 0);
    for (float x : w) {
        const int c = int(x * float(1 << k));
        if (c < 0 || c >= (1 << k) || ++count[size_t(c)] > 1)
            return false;
    }
    return true;
}

double smoothIntegrand(float u, float v)
{
    return std::exp(-double(u) * 1.3) * (0.5 + 0.5 * std::cos(3.0 * double(v))) +
           (u + v < 1.f ? 0.25 : 0.0); // smooth part plus an edge, like a shadow boundary
}

/// The Blackman-Harris window of radius 1 (offset x in [-1, 1]), as its definition gives it.
double blackmanHarris(double x)
{
    const double t = 2.0 * M_PI * (x + 1.0) / 2.0;
    return 0.35875 - 0.48829 * std::cos(t) + 0.14128 * std::cos(2.0 * t) -
           0.01168 * std::cos(3.0 * t);
}

/// The window's mass below offset x (radius 1): Simpson's rule on [-1, x] over the integral
/// of the whole window, independent of the closed form the table was made from.
double blackmanHarrisCdf(double x)
{
    const auto integral = [](double hi) {
        constexpr int kSteps = 2000; // even
        const double h = (hi + 1.0) / kSteps;
        double sum = blackmanHarris(-1.0) + blackmanHarris(hi);
        for (int i = 1; i < kSteps; ++i)
            sum += (i % 2 ? 4.0 : 2.0) * blackmanHarris(-1.0 + i * h);
        return sum * h / 3.0;
    };
    return std::clamp(integral(std::clamp(x, -1.0, 1.0)) / integral(1.0), 0.0, 1.0);
}
} // namespace

class TestSampler : public QObject
{
    Q_OBJECT

private slots:
    void sobolDimensionOneMatchesDirectionNumbers()
    {
        for (uint32_t i = 0; i < 70000u; ++i) {
            QCOMPARE(sobolDim1FromVdc(reverseBits32(i)), sobolDim1Reference(i));
        }
        uint32_t x = 12345u;
        for (int i = 0; i < 10000; ++i) {
            x = hashU32(x);
            QCOMPARE(sobolDim1FromVdc(reverseBits32(x)), sobolDim1Reference(x));
        }
    }

    void sinCos2PiMatchesTheLibrary()
    {
        // The azimuth sin/cos of bsdf.h against double precision over [0, 1) (every 2^-20 and
        // the last float below 1): within a few float roundings.
        double worst = 0.0;
        const auto check = [&worst](float u) {
            float s = 0, c = 0;
            sinCos2Pi(u, s, c);
            const double phi = 2.0 * M_PI * double(u);
            worst = std::max(
                {worst, std::abs(double(s) - std::sin(phi)), std::abs(double(c) - std::cos(phi))});
        };
        for (int i = 0; i < (1 << 20); ++i)
            check(float(i) / float(1 << 20));
        check(std::nextafter(1.f, 0.f));
        qInfo("largest error %.3g", worst);
        QVERIFY2(worst < 3e-7, qPrintable(QString::number(worst)));
    }

    void reverseAndScrambleAreBijections()
    {
        for (uint32_t i = 0; i < 4096u; ++i)
            QCOMPARE(reverseBits32(reverseBits32(i * 2654435761u)), i * 2654435761u);
        // Scrambling the low 12 bits only depends on the low 12 bits: a permutation of them.
        for (uint32_t seed : {1u, 77u, 0xdeadbeefu}) {
            std::vector<bool> seen(4096, false);
            for (uint32_t i = 0; i < 4096u; ++i) {
                const uint32_t low = scrambleLowToHigh(i, seed) & 4095u;
                QVERIFY(!seen[low]);
                seen[low] = true;
            }
        }
    }

    void everyPowerOfTwoBlockIsANet()
    {
        // Several seeds, frames, pixels and slots; blocks [0, 2^k) and [2^k, 2^(k+1)).
        for (uint32_t seed : {1u, 5u})
            for (uint32_t pixel : {0u, 1u, 640u * 240u + 320u})
                for (uint32_t slot : {0u, 1u, 5u, 11u}) {
                    for (int k = 0; k <= 8; ++k) {
                        for (uint32_t first : {0u, 1u << k}) {
                            const int n = 1 << k;
                            const size_t count = size_t(1) << k;
                            std::vector<float> u(count), v(count), w(count);
                            for (int i = 0; i < n; ++i) {
                                PixelSampler s(seed, 3u, pixel, first + uint32_t(i));
                                s.get2D(slot, u[size_t(i)], v[size_t(i)]);
                                w[size_t(i)] = s.get1D(slot + 100u);
                            }
                            QVERIFY2(isNet(u, v, k),
                                     qPrintable(QStringLiteral("k %1 slot %2").arg(k).arg(slot)));
                            QVERIFY(isStratified(w, k));
                        }
                    }
                }
    }

    void pureFunctionOfItsInputs()
    {
        // A sample asked for alone gives what it gives after other slots were drawn: sample
        // ranges and any thread count see the same numbers.
        PixelSampler busy(9u, 2u, 1234u, 17u);
        float bu = 0, bv = 0;
        for (uint32_t slot = 0; slot < 30u; ++slot) {
            busy.get2D(slot, bu, bv);
            busy.uniform();
        }
        PixelSampler fresh(9u, 2u, 1234u, 17u);
        float fu = 0, fv = 0;
        fresh.get2D(29u, fu, fv);
        QCOMPARE(fu, bu);
        QCOMPARE(fv, bv);
        QCOMPARE(PixelSampler(9u, 2u, 1234u, 17u).uniform(), Rng(9u, 2u, 1234u, 17u).uniform());
        // Seed, frame and pixel each change the points.
        const auto first = [](uint32_t seed, uint32_t frame, uint32_t pixel) {
            PixelSampler s(seed, frame, pixel, 0u);
            float u, v;
            s.get2D(0u, u, v);
            return u;
        };
        QVERIFY(first(1u, 1u, 5u) != first(2u, 1u, 5u));
        QVERIFY(first(1u, 1u, 5u) != first(1u, 2u, 5u));
        QVERIFY(first(1u, 1u, 5u) != first(1u, 1u, 6u));
    }

    void slotsAndPixelsAreDecorrelated()
    {
        // Sample correlation between two slots of one pixel and between neighbouring pixels'
        // same slot, over 4096 pixels x 16 samples: near zero.
        double sxy = 0, sx = 0, sy = 0, sxx = 0, syy = 0, pxy = 0;
        const int n = 4096 * 16;
        for (uint32_t pixel = 0; pixel < 4096u; ++pixel)
            for (uint32_t s = 0; s < 16u; ++s) {
                PixelSampler a(1u, 1u, pixel, s), b(1u, 1u, pixel + 1u, s);
                float u, v, bu, bv;
                a.get2D(3u, u, v);
                const float w = a.get1D(4u);
                b.get2D(3u, bu, bv);
                sx += u;
                sy += w;
                sxx += double(u) * u;
                syy += double(w) * w;
                sxy += double(u) * w;
                pxy += (double(u) - 0.5) * (double(bu) - 0.5);
            }
        const double cov = sxy / n - (sx / n) * (sy / n);
        const double corr =
            cov / std::sqrt((sxx / n - sx * sx / n / n) * (syy / n - sy * sy / n / n));
        const double pixelCorr = pxy / n / (1.0 / 12.0);
        qInfo("slot correlation %.4f, neighbour pixel correlation %.4f", corr, pixelCorr);
        QVERIFY(std::abs(corr) < 0.03);
        QVERIFY(std::abs(pixelCorr) < 0.03);
    }

    void integratesWithLessErrorThanIndependentNumbers()
    {
        // The same 2D integrand estimated with 32 samples in each of 2048 pixels: RMS error of
        // the scrambled Sobol points against that of independent PCG numbers.
        double reference = 0;
        const int m = 2048;
        for (int j = 0; j < m; ++j)
            for (int i = 0; i < m; ++i)
                reference += smoothIntegrand((float(i) + 0.5f) / m, (float(j) + 0.5f) / m);
        reference /= double(m) * m;
        double errLd = 0, errRandom = 0;
        for (uint32_t pixel = 0; pixel < 2048u; ++pixel) {
            double ld = 0, random = 0;
            for (uint32_t s = 0; s < 32u; ++s) {
                PixelSampler sampler(1u, 1u, pixel, s);
                float u, v;
                sampler.get2D(7u, u, v);
                ld += smoothIntegrand(u, v);
                Rng rng(1u, 1u, pixel, s);
                rng.get2D(7u, u, v);
                random += smoothIntegrand(u, v);
            }
            errLd += std::pow(ld / 32.0 - reference, 2.0);
            errRandom += std::pow(random / 32.0 - reference, 2.0);
        }
        errLd = std::sqrt(errLd / 2048.0);
        errRandom = std::sqrt(errRandom / 2048.0);
        qInfo("32 samples: RMS error %.5f scrambled Sobol, %.5f independent", errLd, errRandom);
        QVERIFY2(errLd < 0.5 * errRandom, qPrintable(QString::number(errLd / errRandom)));
    }

    void renderIsUnbiasedAndLessNoisy()
    {
        // 2CylinderEngine, 64x48: a 256-spp reference with independent numbers, then 16 spp
        // with each sampler (other seeds): the same mean, and less error with scrambled Sobol.
        Result<Scene> scene = Scene::load(kEngine);
        QVERIFY(scene.ok());
        RenderParams params;
        params.width = 64;
        params.height = 48;
        const Camera camera = frameCamera(scene->bounds(), CameraRig(), 1, 64, 48, params);
        const auto render = [&](bool ld, int spp, uint32_t seed) {
            RenderParams p = params;
            p.spp = spp;
            p.seed = seed;
            p.lowDiscrepancy = ld;
            RenderOptions options;
            options.threads = 2;
            Result<Framebuffer> fb = renderFrame(*scene, camera, p, options);
            return fb ? *fb : Framebuffer();
        };
        const Framebuffer reference = render(false, 256, 1000);
        QVERIFY(!reference.pixels.empty());
        const auto stats = [&](const Framebuffer &fb, double &mean, double &rmse) {
            double sum = 0, err = 0;
            for (size_t i = 0; i < fb.pixels.size(); ++i) {
                const Vec3 d = fb.pixels[i] - reference.pixels[i];
                sum += double(fb.pixels[i].x + fb.pixels[i].y + fb.pixels[i].z) / 3.0;
                err += double(dot(d, d)) / 3.0;
            }
            mean = sum / double(fb.pixels.size());
            rmse = std::sqrt(err / double(fb.pixels.size()));
        };
        double refMean = 0, refErr = 0;
        stats(reference, refMean, refErr);
        double ldMean = 0, ldErr = 0, rndMean = 0, rndErr = 0, ldErrSum = 0, rndErrSum = 0;
        for (uint32_t seed : {1u, 2u, 3u}) {
            stats(render(true, 16, seed), ldMean, ldErr);
            stats(render(false, 16, seed), rndMean, rndErr);
            QVERIFY2(std::abs(ldMean - refMean) < 0.01 * refMean,
                     qPrintable(QStringLiteral("%1 vs %2").arg(ldMean).arg(refMean)));
            ldErrSum += ldErr;
            rndErrSum += rndErr;
        }
        qInfo("16 spp RMSE vs 256 spp: %.5f scrambled Sobol, %.5f independent", ldErrSum / 3,
              rndErrSum / 3);
        QVERIFY2(ldErrSum < 0.95 * rndErrSum,
                 qPrintable(QStringLiteral("%1 vs %2").arg(ldErrSum).arg(rndErrSum)));
    }

    void blackmanHarrisTableInvertsTheWindow()
    {
        // Entry i of the table is the radius within which the window holds mass i / 256.
        for (int i = 0; i <= kBhTableSize; ++i) {
            const double r = kBhInverseCdf[i];
            const double mass = blackmanHarrisCdf(r) - blackmanHarrisCdf(-r);
            QVERIFY2(std::abs(mass - double(i) / kBhTableSize) < 2e-6,
                     qPrintable(QStringLiteral("entry %1: %2 holds %3").arg(i).arg(r).arg(mass)));
        }
    }

    void filterOffsetsFollowTheWindow()
    {
        // 2^16 evenly spread numbers through the frames' filter (radius 1.5 px): the offsets'
        // histogram over 24 bins and their variance are the window's.
        constexpr int kN = 1 << 16, kBins = 24;
        const double radius = kDefaultFilterRadius;
        std::vector<int> count(kBins, 0);
        double sum = 0, sumSq = 0;
        float previous = -1.f;
        for (int i = 0; i < kN; ++i) {
            const float u = (float(i) + 0.5f) / float(kN);
            float sx = 0, sy = 0;
            filterSamplePosition(PixelFilter::BlackmanHarris, float(radius), 7, 3, u, u, sx, sy);
            const double d = double(sx) - 7.5;              // from the pixel centre
            QVERIFY(std::abs(double(sy) - 3.5 - d) < 1e-6); // the same map on both axes
            QVERIFY(sx >= previous); // monotone: strata of u stay strata of filter mass
            previous = sx;
            QVERIFY(std::abs(d) <= radius + 1e-5);
            sum += d;
            sumSq += d * d;
            ++count[size_t(std::clamp(int((d / radius + 1.0) / 2.0 * kBins), 0, kBins - 1))];
        }
        for (int b = 0; b < kBins; ++b) {
            const double lo = -1.0 + 2.0 * b / kBins, hi = lo + 2.0 / kBins;
            const double expected = blackmanHarrisCdf(hi) - blackmanHarrisCdf(lo);
            const double got = count[size_t(b)] / double(kN);
            QVERIFY2(
                std::abs(got - expected) < 0.002,
                qPrintable(QStringLiteral("bin %1: %2, window %3").arg(b).arg(got).arg(expected)));
        }
        // The window's variance (Simpson's rule over x^2 w(x)); a box's would be 1/12 px^2.
        double moment = 0, mass = 0;
        constexpr int kSteps = 2000;
        for (int i = 0; i <= kSteps; ++i) {
            const double x = -1.0 + 2.0 * i / kSteps;
            const double weight = (i == 0 || i == kSteps) ? 1.0 : (i % 2 ? 4.0 : 2.0);
            moment += weight * x * x * blackmanHarris(x);
            mass += weight * blackmanHarris(x);
        }
        const double windowVariance = moment / mass * radius * radius;
        const double mean = sum / kN, variance = sumSq / kN - mean * mean;
        qInfo("offsets: mean %.6f px, standard deviation %.4f px (window %.4f px)", mean,
              std::sqrt(variance), std::sqrt(windowVariance));
        QVERIFY(std::abs(mean) < 1e-4);
        QVERIFY2(std::abs(variance / windowVariance - 1.0) < 0.02,
                 qPrintable(QStringLiteral("%1 vs %2").arg(variance).arg(windowVariance)));

        // The box is the sampler's point inside the pixel, unchanged (template views).
        float bx = 0, by = 0;
        filterSamplePosition(PixelFilter::Box, float(radius), 7, 3, 0.25f, 0.75f, bx, by);
        QCOMPARE(bx, 7.25f);
        QCOMPARE(by, 3.75f);
    }

    void edgeHasTheFilteredProfile_data()
    {
        // The radius is the Blackman-Harris filter's, and for the box rows the filter whose
        // profile the box's must differ from.
        QTest::addColumn<int>("filter");
        QTest::addColumn<double>("radius");
        QTest::addColumn<double>("edge");
        QTest::newRow("blackman-harris 1.5, edge on a pixel border")
            << int(PixelFilter::BlackmanHarris) << 1.5 << 32.0;
        QTest::newRow("blackman-harris 3, edge in a pixel")
            << int(PixelFilter::BlackmanHarris) << 3.0 << 32.3;
        QTest::newRow("box, edge on a pixel border") << int(PixelFilter::Box) << 1.5 << 32.0;
        QTest::newRow("box, edge in a pixel") << int(PixelFilter::Box) << 3.0 << 32.3;
    }

    void edgeHasTheFilteredProfile()
    {
        // An orthographic view of a plane's straight edge at film x = `edge` (one scene unit per
        // pixel) under a uniform sky lighting it without noise (0 bounces, ambient sky): each
        // pixel mixes the sky's radiance and the plane's by the filter's mass on either side
        // of the edge. 64 stratified samples x 16 rows per column.
        QFETCH(int, filter);
        QFETCH(double, radius);
        QFETCH(double, edge);
        constexpr int kWidth = 64, kHeight = 16;
        const float x0 = float(edge) - 32.f; // the film's x = 32 is the scene's x = 0
        TriangleMesh mesh;
        const Vec3 corners[4] = {
            {x0, -100.f, 0.f}, {100.f, -100.f, 0.f}, {100.f, 100.f, 0.f}, {x0, 100.f, 0.f}};
        for (int k : {0, 1, 2, 0, 2, 3}) {
            mesh.positions.push_back(corners[k]);
            mesh.normals.push_back(Vec3(0.f, 0.f, 1.f));
            mesh.albedo.push_back(Vec3(0.3f));
        }
        Result<Scene> scene = Scene::fromTriangles(std::move(mesh), 1);
        QVERIFY(scene.ok());
        Camera camera; // looking down -z, x to the right
        camera.position = Vec3(0.f, 0.f, 10.f);
        camera.aspect = float(kWidth) / float(kHeight);
        camera.orthoHalfHeight = 0.5f * float(kHeight);
        RenderParams p;
        p.width = kWidth;
        p.height = kHeight;
        p.spp = 64;
        p.maxBounces = 0;
        p.ambientSky = true;
        p.sunIrradiance = Vec3(0.f);
        p.skyZenith = p.skyHorizon = p.ground = Vec3(1.f);
        p.pixelFilter = PixelFilter(filter);
        p.filterRadius = float(radius);
        RenderOptions options;
        options.threads = 2;
        Result<Framebuffer> fb = renderFrame(*scene, camera, p, options);
        QVERIFY(fb.ok());
        std::vector<double> column(kWidth, 0.0);
        for (int x = 0; x < kWidth; ++x)
            for (int y = 0; y < kHeight; ++y)
                column[size_t(x)] += double(fb->at(x, y).y) / kHeight;
        const double sky = column.front(), plane = column.back();
        QVERIFY2(sky - plane > 0.2, qPrintable(QStringLiteral("%1 %2").arg(sky).arg(plane)));
        bool differsFromTheOtherFilter = false;
        for (int x = 24; x < 40; ++x) {
            const double centre = x + 0.5;
            // The share of the pixel's samples on the sky's side of the edge.
            const double bh = blackmanHarrisCdf((edge - centre) / radius);
            const double box = std::clamp(edge - x, 0.0, 1.0);
            const double expected = filter == int(PixelFilter::Box) ? box : bh;
            const double other = filter == int(PixelFilter::Box) ? bh : box;
            const double got = (column[size_t(x)] - plane) / (sky - plane);
            QVERIFY2(std::abs(got - expected) < 0.01,
                     qPrintable(QStringLiteral("column %1: %2, expected %3 (other filter %4)")
                                    .arg(x)
                                    .arg(got)
                                    .arg(expected)
                                    .arg(other)));
            differsFromTheOtherFilter |= std::abs(other - expected) > 0.04; // 4x the tolerance
        }
        QVERIFY(differsFromTheOtherFilter); // the profile tells the filters apart
    }
};

QTEST_GUILESS_MAIN(TestSampler)
#include "tst_sampler.moc"
