#pragma once

#include "model/node.h"

#include <QList>
#include <QString>

namespace farm::render {

/// The CUDA GPUs this process can use, as the node reports them; empty when the renderer was
/// built without CUDA or no driver/device answers.
QList<farm::GpuInfo> listGpus();

/// Whether the CUDA backend can render here; `why` gets the reason when it cannot.
bool cudaUsable(QString *why = nullptr);

} // namespace farm::render
