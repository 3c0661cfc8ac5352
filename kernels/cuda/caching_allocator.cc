#include "fulgur/kernels/cuda/caching_allocator.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <limits>

#include "fulgur/kernels/error.h"

namespace fulgur::cuda {
namespace {

// Above this, rounding could overflow size_t; no device has that much memory anyway.
constexpr size_t kMaxRequest = std::numeric_limits<size_t>::max() / 4;

std::string format_bytes(size_t bytes) {
  static const char* const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[64];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%zu bytes", bytes);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f %s (%zu bytes)", v, units[u], bytes);
  }
  return buf;
}

std::string format_address(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIxPTR, reinterpret_cast<uintptr_t>(p));
  return buf;
}

}  // namespace

bool CachingAllocator::BlockLess::operator()(const Block* a, const Block* b) const {
  const auto sa = reinterpret_cast<uintptr_t>(a->stream);
  const auto sb = reinterpret_cast<uintptr_t>(b->stream);
  if (sa != sb) return sa < sb;
  if (a->size != b->size) return a->size < b->size;
  return reinterpret_cast<uintptr_t>(a->ptr) < reinterpret_cast<uintptr_t>(b->ptr);
}

CachingAllocator::CachingAllocator(DeviceMemory& device) : device_(device) {}

CachingAllocator::~CachingAllocator() {
  for (auto& [event, block] : events_) device_.event_destroy(event);
  for (Block* head : segments_) {
    device_.free(head->ptr);
    for (Block* b = head; b != nullptr;) delete std::exchange(b, b->next);
  }
}

size_t CachingAllocator::round_size(size_t bytes) {
  if (bytes < kMinBlockSize) return kMinBlockSize;
  return (bytes + kMinBlockSize - 1) / kMinBlockSize * kMinBlockSize;
}

size_t CachingAllocator::segment_size(size_t rounded) {
  if (rounded <= kSmallSize) return kSmallBuffer;
  if (rounded < kMinLargeAlloc) return kLargeBuffer;
  return (rounded + kRoundLarge - 1) / kRoundLarge * kRoundLarge;
}

void* CachingAllocator::malloc(size_t bytes, StreamHandle stream) {
  if (bytes == 0) return nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  if (bytes > kMaxRequest) throw_oom(bytes, bytes, /*retried=*/false);
  process_events();
  const size_t size = round_size(bytes);
  const bool small = size <= kSmallSize;
  Pool& pool = pool_for(small);
  Block* block = find_free_block(pool, size, stream);
  if (block == nullptr) block = new_segment(size, bytes, stream, small);

  if (should_split(*block, size)) {
    // The rest of the block stays free for later requests of this stream.
    auto* rest = new Block;
    rest->stream = stream;
    rest->size = block->size - size;
    rest->ptr = block->ptr + size;
    rest->small = small;
    rest->prev = block;
    rest->next = block->next;
    if (rest->next != nullptr) rest->next->prev = rest;
    block->next = rest;
    block->size = size;
    pool.insert(rest);
  }
  block->allocated = true;
  block->requested = bytes;
  active_.emplace(block->ptr, block);
  stats_.allocated_bytes += block->size;
  stats_.requested_bytes += bytes;
  stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
  ++stats_.num_allocs;
  ++stats_.active_blocks;
  return block->ptr;
}

CachingAllocator::Block* CachingAllocator::find_free_block(Pool& pool, size_t size, StreamHandle stream) {
  Block key;
  key.stream = stream;
  key.size = size;
  key.ptr = nullptr;
  const auto it = pool.lower_bound(&key);
  if (it == pool.end() || (*it)->stream != stream) return nullptr;
  Block* block = *it;
  pool.erase(it);
  return block;
}

CachingAllocator::Block* CachingAllocator::new_segment(size_t rounded, size_t requested, StreamHandle stream,
                                                       bool small) {
  const size_t bytes = segment_size(rounded);
  void* ptr = device_.malloc(bytes);
  if (ptr == nullptr) {
    // Cached segments of other sizes or streams may make room.
    ++stats_.num_alloc_retries;
    synchronize_and_free_events();
    release_cached_segments();
    ptr = device_.malloc(bytes);
    if (ptr == nullptr) throw_oom(requested, bytes, /*retried=*/true);
  }
  auto* block = new Block;
  block->stream = stream;
  block->size = bytes;
  block->ptr = static_cast<char*>(ptr);
  block->small = small;
  segments_.insert(block);
  stats_.reserved_bytes += bytes;
  stats_.peak_reserved_bytes = std::max(stats_.peak_reserved_bytes, stats_.reserved_bytes);
  ++stats_.num_device_mallocs;
  ++stats_.segments;
  return block;
}

bool CachingAllocator::should_split(const Block& block, size_t size) const {
  const size_t rest = block.size - size;
  // A large block keeps a remainder only if it is itself large: small requests never come here.
  return block.small ? rest >= kMinBlockSize : rest > kSmallSize;
}

