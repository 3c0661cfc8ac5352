// What the caching allocator asks of a device: raw memory, events, and how much memory the
// device has. Two implementations: CudaDeviceMemory (cuda_device_memory.h, the CUDA runtime)
// and HostDeviceMemory (host_device_memory.h, a test double of the device over host memory),
// so the allocator's bookkeeping is tested on machines without a GPU.
#pragma once

#include <cstddef>
#include <string>

#include "fulgur/kernels/cuda/stream.h"

namespace fulgur::cuda {

struct MemInfo {
  size_t free_bytes = 0;
  size_t total_bytes = 0;
};

class DeviceMemory {
 public:
  virtual ~DeviceMemory() = default;
  // nullptr when the device is out of memory (the allocator then frees its cache and retries);
  // fulgur::Error for any other failure.
  virtual void* malloc(size_t bytes) = 0;
  virtual void free(void* ptr) = 0;
  virtual EventHandle event_create() = 0;
  // Marks the point reached by the work queued so far on `stream`.
  virtual void event_record(EventHandle event, StreamHandle stream) = 0;
  // Whether the work before the record has finished.
  virtual bool event_query(EventHandle event) = 0;
  virtual void event_synchronize(EventHandle event) = 0;
  virtual void event_destroy(EventHandle event) = 0;
  virtual MemInfo mem_get_info() = 0;
  // For messages: "CUDA device 0 (NVIDIA H200)".
  virtual std::string name() const = 0;
};

}  // namespace fulgur::cuda
