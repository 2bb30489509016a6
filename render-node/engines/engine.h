#pragma once

#include "agent/taskspec.h"
#include "util/result.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

#include <memory>
#include <utility>

namespace farm::node {

/// Where a task renders: a GPU slot gets CUDA_VISIBLE_DEVICES=<cudaDevice> and the engine's GPU
/// device, a CPU slot (empty cudaDevice) the CPU.
struct TaskSlot
{
    int index = 0;
    QString cudaDevice;
    bool isGpu() const { return !cudaDevice.isEmpty(); }
};

/// What an engine found on this node at start.
struct EngineDetection
{
    bool available = false;
    QString version;
    /// Devices it can render on, as the engine names them ("CPU", "CUDA: NVIDIA RTX A4000").
    QStringList devices;
    /// Why it is not available ("blender: not found on PATH").
    QString reason;
};

/// What a task's child is: the node starts `program arguments` in `workDir` with `environment`
/// added to its own, after writing `files` (name → content) into `workDir`.
struct EngineLaunch
{
    QString program;
    QStringList arguments;
    QHash<QString, QString> environment;
    QString workDir;
    QList<std::pair<QString, QByteArray>> files;
    /// How many FRAME lines make the task complete, and what they count ("frames", "views").
    int expectedFrames = 0;
    QString unit = QStringLiteral("frames");
    /// A template set also announces its camera files (CAMERAS lines).
    bool expectsCameraFiles = false;
};

/// Everything an engine needs to build a task's launch.
struct LaunchContext
{
    const TaskSpec &spec;
    /// Absolute; the child's working directory. Outputs are the files it writes directly here;
    /// the bundle lies under `input/` with its relative paths.
    QString workDir;
    /// Absolute path of the bundle's main file under `workDir/input/`.
    QString mainFile;
    TaskSlot slot;
    /// Threads the child may use (all slots together fill the machine once).
    int threads = 1;
};

/// One thing a child's output line means to the node. Paths are as the child printed them; the
/// node checks that they name files the child wrote into the work directory.
struct ChildEvent
{
    enum class Kind {
        Log,      // a line for the task log
        Error,    // a line for the task log; the first one becomes the task's error
        Progress, // `fraction` of the task done, working on `frame`
        Frame,    // `path`: the main image of `frame`
        Output,   // `path`: the `pass` file of `frame`, uploaded before the frame's main image
        Cameras,  // `path`: a template set's camera file
        Preview,  // `path`: a JPEG of `frame` after `samples` of `spp` samples per pixel
    };
    Kind kind = Kind::Log;
    QString text;
    double fraction = 0.0;
    int frame = 0;
    int samples = 0;
    int spp = 0;
    QString pass;
    QString path;

    static ChildEvent log(const QString &text) { return {Kind::Log, text}; }
    static ChildEvent error(const QString &text) { return {Kind::Error, text}; }
    static ChildEvent progress(double fraction, int frame)
    {
        ChildEvent e{Kind::Progress};
        e.fraction = fraction;
        e.frame = frame;
        return e;
    }
};

/// Reads one task's child output. Stateful (an engine may need to know which frame a status
/// line belongs to), so each task gets its own.
class ChildOutputReader
{
public:
    enum class Stream { Stdout, Stderr };
    virtual ~ChildOutputReader() = default;
    /// The events one complete line (without its newline) means; none to drop the line.
    virtual QList<ChildEvent> translate(const QString &line, Stream stream) = 0;
};

/// A renderer the node can run tasks in (docs/JOBTYPES.md, "Engines"). Engines hold no state
/// about tasks: every call gets what it needs.
class Engine
{
public:
    virtual ~Engine() = default;
    /// The name tasks ask for (`task.assign.engine`) and `hello` advertises.
    virtual QString name() const = 0;
    /// Finds the engine on this machine; may run a program and block for a few seconds.
    virtual EngineDetection detect() = 0;
    /// Checks a task's type and settings before anything is fetched; the error names the field.
    virtual Result<void> check(const TaskSpec &spec) const = 0;
    /// The child for a task whose bundle is laid out in `context.workDir`.
    virtual Result<EngineLaunch> launch(const LaunchContext &context) const = 0;
    virtual std::unique_ptr<ChildOutputReader> reader(const TaskSpec &spec) const = 0;
};

} // namespace farm::node