void CachingAllocator::free(void* ptr) {
  if (ptr == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = active_.find(ptr);
  FULGUR_CHECK(it != active_.end(), "CachingAllocator::free",
               "pointer ", format_address(ptr), " was not returned by this allocator (", device_.name(),
               ") or was freed already; hint: free each pointer once, with the allocator of the device that "
               "allocated it");
  Block* block = it->second;
  active_.erase(it);
  block->allocated = false;
  stats_.allocated_bytes -= block->size;
  stats_.requested_bytes -= block->requested;
  ++stats_.num_frees;
  --stats_.active_blocks;
  if (block->stream_uses.empty()) {
    free_block(block);
    return;
  }
  // Work queued on other streams may still use the block: reuse it only after that work.
  for (StreamHandle s : block->stream_uses) {
    EventHandle event = device_.event_create();
    device_.event_record(event, s);
    events_.emplace_back(event, block);
    ++block->pending_events;
  }
  block->stream_uses.clear();
  ++stats_.pending_event_blocks;
}

void CachingAllocator::free_block(Block* block) {
  Pool& pool = pool_for(block->small);
  auto in_pool = [](const Block* b) { return b != nullptr && !b->allocated && b->pending_events == 0; };
  if (in_pool(block->prev)) {
    // The lower block absorbs this one, so a segment's first block stays its first block.
    Block* prev = block->prev;
    pool.erase(prev);
    prev->size += block->size;
    prev->next = block->next;
    if (prev->next != nullptr) prev->next->prev = prev;
    delete block;
    block = prev;
  }
  if (in_pool(block->next)) {
    Block* next = block->next;
    pool.erase(next);
    block->size += next->size;
    block->next = next->next;
    if (block->next != nullptr) block->next->prev = block;
    delete next;
  }
  block->requested = 0;
  pool.insert(block);
}

void CachingAllocator::record_stream(void* ptr, StreamHandle stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = active_.find(ptr);
  FULGUR_CHECK(it != active_.end(), "CachingAllocator::record_stream", "pointer ", format_address(ptr),
               " is not a live allocation of this allocator (", device_.name(),
               "); hint: call record_stream with the pointer malloc returned, before freeing it");
  // The allocation stream is ordered with the free already.
  if (stream != it->second->stream) it->second->stream_uses.insert(stream);
}

void CachingAllocator::process_events() {
  for (auto it = events_.begin(); it != events_.end();) {
    if (!device_.event_query(it->first)) {
      ++it;
      continue;
    }
    device_.event_destroy(it->first);
    Block* block = it->second;
    it = events_.erase(it);
    if (--block->pending_events == 0) {
      --stats_.pending_event_blocks;
      free_block(block);
    }
  }
}

void CachingAllocator::synchronize_and_free_events() {
  while (!events_.empty()) {
    auto [event, block] = events_.front();
    events_.pop_front();
    device_.event_synchronize(event);
    device_.event_destroy(event);
    if (--block->pending_events == 0) {
      --stats_.pending_event_blocks;
      free_block(block);
    }
  }
}

void CachingAllocator::release_cached_segments() {
  for (auto it = segments_.begin(); it != segments_.end();) {
    Block* head = *it;
    if (head->is_segment() && !head->allocated && head->pending_events == 0) {
      it = segments_.erase(it);
      release_segment(head);
    } else {
      ++it;
    }
  }
}

void CachingAllocator::release_segment(Block* block) {
  pool_for(block->small).erase(block);
  device_.free(block->ptr);
  stats_.reserved_bytes -= block->size;
  ++stats_.num_device_frees;
  --stats_.segments;
  delete block;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  synchronize_and_free_events();
  release_cached_segments();
}

CachingAllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void CachingAllocator::reset_peak_stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_allocated_bytes = stats_.allocated_bytes;
  stats_.peak_reserved_bytes = stats_.reserved_bytes;
}

std::vector<SegmentInfo> CachingAllocator::memory_snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<SegmentInfo> out;
  for (const Block* head : segments_) {
    SegmentInfo seg;
    seg.address = reinterpret_cast<uintptr_t>(head->ptr);
    seg.stream = head->stream;
    seg.small_pool = head->small;
    for (const Block* b = head; b != nullptr; b = b->next) {
      seg.blocks.push_back({reinterpret_cast<uintptr_t>(b->ptr), b->size, b->allocated, b->pending_events > 0});
      seg.size += b->size;
    }
    out.push_back(std::move(seg));
  }
  std::sort(out.begin(), out.end(), [](const SegmentInfo& a, const SegmentInfo& b) { return a.address < b.address; });
  return out;
}

void CachingAllocator::throw_oom(size_t requested, size_t segment, bool retried) {
  ++stats_.num_ooms;
  std::string device_numbers;
  try {
    const MemInfo info = device_.mem_get_info();
    device_numbers = format_bytes(info.total_bytes) + " (free " + format_bytes(info.free_bytes) + ")";
  } catch (const Error& e) {
    device_numbers = std::string("unknown (") + e.what() + ")";
  }
  const std::string segment_note =
      segment != requested ? " as a segment of " + format_bytes(segment) : std::string();
  FULGUR_FAIL("CUDA out of memory", "tried to allocate ", format_bytes(requested), segment_note, " on ",
              device_.name(), "; in use ", format_bytes(stats_.allocated_bytes), ", cached ",
              format_bytes(stats_.reserved_bytes - stats_.allocated_bytes), ", device total ", device_numbers,
              "; hint: free tensors that are no longer needed or use smaller batches or shapes",
              retried ? " (the cache was already released and the request retried)" : "",
              "; memory of other processes on the device counts in the device total but not in 'in use' or "
              "'cached'");
}

}  // namespace fulgur::cuda
