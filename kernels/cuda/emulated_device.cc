#include "fulgur/kernels/cuda/emulated_device.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "fulgur/kernels/cuda/backend.h"
#include "fulgur/kernels/error.h"

namespace fulgur::cuda {
namespace {

std::atomic<bool>& enabled_by_call() {
  static std::atomic<bool> enabled{false};
  return enabled;
}

bool enabled_by_environment() {
  static const bool enabled = [] {
    const char* v = std::getenv("FULGUR_CUDA_EMULATION");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return enabled;
}

// A distinct address per event; events carry no state (they are always complete).
char g_event_tokens[1];

}  // namespace

void enable_emulated_device() {
  FULGUR_CHECK(backend_kind() != BackendKind::Gpu, "cuda::enable_emulated_device",
               "the CUDA backend already runs on a real GPU in this process; hint: call it before the "
               "first CUDA tensor, or set FULGUR_CUDA_EMULATION=1");
  enabled_by_call() = true;
  register_cuda_backend();  // in case the backends were registered before (without CUDA)
}

bool emulated_device_enabled() { return enabled_by_call() || enabled_by_environment(); }

EmulatedDeviceMemory::~EmulatedDeviceMemory() {
  for (auto& [ptr, bytes] : allocations_) std::free(ptr);
}

void* EmulatedDeviceMemory::malloc(size_t bytes) {
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  std::lock_guard<std::mutex> lock(mutex_);
  if (used_ + rounded > capacity_) return nullptr;  // out of memory: the allocator frees its cache
  void* ptr = std::aligned_alloc(kAlignment, rounded);
  if (ptr == nullptr) return nullptr;
  allocations_[ptr] = rounded;
  used_ += rounded;
  return ptr;
}

void EmulatedDeviceMemory::free(void* ptr) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = allocations_.find(ptr);
  FULGUR_CHECK(it != allocations_.end(), "EmulatedDeviceMemory::free", "pointer not allocated here");
  used_ -= it->second;
  allocations_.erase(it);
  std::free(ptr);
}

EventHandle EmulatedDeviceMemory::event_create() { return g_event_tokens; }

void EmulatedDeviceMemory::event_destroy(EventHandle) {}

MemInfo EmulatedDeviceMemory::mem_get_info() {
  std::lock_guard<std::mutex> lock(mutex_);
  return {capacity_ - used_, capacity_};
}

}  // namespace fulgur::cuda
