#include "gpuinfo.h"

#if FARM_HAVE_CUDA
#include "cudabackend.h"
#endif

namespace farm::render {

QList<farm::GpuInfo> listGpus()
{
    QList<farm::GpuInfo> gpus;
#if FARM_HAVE_CUDA
    std::vector<cuda::DeviceInfo> devices;
    std::string why;
    if (!cuda::queryDevices(devices, why))
        return gpus;
    for (const cuda::DeviceInfo &d : devices) {
        farm::GpuInfo g;
        g.name = QString::fromStdString(d.name);
        g.uuid = QString::fromStdString(d.uuid);
        g.vramMb = d.vramMb;
        g.computeCapability = QStringLiteral("%1.%2").arg(d.major).arg(d.minor);
        // CUDA reports 12040 for 12.4; this is the highest CUDA version the driver supports.
        g.driver = QStringLiteral("CUDA %1.%2")
                       .arg(d.driverVersion / 1000)
                       .arg((d.driverVersion % 1000) / 10);
        gpus.append(g);
    }
#endif
    return gpus;
}

bool cudaUsable(QString *why)
{
#if FARM_HAVE_CUDA
    std::vector<cuda::DeviceInfo> devices;
    std::string reason;
    if (cuda::queryDevices(devices, reason))
        return true;
    if (why)
        *why = QString::fromStdString(reason);
    return false;
#else
    if (why)
        *why = QStringLiteral("this build has no CUDA backend");
    return false;
#endif
}

} // namespace farm::render
