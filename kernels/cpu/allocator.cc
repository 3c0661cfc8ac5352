// Host memory: 64-byte aligned (a cache line, and the widest AVX-512 load) so that
// vectorised kernels and Eigen never straddle lines at the start of a tensor.
//
// Blocks of 256 KiB and more are cached after free and reused for requests of the same
// size class (quarter-power-of-two steps, so at most 25% slack). glibc returns such blocks
// to the kernel (they are mmap'd), and touching fresh pages costs more than the op itself:
// without the cache a 64 MB add ran at a third of memcpy speed (docs/PERFORMANCE.md). The
// cache holds at most 1 GiB; empty_cache() releases it, and a failed allocation releases it
// and retries once.
#include <bit>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "fulgur/kernels/allocator.h"
#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/error.h"

namespace fulgur::kernels::cpu {
namespace {

constexpr size_t kAlign = 64;
constexpr size_t kMinCached = size_t{256} << 10;
constexpr size_t kCacheLimit = size_t{1} << 30;

size_t size_class(size_t nbytes) {
  const size_t n = (std::max<size_t>(nbytes, 1) + kAlign - 1) / kAlign * kAlign;
  if (n < kMinCached) return n;
  const size_t step = std::bit_floor(n) / 4;
  return (n + step - 1) / step * step;
}

class CachingHostAllocator final : public Allocator {
 public:
  ~CachingHostAllocator() override { empty_cache(); }

  void empty_cache() override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, blocks] : free_) {
      for (void* p : blocks) std::free(p);
    }
    free_.clear();
    cached_ = 0;
  }

  size_t cached_bytes() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }

 protected:
  void* raw_allocate(size_t nbytes, Device) override {
    const size_t size = size_class(nbytes);
    if (size >= kMinCached) {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        return p;
      }
    }
    void* ptr = std::aligned_alloc(kAlign, size);
    if (ptr == nullptr) {
      empty_cache();
      ptr = std::aligned_alloc(kAlign, size);
    }
    FULGUR_CHECK(ptr != nullptr, "allocate", "out of host memory: cannot allocate ", nbytes,
                 " bytes (", stats().current_bytes, " bytes in use); hint: reduce the batch size or "
                 "tensor sizes");
    return ptr;
  }

  void raw_deallocate(void* ptr, size_t nbytes, Device) override {
    const size_t size = size_class(nbytes);
    if (size >= kMinCached) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_ + size <= kCacheLimit) {
        free_[size].push_back(ptr);
        cached_ += size;
        return;
      }
    }
    std::free(ptr);
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0;
};

}  // namespace

Allocator& host_allocator() {
  static CachingHostAllocator* allocator = new CachingHostAllocator();  // never destroyed:
  return *allocator;  // tensors in static objects may be freed after main returns
}

}  // namespace fulgur::kernels::cpu
