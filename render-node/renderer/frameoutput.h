#pragma once

// Rendering one frame (or template view) of the render command and writing its files, with
// the stdout protocol the agent parses. Internal to rendercli.cpp; split out to keep it small.

#include "passes.h"
#include "renderer.h"

#include <QString>

namespace farm::render {

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
};

/// Prints one protocol line on stdout and flushes it.
void printLine(const QString &line);

/// Prints "error: message" on stderr and returns `code`.
int fail(int code, const QString &message);

/// Renders the job's passes and writes them, printing camera/PROGRESS/OUTPUT/FRAME lines.
/// Returns a CliExit code.
int renderAndWrite(const Scene &scene, const FrameJob &job, const RenderOptions &options);

} // namespace farm::render
