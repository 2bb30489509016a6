#include "previewwriter.h"

#include "childprotocol.h"

#include <QFileInfo>

#include <algorithm>
#include <cmath>

namespace farm::render {

Framebuffer previewImage(const Framebuffer &sums, int samples, int maxSide)
{
    const int longSide = std::max(sums.width, sums.height);
    const int w = longSide <= maxSide
                      ? sums.width
                      : std::max(1, int(std::lround(double(sums.width) * maxSide / longSide)));
    const int h = longSide <= maxSide
                      ? sums.height
                      : std::max(1, int(std::lround(double(sums.height) * maxSide / longSide)));
    Framebuffer out(w, h);
    const float toMean = 1.f / float(std::max(1, samples));
    for (int y = 0; y < h; ++y) {
        // Each preview pixel averages the source pixels its box covers (at least one).
        const int sy0 = int(int64_t(y) * sums.height / h);
        const int sy1 = std::max(sy0 + 1, int(int64_t(y + 1) * sums.height / h));
        for (int x = 0; x < w; ++x) {
            const int sx0 = int(int64_t(x) * sums.width / w);
            const int sx1 = std::max(sx0 + 1, int(int64_t(x + 1) * sums.width / w));
            Vec3 acc(0.f);
            for (int sy = sy0; sy < sy1; ++sy)
                for (int sx = sx0; sx < sx1; ++sx)
                    acc += sums.at(sx, sy);
            out.at(x, y) = acc * (toMean / float((sy1 - sy0) * (sx1 - sx0)));
        }
    }
    return out;
}

void addPreviewOptions(QCommandLineParser &parser)
{
    parser.addOptions({
        {QStringLiteral("preview"),
         QStringLiteral("Write a JPEG (long side <= %1 px) of the frame so far between sample "
                        "passes, replacing FILE, and print 'PREVIEW <frame> <samples> <path>'.")
             .arg(kPreviewMaxSide),
         QStringLiteral("FILE.jpg")},
        {QStringLiteral("preview-interval"),
         QStringLiteral("Seconds between previews, 0..3600 (default 1)."),
         QStringLiteral("SECONDS")},
    });
}

QString readPreviewOptions(const QCommandLineParser &p, QString &path, double &intervalS)
{
    path.clear();
    intervalS = 1.0;
    if (p.isSet(QStringLiteral("preview-interval"))) {
        bool ok = false;
        intervalS = p.value(QStringLiteral("preview-interval")).toDouble(&ok);
        if (!ok || !std::isfinite(intervalS) || intervalS < 0.0 || intervalS > 3600.0)
            return QStringLiteral("--preview-interval must be 0..3600 seconds, got '%1'")
                .arg(p.value(QStringLiteral("preview-interval")));
        if (!p.isSet(QStringLiteral("preview")))
            return QStringLiteral("--preview-interval needs --preview FILE.jpg");
    }
    if (p.isSet(QStringLiteral("preview"))) {
        path = p.value(QStringLiteral("preview"));
        const QString suffix = QFileInfo(path).suffix().toLower();
        if (suffix != QLatin1String("jpg") && suffix != QLatin1String("jpeg"))
            return QStringLiteral("--preview must name a .jpg or .jpeg file, got '%1'").arg(path);
        path = QFileInfo(path).absoluteFilePath();
    }
    return {};
}

PreviewWriter::PreviewWriter(QString path, double intervalS)
    : m_path(std::move(path))
    , m_intervalMs(qint64(std::llround(intervalS * 1000.0)))
{}

void PreviewWriter::offer(const Framebuffer &sums, int samples, int spp, int frame,
                          const std::function<void(const QString &)> &print)
{
    if (samples >= spp || samples < 1)
        return;
    std::lock_guard lock(m_mutex);
    if (m_sinceLast.isValid() && m_sinceLast.elapsed() < m_intervalMs)
        return;
    m_sinceLast.start();
    // A failed write is not worth failing the render over: the line says so instead.
    if (Result<void> r = writeImage(previewImage(sums, samples), m_path); !r) {
        print(QStringLiteral("warning: preview not written: %1").arg(r.error().message));
        return;
    }
    ++m_written;
    print(childprotocol::previewLine(frame, samples, m_path));
}

} // namespace farm::render
