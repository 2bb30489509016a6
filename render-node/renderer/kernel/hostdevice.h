#pragma once

// One kernel source for CPU and GPU (pbrt-v4's PBRT_CPU_GPU): everything under kernel/ is plain
// C++ that g++ compiles for the CPU backend and nvcc compiles for the CUDA backend. Kernel headers
// therefore use no Qt, no exceptions and no std containers.
#if defined(__CUDACC__)
#define FARM_HOST_DEVICE __host__ __device__
#define FARM_INLINE __forceinline__
#else
#define FARM_HOST_DEVICE
#define FARM_INLINE inline __attribute__((always_inline))
#endif

#define FARM_KERNEL FARM_HOST_DEVICE FARM_INLINE
