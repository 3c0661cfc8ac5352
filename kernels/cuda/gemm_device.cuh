// What the GEMM launchers (gemm.cuh, gemm_wgmma.cuh) ask of the device: its SM count (to size
// tiles), its compute capability (to pick a kernel) and, on a GPU, the opt-in to more than
// 48 KiB of dynamic shared memory (shared_memory_opt_in.cuh). The emulated build answers for
// an H100/H200 (132 SMs, 9.0), so that emulated runs choose tiles as the GPU build would there.
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/per_device.h"
#include "fulgur/kernels/cuda/simt.h"
#include "kernels/cuda/shared_memory_opt_in.cuh"  // .cuh files: by workspace path

namespace fulgur::cuda {
namespace FULGUR_KERNEL_NS {
namespace gemm_detail {

// The current device's SM count, read once per device (132, an H100/H200's, when it cannot be
// read).
inline int sm_count() {
#if !FULGUR_SIMT_EMULATED
  static ::fulgur::cuda::detail::PerDevice<int> counts;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return 132;
  return counts.get(device, [device] {
    int sms = 0;
    return cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) == cudaSuccess && sms > 0 ? sms : 132;
  });
#else
  return 132;
#endif
}

// The current device's compute capability (major * 10 + minor); 0 when it cannot be read.
inline int compute_capability() {
#if !FULGUR_SIMT_EMULATED
  int device = 0, major = 0, minor = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess) {
    return 0;
  }
  return major * 10 + minor;
#else
  return 90;
#endif
}

#if !FULGUR_SIMT_EMULATED
using ::fulgur::cuda::detail::reserve_shared_memory;
#endif

}  // namespace gemm_detail
}  // namespace FULGUR_KERNEL_NS
}  // namespace fulgur::cuda
