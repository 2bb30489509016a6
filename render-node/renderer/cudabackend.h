#pragma once

// Interface of the CUDA backend (cudabackend.cu, library farm_renderer_cuda). Plain C++ only:
// nvcc compiles the implementation and g++ the callers.

#include "kernel/integrator.h"

#include <string>
#include <vector>

namespace farm::render::cuda {

struct DeviceInfo
{
    std::string name;
    std::string uuid; // "GPU-xxxxxxxx-xxxx-...", as nvidia-smi prints it
    long long vramMb = 0;
    int major = 0;
    int minor = 0;
    int driverVersion = 0; // CUDA driver API version, e.g. 12040
};

/// Lists CUDA devices. Returns false with the reason (e.g. "no CUDA driver") when none can be used.
bool queryDevices(std::vector<DeviceInfo> &devices, std::string &why);

/// Renders a frame on device `device`, writing width * height linear RGB pixels to `pixels`.
/// Returns false with the CUDA error text when anything fails; nothing is left allocated.
bool render(const SceneView &hostScene, const Camera &camera, const RenderParams &params,
            Vec3 *pixels, int device, std::string &why);

} // namespace farm::render::cuda
