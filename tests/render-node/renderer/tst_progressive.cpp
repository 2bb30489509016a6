// Progressive rendering: sample passes give the same final image bit for bit, each pass shows
// the mean of the first samples, and `render --preview` writes small JPEGs while it renders.
#include "clirun.h"
#include "cpubackend.h"
#include "framing.h"
#include "previewwriter.h"
#include "rendercli.h"
#include "renderer.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QImage>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>
#include <utility>

using farm::Result;
using namespace farm::render;
using namespace farm::test;

namespace {

bool samePixels(const Framebuffer &a, const Framebuffer &b)
{
    return a.width == b.width && a.height == b.height &&
           std::memcmp(a.pixels.data(), b.pixels.data(), a.pixels.size() * sizeof(Vec3)) == 0;
}

bool sameAovs(const AovBuffers &a, const AovBuffers &b)
{
    return a.width == b.width && a.height == b.height &&
           std::memcmp(a.pixels.data(), b.pixels.data(), a.pixels.size() * sizeof(AovSample)) == 0;
}

struct PassSums
{
    int samples;
    Framebuffer sums;
};

} // namespace

class TestProgressive : public QObject
{
    Q_OBJECT

    std::optional<Scene> m_engine;

    RenderParams params(int spp) const
    {
        RenderParams p;
        p.width = 72;
        p.height = 56;
        p.spp = spp;
        p.seed = 5;
        return p;
    }

    Framebuffer render(const RenderParams &p, RenderOptions options,
                       QList<PassSums> *passes = nullptr)
    {
        RenderParams framed = p;
        const Camera camera =
            frameCamera(m_engine->bounds(), CameraRig(), 1, p.width, p.height, framed);
        if (passes)
            options.onPass = [passes](const Framebuffer &sums, int samples) {
                passes->append({samples, sums});
            };
        Result<Framebuffer> fb = renderFrame(*m_engine, camera, framed, options);
        if (!fb)
            qFatal("render failed: %s", qPrintable(fb.error().message));
        return std::move(*fb);
    }

private slots:
    void initTestCase()
    {
        if (!QFileInfo::exists(kEngine))
            QSKIP("assimp-testmodels is not installed");
        Result<Scene> s = Scene::load(kEngine);
        QVERIFY(s.ok());
        m_engine.emplace(std::move(*s));
    }

    void passesGiveTheSameImageOnAnyThreadCount()
    {
        const RenderParams p = params(13); // passes 1, 1, 2, 4, 5: the last one takes the rest
        RenderOptions whole;
        whole.threads = 2;
        const Framebuffer reference = render(p, whole);
        for (int threads : {1, 2, 3}) {
            RenderOptions options;
            options.threads = threads;
            QList<PassSums> passes;
            QVERIFY2(samePixels(reference, render(p, options, &passes)),
                     qPrintable(QString("%1 threads").arg(threads)));
            QList<int> samples;
            for (const PassSums &pass : passes)
                samples.append(pass.samples);
            QCOMPARE(samples, (QList<int>{1, 2, 4, 8})); // between passes only, not after the last
        }
        QVERIFY(!samePixels(reference, render(params(12), whole))); // the samples matter
    }

    void eachPassIsTheMeanOfTheFirstSamples()
    {
        RenderOptions options;
        options.threads = 2;
        QList<PassSums> passes;
        render(params(9), options, &passes);
        QVERIFY(passes.size() >= 3);
        for (const PassSums &pass : passes) {
            // The first k samples of every pixel are those of a k-sample render.
            const Framebuffer expected = render(params(pass.samples), options);
            Framebuffer mean = pass.sums;
            for (Vec3 &v : mean.pixels)
                v = v / float(pass.samples);
            QVERIFY2(samePixels(expected, mean), qPrintable(QString::number(pass.samples)));
        }
    }

    void packetedSamplesArePixelSamples_data()
    {
        QTest::addColumn<int>("filter");
        QTest::addColumn<bool>("lowDiscrepancy");
        QTest::newRow("blackman-harris") << int(PixelFilter::BlackmanHarris) << true;
        QTest::newRow("box") << int(PixelFilter::Box) << true;
        QTest::newRow("independent numbers") << int(PixelFilter::BlackmanHarris) << false;
    }

