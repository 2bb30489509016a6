#pragma once

// The render command's options, parsed and validated (split out of rendercli.cpp).

#include "framing.h"
#include "kernel/environment.h"
#include "passes.h"
#include "renderer.h"
#include "templatepreset.h"
#include "util/framerange.h"

#include <QCommandLineParser>
#include <QString>

namespace farm::render {

struct CliOptions
{
    QString input;
    QString root; // --root: the bundle root every file read must lie in (empty: input's folder)
    QString output;
    int width = 640;
    int height = 480;
    int spp = 16;
    uint32_t seed = 1;
    FrameRange frames{QList<int>{1}};
    CameraRig rig;
    int threads = 0;
    Device device = Device::Cpu;
    unsigned passes = PassRgb;
    double depthScale = 1000.0;
    int views = 0;                                // > 0: template views instead of frames
    TemplatePreset preset = TemplatePreset::None; // --preset: a pose estimator's template set
    bool adaptiveAa = true;   // --preset: spp samples on edges only (--aa uniform: everywhere)
    double noiseTarget = 0.0; // --noise-target: stop a frame once its noise estimate is this low
    double timeLimitS = 0.0;  // --time-limit: stop a frame after this many seconds
    int bounces = 4;
    // --filter-width: frames' Blackman-Harris pixel filter radius in pixels (0: the box filter);
    // template views keep the box.
    float filterWidth = kDefaultFilterRadius;
    QString environment;
    float environmentIntensity = 1.f;
    EnvironmentView environmentView; // set once the map is loaded
    int bitDepth = 8;
    int cameraFromFile = -1;       // >= 0: index of the model file's camera to render from
    QString preview;               // --preview FILE.jpg: progressive previews (empty: none)
    double previewIntervalS = 1.0; // --preview-interval
};

class Scene;

/// `--camera-from-file` takes an optional INDEX, which QCommandLineParser cannot express: this
/// inserts the default "0" when the next argument is not a number.
QStringList withOptionalValues(const QStringList &args);

/// Turns the model file's camera `o.cameraFromFile` into an explicit pose in `o.rig`; returns
/// the problem (no such camera, orthographic or degenerate), or an empty string.
QString applyFileCamera(const Scene &scene, CliOptions &o);

/// Adds the render command's options to `parser`.
void addRenderOptions(QCommandLineParser &parser);

/// Fills `o` from a parsed command line; returns the problem, or an empty string when valid.
QString readOptions(const QCommandLineParser &parser, CliOptions &o);

} // namespace farm::render
