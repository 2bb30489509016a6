// CUDA backend: the same kernel headers as the CPU backend, one thread per pixel.
#include "cudabackend.h"

#include <cuda_runtime.h>

#include <cstdio>
#include <vector>

namespace farm::render::cuda {
namespace {

__global__ void renderKernel(SceneView scene, Camera camera, RenderParams params, Vec3 *pixels)
{
    const int x = int(blockIdx.x * blockDim.x + threadIdx.x);
    const int y = int(blockIdx.y * blockDim.y + threadIdx.y);
    if (x >= params.width || y >= params.height)
        return;
    const BinaryTracer tracer{scene};
    pixels[size_t(y) * size_t(params.width) + size_t(x)] =
        renderPixel(tracer, scene, camera, params, x, y);
}

/// Device buffers freed on every path out of render().
class DeviceBuffers
{
public:
    ~DeviceBuffers()
    {
        for (void *p : m_ptrs)
            cudaFree(p);
    }

    template<typename T>
    bool upload(const T *host, size_t count, const T *&device, std::string &why)
    {
        device = nullptr;
        if (count == 0)
            return true;
        void *p = nullptr;
        if (!check(cudaMalloc(&p, count * sizeof(T)), "cudaMalloc", why))
            return false;
        m_ptrs.push_back(p);
        device = static_cast<const T *>(p);
        return check(cudaMemcpy(p, host, count * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy",
                     why);
    }

    bool allocate(size_t bytes, void *&device, std::string &why)
    {
        if (!check(cudaMalloc(&device, bytes), "cudaMalloc", why))
            return false;
        m_ptrs.push_back(device);
        return true;
    }

    static bool check(cudaError_t err, const char *what, std::string &why)
    {
        if (err == cudaSuccess)
            return true;
        why = std::string(what) + ": " + cudaGetErrorString(err);
        return false;
    }

private:
    std::vector<void *> m_ptrs;
};

std::string formatUuid(const cudaUUID_t &uuid)
{
    const auto *b = reinterpret_cast<const unsigned char *>(uuid.bytes);
    char text[64];
    std::snprintf(text, sizeof text,
                  "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                  b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                  b[14], b[15]);
    return text;
}

} // namespace

bool queryDevices(std::vector<DeviceInfo> &devices, std::string &why)
{
    devices.clear();
    int count = 0;
    if (!DeviceBuffers::check(cudaGetDeviceCount(&count), "cudaGetDeviceCount", why))
        return false;
    if (count == 0) {
        why = "no CUDA device";
        return false;
    }
    int driver = 0;
    cudaDriverGetVersion(&driver);
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp prop{};
        if (!DeviceBuffers::check(cudaGetDeviceProperties(&prop, i), "cudaGetDeviceProperties",
                                  why))
            return false;
        DeviceInfo info;
        info.name = prop.name;
        info.uuid = formatUuid(prop.uuid);
        info.vramMb = static_cast<long long>(prop.totalGlobalMem / (1024 * 1024));
        info.major = prop.major;
        info.minor = prop.minor;
        info.driverVersion = driver;
        devices.push_back(info);
    }
    return true;
}

bool render(const SceneView &hostScene, const Camera &camera, const RenderParams &params,
            Vec3 *pixels, int device, std::string &why)
{
    if (!DeviceBuffers::check(cudaSetDevice(device), "cudaSetDevice", why))
        return false;
    DeviceBuffers buffers;
    SceneView scene = hostScene;
    scene.instanceIds = nullptr; // only the data passes read it, and they run on the CPU
    const size_t vertices = size_t(hostScene.triangleCount) * 3;
    if (!buffers.upload(hostScene.nodes, hostScene.nodeCount, scene.nodes, why) ||
        !buffers.upload(hostScene.positions, vertices, scene.positions, why) ||
        !buffers.upload(hostScene.normals, vertices, scene.normals, why) ||
        !buffers.upload(hostScene.albedo, vertices, scene.albedo, why) ||
        !buffers.upload(hostScene.primIds, size_t(hostScene.triangleCount), scene.primIds, why) ||
        !buffers.upload(hostScene.materialIds, size_t(hostScene.triangleCount), scene.materialIds,
                        why) ||
        !buffers.upload(hostScene.materials, size_t(hostScene.materialCount), scene.materials, why))
        return false;
    if (hostScene.lightCount > 0 &&
        (!buffers.upload(hostScene.lightSlots, size_t(hostScene.lightCount), scene.lightSlots,
                         why) ||
         !buffers.upload(hostScene.lightCdf, size_t(hostScene.lightCount), scene.lightCdf, why) ||
         !buffers.upload(hostScene.lightAreaPdf, size_t(hostScene.triangleCount),
                         scene.lightAreaPdf, why)))
        return false;
    if (hostScene.uvs && !buffers.upload(hostScene.uvs, vertices * 2, scene.uvs, why))
        return false;
    if (hostScene.tangents &&
        (!buffers.upload(hostScene.tangents, vertices, scene.tangents, why) ||
         !buffers.upload(hostScene.tangentSigns, vertices, scene.tangentSigns, why)))
        return false;
    // Textures: upload each texel block, then the table of device-side views.
    std::vector<TextureView> deviceViews(hostScene.textureCount);
    for (uint32_t i = 0; i < hostScene.textureCount; ++i) {
        const TextureView &t = hostScene.textures[i];
        deviceViews[i] = t;
        if (!buffers.upload(t.texels, size_t(t.width) * size_t(t.height) * 4, deviceViews[i].texels,
                            why))
            return false;
    }
    if (!buffers.upload(deviceViews.data(), deviceViews.size(), scene.textures, why))
        return false;
    RenderParams deviceParams = params;
    if (params.environment.valid()) {
        const EnvironmentView &env = params.environment;
        const size_t texels = size_t(env.width) * size_t(env.height);
        if (!buffers.upload(env.rgb, texels * 3, deviceParams.environment.rgb, why) ||
            !buffers.upload(env.marginalCdf, size_t(env.height) + 1,
                            deviceParams.environment.marginalCdf, why) ||
            !buffers.upload(env.conditionalCdf, size_t(env.height) * size_t(env.width + 1),
                            deviceParams.environment.conditionalCdf, why))
            return false;
    }
    const size_t pixelBytes = size_t(params.width) * size_t(params.height) * sizeof(Vec3);
    void *devicePixels = nullptr;
    if (!buffers.allocate(pixelBytes, devicePixels, why))
        return false;

    const dim3 block(8, 8);
    const dim3 grid((unsigned(params.width) + block.x - 1) / block.x,
                    (unsigned(params.height) + block.y - 1) / block.y);
    renderKernel<<<grid, block>>>(scene, camera, deviceParams, static_cast<Vec3 *>(devicePixels));
    if (!DeviceBuffers::check(cudaGetLastError(), "kernel launch", why) ||
        !DeviceBuffers::check(cudaDeviceSynchronize(), "kernel", why))
        return false;
    return DeviceBuffers::check(
        cudaMemcpy(pixels, devicePixels, pixelBytes, cudaMemcpyDeviceToHost), "cudaMemcpy", why);
}

} // namespace farm::render::cuda