    void packetedSamplesArePixelSamples()
    {
        // addPixelSamples (every CPU frame and sample pass) makes a pixel's camera rays up to 16
        // at a time (with AVX2 eight in one go) and traces them as a packet; its sums must be
        // pixelSample's, sample by sample in sample order, for any sample range (packets of 16,
        // 16, 5 and 16, 3 here: whole groups of eight and the rest one by one).
        QFETCH(int, filter);
        QFETCH(bool, lowDiscrepancy);
        RenderParams p = params(37);
        p.pixelFilter = PixelFilter(filter);
        p.lowDiscrepancy = lowDiscrepancy;
        const Camera camera = frameCamera(m_engine->bounds(), CameraRig(), 1, p.width, p.height, p);
        const SceneView view = m_engine->view();
        const WideTracer tracer{&m_engine->wideBvh(), view};
        int differing = 0, lit = 0, isas = 0;
        const WideIsa defaultIsa = wideIsa();
        for (WideIsa isa : {WideIsa::Sse, WideIsa::Avx2}) {
            // AVX2 also makes the camera rays eight at a time (cameraRays8)
            if (!wideIsaSupported(isa))
                continue;
            setWideIsa(isa);
            ++isas;
            for (int y = 0; y < p.height; ++y) {
                for (int x = 0; x < p.width; ++x) {
                    for (const auto &[s0, s1] : {std::pair{0, 37}, std::pair{5, 24}}) {
                        Vec3 expected(0.5f), expectedOdd(0.25f);
                        for (int s = s0; s < s1; ++s) {
                            const Vec3 l = pixelSample(tracer, view, camera, p, x, y, s);
                            if (isFinite(l)) {
                                expected += l;
                                if (s & 1)
                                    expectedOdd += l;
                            }
                        }
                        Vec3 odd(0.25f);
                        const Vec3 sum = addPixelSamples(tracer, view, camera, p, x, y, s0, s1,
                                                         Vec3(0.5f), &odd);
                        if (std::memcmp(&sum, &expected, sizeof(Vec3)) != 0 ||
                            std::memcmp(&odd, &expectedOdd, sizeof(Vec3)) != 0)
                            ++differing;
                        if (maxComponent(sum) > 0.5f)
                            ++lit;
                    }
                }
            }
        }
        setWideIsa(defaultIsa);
        QCOMPARE(differing, 0);
        QCOMPARE(lit, 2 * isas * p.width * p.height); // every pixel got its samples' light
    }

    void timedPassesStayShort()
    {
        // With passes kept to ~0 s, every pass after the first two is one sample: a preview can
        // come after each.
        RenderOptions options;
        options.threads = 2;
        options.passSeconds = 0.0;
        QList<PassSums> passes;
        const Framebuffer fb = render(params(6), options, &passes);
        QList<int> samples;
        for (const PassSums &pass : passes)
            samples.append(pass.samples);
        QCOMPARE(samples, (QList<int>{1, 2, 3, 4, 5}));
        RenderOptions whole;
        QVERIFY(samePixels(fb, render(params(6), whole)));
    }

    void dataPassesUnchangedByPasses()
    {
        RenderOptions plain;
        AovBuffers expected;
        plain.aovs = &expected;
        const Framebuffer a = render(params(5), plain);
        RenderOptions passesOn;
        AovBuffers got;
        passesOn.aovs = &got;
        QList<PassSums> passes;
        const Framebuffer b = render(params(5), passesOn, &passes);
        QVERIFY(!passes.isEmpty());
        QVERIFY(samePixels(a, b));
        QVERIFY(sameAovs(expected, got));
    }

