// The metallic-roughness BSDF: sampling agrees with pdf(), pdf() integrates to at most one and
// matches the histogram of sampled directions, no material reflects more than it receives, and
// the four-direction SSE evaluation equals the scalar one bit for bit.
#include "kernel/bsdf.h"

#include <QTest>

#include <cstring>
#include <random>
#include <vector>

using namespace farm::render;

namespace {

Vec3 directionFromLocal(float cosTheta, float phi)
{
    const float s = std::sqrt(std::max(0.f, 1.f - cosTheta * cosTheta));
    return Vec3(s * std::cos(phi), s * std::sin(phi), cosTheta);
}

} // namespace

class TestBsdf : public QObject
{
    Q_OBJECT

private slots:
    void samplingMatchesPdf_data()
    {
        QTest::addColumn<float>("metallic");
        QTest::addColumn<float>("roughness");
        QTest::addColumn<float>("cosO");
        for (float m : {0.f, 0.5f, 1.f})
            for (float r : {0.05f, 0.3f, 0.7f, 1.f})
                for (float c : {0.15f, 0.6f, 0.98f})
                    QTest::newRow(qPrintable(QStringLiteral("m%1 r%2 cos%3").arg(m).arg(r).arg(c)))
                        << m << r << c;
    }

    void samplingMatchesPdf()
    {
        QFETCH(float, metallic);
        QFETCH(float, roughness);
        QFETCH(float, cosO);
        const Vec3 n(0.f, 0.f, 1.f);
        const Bsdf bsdf(BsdfParams{Vec3(0.9f, 0.6f, 0.3f), metallic, roughness}, n);
        const Vec3 wo = directionFromLocal(cosO, 0.7f);
        std::mt19937 g(11);
        std::uniform_real_distribution<float> u(0.f, 1.f);
        const int n_samples = 20000;
        Vec3 albedo(0.f);
        for (int i = 0; i < n_samples; ++i) {
            Vec3 wi, weight;
            float pdf = 0.f;
            if (!bsdf.sample(wo, u(g), u(g), u(g), wi, weight, pdf))
                continue;
            QVERIFY(wi.z > 0.f);
            QVERIFY(std::fabs(length(wi) - 1.f) < 1e-4f);
            const float evalPdf = bsdf.pdf(wo, wi);
            QVERIFY2(std::fabs(evalPdf - pdf) <= 1e-4f * std::max(1.f, pdf),
                     qPrintable(QStringLiteral("%1 vs %2").arg(pdf).arg(evalPdf)));
            const Vec3 f = bsdf.evalCos(wo, wi);
            for (int c = 0; c < 3; ++c)
                QVERIFY(std::fabs(weight[c] - f[c] / pdf) <= 1e-4f * std::max(1.f, weight[c]));
            albedo += weight;
        }
        albedo = albedo / float(n_samples);
        // Energy never grows: directional albedo at most one (plus Monte Carlo noise).
        QVERIFY2(maxComponent(albedo) <= 1.02f,
                 qPrintable(
                     QStringLiteral("albedo %1 %2 %3").arg(albedo.x).arg(albedo.y).arg(albedo.z)));
        QVERIFY(maxComponent(albedo) > 0.f);
    }

    void pdfHistogram_data()
    {
        QTest::addColumn<float>("metallic");
        QTest::addColumn<float>("roughness");
        QTest::addColumn<float>("cosO");
        QTest::newRow("plastic rough") << 0.f << 0.7f << 0.5f;
        QTest::newRow("plastic medium") << 0.f << 0.35f << 0.8f;
        QTest::newRow("metal medium") << 1.f << 0.4f << 0.6f;
        QTest::newRow("metal grazing") << 1.f << 0.6f << 0.2f;
    }

