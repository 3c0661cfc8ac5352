// Streams, events, guards and the caching allocator over real cudaMalloc memory (the
// bookkeeping itself is tested in every build by tests/cuda_caching_allocator_test.cc).
// Kernel-free: the device work is cudaMemsetAsync, and a host function enqueued on a stream
// holds that stream back until the test releases it, so "still in use" is not a race.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "fulgur/kernels/cuda/runtime.h"
#include "fulgur/kernels/error.h"
#if FULGUR_WITH_CUDA
#include <cuda_runtime.h>

#include "fulgur/kernels/cuda/caching_allocator.h"
#include "fulgur/kernels/cuda/cuda_check.h"
#include "fulgur/kernels/cuda/cuda_device_memory.h"
#include "fulgur/kernels/cuda/stream.h"
#endif

namespace {

constexpr size_t MiB = 1024 * 1024;

bool skip() {
  if (fulgur::cuda::is_available()) return false;
  MESSAGE("SKIPPED (no GPU): " << fulgur::cuda::unavailable_reason());
  return true;
}

std::string error_of(const auto& f) {
  try {
    f();
  } catch (const fulgur::Error& e) {
    return e.what();
  }
  return "";
}

#if FULGUR_WITH_CUDA
using namespace fulgur::cuda;

// Blocks its stream until `release` is set (10 s at most, so a failing test cannot hang).
void CUDART_CB hold_stream(void* release) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!static_cast<std::atomic<bool>*>(release)->load() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

std::vector<unsigned char> download(const void* p, size_t bytes) {
  std::vector<unsigned char> out(bytes);
  cuda_check(cudaMemcpy(out.data(), p, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy device->host");
  return out;
}
#endif

}  // namespace

TEST_CASE("streams, events, current device and guards") {
  if (skip()) return;
#if FULGUR_WITH_CUDA
  CHECK(current_device() == 0);
  {
    DeviceGuard guard(device_count() - 1);
    CHECK(current_device() == device_count() - 1);
  }
  CHECK(current_device() == 0);
  CHECK(error_of([] { set_device(device_count()); }).find("does not exist") != std::string::npos);

  const Stream def = current_stream(0);
  CHECK(def.is_default());
  CHECK(def == Stream::default_stream(0));
  const Stream s = Stream::create(0);
  CHECK_FALSE(s.is_default());
  {
    StreamGuard guard(s);
    CHECK(current_stream(0) == s);
    CHECK(current_stream() == s);
    // Other threads keep their own current stream.
    bool other_is_default = false;
    std::thread([&] { other_is_default = current_stream(0).is_default(); }).join();
    CHECK(other_is_default);
  }
  CHECK(current_stream(0) == def);

  // Time 64 memsets of 64 MiB on the user stream.
  void* buf = nullptr;
  cuda_check(cudaMalloc(&buf, 64 * MiB), "cudaMalloc");
  Event never_recorded;
  CHECK(never_recorded.query());
  Event start(/*enable_timing=*/true), end(/*enable_timing=*/true);
  start.record(s);
  for (int i = 0; i < 64; ++i) {
    cuda_check(cudaMemsetAsync(buf, i, 64 * MiB, static_cast<cudaStream_t>(s.handle())), "cudaMemsetAsync");
  }
  end.record(s);
  end.synchronize();
  CHECK(end.query());
  CHECK(s.query());
  const float ms = start.elapsed_ms(end);
  CHECK(ms > 0);
  MESSAGE("64 x cudaMemsetAsync(64 MiB) on a user stream: " << ms << " ms (" << 64.0 * 64 / 1024 / (ms / 1000)
                                                            << " GiB/s)");
  CHECK(download(buf, 16) == std::vector<unsigned char>(16, 63));
  Event untimed;
  untimed.record(s);
  CHECK(error_of([&] { (void)untimed.elapsed_ms(end); }).find("need timing") != std::string::npos);
  synchronize_device();
  s.synchronize();
  cuda_check(cudaFree(buf), "cudaFree");
#endif
}

TEST_CASE("caching allocator over cudaMalloc: reuse, stats, empty_cache") {
  if (skip()) return;
#if FULGUR_WITH_CUDA
  CudaDeviceMemory dev(0);
  CachingAllocator a(dev);
  MESSAGE("device: " << dev.name());
  const Stream def = Stream::default_stream(0);
  void* p = a.malloc(1000, def.handle());
  cuda_check(cudaMemset(p, 7, 1000), "cudaMemset");
  CHECK(download(p, 1000) == std::vector<unsigned char>(1000, 7));
  void* q = a.malloc(1000, def.handle());
  CHECK(static_cast<char*>(q) == static_cast<char*>(p) + 1024);
  a.free(p);
  CHECK(a.malloc(1000, def.handle()) == p);  // same stream: reused at once
  void* big = a.malloc(300 * MiB, def.handle());
  cuda_check(cudaMemset(big, 1, 300 * MiB), "cudaMemset");
  auto st = a.stats();
  CHECK(st.num_device_mallocs == 2);
  CHECK(st.reserved_bytes == 2 * MiB + 300 * MiB);
  CHECK(st.allocated_bytes == 2048 + 300 * MiB);
  a.free(big);
  const MemInfo before = dev.mem_get_info();
  a.empty_cache();
  const MemInfo after = dev.mem_get_info();
  st = a.stats();
  CHECK(st.num_device_frees == 1);  // the small segment still has live blocks
  CHECK(st.reserved_bytes == 2 * MiB);
  // Back to the driver (a margin for the driver's own bookkeeping).
  CHECK(after.free_bytes >= before.free_bytes + 256 * MiB);
  CHECK(error_of([&] { a.free(big); }).find("CachingAllocator::free") == 0);
  a.free(p);
  a.free(q);
  a.empty_cache();
  CHECK(a.stats().reserved_bytes == 0);

  // The process-wide allocator of device 0 is one object.
  CachingAllocator& global = device_caching_allocator(0);
  CHECK(&global == &device_caching_allocator(0));
  void* g = global.malloc(4096, current_stream(0).handle());
  CHECK(g != nullptr);
  global.free(g);
#endif
}

TEST_CASE("caching allocator: a block used on another stream waits for that stream's work") {
  if (skip()) return;
#if FULGUR_WITH_CUDA
  CudaDeviceMemory dev(0);
  CachingAllocator a(dev);
  const Stream s1 = Stream::create(0);
  const Stream s2 = Stream::create(0);
  const size_t bytes = 32 * MiB;
  void* p = a.malloc(bytes, s1.handle());
  cuda_check(cudaMemsetAsync(p, 0, bytes, static_cast<cudaStream_t>(s1.handle())), "cudaMemsetAsync");
  s1.synchronize();
  // s2 is held back, then writes p.
  std::atomic<bool> release{false};
  cuda_check(cudaLaunchHostFunc(static_cast<cudaStream_t>(s2.handle()), hold_stream, &release), "cudaLaunchHostFunc");
  cuda_check(cudaMemsetAsync(p, 0x5A, bytes, static_cast<cudaStream_t>(s2.handle())), "cudaMemsetAsync");
  a.record_stream(p, s2.handle());
  a.free(p);
  CHECK(a.stats().pending_event_blocks == 1);
  void* q = a.malloc(bytes, s1.handle());  // kept, so that p is the only free block below
  CHECK(q != p);  // s2 has not run yet: p must not be handed out
  release = true;
  s2.synchronize();
  void* r = a.malloc(bytes, s1.handle());
  CHECK(r == p);  // the event completed: p is back in s1's pool
  CHECK(a.stats().pending_event_blocks == 0);
  CHECK(download(r, 64) == std::vector<unsigned char>(64, 0x5A));
  a.free(q);
  a.free(r);
  a.empty_cache();
  CHECK(a.stats().reserved_bytes == 0);
#endif
}

TEST_CASE("caching allocator: out of memory says what was asked, used, cached and free") {
  if (skip()) return;
#if FULGUR_WITH_CUDA
  CudaDeviceMemory dev(0);
  CachingAllocator a(dev);
  const Stream def = Stream::default_stream(0);
  void* live = a.malloc(3 * MiB, def.handle());
  a.free(a.malloc(50 * MiB, def.handle()));  // cached; released by the retry
  const std::string message = error_of([&] { a.malloc(size_t{10} * 1000 * 1000 * 1000 * 1000, def.handle()); });
  MESSAGE("10 TB request: " << message);
  CHECK(message.find("CUDA out of memory: tried to allocate 9.09 TiB (10000000000000 bytes)") == 0);
  CHECK(message.find("in use 3.00 MiB") != std::string::npos);
  CHECK(message.find("cached 17.00 MiB") != std::string::npos);  // the 20 MiB segment of `live`, less it
  CHECK(message.find("device total ") != std::string::npos);
  CHECK(message.find("(free ") != std::string::npos);
  CHECK(message.find("CUDA device 0") != std::string::npos);
  CHECK(message.find("hint:") != std::string::npos);
  const auto st = a.stats();
  CHECK(st.num_ooms == 1);
  CHECK(st.num_alloc_retries == 1);
  CHECK(st.num_device_frees == 1);  // the 50 MiB segment
  CHECK(cudaGetLastError() == cudaSuccess);  // the failed cudaMalloc left no error behind
  void* after = a.malloc(MiB, def.handle());  // still usable
  CHECK(after != nullptr);
  a.free(after);
  a.free(live);
#endif
}
