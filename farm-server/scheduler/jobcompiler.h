#pragma once

#include "model/job.h"
#include "util/framerange.h"
#include "util/result.h"

#include <QList>

namespace farm::server {

/// Splits a submitted job into the frame ranges of its tasks, one compiler per job type.
class JobCompiler
{
public:
    static Result<QList<FrameRange>> compile(const JobSpec &spec);
};

} // namespace farm::server
