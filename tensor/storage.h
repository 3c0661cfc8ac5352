// Storage: one allocation (or a borrowed external buffer) shared by every view of it.
// It also carries the version counter that in-place ops bump, which autograd reads to
// detect that a saved tensor was modified.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "fulgur/kernels/allocator.h"
#include "fulgur/kernels/device.h"

namespace fulgur {

class StorageImpl {
 public:
  // Allocates nbytes on device with that device's registered allocator.
  StorageImpl(size_t nbytes, Device device);
  // Allocates nbytes on device from `allocator` (e.g. pinned_host_allocator() for the CPU).
  StorageImpl(size_t nbytes, Device device, Allocator& allocator);
  // Borrows `data`; calls deleter(data) when the last view goes (no-op if empty).
  StorageImpl(void* data, size_t nbytes, Device device, std::function<void(void*)> deleter);
  ~StorageImpl();
  StorageImpl(const StorageImpl&) = delete;
  StorageImpl& operator=(const StorageImpl&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  // Where the memory came from; null for borrowed memory.
  const Allocator* allocator() const { return allocator_; }
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  Allocator* allocator_ = nullptr;  // null for borrowed memory
  std::function<void(void*)> deleter_;
  std::atomic<uint64_t> version_{0};
};

using Storage = std::shared_ptr<StorageImpl>;

}  // namespace fulgur
