// Device memory allocators. tensor/ asks allocator_for(device) for memory; each backend
// installs its own (kernels/cpu: 64-byte aligned host memory; kernels/cuda: a caching
// allocator). Statistics are kept here, once, for every backend.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "fulgur/kernels/device.h"

namespace fulgur {

struct AllocatorStats {
  int64_t current_bytes = 0;
  int64_t peak_bytes = 0;
  int64_t num_allocations = 0;  // successful allocate() calls since start
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  // Returns memory for nbytes (nbytes may be 0: returns a unique non-null pointer or null).
  void* allocate(size_t nbytes, Device device);
  void deallocate(void* ptr, size_t nbytes, Device device);
  AllocatorStats stats() const;
  void reset_peak();
  // A budget for the bytes in use (0: none, the default). An allocation that would exceed it
  // throws fulgur::Error saying how much was asked, in use and allowed, instead of asking
  // the system: for programs that embed fulgur beside their own memory, and for running
  // untrusted models whose shapes come from data (the ONNX fuzz target).
  void set_memory_limit(int64_t bytes);
  int64_t memory_limit() const { return limit_.load(); }
  // Releases memory kept for reuse (if the allocator caches); bytes currently kept.
  virtual void empty_cache() {}
  virtual size_t cached_bytes() const { return 0; }

 protected:
  virtual void* raw_allocate(size_t nbytes, Device device) = 0;
  virtual void raw_deallocate(void* ptr, size_t nbytes, Device device) = 0;

 private:
  std::atomic<int64_t> current_{0};
  std::atomic<int64_t> peak_{0};
  std::atomic<int64_t> count_{0};
  std::atomic<int64_t> limit_{0};
};

// The allocator registered for a device type; throws fulgur::Error if none is (e.g. CUDA in
// a CPU-only build).
Allocator& allocator_for(DeviceType type);
void register_allocator(DeviceType type, Allocator* allocator);

// Page-locked host memory (Tensor::pin_memory: CPU tensors whose host-to-device copies can be
// asynchronous), registered by a backend that has it (CUDA, kernels/cuda/pinned_host_allocator.h);
// null while none is. Call kernels::ensure_backends_registered() first.
Allocator* pinned_host_allocator();
void register_pinned_host_allocator(Allocator* allocator);

}  // namespace fulgur
