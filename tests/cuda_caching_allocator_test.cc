// The CUDA caching allocator's bookkeeping (kernels/cuda/caching_allocator.h), run in every
// build: the device is HostDeviceMemory, a test double over host memory whose events complete
// when the test says so. The same allocator over cudaMalloc is tested by
// tests/gpu/cuda_allocator_gpu_test.cc.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fulgur/kernels/cuda/caching_allocator.h"
#include "fulgur/kernels/cuda/host_device_memory.h"
#include "fulgur/kernels/error.h"

namespace {

using fulgur::Error;
using fulgur::cuda::CachingAllocator;
using fulgur::cuda::HostDeviceMemory;
using fulgur::cuda::SegmentInfo;
using fulgur::cuda::StreamHandle;

constexpr size_t KiB = 1024;
constexpr size_t MiB = 1024 * 1024;

// Streams are only compared by the allocator: any distinct values do.
StreamHandle stream(uintptr_t id) { return reinterpret_cast<StreamHandle>(id); }
const StreamHandle s1 = stream(0x10);
const StreamHandle s2 = stream(0x20);
const StreamHandle s3 = stream(0x30);

uintptr_t addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Everything the allocator reports must agree with its segments and with the device.
void check_invariants(const CachingAllocator& a, const HostDeviceMemory& dev, const std::map<uintptr_t, size_t>& live) {
  const auto segments = a.memory_snapshot();
  const auto st = a.stats();
  size_t reserved = 0, allocated = 0;
  size_t allocated_blocks = 0;
  uintptr_t previous_end = 0;
  for (const SegmentInfo& seg : segments) {
    REQUIRE(seg.address >= previous_end);  // segments do not overlap
    previous_end = seg.address + seg.size;
    reserved += seg.size;
    uintptr_t at = seg.address;
    for (size_t i = 0; i < seg.blocks.size(); ++i) {
      const auto& b = seg.blocks[i];
      REQUIRE(b.address == at);  // blocks tile the segment
      REQUIRE(b.size % CachingAllocator::kMinBlockSize == 0);
      at += b.size;
      if (b.allocated) {
        ++allocated_blocks;
        allocated += b.size;
        const auto it = live.find(b.address);
        REQUIRE(it != live.end());
        REQUIRE(CachingAllocator::round_size(it->second) <= b.size);
      }
      // Free neighbours that both sit in the pool are always coalesced.
      if (i > 0) {
        const auto& p = seg.blocks[i - 1];
        const bool both_cached = !b.allocated && !b.waiting_for_events && !p.allocated && !p.waiting_for_events;
        REQUIRE_FALSE(both_cached);
      }
    }
    REQUIRE(at == seg.address + seg.size);
  }
  REQUIRE(allocated_blocks == live.size());
  REQUIRE(st.reserved_bytes == reserved);
  REQUIRE(st.allocated_bytes == allocated);
  REQUIRE(st.active_blocks == static_cast<int64_t>(live.size()));
  REQUIRE(st.segments == static_cast<int64_t>(segments.size()));
  REQUIRE(dev.used_bytes() == reserved);
  REQUIRE(dev.live_allocations() == segments.size());
  REQUIRE(st.num_device_mallocs - st.num_device_frees == st.segments);
  REQUIRE(st.peak_allocated_bytes >= st.allocated_bytes);
  REQUIRE(st.peak_reserved_bytes >= st.reserved_bytes);
}

}  // namespace

TEST_CASE("sizes are rounded to 512 bytes and segments to the pool's sizes") {
  CHECK(CachingAllocator::round_size(1) == 512);
  CHECK(CachingAllocator::round_size(512) == 512);
  CHECK(CachingAllocator::round_size(513) == 1024);
  CHECK(CachingAllocator::round_size(MiB + 1) == MiB + 512);
  // Small requests (<= 1 MiB) share 2 MiB segments.
  CHECK(CachingAllocator::segment_size(512) == 2 * MiB);
  CHECK(CachingAllocator::segment_size(MiB) == 2 * MiB);
  // Large ones below 10 MiB share 20 MiB segments; from 10 MiB a segment rounded to 2 MiB each.
  CHECK(CachingAllocator::segment_size(MiB + 512) == 20 * MiB);
  CHECK(CachingAllocator::segment_size(10 * MiB - 512) == 20 * MiB);
  CHECK(CachingAllocator::segment_size(10 * MiB) == 10 * MiB);
  CHECK(CachingAllocator::segment_size(10 * MiB + 512) == 12 * MiB);
}

