// DeviceMemory over the CUDA runtime for one device: cudaMalloc/cudaFree, cudaEvent*,
// cudaMemGetInfo, each under a DeviceGuard. Only usable in CUDA builds on a machine with a
// device (the constructor throws fulgur::Error otherwise).
#pragma once

#include <string>

#include "fulgur/kernels/cuda/device_memory.h"

namespace fulgur::cuda {

class CudaDeviceMemory final : public DeviceMemory {
 public:
  explicit CudaDeviceMemory(int device);

  void* malloc(size_t bytes) override;
  void free(void* ptr) override;
  EventHandle event_create() override;
  void event_record(EventHandle event, StreamHandle stream) override;
  bool event_query(EventHandle event) override;
  void event_synchronize(EventHandle event) override;
  void event_destroy(EventHandle event) override;
  MemInfo mem_get_info() override;
  std::string name() const override { return name_; }
  int device_index() const { return device_; }

 private:
  int device_;
  std::string name_;
};

// The process-wide caching allocator of `device` over CudaDeviceMemory, created on first use
// and never destroyed (its memory goes with the CUDA context at exit). Throws fulgur::Error
// when there is no such device.
class CachingAllocator;
CachingAllocator& device_caching_allocator(int device);

}  // namespace fulgur::cuda
