#include "fulgur/kernels/allocator.h"

#include <array>

#include "fulgur/kernels/error.h"

namespace fulgur {

void* Allocator::allocate(size_t nbytes, Device device) {
  void* ptr = raw_allocate(nbytes, device);
  const int64_t now = current_.fetch_add(static_cast<int64_t>(nbytes)) + static_cast<int64_t>(nbytes);
  int64_t peak = peak_.load();
  while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
  }
  count_.fetch_add(1);
  return ptr;
}

void Allocator::deallocate(void* ptr, size_t nbytes, Device device) {
  raw_deallocate(ptr, nbytes, device);
  current_.fetch_sub(static_cast<int64_t>(nbytes));
}

AllocatorStats Allocator::stats() const {
  return {current_.load(), peak_.load(), count_.load()};
}

void Allocator::reset_peak() { peak_.store(current_.load()); }

namespace {
std::array<std::atomic<Allocator*>, kNumDeviceTypes>& registry() {
  static std::array<std::atomic<Allocator*>, kNumDeviceTypes> allocators{};
  return allocators;
}
}  // namespace

Allocator& allocator_for(DeviceType type) {
  Allocator* allocator = registry()[static_cast<size_t>(type)].load();
  FULGUR_CHECK(allocator != nullptr, "allocate", "no allocator for device type ",
               type == DeviceType::CPU ? "cpu" : "cuda",
               "; hint: this build has no backend for it (CUDA needs a toolkit at build time "
               "and a device at run time)");
  return *allocator;
}

void register_allocator(DeviceType type, Allocator* allocator) {
  registry()[static_cast<size_t>(type)].store(allocator);
}

}  // namespace fulgur