TEST_CASE("small requests are packed into one 2 MiB segment") {
  HostDeviceMemory dev(64 * MiB);
  CachingAllocator a(dev);
  void* p = a.malloc(100, s1);
  void* q = a.malloc(1000, s1);
  CHECK(addr(q) == addr(p) + 512);
  const auto st = a.stats();
  CHECK(st.num_device_mallocs == 1);
  CHECK(st.reserved_bytes == 2 * MiB);
  CHECK(st.allocated_bytes == 512 + 1024);
  CHECK(st.requested_bytes == 1100);
  CHECK(st.cached_bytes() == 2 * MiB - 1536);
  CHECK(a.malloc(0, s1) == nullptr);
  a.free(nullptr);
  a.free(p);
  a.free(q);
  CHECK(a.stats().allocated_bytes == 0);
  CHECK(a.stats().reserved_bytes == 2 * MiB);  // cached, not given back
  check_invariants(a, dev, {});
}

TEST_CASE("best fit: the smallest free block of the stream that fits") {
  HostDeviceMemory dev(64 * MiB);
  CachingAllocator a(dev);
  // Free blocks of 1024, 4096 and 2048 bytes, kept apart by live 512-byte separators.
  void* b1024 = a.malloc(1024, s1);
  void* sep1 = a.malloc(512, s1);
  void* b4096 = a.malloc(4096, s1);
  void* sep2 = a.malloc(512, s1);
  void* b2048 = a.malloc(2048, s1);
  void* sep3 = a.malloc(512, s1);
  a.free(b1024);
  a.free(b4096);
  a.free(b2048);
  CHECK(a.malloc(2000, s1) == b2048);
  CHECK(a.malloc(1024, s1) == b1024);
  // 3072 of the 4096 block; its last 1024 bytes stay free after the split.
  void* p = a.malloc(3000, s1);
  CHECK(p == b4096);
  CHECK(a.malloc(1024, s1) == static_cast<char*>(b4096) + 3072);
  CHECK(a.stats().num_device_mallocs == 1);
  (void)sep1;
  (void)sep2;
  (void)sep3;
}

TEST_CASE("splitting and coalescing: freed neighbours merge back into the segment") {
  HostDeviceMemory dev(64 * MiB);
  CachingAllocator a(dev);
  for (int order = 0; order < 6; ++order) {
    void* p[3] = {a.malloc(1024, s1), a.malloc(4096, s1), a.malloc(512, s1)};
    auto seg = a.memory_snapshot();
    REQUIRE(seg.size() == 1);
    CHECK(seg[0].blocks.size() == 4);  // three live blocks and the rest of the segment
    int idx[3] = {0, 1, 2};
    for (int k = 0; k < order; ++k) std::next_permutation(idx, idx + 3);
    for (int i : idx) a.free(p[i]);
    seg = a.memory_snapshot();
    REQUIRE(seg.size() == 1);
    REQUIRE(seg[0].blocks.size() == 1);
    CHECK(seg[0].blocks[0].size == 2 * MiB);
    CHECK_FALSE(seg[0].blocks[0].allocated);
  }
  CHECK(a.stats().num_device_mallocs == 1);
}

