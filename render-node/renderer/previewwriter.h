#pragma once

// Progressive previews of the render command: a small JPEG of the frame so far, written
// between sample passes (cpubackend renders in passes when asked for them).

#include "framebuffer.h"

#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QString>

#include <functional>
#include <mutex>

namespace farm::render {

/// Longest side of a preview image in pixels.
constexpr int kPreviewMaxSide = 512;

/// The running mean of `sums` (each pixel's radiance summed over `samples` samples), box
/// filtered down so that the long side is at most `maxSide` (never up).
Framebuffer previewImage(const Framebuffer &sums, int samples, int maxSide = kPreviewMaxSide);

/// `--preview FILE.jpg` and `--preview-interval SECONDS`.
void addPreviewOptions(QCommandLineParser &parser);
/// Reads them into `path` (empty: no previews) and `intervalS`; returns the problem or "".
QString readPreviewOptions(const QCommandLineParser &parser, QString &path, double &intervalS);

/// Writes previews to one file for a whole invocation, at most every interval, atomically
/// (QSaveFile through writeImage), announcing each with `PREVIEW <frame> <samples> <path>`.
class PreviewWriter
{
public:
    PreviewWriter(QString path, double intervalS);

    /// Called between sample passes with the sums so far. Writes a preview when the interval
    /// has passed since the last one (the first one at once), never for a finished frame
    /// (`samples` == `spp`: its real image follows). Thread-safe.
    void offer(const Framebuffer &sums, int samples, int spp, int frame,
               const std::function<void(const QString &)> &print);
    int written() const { return m_written; }
    double intervalS() const { return double(m_intervalMs) / 1000.0; }

private:
    QString m_path;
    qint64 m_intervalMs;
    std::mutex m_mutex;
    QElapsedTimer m_sinceLast;
    int m_written = 0;
};

} // namespace farm::render
