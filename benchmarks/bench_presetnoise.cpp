// Noise of the SAM-6D template preset (docs/TEMPLATES.md) against a converged reference, next to
// a path-traced render at SAM-6D's own 50 samples: for a few of the 42 views, RMSE of the
// tone-mapped image (the values written to rgb_N.png, 0..1, before 8-bit rounding) against the
// same view at --ref-spp samples with the same lighting and bounces, over the whole image and
// over the object's pixels (mask). Rows:
//   preset  : the preset's own settings (adaptive anti-aliasing: one centre sample, --spp
//             (default 16) on edges found with --threshold; bounces 0: direct light only),
//   path 50 : 50 spp with --pt-bounces (default 3, BlenderProc's), i.e. path tracing with
//             indirect light, against its own reference with the same bounces,
// each with its render time (42-view time = ms/view x 42, render only; bench_preset.sh times the
// whole command). Usage:
//   bench_presetnoise [MODEL] [--size WxH] [--threads N] [--spp N] [--ref-spp N]
//                     [--pt-spp N] [--pt-bounces N] [--views 0,20,36] [--no-path]
//                     [--ref-dir DIR]
// --no-path: the preset row only. --ref-dir: references are read from DIR when there (16-bit
// PNG and object mask per model, view, size, spp and bounces) and written there when not, so a
// before/after comparison renders them once.
#include "framebuffer.h"
#include "passes.h"
#include "renderer.h"
#include "scene.h"
#include "templatepreset.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QImage>

#include <cmath>
#include <cstdio>
#include <optional>

using farm::Result;
using namespace farm::render;

