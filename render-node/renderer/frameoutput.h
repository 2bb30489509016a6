#pragma once

// Rendering one frame (or template view) of the render command and writing its files, with
// the stdout protocol the agent parses. Internal to rendercli.cpp; split out to keep it small.

#include "passes.h"
#include "renderer.h"

#include <QString>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace farm::render {

class PreviewWriter;

struct FrameJob
{
    int frame = 1;
    qsizetype index = 0; // position in this invocation, for PROGRESS
    qsizetype total = 1;
    Camera camera;
    RenderParams params;
    QString rgbPath;
    PassNaming naming;
    unsigned passes = PassRgb;
    double depthScale = 1000.0;
    int bitDepth = 8;
    int threads = 0;
    Device device = Device::Cpu;
    PreviewWriter *preview = nullptr; // --preview: partial images between sample passes
    XyzFormat xyzFormat = XyzFormat::Nocs;
    float adaptiveThreshold = 0.f; // RenderOptions::adaptiveThreshold
    double noiseTarget = 0.0;      // RenderOptions::noiseTarget (--noise-target)
    double timeLimitS = 0.0;       // RenderOptions::timeLimitS (--time-limit)
};

/// A rendered frame waiting for its files to be written.
struct RenderedFrame
{
    FrameJob job;
    std::optional<Framebuffer> rgb; // when job.passes has PassRgb
    AovBuffers aovs;                // when job.passes has a data pass
};

/// Prints one protocol line on stdout and flushes it (whole lines, from any thread).
void printLine(const QString &line);

/// Prints "error: message" on stderr and returns `code`.
int fail(int code, const QString &message);

/// Where renderJob's lines go (printLine by default).
using LinePrinter = std::function<void(const QString &)>;

/// Renders the job's passes, printing the camera, PROGRESS and "frame N:" lines through
/// `print`. Returns a CliExit code; `out` is filled on CliOk.
int renderJob(const Scene &scene, const FrameJob &job, const RenderOptions &options,
              RenderedFrame &out, const LinePrinter &print = printLine);

/// Writes a rendered frame's files, printing OUTPUT/PROGRESS/FRAME lines. Returns a CliExit code.
int writeRendered(const RenderedFrame &frame);

/// Writes rendered frames on one background thread, in submission order, so the render
/// threads go on with the next frame instead of idling while PNG/EXR/npy files are encoded
/// (a third of a template set's time). At most one frame waits in the queue, bounding memory.
/// stdout keeps the order of a sequential run: lines of frame i + 1 (said while frame i is still
/// being written) are held until frame i's FRAME line is out.
class FrameWriter
{
public:
    FrameWriter();
    ~FrameWriter(); // finishes the queue
    FrameWriter(const FrameWriter &) = delete;
    FrameWriter &operator=(const FrameWriter &) = delete;

    /// Queues a frame (blocks while another one waits). Returns the first write error's
    /// CliExit code so far (the frame is then dropped), else CliOk.
    int submit(RenderedFrame frame);
    /// Waits until every queued frame is written; returns the first error's code or CliOk.
    int finish();
    /// Prints a line of the frame at position `index` of the invocation (FrameJob::index),
    /// after the FRAME lines of every earlier frame.
    void say(qsizetype index, const QString &line);

private:
    void run();

    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::deque<RenderedFrame> m_queue;
    bool m_busy = false;
    bool m_stop = false;
    int m_error = 0;
    qsizetype m_written = 0; // frames 0..m_written-1 have printed their FRAME line
    std::vector<std::pair<qsizetype, QString>> m_held;
    std::thread m_thread;
};

} // namespace farm::render
