// Page-locked ("pinned") host memory for CPU tensors that feed host-to-device copies
// (Tensor::pin_memory, DataLoader's pin_memory=true). On a GPU it comes from cudaHostAlloc,
// which lets cudaMemcpyAsync run without a staging copy and without blocking the host; under
// the emulated device it is ordinary aligned host memory (its copies are synchronous anyway).
//
// Blocks are cached by size class (powers of two from 512 bytes): a DataLoader pins every
// batch, and cudaHostAlloc is slow (it maps the pages for the device). An asynchronous copy
// out of a block records an event (record_use); a freed block is reused only once every
// recorded event has completed, so a tensor may be dropped while its copy is in flight
// (PyTorch's CachingHostAllocator does the same).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "fulgur/kernels/allocator.h"
#include "fulgur/kernels/cuda/stream.h"

namespace fulgur::cuda {

class PinnedHostAllocator final : public Allocator {
 public:
  // page_locked: cudaHostAlloc / cudaFreeHost (a real GPU); false: aligned host memory.
  explicit PinnedHostAllocator(bool page_locked);
  ~PinnedHostAllocator() override;

  // Marks the block holding `ptr` as read by the work queued so far on `stream`.
  void record_use(const void* ptr, const Stream& stream);
  // Whether `ptr` lies in a block of this allocator (in use or cached).
  bool owns(const void* ptr) const;
  void empty_cache() override;
  size_t cached_bytes() const override;
  // Host allocations made so far (cache misses).
  int64_t host_allocations() const;

  // The size class of a request: the next power of two, at least 512 bytes.
  static size_t size_class(size_t nbytes);

 protected:
  void* raw_allocate(size_t nbytes, Device device) override;
  void raw_deallocate(void* ptr, size_t nbytes, Device device) override;

 private:
  struct Block {
    size_t size = 0;
    bool in_use = false;
    std::vector<Event> uses;  // copies that read the block, not yet known to be done
  };
  void* host_alloc(size_t size);
  void host_free(void* ptr);
  void reclaim_finished();  // pending blocks whose uses completed become free; mutex held
  void release_free();      // frees every cached block; mutex held

  [[maybe_unused]] const bool page_locked_;  // read by the CUDA build only
  mutable std::mutex mutex_;
  std::map<const void*, Block> blocks_;     // every block, by base address
  std::multimap<size_t, void*> free_;       // cached blocks ready for reuse, by size
  std::vector<void*> pending_;              // freed blocks with uses possibly in flight
  int64_t host_allocations_ = 0;
};

}  // namespace fulgur::cuda
