#include "scheduler/jobcompiler.h"

#include <functional>
#include <utility>

namespace farm::server {
namespace {

using Compiler = std::function<Result<QList<FrameRange>>(const JobSpec &)>;

// A model job renders each frame independently: chunks of `chunk` consecutive frames.
Result<QList<FrameRange>> compileModel(const JobSpec &spec)
{
    const auto range = FrameRange::parse(spec.frames);
    if (!range)
        return range.error();
    if (spec.chunk < 1)
        return makeError("invalid_field", "chunk must be at least 1");
    return range->chunks(spec.chunk);
}

// A template set is one render: the renderer places all views in one run (42 views at
// preview sizes take seconds), so splitting it would only repeat the scene load per task.
Result<QList<FrameRange>> compileTemplates(const JobSpec &spec)
{
    if (spec.settings.views < 1 || spec.settings.views > kMaxTemplateViews)
        return makeError("invalid_field",
                         QString("settings.views must be 1..%1").arg(kMaxTemplateViews));
    return QList<FrameRange>{FrameRange(QList<int>{1})};
}

const std::pair<const char *, Compiler> kCompilers[] = {
    {"model", compileModel},
    {"templates", compileTemplates},
};

} // namespace

Result<QList<FrameRange>> JobCompiler::compile(const JobSpec &spec)
{
    for (const auto &[type, compiler] : kCompilers)
        if (spec.type == QLatin1String(type))
            return compiler(spec);
    return makeError("invalid_field", QString("type '%1' is not a known job type").arg(spec.type));
}

} // namespace farm::server
