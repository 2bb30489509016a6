#include "frameoutput.h"

#include "childprotocol.h"
#include "previewwriter.h"
#include "rendercli.h"

#include <QFileInfo>

#include <cmath>
#include <cstdio>

namespace farm::render {

void printLine(const QString &line)
{
    static std::mutex mutex; // the writer thread prints too: never interleave within a line
    const QByteArray bytes = line.toUtf8();
    std::lock_guard lock(mutex);
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stdout);
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

int renderJob(const Scene &scene, const FrameJob &job, const RenderOptions &options,
              RenderedFrame &out, const LinePrinter &print)
{
    const int frame = job.frame;
    const Camera &camera = job.camera;
    const RenderParams &params = job.params;
    const Vec3 target = camera.position - camera.w; // one unit ahead along the view axis
    print(QStringLiteral("camera %1: eye %2 %3 %4 target %5 %6 %7 up 0 1 0 fov_y %8 sun %9 %10 %11")
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
    out.job = job;
    out.rgb.reset();
    out.aovs = {};
    if (job.passes & PassRgb) {
        int lastTenth = -1;
        auto progress = [&](double f) {
            const int tenth = int(f * 10.0);
            if (tenth == lastTenth)
                return;
            lastTenth = tenth;
            const double overall = (double(job.index) + f) / double(job.total);
            print(childprotocol::progressLine(overall, frame));
        };
        RenderReport report;
        RenderOptions withAovs = options;
        withAovs.adaptiveThreshold = job.adaptiveThreshold;
        withAovs.noiseTarget = job.noiseTarget;
        withAovs.timeLimitS = job.timeLimitS;
        if (job.noiseTarget > 0.0 || job.timeLimitS > 0.0)
            withAovs.onNoise = [&](int samples, double estimate) {
                print(QStringLiteral("noise %1: rmse estimate %2 after %3 spp")
                          .arg(frame)
                          .arg(estimate, 0, 'f', 5)
                          .arg(samples));
            };
        if (job.passes & ~unsigned(PassRgb))
            withAovs.aovs = &out.aovs; // one sweep for the beauty image and the data passes
        if (job.preview) {
            withAovs.onPass = [&](const Framebuffer &sums, int samples) {
                job.preview->offer(sums, samples, params.spp, frame, print);
            };
            withAovs.passSeconds = std::max(0.25, job.preview->intervalS());
        }
        Result<Framebuffer> fb = renderFrame(scene, camera, params, withAovs, progress, &report);
        if (!fb)
            return fail(CliRenderFailed, fb.error().message);
        if (job.device == Device::Cuda && job.index == 0 && !report.fallbackReason.isEmpty())
            print(QStringLiteral("note: CUDA unavailable (%1), rendering on the CPU")
                      .arg(report.fallbackReason));
        const int threads =
            job.threads > 0 ? job.threads : int(std::max(1u, std::thread::hardware_concurrency()));
        print(QStringLiteral("frame %1: %2x%3, %4 spp in %5 ms on %6")
                  .arg(frame)
                  .arg(params.width)
                  .arg(params.height)
                  .arg(report.samples > 0 ? report.samples : params.spp)
                  .arg(report.renderMs, 0, 'f', 1)
                  .arg(report.device == Device::Cuda
                           ? QStringLiteral("cuda")
                           : QStringLiteral("cpu (%1 threads)").arg(threads)));
        out.rgb = std::move(*fb);
    } else if (job.passes & ~unsigned(PassRgb))
        out.aovs = renderAovs(scene, camera, params.width, params.height, job.threads);
    return CliOk;
}

int writeRendered(const RenderedFrame &rendered)
{
    const FrameJob &job = rendered.job;
    QString mainOutput;
    if (rendered.rgb) {
        if (Result<void> written = writeImage(*rendered.rgb, job.rgbPath, job.bitDepth); !written)
            return fail(CliRenderFailed, written.error().message);
        mainOutput = job.rgbPath;
    }
    if (job.passes & ~unsigned(PassRgb)) {
        Result<QList<QPair<QString, QString>>> written =
            writePasses(rendered.aovs, job.passes, job.naming, job.depthScale, job.xyzFormat);
        if (!written)
            return fail(CliRenderFailed, written.error().message);
        for (const auto &[pass, file] : *written) {
            printLine(childprotocol::outputLine(job.frame, pass, file));
            if (mainOutput.isEmpty())
                mainOutput = file;
        }
        if (!(job.passes & PassRgb))
            printLine(
                childprotocol::progressLine(double(job.index + 1) / double(job.total), job.frame));
    }
    printLine(childprotocol::frameLine(job.frame, mainOutput));
    return CliOk;
}

FrameWriter::FrameWriter()
    : m_thread([this] { run(); })
{}

FrameWriter::~FrameWriter()
{
    finish();
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_changed.notify_all();
    m_thread.join();
}

int FrameWriter::submit(RenderedFrame frame)
{
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [this] { return m_queue.empty() || m_error != CliOk; });
    if (m_error != CliOk)
        return m_error;
    m_queue.push_back(std::move(frame));
    m_changed.notify_all();
    return CliOk;
}

int FrameWriter::finish()
{
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [this] { return (m_queue.empty() && !m_busy) || m_error != CliOk; });
    return m_error;
}

void FrameWriter::say(qsizetype index, const QString &line)
{
    std::lock_guard lock(m_mutex);
    if (index <= m_written)
        printLine(line);
    else
        m_held.emplace_back(index, line);
}

void FrameWriter::run()
{
    std::unique_lock lock(m_mutex);
    for (;;) {
        m_changed.wait(lock, [this] { return m_stop || !m_queue.empty(); });
        if (m_queue.empty())
            return; // stopping
        RenderedFrame frame = std::move(m_queue.front());
        m_queue.pop_front();
        m_busy = true;
        const bool failed = m_error != CliOk; // after a failure the rest is dropped
        lock.unlock();
        const int code = failed ? CliOk : writeRendered(frame);
        lock.lock();
        m_busy = false;
        m_written = std::max(m_written, frame.job.index + 1);
        // Release the next frame's lines, in the order they were said.
        std::vector<std::pair<qsizetype, QString>> still;
        for (auto &[index, line] : m_held) {
            if (index <= m_written)
                printLine(line);
            else
                still.emplace_back(index, std::move(line));
        }
        m_held.swap(still);
        if (code != CliOk && m_error == CliOk)
            m_error = code;
        m_changed.notify_all();
    }
}

} // namespace farm::render