namespace {

int argInt(const QStringList &args, const QString &flag, int fallback)
{
    const qsizetype i = args.indexOf(flag);
    return i >= 0 && i + 1 < args.size() ? args[i + 1].toInt() : fallback;
}

struct Render
{
    QImage image; // 16-bit tone-mapped
    AovBuffers aovs;
    double ms = 0.0;
    RenderReport report;
};

std::optional<Render> render(const Scene &scene, int view, int width, int height, int spp,
                             int bounces, int threads, float threshold = 0.f)
{
    RenderParams params;
    params.width = width;
    params.height = height;
    params.spp = spp;
    params.maxBounces = bounces;
    params.frame = uint32_t(view);
    const Camera camera = sam6dCamera(scene.bounds(), view, width, height, params);
    Render r;
    RenderOptions options;
    options.threads = threads;
    options.adaptiveThreshold = threshold;
    options.aovs = &r.aovs; // as the render command runs a template view
    QElapsedTimer timer;
    timer.start();
    Result<Framebuffer> fb = renderFrame(scene, camera, params, options, {}, &r.report);
    r.ms = double(timer.nsecsElapsed()) / 1e6;
    if (!fb)
        return std::nullopt;
    r.image = toImage16(*fb);
    return r;
}

struct Error
{
    double image = 0.0;  // RMSE over every pixel and channel
    double object = 0.0; // over the reference's object pixels
};

Error rmse(const Render &a, const Render &ref)
{
    double all = 0.0, obj = 0.0;
    qint64 objCount = 0;
    const int w = ref.image.width(), h = ref.image.height();
    for (int y = 0; y < h; ++y) {
        const auto *pa = reinterpret_cast<const quint16 *>(a.image.constScanLine(y));
        const auto *pr = reinterpret_cast<const quint16 *>(ref.image.constScanLine(y));
        const int channels = int(a.image.bytesPerLine() / 2 / w); // RGBA64 or RGB16
        for (int x = 0; x < w; ++x) {
            double e = 0.0;
            for (int c = 0; c < 3; ++c) {
                const double d =
                    (double(pa[x * channels + c]) - double(pr[x * channels + c])) / 65535.0;
                e += d * d;
            }
            all += e;
            if (ref.aovs.pixels[size_t(y) * size_t(w) + size_t(x)].hit) {
                obj += e;
                ++objCount;
            }
        }
    }
    return {std::sqrt(all / (3.0 * double(w) * h)),
            objCount ? std::sqrt(obj / (3.0 * double(objCount))) : 0.0};
}

/// render() at the reference's settings, or its copy in `dir` (written there on the first run).
std::optional<Render> reference(const Scene &scene, const QString &model, const QString &dir,
                                int view, int width, int height, int spp, int bounces, int threads)
{
    const QString stem = dir.isEmpty()
                             ? QString()
                             : QDir(dir).filePath(QStringLiteral("%1_v%2_%3x%4_%5spp_b%6")
                                                      .arg(QFileInfo(model).completeBaseName())
                                                      .arg(view)
                                                      .arg(width)
                                                      .arg(height)
                                                      .arg(spp)
                                                      .arg(bounces));
    if (!stem.isEmpty()) {
        Render r;
        r.image = QImage(stem + QStringLiteral(".png"));
        const QImage mask(stem + QStringLiteral("_mask.png"));
        if (!r.image.isNull() && r.image.size() == QSize(width, height) &&
            mask.size() == QSize(width, height)) {
            r.image = r.image.convertToFormat(QImage::Format_RGBA64);
            r.aovs.width = width;
            r.aovs.height = height;
            r.aovs.pixels.resize(size_t(width) * size_t(height));
            for (int y = 0; y < height; ++y)
                for (int x = 0; x < width; ++x)
                    r.aovs.pixels[size_t(y) * size_t(width) + size_t(x)].hit =
                        qGray(mask.pixel(x, y)) > 127;
            return r;
        }
    }
    std::optional<Render> r = render(scene, view, width, height, spp, bounces, threads);
    if (r && !stem.isEmpty()) {
        QDir().mkpath(dir);
        QImage mask(width, height, QImage::Format_Grayscale8);
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < width; ++x)
                mask.scanLine(y)[x] =
                    r->aovs.pixels[size_t(y) * size_t(width) + size_t(x)].hit ? 255 : 0;
        r->image = r->image.convertToFormat(QImage::Format_RGBA64);
        r->image.save(stem + QStringLiteral(".png"));
        mask.save(stem + QStringLiteral("_mask.png"));
    }
    return r;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments().mid(1);
    QString model = QStringLiteral(
        "/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb");
    if (!args.isEmpty() && !args.first().startsWith(QLatin1String("--")))
        model = args.first();
    const int threads = argInt(args, QStringLiteral("--threads"), 2);
    const int spp = argInt(args, QStringLiteral("--spp"), 16);
    float threshold = kSam6dEdgeThreshold;
    if (const qsizetype i = args.indexOf(QStringLiteral("--threshold"));
        i >= 0 && i + 1 < args.size())
        threshold = args[i + 1].toFloat();
    const int bounces = argInt(args, QStringLiteral("--bounces"), 0);
    const int refSpp = argInt(args, QStringLiteral("--ref-spp"), 1024);
    const int ptSpp = argInt(args, QStringLiteral("--pt-spp"), 50);
    const int ptBounces = argInt(args, QStringLiteral("--pt-bounces"), 3);
    int width = 640, height = 480;
    if (const qsizetype i = args.indexOf(QStringLiteral("--size")); i >= 0 && i + 1 < args.size()) {
        const QStringList wh = args[i + 1].split(QLatin1Char('x'));
        width = wh.value(0).toInt();
        height = wh.value(1).toInt();
    }
    const bool path = !args.contains(QStringLiteral("--no-path"));
    QString refDir;
    if (const qsizetype i = args.indexOf(QStringLiteral("--ref-dir"));
        i >= 0 && i + 1 < args.size())
        refDir = args[i + 1];
    QList<int> views = {0, 20, 36};
    if (const qsizetype i = args.indexOf(QStringLiteral("--views"));
        i >= 0 && i + 1 < args.size()) {
        views.clear();
        for (const QString &v : args[i + 1].split(QLatin1Char(',')))
            views.append(v.toInt());
    }
    Result<Scene> scene = Scene::load(model);
    if (!scene) {
        std::fprintf(stderr, "error: cannot load %s\n", qPrintable(model));
        return 3;
    }
    std::printf("%s: %zu triangles, views %s of 42, %dx%d, %d threads, reference %d spp\n",
                qPrintable(QFileInfo(model).fileName()), scene->stats().triangles, qPrintable([&] {
                    QStringList s;
                    for (int v : views)
                        s.append(QString::number(v));
                    return s.join(',');
                }()),
                width, height, threads, refSpp);
    std::printf("  %-28s %6s %12s %12s %10s %12s\n", "render", "view", "rmse image", "rmse object",
                "ms/view", "42 views s");
    struct Row
    {
        QString name;
        int spp, bounces;
        Error sum;
        double ms = 0.0;
    };
    QList<Row> rows = {{QStringLiteral("preset %1(x2) edge spp, %2 b.").arg(spp).arg(bounces),
                        spp,
                        bounces,
                        {},
                        0.0},
                       {QStringLiteral("path %1 spp, %2 bounces").arg(ptSpp).arg(ptBounces),
                        ptSpp,
                        ptBounces,
                        {},
                        0.0}};
    if (!path)
        rows.removeLast();
    for (int view : views) {
        std::optional<Render> refs[2];
        refs[0] = reference(*scene, model, refDir, view, width, height, refSpp, bounces, threads);
        if (path)
            refs[1] = bounces == ptBounces ? refs[0]
                                           : reference(*scene, model, refDir, view, width, height,
                                                       refSpp, ptBounces, threads);
        for (qsizetype k = 0; k < rows.size(); ++k) {
            Row &row = rows[k];
            const std::optional<Render> r = render(*scene, view, width, height, row.spp,
                                                   row.bounces, threads, k == 0 ? threshold : 0.f);
            if (!r || !refs[k]) {
                std::fprintf(stderr, "error: view %d failed\n", view);
                return 4;
            }
            const Error e = rmse(*r, *refs[k]);
            row.sum.image += e.image;
            row.sum.object += e.object;
            row.ms += r->ms;
            std::printf("  %-28s %6d %12.5f %12.5f %10.1f %12s", qPrintable(row.name), view,
                        e.image, e.object, r->ms, "");
            if (r->report.edgePixels > 0)
                std::printf("  %d edge pixels (%d of them 2x)", r->report.edgePixels,
                            r->report.extendedEdgePixels);
            std::printf("\n");
            std::fflush(stdout);
        }
    }
    const double n = double(views.size());
    for (const Row &row : rows)
        std::printf("  %-28s %6s %12.5f %12.5f %10.1f %12.2f\n", qPrintable(row.name), "mean",
                    row.sum.image / n, row.sum.object / n, row.ms / n, row.ms / n * 42.0 / 1000.0);
    return 0;
}
