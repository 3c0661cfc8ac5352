#include "fulgur/kernels/cuda/pinned_host_allocator.h"

#include <cstdlib>
#include <string>

#if FULGUR_WITH_CUDA
#include <cuda_runtime.h>
#endif

#include "fulgur/kernels/error.h"

namespace fulgur::cuda {

namespace {
constexpr size_t kMinClass = 512;
}  // namespace

PinnedHostAllocator::PinnedHostAllocator(bool page_locked) : page_locked_(page_locked) {
#if !FULGUR_WITH_CUDA
  FULGUR_CHECK(!page_locked, "pin_memory", "internal: page-locked memory in a build without the CUDA toolkit");
#endif
}

PinnedHostAllocator::~PinnedHostAllocator() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [ptr, block] : blocks_) host_free(const_cast<void*>(ptr));
}

size_t PinnedHostAllocator::size_class(size_t nbytes) {
  size_t size = kMinClass;
  while (size < nbytes) size *= 2;
  return size;
}

void* PinnedHostAllocator::host_alloc(size_t size) {
  void* ptr = nullptr;
#if FULGUR_WITH_CUDA
  if (page_locked_) {
    const cudaError_t err = cudaHostAlloc(&ptr, size, cudaHostAllocDefault);
    if (err != cudaSuccess) {
      cudaGetLastError();
      return nullptr;
    }
    return ptr;
  }
#endif
  ptr = std::aligned_alloc(kMinClass, size);  // size is a multiple of kMinClass
  return ptr;
}

void PinnedHostAllocator::host_free(void* ptr) {
#if FULGUR_WITH_CUDA
  if (page_locked_) {
    cudaFreeHost(ptr);
    return;
  }
#endif
  std::free(ptr);
}

namespace {
// Whether a copy's event completed. Never throws: this runs when a tensor is freed (possibly
// in a destructor, or after main). On a CUDA error the block stays pending, i.e. is leaked
// rather than reused while a copy might still read it.
bool finished(const Event& e) noexcept {
  try {
    return e.query();
  } catch (...) {
    return false;
  }
}
}  // namespace

void PinnedHostAllocator::reclaim_finished() {
  std::vector<void*> still;
  for (void* ptr : pending_) {
    Block& b = blocks_.at(ptr);
    std::erase_if(b.uses, [](const Event& e) { return finished(e); });
    if (b.uses.empty()) {
      free_.emplace(b.size, ptr);
    } else {
      still.push_back(ptr);
    }
  }
  pending_.swap(still);
}

void PinnedHostAllocator::release_free() {
  for (auto& [size, ptr] : free_) {
    blocks_.erase(ptr);
    host_free(ptr);
  }
  free_.clear();
}

void* PinnedHostAllocator::raw_allocate(size_t nbytes, Device) {
  const size_t size = size_class(nbytes);
  std::lock_guard<std::mutex> lock(mutex_);
  reclaim_finished();
  if (auto it = free_.find(size); it != free_.end()) {
    void* ptr = it->second;
    free_.erase(it);
    blocks_.at(ptr).in_use = true;
    return ptr;
  }
  void* ptr = host_alloc(size);
  if (ptr == nullptr) {  // give the cache back and try once more
    release_free();
    ptr = host_alloc(size);
  }
  FULGUR_CHECK(ptr != nullptr, "pin_memory", "cannot allocate ", size, " bytes of page-locked host memory (",
               blocks_.size(), " blocks held); hint: pin smaller batches, or fewer at once");
  ++host_allocations_;
  blocks_[ptr] = Block{size, true, {}};
  return ptr;
}

void PinnedHostAllocator::raw_deallocate(void* ptr, size_t, Device) {
  std::lock_guard<std::mutex> lock(mutex_);
  Block& b = blocks_.at(ptr);
  b.in_use = false;
  // Free for reuse once its uses are done: looked at by the next allocation (not here: this
  // runs in tensors' destructors, which must not wait or fail).
  pending_.push_back(ptr);
}

void PinnedHostAllocator::record_use(const void* ptr, const Stream& stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = blocks_.upper_bound(ptr);
  FULGUR_CHECK(it != blocks_.begin(), "copy (non_blocking)", "internal: the source is not pinned memory");
  --it;
  const auto* base = static_cast<const char*>(it->first);
  FULGUR_CHECK(static_cast<const char*>(ptr) < base + it->second.size && it->second.in_use, "copy (non_blocking)",
               "internal: the source is not a pinned block in use");
  Event e;
  e.record(stream);
  it->second.uses.push_back(std::move(e));
}

bool PinnedHostAllocator::owns(const void* ptr) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = blocks_.upper_bound(ptr);
  if (it == blocks_.begin()) return false;
  --it;
  return static_cast<const char*>(ptr) < static_cast<const char*>(it->first) + it->second.size;
}

void PinnedHostAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  reclaim_finished();
  release_free();
}

size_t PinnedHostAllocator::cached_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t total = 0;
  for (const auto& [ptr, block] : blocks_)
    if (!block.in_use) total += block.size;
  return total;
}

int64_t PinnedHostAllocator::host_allocations() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return host_allocations_;
}

}  // namespace fulgur::cuda
