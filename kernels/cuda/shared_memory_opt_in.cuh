// The opt-in a kernel needs before it launches with more than 48 KiB of dynamic shared memory
// (cudaFuncAttributeMaxDynamicSharedMemorySize), made once per kernel and device: the
// attribute belongs to one function on one device. GPU build only (the emulator has no limit).
#pragma once

#if !FULGUR_SIMT_EMULATED
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>

namespace fulgur::cuda::detail {

// Raises kKernel's limit to `bytes` (the same on every call for one kernel) on the current
// device; devices past 63 ask every call. The kernel is a template argument so that each one
// has its own record: keyed by the kernel's type instead, every kernel of one signature shared
// a record, so the first one's opt-in stood for all and the others' launches failed with
// "invalid argument" (seen on an H200, 2026-11-29).
template <auto kKernel>
cudaError_t reserve_shared_memory(int bytes) {
  static std::atomic<uint64_t> done{0};  // bit d: device d
  int device = 0;
  if (const cudaError_t e = cudaGetDevice(&device); e != cudaSuccess) return e;
  const uint64_t bit = device < 64 ? uint64_t{1} << device : 0;
  if (bit != 0 && (done.load(std::memory_order_relaxed) & bit) != 0) return cudaSuccess;
  const cudaError_t e = cudaFuncSetAttribute(kKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
  if (e == cudaSuccess) done.fetch_or(bit, std::memory_order_relaxed);
  return e;
}

}  // namespace fulgur::cuda::detail
#endif
