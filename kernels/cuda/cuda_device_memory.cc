#include "fulgur/kernels/cuda/cuda_device_memory.h"

#include <memory>
#include <mutex>
#include <vector>

#if FULGUR_WITH_CUDA
#include <cuda_runtime.h>
#endif

#include "fulgur/kernels/cuda/caching_allocator.h"
#include "fulgur/kernels/cuda/cuda_check.h"
#include "fulgur/kernels/cuda/runtime.h"
#include "fulgur/kernels/error.h"

namespace fulgur::cuda {
namespace {

#if !FULGUR_WITH_CUDA
// Without a toolkit, require_device throws before any of these is reached.
[[noreturn]] void no_cuda(const char* op) { FULGUR_FAIL(op, "built without CUDA"); }
#endif

}  // namespace

CudaDeviceMemory::CudaDeviceMemory(int device) : device_(device) {
  require_device(device, "cuda::CudaDeviceMemory");
  name_ = "CUDA device " + std::to_string(device);
#if FULGUR_WITH_CUDA
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) == cudaSuccess) {
    name_ += std::string(" (") + prop.name + ")";
  } else {
    cudaGetLastError();  // the name is only for messages
  }
#endif
}

void* CudaDeviceMemory::malloc(size_t bytes) {
  DeviceGuard guard(device_);
#if FULGUR_WITH_CUDA
  void* ptr = nullptr;
  const cudaError_t err = cudaMalloc(&ptr, bytes);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky, but clear it so later checks do not report it
    return nullptr;
  }
  cuda_check(err, "cudaMalloc", std::to_string(bytes) + " bytes on " + name_);
  return ptr;
#else
  no_cuda("CudaDeviceMemory::malloc");
#endif
}

void CudaDeviceMemory::free(void* ptr) {
  DeviceGuard guard(device_);
#if FULGUR_WITH_CUDA
  cuda_check(cudaFree(ptr), "cudaFree", name_);
#endif
}

EventHandle CudaDeviceMemory::event_create() {
  DeviceGuard guard(device_);
#if FULGUR_WITH_CUDA
  cudaEvent_t e = nullptr;
  cuda_check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreateWithFlags", name_);
  return e;
#else
  no_cuda("CudaDeviceMemory::event_create");
#endif
}

void CudaDeviceMemory::event_record(EventHandle event, StreamHandle stream) {
  DeviceGuard guard(device_);
#if FULGUR_WITH_CUDA
  cuda_check(cudaEventRecord(static_cast<cudaEvent_t>(event), static_cast<cudaStream_t>(stream)), "cudaEventRecord",
             name_);
#endif
}

bool CudaDeviceMemory::event_query(EventHandle event) {
#if FULGUR_WITH_CUDA
  const cudaError_t err = cudaEventQuery(static_cast<cudaEvent_t>(event));
  if (err == cudaErrorNotReady) {
    cudaGetLastError();  // not an error: the work is still running
    return false;
  }
  cuda_check(err, "cudaEventQuery", name_ + " (an error of earlier asynchronous work)");
  return true;
#else
  no_cuda("CudaDeviceMemory::event_query");
#endif
}

void CudaDeviceMemory::event_synchronize(EventHandle event) {
#if FULGUR_WITH_CUDA
  cuda_check(cudaEventSynchronize(static_cast<cudaEvent_t>(event)), "cudaEventSynchronize",
             name_ + " (an error of earlier asynchronous work)");
#endif
}

void CudaDeviceMemory::event_destroy(EventHandle event) {
#if FULGUR_WITH_CUDA
  cuda_check(cudaEventDestroy(static_cast<cudaEvent_t>(event)), "cudaEventDestroy", name_);
#endif
}

MemInfo CudaDeviceMemory::mem_get_info() {
  DeviceGuard guard(device_);
#if FULGUR_WITH_CUDA
  MemInfo info;
  cuda_check(cudaMemGetInfo(&info.free_bytes, &info.total_bytes), "cudaMemGetInfo", name_);
  return info;
#else
  no_cuda("CudaDeviceMemory::mem_get_info");
#endif
}

CachingAllocator& device_caching_allocator(int device) {
  require_device(device, "cuda::device_caching_allocator");
  struct PerDevice {
    std::unique_ptr<CudaDeviceMemory> memory;
    std::unique_ptr<CachingAllocator> allocator;
  };
  // Leaked on purpose: destroying them at exit would race the CUDA runtime's own teardown.
  static auto* devices = new std::vector<PerDevice>(static_cast<size_t>(device_count()));
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  PerDevice& d = (*devices)[static_cast<size_t>(device)];
  if (d.allocator == nullptr) {
    d.memory = std::make_unique<CudaDeviceMemory>(device);
    d.allocator = std::make_unique<CachingAllocator>(*d.memory);
  }
  return *d.allocator;
}

}  // namespace fulgur::cuda