    void pdfHistogram()
    {
        // Sampled directions binned over (cos theta, phi) against the integral of pdf() over
        // each bin: the sampler draws exactly the density pdf() reports.
        QFETCH(float, metallic);
        QFETCH(float, roughness);
        QFETCH(float, cosO);
        constexpr int kTheta = 10, kPhi = 20, kSub = 8;
        const Bsdf bsdf(BsdfParams{Vec3(0.8f), metallic, roughness}, Vec3(0.f, 0.f, 1.f));
        const Vec3 wo = directionFromLocal(cosO, 0.f);
        std::vector<double> expected(kTheta * kPhi, 0.0), observed(kTheta * kPhi, 0.0);
        double integral = 0.0;
        for (int t = 0; t < kTheta; ++t) {
            for (int p = 0; p < kPhi; ++p) {
                double sum = 0.0;
                for (int a = 0; a < kSub; ++a)
                    for (int b = 0; b < kSub; ++b) {
                        const float c = (t + (a + 0.5f) / kSub) / kTheta;
                        const float phi = 2.f * kPi * (p + (b + 0.5f) / kSub) / kPhi;
                        sum += bsdf.pdf(wo, directionFromLocal(c, phi));
                    }
                const double binArea = (1.0 / kTheta) * (2.0 * kPi / kPhi);
                expected[t * kPhi + p] = sum / (kSub * kSub) * binArea;
                integral += expected[t * kPhi + p];
            }
        }
        QVERIFY2(integral <= 1.02 && integral > 0.8, qPrintable(QString::number(integral)));
        std::mt19937 g(5);
        std::uniform_real_distribution<float> u(0.f, 1.f);
        const int samples = 200000;
        for (int i = 0; i < samples; ++i) {
            Vec3 wi, weight;
            float pdf;
            if (!bsdf.sample(wo, u(g), u(g), u(g), wi, weight, pdf))
                continue;
            float phi = std::atan2(wi.y, wi.x);
            if (phi < 0.f)
                phi += 2.f * kPi;
            const int t = std::min(kTheta - 1, int(wi.z * kTheta));
            const int p = std::min(kPhi - 1, int(phi / (2.f * kPi) * kPhi));
            observed[t * kPhi + p] += 1.0;
        }
        for (int i = 0; i < kTheta * kPhi; ++i) {
            const double e = expected[i] * samples;
            if (e < 100.0)
                continue;
            QVERIFY2(std::fabs(observed[i] - e) < 5.0 * std::sqrt(e) + 0.03 * e,
                     qPrintable(QStringLiteral("bin %1: observed %2, expected %3")
                                    .arg(i)
                                    .arg(observed[i])
                                    .arg(e)));
        }
    }

    void fourAtOnceMatchEvalLocal()
    {
#if defined(FARM_BSDF_SSE)
        // evalLocal4 (the ambient sky term's four directions side by side) gives exactly what
        // evalLocal gives each direction, for random materials, views and directions.
        std::mt19937 gen(7);
        std::uniform_real_distribution<float> u(0.f, 1.f);
        int compared = 0;
        for (int trial = 0; trial < 2000; ++trial) {
            const Vec3 base(u(gen), u(gen), u(gen));
            const Bsdf bsdf(BsdfParams{base, u(gen), u(gen)}, Vec3(0.f, 0.f, 1.f));
            const Bsdf::Outgoing out =
                bsdf.bindOutgoing(directionFromLocal(0.02f + 0.98f * u(gen), 6.2831853f * u(gen)));
            if (!out.valid)
                continue;
            float wx[4], wy[4], wz[4], rx[4], ry[4], rz[4];
            for (int k = 0; k < 4; ++k) {
                const Vec3 wi = directionFromLocal(0.01f + 0.99f * u(gen), 6.2831853f * u(gen));
                wx[k] = wi.x;
                wy[k] = wi.y;
                wz[k] = wi.z;
            }
            bsdf.evalLocal4(out, wx, wy, wz, rx, ry, rz);
            for (int k = 0; k < 4; ++k) {
                const Vec3 f = bsdf.evalLocal(out, Vec3(wx[k], wy[k], wz[k]), nullptr);
                QCOMPARE(rx[k], f.x); // QCOMPARE on floats is fuzzy: compare the bits too
                QVERIFY(std::memcmp(&rx[k], &f.x, sizeof(float)) == 0);
                QVERIFY(std::memcmp(&ry[k], &f.y, sizeof(float)) == 0);
                QVERIFY(std::memcmp(&rz[k], &f.z, sizeof(float)) == 0);
                ++compared;
            }
        }
        QVERIFY(compared > 4000);
#else
        QSKIP("no SSE path in this build");
#endif
    }

    void belowHorizonIsBlack()
    {
        const Bsdf bsdf(BsdfParams{Vec3(0.8f), 0.f, 0.5f}, Vec3(0.f, 0.f, 1.f));
        const Vec3 up = directionFromLocal(0.7f, 0.f), down = directionFromLocal(-0.3f, 1.f);
        QCOMPARE(maxComponent(bsdf.evalCos(up, down)), 0.f);
        QCOMPARE(bsdf.pdf(up, down), 0.f);
        Vec3 wi, weight;
        float pdf;
        QVERIFY(!bsdf.sample(down, 0.5f, 0.5f, 0.5f, wi, weight, pdf));
    }
};

QTEST_GUILESS_MAIN(TestBsdf)
#include "tst_bsdf.moc"