    void previewImageIsSmallAndTheMean()
    {
        Framebuffer sums(1000, 10);
        for (int y = 0; y < 10; ++y)
            for (int x = 0; x < 1000; ++x)
                sums.at(x, y) = Vec3(float(x % 2) * 4.f, 2.f, 0.f); // 4 samples
        const Framebuffer small = previewImage(sums, 4);
        QCOMPARE(small.width, kPreviewMaxSide);
        QCOMPARE(small.height, 5);
        // Boxes of one or two columns and two rows: means of 0 and 1 in x, 0.5 in y.
        double meanX = 0.0;
        for (const Vec3 &v : small.pixels) {
            QVERIFY(v.x >= 0.f && v.x <= 1.f);
            QVERIFY(std::abs(v.y - 0.5f) < 1e-6f);
            meanX += v.x / double(small.pixels.size());
        }
        QVERIFY(std::abs(meanX - 0.5) < 0.02);
        const Framebuffer same = previewImage(Framebuffer(40, 30), 1);
        QCOMPARE(same.width, 40); // never scaled up
        QCOMPARE(same.height, 30);
    }

    void cliWritesPreviewsAtMostEveryInterval()
    {
        QTemporaryDir dir;
        const QString preview = dir.filePath("live.jpg");
        QProcess p;
        QList<std::pair<qint64, QString>> lines; // (ms since start, PREVIEW line)
        QElapsedTimer clock;
        QByteArray buffer;
        QObject::connect(&p, &QProcess::readyReadStandardOutput, [&] {
            buffer += p.readAllStandardOutput();
            for (qsizetype nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
                const QString line = QString::fromUtf8(buffer.left(nl));
                buffer.remove(0, nl + 1);
                if (line.startsWith("PREVIEW ")) {
                    lines.append({clock.elapsed(), line});
                    // The file named is a whole JPEG of the current state, small.
                    const QImage img(line.section(' ', 3));
                    QVERIFY2(!img.isNull(), qPrintable(line));
                    QCOMPARE(img.size(), QSize(512, 384));
                }
            }
        });
        clock.start();
        p.start(QStringLiteral(FARM_RENDER_CLI),
                {kEngine, "-o", dir.filePath("final.png"), "--size", "640x480", "--spp", "48",
                 "--threads", "1", "--preview", preview, "--preview-interval", "0.4"});
        QVERIFY(p.waitForFinished(180000));
        const qint64 totalMs = clock.elapsed();
        QCOMPARE(p.exitCode(), 0);
        QVERIFY2(lines.size() >= 2, qPrintable(QString("%1 previews").arg(lines.size())));
        // At most one per interval (lines may bunch up in the pipe, never more than that).
        QVERIFY2(lines.size() <= totalMs / 400 + 1,
                 qPrintable(QString("%1 previews in %2 ms").arg(lines.size()).arg(totalMs)));
        int last = 0;
        for (const auto &[ms, line] : lines) {
            const QStringList parts = line.split(' ');
            QCOMPARE(parts.value(1), QString("1"));
            const int samples = parts.value(2).toInt();
            QVERIFY2(samples > last && samples < 48, qPrintable(line));
            last = samples;
            QCOMPARE(parts.value(3), preview);
        }
        QVERIFY(QFileInfo::exists(preview));
        QCOMPARE(QDir(dir.path()).entryList({"*.jpg*"}).size(), 1); // no temporary files left

        // The final frame is the one rendered without previews, on another thread count.
        const Run plain = runCli({kEngine, "-o", dir.filePath("plain.png"), "--size", "640x480",
                                  "--spp", "48", "--threads", "2"});
        QCOMPARE(plain.exitCode, 0);
        QCOMPARE(QImage(dir.filePath("final.png")), QImage(dir.filePath("plain.png")));
    }

    void badPreviewArguments_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::newRow("png") << QStringList{"--preview", "p.png"} << "--preview must name a .jpg";
        QTest::newRow("negative") << QStringList{"--preview", "p.jpg", "--preview-interval", "-1"}
                                  << "--preview-interval must be";
        QTest::newRow("text") << QStringList{"--preview", "p.jpg", "--preview-interval", "soon"}
                              << "--preview-interval must be";
        QTest::newRow("alone") << QStringList{"--preview-interval", "2"} << "needs --preview";
    }

    void badPreviewArguments()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        QTemporaryDir dir;
        const Run r = runCli(QStringList{kBox, "-o", dir.filePath("x.png")} + args);
        QCOMPARE(r.exitCode, int(CliBadArguments));
        QVERIFY2(r.err.contains(message), qPrintable(r.err));
    }
};

QTEST_MAIN(TestProgressive)
#include "tst_progressive.moc"