TEST_CASE("large requests: 20 MiB shared segments below 10 MiB, remainders kept only if large") {
  HostDeviceMemory dev(256 * MiB);
  CachingAllocator a(dev);
  void* p = a.malloc(MiB + 1, s1);  // large pool: 1 MiB + 512
  void* q = a.malloc(5 * MiB, s1);  // same 20 MiB segment
  CHECK(addr(q) == addr(p) + MiB + 512);
  CHECK(a.stats().num_device_mallocs == 1);
  CHECK(a.stats().reserved_bytes == 20 * MiB);
  // 15 MiB does not fit the 14 MiB left: its own segment, rounded to 16 MiB.
  void* big = a.malloc(15 * MiB, s1);
  CHECK(a.stats().num_device_mallocs == 2);
  CHECK(a.stats().reserved_bytes == 36 * MiB);
  a.free(p);
  a.free(q);
  // 19.5 MiB out of the free 20 MiB segment: the 0.5 MiB rest is not worth a large block.
  void* r = a.malloc(19 * MiB + 512 * KiB, s1);
  CHECK(r == p);
  CHECK(a.stats().allocated_bytes == 20 * MiB + 16 * MiB);
  a.free(r);
  a.free(big);
  check_invariants(a, dev, {});
  // Small requests never take memory from the large pool.
  void* s = a.malloc(1000, s1);
  CHECK(a.stats().num_device_mallocs == 3);
  a.free(s);
}

TEST_CASE("a freed block is reused at once by its own stream, not by other streams") {
  HostDeviceMemory dev(64 * MiB);
  CachingAllocator a(dev);
  void* p = a.malloc(1000, s1);
  a.free(p);
  CHECK(a.malloc(1000, s1) == p);
  void* other = a.malloc(1000, s2);
  CHECK(other != p);
  CHECK(a.stats().num_device_mallocs == 2);  // each stream has its own segments
  const auto segs = a.memory_snapshot();
  REQUIRE(segs.size() == 2);
  CHECK(segs[0].stream != segs[1].stream);
}

TEST_CASE("a block used on another stream is reused only after that stream's event completed") {
  HostDeviceMemory dev(64 * MiB);
  CachingAllocator a(dev);
  void* p = a.malloc(1000, s1);
  void* keep = a.malloc(1000, s1);  // keeps p from merging with the rest of the segment
  a.record_stream(p, s2);
  a.record_stream(p, s3);
  a.record_stream(p, s1);  // the allocation stream: nothing to wait for
  a.free(p);
  CHECK(dev.live_events() == 2);
  CHECK(a.stats().pending_event_blocks == 1);
  CHECK(a.stats().allocated_bytes == 1024);  // no longer allocated...
  void* q = a.malloc(1000, s1);
  CHECK(q != p);  // ...but not reusable yet
  a.free(q);
  dev.complete_stream(s2);
  void* q2 = a.malloc(1000, s1);
  CHECK(q2 != p);  // s3 is still running
  a.free(q2);
  CHECK(dev.live_events() == 1);
  dev.complete_stream(s3);
  void* r = a.malloc(1000, s1);
  CHECK(r == p);
  CHECK(dev.live_events() == 0);
  CHECK(a.stats().pending_event_blocks == 0);
  a.free(r);
  a.free(keep);
  check_invariants(a, dev, {});
}

TEST_CASE("empty_cache gives back only segments without live blocks, after waiting for events") {
  HostDeviceMemory dev(64 * MiB);
  CachingAllocator a(dev);
  void* live = a.malloc(1000, s1);       // segment 1 stays
  void* gone = a.malloc(1000, s2);       // segment 2 becomes free
  void* pending = a.malloc(3 * MiB, s1);  // segment 3 (large): freed, waits for s2
  a.record_stream(pending, s2);
  a.free(gone);
  a.free(pending);
  CHECK(a.stats().segments == 3);
  a.empty_cache();
  const auto st = a.stats();
  CHECK(st.segments == 1);
  CHECK(st.reserved_bytes == 2 * MiB);
  CHECK(st.num_device_frees == 2);
  CHECK(dev.live_events() == 0);
  CHECK(dev.used_bytes() == 2 * MiB);
  check_invariants(a, dev, {{addr(live), 1000}});
  a.free(live);
  a.empty_cache();
  CHECK(dev.used_bytes() == 0);
  CHECK(a.stats().reserved_bytes == 0);
}

