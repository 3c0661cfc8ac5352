// The opt-in a kernel needs before it launches with more than 48 KiB of dynamic shared memory
// (cudaFuncAttributeMaxDynamicSharedMemorySize), made once per kernel and device: the
// attribute belongs to one function on one device. GPU build only (the emulator has no limit).
#pragma once

#if !FULGUR_SIMT_EMULATED
#include <cuda_runtime.h>

#include "fulgur/kernels/cuda/per_device.h"

namespace fulgur::cuda::detail {

// Raises kKernel's limit to `bytes` (the same on every call for one kernel) on the current
// device, once per device (a failure is asked again next time). The kernel is a template
// argument so that each one has its own record: keyed by the kernel's type instead, every
// kernel of one signature shared a record, so the first one's opt-in stood for all and the
// others' launches failed with "invalid argument" (seen on an H200, 2026-11-29).
template <auto kKernel>
cudaError_t reserve_shared_memory(int bytes) {
  static PerDevice<bool> reserved;
  int device = 0;
  if (const cudaError_t e = cudaGetDevice(&device); e != cudaSuccess) return e;
  if (reserved.find(device)) return cudaSuccess;
  const cudaError_t e = cudaFuncSetAttribute(kKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
  if (e == cudaSuccess) reserved.remember(device, true);
  return e;
}

}  // namespace fulgur::cuda::detail
#endif
