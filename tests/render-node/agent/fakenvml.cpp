// A stand-in for the NVIDIA driver's libnvidia-ml.so.1 with two GPUs of fixed load (the one
// thing the project mocks: a GPU). Same C entry points and structs as NVML.
#include <cstring>

namespace {
struct Utilization
{
    unsigned int gpu, memory;
};
struct Memory
{
    unsigned long long total, free, used;
};
bool g_initialised = false;
int g_devices[2];
} // namespace

extern "C" {
int nvmlInit_v2()
{
    g_initialised = true;
    return 0;
}
int nvmlShutdown()
{
    g_initialised = false;
    return 0;
}
int nvmlDeviceGetCount_v2(unsigned int *count)
{
    *count = 2;
    return g_initialised ? 0 : 1;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void **device)
{
    if (index >= 2)
        return 2;
    *device = &g_devices[index];
    return 0;
}
int nvmlDeviceGetUUID(void *device, char *uuid, unsigned int length)
{
    const char *name = device == &g_devices[0] ? "GPU-fake-0000" : "GPU-fake-0001";
    if (std::strlen(name) + 1 > length)
        return 7;
    std::strcpy(uuid, name);
    return 0;
}
int nvmlDeviceGetUtilizationRates(void *device, Utilization *u)
{
    *u = {device == &g_devices[0] ? 87u : 3u, 40u};
    return 0;
}
int nvmlDeviceGetMemoryInfo(void *device, Memory *m)
{
    const unsigned long long mib = 1024ull * 1024;
    if (device == &g_devices[0])
        *m = {81920 * mib, 61440 * mib, 20480 * mib};
    else
        *m = {24576 * mib, 24064 * mib, 512 * mib};
    return 0;
}
}