TEST_CASE("statistics: peaks, counts, reset") {
  HostDeviceMemory dev(64 * MiB);
  CachingAllocator a(dev);
  void* p = a.malloc(MiB, s1);
  void* q = a.malloc(3 * MiB, s1);
  a.free(p);
  a.free(q);
  void* r = a.malloc(512, s1);
  auto st = a.stats();
  CHECK(st.peak_allocated_bytes == 4 * MiB);
  CHECK(st.peak_reserved_bytes == 22 * MiB);
  CHECK(st.allocated_bytes == 512);
  CHECK(st.num_allocs == 3);
  CHECK(st.num_frees == 2);
  CHECK(st.num_device_mallocs == 2);
  CHECK(st.num_device_frees == 0);
  a.reset_peak_stats();
  st = a.stats();
  CHECK(st.peak_allocated_bytes == 512);
  CHECK(st.peak_reserved_bytes == 22 * MiB);
  a.free(r);
}

TEST_CASE("out of memory: the cache is released and the request retried once, then an error with numbers") {
  HostDeviceMemory dev(22 * MiB);
  CachingAllocator a(dev);
  a.free(a.malloc(1000, s1));  // two cached 2 MiB segments
  a.free(a.malloc(1000, s2));
  CHECK(a.stats().reserved_bytes == 4 * MiB);
  // Needs a 20 MiB segment: only 18 MiB are free until the cache is released.
  void* p = a.malloc(MiB + MiB / 2, s3);
  REQUIRE(p != nullptr);
  auto st = a.stats();
  CHECK(st.num_alloc_retries == 1);
  CHECK(st.num_device_frees == 2);
  CHECK(st.reserved_bytes == 20 * MiB);
  CHECK(dev.failed_mallocs() == 1);

  // 19 MiB does not fit the 18.5 MiB left in the segment; a new 20 MiB segment does not fit
  // the device even after the (empty) cache is released.
  const std::string message = error_of([&] { a.malloc(19 * MiB, s3); });
  INFO(message);
  CHECK(message.find("CUDA out of memory: tried to allocate 19.00 MiB (19922944 bytes) as a segment of 20.00 MiB") ==
        0);
  CHECK(message.find("in use 1.50 MiB (1572864 bytes), cached 18.50 MiB (19398656 bytes)") != std::string::npos);
  CHECK(message.find("device total 22.00 MiB (23068672 bytes) (free 2.00 MiB (2097152 bytes))") != std::string::npos);
  CHECK(message.find("host test device") != std::string::npos);
  CHECK(message.find("hint:") != std::string::npos);
  st = a.stats();
  CHECK(st.num_ooms == 1);
  CHECK(st.num_alloc_retries == 2);
  // Still usable: the failed request changed nothing.
  check_invariants(a, dev, {{addr(p), MiB + MiB / 2}});
  void* q = a.malloc(MiB, s3);
  CHECK(q != nullptr);
  a.free(q);
  a.free(p);

  // Sizes no device has fail at once, without asking the device.
  const int64_t calls = dev.malloc_calls();
  const std::string huge = error_of([&] { a.malloc(std::numeric_limits<size_t>::max(), s1); });
  CHECK(huge.find("CUDA out of memory: tried to allocate") == 0);
  CHECK(dev.malloc_calls() == calls);
}

TEST_CASE("freeing or recording an unknown pointer is an error") {
  HostDeviceMemory dev(64 * MiB);
  CachingAllocator a(dev);
  int on_stack = 0;
  CHECK(error_of([&] { a.free(&on_stack); }).find("CachingAllocator::free: pointer 0x") == 0);
  void* p = a.malloc(100, s1);
  CHECK(error_of([&] { a.free(static_cast<char*>(p) + 8); }).find("was not returned by this allocator") !=
        std::string::npos);
  a.free(p);
  CHECK(error_of([&] { a.free(p); }).find("or was freed already") != std::string::npos);
  CHECK(error_of([&] { a.record_stream(p, s2); }).find("CachingAllocator::record_stream") == 0);
}

