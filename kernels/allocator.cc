#include "fulgur/kernels/allocator.h"

#include <array>

#include "fulgur/kernels/error.h"

namespace fulgur {

void* Allocator::allocate(size_t nbytes, Device device) {
  const int64_t limit = limit_.load();
  if (limit > 0) {
    const int64_t in_use = current_.load();
    FULGUR_CHECK(nbytes <= static_cast<size_t>(limit) && in_use <= limit - static_cast<int64_t>(nbytes), "allocate",
                 "out of memory on ", device, ": tried to allocate ", nbytes, " bytes with ", in_use,
                 " bytes in use; the memory limit is ", limit, " bytes (set_memory_limit); hint: use smaller "
                 "batches or shapes, or raise the limit");
  }
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

void Allocator::set_memory_limit(int64_t bytes) {
  FULGUR_CHECK(bytes >= 0, "set_memory_limit", "expected a byte count >= 0 (0: no limit), got ", bytes);
  limit_.store(bytes);
}

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

namespace {
std::atomic<Allocator*>& pinned_registry() {
  static std::atomic<Allocator*> pinned{nullptr};
  return pinned;
}
}  // namespace

Allocator* pinned_host_allocator() { return pinned_registry().load(); }

void register_pinned_host_allocator(Allocator* allocator) { pinned_registry().store(allocator); }

}  // namespace fulgur
