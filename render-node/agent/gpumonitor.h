#pragma once

#include "model/node.h"

#include <QList>
#include <QString>

namespace farm::node {

/// GPU load through NVML, read from the driver's own libnvidia-ml.so.1 loaded at run time
/// (dlopen): nothing to link at build time, and nothing at all on machines without the
/// NVIDIA driver (available() is false, sample() empty).
class GpuMonitor
{
public:
    explicit GpuMonitor(const QString &library = QStringLiteral("libnvidia-ml.so.1"));
    ~GpuMonitor();
    GpuMonitor(const GpuMonitor &) = delete;
    GpuMonitor &operator=(const GpuMonitor &) = delete;

    bool available() const { return m_ready; }
    /// Why it is not available ("libnvidia-ml.so.1: cannot open shared object file").
    QString problem() const { return m_problem; }
    /// Utilisation and memory of every GPU NVML sees; a device that cannot be read is left out.
    QList<GpuSample> sample() const;

private:
    struct Api;
    void *m_handle = nullptr;
    Api *m_api = nullptr;
    bool m_ready = false;
    QString m_problem;
};

} // namespace farm::node
