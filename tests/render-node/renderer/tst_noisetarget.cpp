// Time-or-noise targets (RenderOptions::noiseTarget / timeLimitS, render --noise-target /
// --time-limit): the noise estimate follows the true error against a converged reference, a
// target stops the frame early at the estimate it asked for, a time limit stops it, and the
// render command prints the estimates (the task log shows them).
#include "clirun.h"
#include "framebuffer.h"
#include "framing.h"
#include "renderer.h"

#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <optional>

using farm::Result;
using namespace farm::render;
using namespace farm::test;

namespace {

/// RMSE over pixels and channels after the tone curve (what NoiseStop estimates).
double toneRmse(const Framebuffer &a, const Framebuffer &b)
{
    double sum = 0.0;
    for (size_t i = 0; i < a.pixels.size(); ++i)
        for (int c = 0; c < 3; ++c) {
            const double d = double(toneCurve(a.pixels[i][c])) - double(toneCurve(b.pixels[i][c]));
            sum += d * d;
        }
    return std::sqrt(sum / (3.0 * double(a.pixels.size())));
}

} // namespace

class TestNoiseTarget : public QObject
{
    Q_OBJECT

    std::optional<Scene> m_engine;
    Camera m_camera;

    RenderParams params(int spp, uint32_t seed) const
    {
        RenderParams p;
        p.width = 64;
        p.height = 48;
        p.spp = spp;
        p.seed = seed;
        return p;
    }

    Framebuffer render(RenderParams p, const RenderOptions &options, RenderReport *report)
    {
        CameraRig rig;
        const Camera camera = frameCamera(m_engine->bounds(), rig, 1, p.width, p.height, p);
        Result<Framebuffer> fb = renderFrame(*m_engine, camera, p, options, {}, report);
        return fb ? *fb : Framebuffer();
    }

private slots:
    void initTestCase()
    {
        Result<Scene> s = Scene::load(kEngine);
        QVERIFY(s.ok());
        m_engine.emplace(std::move(*s));
    }

    void estimateFollowsTheTrueError()
    {
        RenderOptions plain;
        plain.threads = 2;
        const Framebuffer reference = render(params(1024, 99), plain, nullptr);
        for (int spp : {8, 32}) {
            RenderOptions options = plain;
            options.noiseTarget = 1e-9; // never reached: renders all spp, estimating on the way
            RenderReport report;
            const Framebuffer image = render(params(spp, 3), options, &report);
            QCOMPARE(report.samples, spp);
            const double truth = toneRmse(image, reference);
            QVERIFY(report.noiseEstimate > 0.0);
            // Each half is a worse-stratified set than the whole, so the estimate leans high.
            QVERIFY2(report.noiseEstimate > 0.7 * truth && report.noiseEstimate < 2.5 * truth,
                     qPrintable(QStringLiteral("spp %1: estimate %2, true %3")
                                    .arg(spp)
                                    .arg(report.noiseEstimate)
                                    .arg(truth)));
        }
    }

    void targetStopsEarly()
    {
        RenderOptions options;
        options.threads = 2;
        options.noiseTarget = 0.03;
        QList<QPair<int, double>> seen;
        options.onNoise = [&](int samples, double estimate) { seen.append({samples, estimate}); };
        RenderReport report;
        render(params(4096, 1), options, &report);
        QVERIFY(report.samples < 4096);
        QVERIFY(report.noiseEstimate <= 0.03);
        QVERIFY(!seen.isEmpty());
        QCOMPARE(seen.last().first, report.samples);
        for (qsizetype i = 0; i + 1 < seen.size(); ++i) // it went on while above the target
            QVERIFY(seen[i].second > 0.03);
    }

    void timeLimitStops()
    {
        RenderOptions options;
        options.threads = 2;
        options.timeLimitS = 0.2;
        RenderReport report;
        render(params(4096, 1), options, &report);
        QVERIFY2(report.samples >= 1 && report.samples < 4096,
                 qPrintable(QString::number(report.samples)));
    }

    void commandPrintsTheEstimates()
    {
        QTemporaryDir dir;
        const Run r = runCli({kEngine, "-o", dir.filePath("f.png"), "--size", "64x48",
                              "--noise-target", "0.05", "--threads", "2"});
        QCOMPARE(r.exitCode, 0);
        const QStringList noise = linesStartingWith(r.out, "noise 1: rmse estimate ");
        QVERIFY(!noise.isEmpty());
        QVERIFY(noise.last().endsWith(" spp"));
        for (const QStringList &bad :
             {QStringList{"--noise-target", "0"}, QStringList{"--noise-target", "x"},
              QStringList{"--time-limit", "-1"},
              QStringList{"--views", "4", "--time-limit", "1"}}) {
            const Run b = runCli(QStringList{kEngine, "-o", dir.filePath("b")} + bad);
            QCOMPARE(b.exitCode, 2);
        }
    }
};

QTEST_GUILESS_MAIN(TestNoiseTarget)
#include "tst_noisetarget.moc"
