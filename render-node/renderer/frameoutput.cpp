#include "frameoutput.h"

#include "rendercli.h"

#include <QFileInfo>

#include <cmath>
#include <cstdio>
#include <thread>

namespace farm::render {

void printLine(const QString &line)
{
    std::fputs(line.toUtf8().constData(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout); // the agent parses these lines live
}

int fail(int code, const QString &message)
{
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", message.toUtf8().constData());
    std::fflush(stderr);
    return code;
}

int renderAndWrite(const Scene &scene, const FrameJob &job, const RenderOptions &options)
{
    const int frame = job.frame;
    const qsizetype index = job.index, total = job.total;
    const Camera &camera = job.camera;
    const RenderParams &params = job.params;
    const QString &path = job.rgbPath;
    const Vec3 target = camera.position - camera.w; // one unit ahead along the view axis
    printLine(
        QStringLiteral("camera %1: eye %2 %3 %4 target %5 %6 %7 up 0 1 0 fov_y %8 sun %9 %10 %11")
            .arg(frame)
            .arg(camera.position.x)
            .arg(camera.position.y)
            .arg(camera.position.z)
            .arg(target.x)
            .arg(target.y)
            .arg(target.z)
            .arg(double(2.f * std::atan(camera.tanHalfFovY) * 180.f / kPi))
            .arg(params.sunDirection.x)
            .arg(params.sunDirection.y)
            .arg(params.sunDirection.z));
    QString mainOutput;
    if (job.passes & PassRgb) {
        int lastTenth = -1;
        auto progress = [&](double f) {
            const int tenth = int(f * 10.0);
            if (tenth == lastTenth)
                return;
            lastTenth = tenth;
            const double overall = (double(index) + f) / double(total);
            printLine(QStringLiteral("PROGRESS %1 %2").arg(overall, 0, 'f', 4).arg(frame));
        };
        RenderReport report;
        Result<Framebuffer> fb = renderFrame(scene, camera, params, options, progress, &report);
        if (!fb)
            return fail(CliRenderFailed, fb.error().message);
        if (job.device == Device::Cuda && index == 0 && !report.fallbackReason.isEmpty())
            printLine(QStringLiteral("note: CUDA unavailable (%1), rendering on the CPU")
                          .arg(report.fallbackReason));
        if (Result<void> written = writeImage(*fb, path, job.bitDepth); !written)
            return fail(CliRenderFailed, written.error().message);
        const int threads =
            job.threads > 0 ? job.threads : int(std::max(1u, std::thread::hardware_concurrency()));
        printLine(QStringLiteral("frame %1: %2x%3, %4 spp in %5 ms on %6")
                      .arg(frame)
                      .arg(params.width)
                      .arg(params.height)
                      .arg(params.spp)
                      .arg(report.renderMs, 0, 'f', 1)
                      .arg(report.device == Device::Cuda
                               ? QStringLiteral("cuda")
                               : QStringLiteral("cpu (%1 threads)").arg(threads)));
        mainOutput = path;
    }
    if (job.passes & ~unsigned(PassRgb)) {
        const AovBuffers aovs = renderAovs(scene, camera, params.width, params.height, job.threads);
        Result<QList<QPair<QString, QString>>> written =
            writePasses(aovs, job.passes, job.naming, job.depthScale);
        if (!written)
            return fail(CliRenderFailed, written.error().message);
        for (const auto &[pass, file] : *written) {
            printLine(QStringLiteral("OUTPUT %1 %2 %3").arg(frame).arg(pass, file));
            if (mainOutput.isEmpty())
                mainOutput = file;
        }
        if (!(job.passes & PassRgb))
            printLine(QStringLiteral("PROGRESS %1 %2")
                          .arg(double(index + 1) / double(total), 0, 'f', 4)
                          .arg(frame));
    }
    printLine(QStringLiteral("FRAME %1 %2").arg(frame).arg(mainOutput));
    return CliOk;
}

} // namespace farm::render