TEST_CASE("random alloc / free / record_stream sequences keep every invariant") {
  int64_t total_ooms = 0, total_retries = 0;
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    CAPTURE(seed);
    HostDeviceMemory dev(160 * MiB);  // small enough that some requests need the retry or fail
    CachingAllocator a(dev);
    std::mt19937 rng(seed);
    const StreamHandle streams[] = {s1, s2, s3};
    std::map<uintptr_t, size_t> live;  // address -> requested bytes
    std::map<uintptr_t, unsigned char> tags;
    auto pick_size = [&]() -> size_t {
      const int kind = static_cast<int>(rng() % 10);
      if (kind < 6) return 1 + rng() % (4 * KiB);
      if (kind < 8) return 1 + rng() % MiB;
      if (kind < 9) return MiB + rng() % (9 * MiB);
      return 10 * MiB + rng() % (20 * MiB);
    };
    int ooms = 0;
    for (int step = 0; step < 1500; ++step) {
      const int op = static_cast<int>(rng() % 100);
      if (op < 50 || live.empty()) {
        const size_t bytes = pick_size();
        void* p = nullptr;
        try {
          p = a.malloc(bytes, streams[rng() % 3]);
        } catch (const Error& e) {
          REQUIRE(std::string(e.what()).find("CUDA out of memory") == 0);
          ++ooms;
          continue;
        }
        // Live blocks never overlap: the neighbours in address order end before / start after.
        const uintptr_t at = addr(p);
        const auto next = live.lower_bound(at);
        if (next != live.end()) REQUIRE(at + bytes <= next->first);
        if (next != live.begin()) REQUIRE(std::prev(next)->first + std::prev(next)->second <= at);
        // Tag first and last byte: a later overlap would change them.
        const auto tag = static_cast<unsigned char>(rng());
        static_cast<unsigned char*>(p)[0] = tag;
        static_cast<unsigned char*>(p)[bytes - 1] = tag;
        live[at] = bytes;
        tags[at] = tag;
      } else if (op < 90) {
        auto it = live.begin();
        std::advance(it, static_cast<long>(rng() % live.size()));
        auto* p = reinterpret_cast<unsigned char*>(it->first);
        REQUIRE(p[0] == tags[it->first]);
        REQUIRE(p[it->second - 1] == tags[it->first]);
        if (rng() % 4 == 0) a.record_stream(p, streams[rng() % 3]);
        a.free(p);
        tags.erase(it->first);
        live.erase(it);
      } else if (op < 98) {
        dev.complete_stream(streams[rng() % 3]);
      } else {
        a.empty_cache();
      }
      check_invariants(a, dev, live);
    }
    for (const auto& [at, bytes] : live) a.free(reinterpret_cast<void*>(at));
    live.clear();
    a.empty_cache();
    check_invariants(a, dev, live);
    CHECK(dev.used_bytes() == 0);
    CHECK(dev.live_events() == 0);
    CHECK(a.stats().num_ooms == ooms);
    total_ooms += ooms;
    total_retries += a.stats().num_alloc_retries;
  }
  // The sequences reach the out-of-memory paths (capacity chosen for it).
  CHECK(total_ooms > 0);
  CHECK(total_retries > total_ooms);
}

TEST_CASE("threads allocating and freeing at the same time") {
  HostDeviceMemory dev(512 * MiB);
  CachingAllocator a(dev);
  std::vector<std::thread> threads;
  std::atomic<bool> overlap{false};
  for (uintptr_t t = 0; t < 4; ++t) {
    threads.emplace_back([&a, &overlap, t] {
      std::mt19937 rng(static_cast<uint32_t>(t));
      std::vector<std::pair<unsigned char*, size_t>> mine;
      for (int i = 0; i < 2000; ++i) {
        if (mine.empty() || rng() % 2 == 0) {
          const size_t bytes = 1 + rng() % (64 * KiB);
          auto* p = static_cast<unsigned char*>(a.malloc(bytes, stream(0x100 + t % 2)));
          std::memset(p, static_cast<int>(t), bytes);
          mine.emplace_back(p, bytes);
        } else {
          const size_t k = rng() % mine.size();
          auto [p, bytes] = mine[k];
          // Another thread writing into this block would show here.
          if (p[0] != t || p[bytes - 1] != t) overlap = true;
          a.free(p);
          mine.erase(mine.begin() + static_cast<long>(k));
        }
      }
      for (auto [p, bytes] : mine) a.free(p);
    });
  }
  for (auto& t : threads) t.join();
  CHECK_FALSE(overlap.load());
  check_invariants(a, dev, {});
  CHECK(a.stats().allocated_bytes == 0);
}
