// A library call's workspace (cuBLASLt, cuDNN) from the device's caching allocator, on the
// call's stream: freed right after the call is queued, its block is reused only by later work
// on that stream (or after it, through the allocator's events), as tensor memory is.
#pragma once

#include <cstddef>

#include "fulgur/kernels/cuda/caching_allocator.h"
#include "fulgur/kernels/cuda/cuda_device_memory.h"

namespace fulgur::cuda {

class StreamWorkspace {
 public:
  // bytes == 0 allocates nothing (data() is null).
  StreamWorkspace(int device, size_t bytes, void* stream)
      : device_(device), bytes_(bytes),
        data_(bytes ? device_caching_allocator(device).malloc(bytes, stream) : nullptr) {}
  ~StreamWorkspace() {
    if (data_) device_caching_allocator(device_).free(data_);
  }
  StreamWorkspace(const StreamWorkspace&) = delete;
  StreamWorkspace& operator=(const StreamWorkspace&) = delete;
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  int device_;
  size_t bytes_;
  void* data_;
};

}  // namespace fulgur::cuda
