// A caching allocator of device memory, after the design PyTorch documents for its CUDA
// allocator (docs/CUDA.md, "Caching allocator"): device memory is requested in segments and
// kept after free; requests are rounded to 512 bytes and served best-fit from size-ordered
// free blocks of the requesting stream, splitting a larger block and coalescing neighbours
// again on free. A block used on other streams (record_stream) is reused only once events
// recorded on those streams at free time have completed. When the device is out of memory the
// cache is released and the request retried once; then fulgur::Error with the numbers.
// Thread-safe (one mutex). Talks to the device only through DeviceMemory (device_memory.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fulgur/kernels/cuda/device_memory.h"

namespace fulgur::cuda {

struct CachingAllocatorStats {
  size_t allocated_bytes = 0;       // sum of the (rounded) sizes of live blocks
  size_t requested_bytes = 0;       // sum of the sizes asked for by live blocks
  size_t reserved_bytes = 0;        // sum of the segments obtained from the device
  size_t peak_allocated_bytes = 0;  // since start or reset_peak_stats()
  size_t peak_reserved_bytes = 0;
  int64_t num_allocs = 0;           // malloc calls that returned memory
  int64_t num_frees = 0;
  int64_t num_device_mallocs = 0;   // segments obtained from the device
  int64_t num_device_frees = 0;     // segments given back to the device
  int64_t num_alloc_retries = 0;    // device out of memory: cache released and retried
  int64_t num_ooms = 0;             // out of memory even after the retry
  int64_t active_blocks = 0;
  int64_t segments = 0;
  int64_t pending_event_blocks = 0;  // freed, waiting for events of other streams
  size_t cached_bytes() const { return reserved_bytes - allocated_bytes; }
};

// One segment and its blocks in address order (memory_snapshot), for tests and debugging.
struct SegmentInfo {
  struct BlockInfo {
    uintptr_t address = 0;
    size_t size = 0;
    bool allocated = false;
    bool waiting_for_events = false;
  };
  uintptr_t address = 0;
  size_t size = 0;
  StreamHandle stream = nullptr;
  bool small_pool = false;
  std::vector<BlockInfo> blocks;
};

class CachingAllocator {
 public:
  static constexpr size_t kMinBlockSize = 512;          // every size is a multiple of this
  static constexpr size_t kSmallSize = 1 << 20;         // <= 1 MiB: small pool
  static constexpr size_t kSmallBuffer = 2 << 20;       // small requests share 2 MiB segments
  static constexpr size_t kLargeBuffer = 20 << 20;      // large requests < 10 MiB share 20 MiB segments
  static constexpr size_t kMinLargeAlloc = 10 << 20;    // from here a segment per request...
  static constexpr size_t kRoundLarge = 2 << 20;        // ...rounded up to 2 MiB

  // `device` outlives the allocator.
  explicit CachingAllocator(DeviceMemory& device);
  // Gives every segment back to the device (also those of blocks still allocated: the owner of
  // the allocator ends their life) and destroys pending events.
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // Memory for `bytes` to be used on `stream` (nullptr for 0 bytes). Throws fulgur::Error
  // "CUDA out of memory: ..." when the device has no room even after releasing the cache.
  void* malloc(size_t bytes, StreamHandle stream);
  // Returns a block to the cache (nullptr: nothing). Throws fulgur::Error for a pointer this
  // allocator did not return or that was freed already.
  void free(void* ptr);
  // Says that the block at `ptr` is also used by work queued on `stream` (not its allocation
  // stream): its reuse then waits for that work (events recorded at free time).
  void record_stream(void* ptr, StreamHandle stream);
  // Waits for pending events and gives every segment without live blocks back to the device.
  void empty_cache();

  CachingAllocatorStats stats() const;
  void reset_peak_stats();
  std::vector<SegmentInfo> memory_snapshot() const;
  DeviceMemory& device() const { return device_; }

  // The size a request is rounded to (multiple of 512) and the segment size asked of the
  // device for it when no cached block fits.
  static size_t round_size(size_t bytes);
  static size_t segment_size(size_t rounded);

 private:
  struct Block {
    StreamHandle stream = nullptr;  // the allocation stream (of its segment)
    size_t size = 0;
    size_t requested = 0;
    char* ptr = nullptr;
    Block* prev = nullptr;  // neighbours inside the segment
    Block* next = nullptr;
    bool allocated = false;
    bool small = false;
    int pending_events = 0;
    std::set<StreamHandle> stream_uses;
    bool is_segment() const { return prev == nullptr && next == nullptr; }
  };
  // Free blocks ordered by (stream, size, address): lower_bound gives the best fit on a stream.
  struct BlockLess {
    bool operator()(const Block* a, const Block* b) const;
  };
  using Pool = std::set<Block*, BlockLess>;

  Pool& pool_for(bool small) { return small ? small_pool_ : large_pool_; }
  Block* find_free_block(Pool& pool, size_t size, StreamHandle stream);
  Block* new_segment(size_t rounded, size_t requested, StreamHandle stream, bool small);
  bool should_split(const Block& block, size_t size) const;
  void free_block(Block* block);
  void process_events();
  void synchronize_and_free_events();
  void release_cached_segments();
  void release_segment(Block* block);
  [[noreturn]] void throw_oom(size_t requested, size_t segment, bool retried);

  DeviceMemory& device_;
  mutable std::mutex mutex_;
  Pool small_pool_;
  Pool large_pool_;
  std::unordered_map<void*, Block*> active_;
  std::set<Block*> segments_;  // first block of each segment (it survives splits and merges)
  std::deque<std::pair<EventHandle, Block*>> events_;
  CachingAllocatorStats stats_;
};

}  // namespace fulgur::cuda
