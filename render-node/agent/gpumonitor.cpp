#include "agent/gpumonitor.h"

#include <QFile>

#include <dlfcn.h>
#include <type_traits>

namespace farm::node {
namespace {

// The few NVML types and calls used, as the NVML API reference defines them (C ABI).
using nvmlReturn_t = int;
using nvmlDevice_t = void *;
constexpr nvmlReturn_t kNvmlSuccess = 0;
struct NvmlUtilization
{
    unsigned int gpu;    // percent of the sample period a kernel ran
    unsigned int memory; // percent of it memory was read or written
};
struct NvmlMemory
{
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
};

} // namespace

struct GpuMonitor::Api
{
    nvmlReturn_t (*init)();
    nvmlReturn_t (*shutdown)();
    nvmlReturn_t (*count)(unsigned int *);
    nvmlReturn_t (*handle)(unsigned int, nvmlDevice_t *);
    nvmlReturn_t (*uuid)(nvmlDevice_t, char *, unsigned int);
    nvmlReturn_t (*utilization)(nvmlDevice_t, NvmlUtilization *);
    nvmlReturn_t (*memory)(nvmlDevice_t, NvmlMemory *);
};

GpuMonitor::GpuMonitor(const QString &library)
{
    m_handle = ::dlopen(QFile::encodeName(library).constData(), RTLD_NOW | RTLD_LOCAL);
    if (!m_handle) {
        m_problem = QString::fromLocal8Bit(::dlerror());
        return;
    }
    m_api = new Api{};
    const auto bind = [this](auto &fn, const char *name) {
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(m_handle, name));
        return fn != nullptr;
    };
    if (!bind(m_api->init, "nvmlInit_v2") || !bind(m_api->shutdown, "nvmlShutdown") ||
        !bind(m_api->count, "nvmlDeviceGetCount_v2") ||
        !bind(m_api->handle, "nvmlDeviceGetHandleByIndex_v2") ||
        !bind(m_api->uuid, "nvmlDeviceGetUUID") ||
        !bind(m_api->utilization, "nvmlDeviceGetUtilizationRates") ||
        !bind(m_api->memory, "nvmlDeviceGetMemoryInfo")) {
        m_problem = library + " lacks an NVML function this node uses";
        return;
    }
    if (m_api->init() != kNvmlSuccess) {
        m_problem = "nvmlInit failed (no NVIDIA GPU or driver is usable)";
        return;
    }
    m_ready = true;
}

GpuMonitor::~GpuMonitor()
{
    if (m_ready)
        m_api->shutdown();
    delete m_api;
    if (m_handle)
        ::dlclose(m_handle);
}

QList<GpuSample> GpuMonitor::sample() const
{
    QList<GpuSample> out;
    unsigned int count = 0;
    if (!m_ready || m_api->count(&count) != kNvmlSuccess)
        return out;
    for (unsigned int i = 0; i < count && out.size() < GpuSample::kMaxPerNode; ++i) {
        nvmlDevice_t device = nullptr;
        char uuid[96] = {};
        NvmlUtilization util{};
        NvmlMemory memory{};
        if (m_api->handle(i, &device) != kNvmlSuccess ||
            m_api->uuid(device, uuid, sizeof(uuid)) != kNvmlSuccess ||
            m_api->utilization(device, &util) != kNvmlSuccess ||
            m_api->memory(device, &memory) != kNvmlSuccess)
            continue;
        GpuSample g;
        g.uuid = QString::fromLatin1(uuid, qstrnlen(uuid, sizeof(uuid)));
        g.utilization = qBound(0u, util.gpu, 100u) / 100.0;
        g.memoryTotalMb = qint64(memory.total / (1024 * 1024));
        g.memoryUsedMb = qMin(g.memoryTotalMb, qint64(memory.used / (1024 * 1024)));
        out.append(g);
    }
    return out;
}

} // namespace farm::node
