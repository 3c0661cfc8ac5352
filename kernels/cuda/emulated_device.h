// The emulated CUDA device: Device::cuda(0) on a machine without a GPU, for CI. Its memory is
// host memory and its kernels are the CUDA kernel sources run by the SIMT emulator
// (Exec::Emulated), so the CUDA backend's code paths are tested everywhere. It is never
// reported as a GPU: cuda::is_available() and device_count() (runtime.h) keep answering
// about real devices (what GPU-only code asks), and its name says "emulated".
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>

#include "fulgur/kernels/cuda/device_memory.h"

namespace fulgur::cuda {

// Turns the emulated device on for this process. Must run before the first CUDA tensor (the
// CUDA backend is chosen once); throws fulgur::Error if a real GPU backend is already in use.
// Setting FULGUR_CUDA_EMULATION=1 in the environment has the same effect (read once).
void enable_emulated_device();

// Whether the emulated device is enabled (by the call above or the environment).
bool emulated_device_enabled();

// DeviceMemory of the emulated device: 256-byte aligned host memory (cudaMalloc's alignment)
// up to a nominal capacity, events that complete at once (emulated launches are synchronous).
class EmulatedDeviceMemory final : public DeviceMemory {
 public:
  static constexpr size_t kAlignment = 256;
  explicit EmulatedDeviceMemory(size_t capacity_bytes) : capacity_(capacity_bytes) {}
  ~EmulatedDeviceMemory() override;

  void* malloc(size_t bytes) override;
  void free(void* ptr) override;
  EventHandle event_create() override;
  void event_record(EventHandle, StreamHandle) override {}
  bool event_query(EventHandle) override { return true; }
  void event_synchronize(EventHandle) override {}
  void event_destroy(EventHandle event) override;
  MemInfo mem_get_info() override;
  std::string name() const override { return "emulated CUDA device 0 (SIMT emulator on the CPU)"; }

 private:
  std::mutex mutex_;
  size_t capacity_;
  size_t used_ = 0;
  std::map<void*, size_t> allocations_;
};

}  // namespace fulgur::cuda
