// A CUDA execution model on the CPU, for testing kernels where there is no GPU. A launch runs
// its blocks one after another; the threads of a block are real OS threads, so
// __syncthreads() is a real barrier and a missing one shows up as a wrong result (or a
// ThreadSanitizer report), as on the GPU. __shared__ storage is one arena per block, reset
// and filled with 0xFF bytes (NaN for floats) before each block so that reading what nobody
// wrote is visible. Warp operations (shuffles, votes, and the tensor-core instructions of
// simt_ptx.h) exchange values through a per-warp slot table between two warp barriers.
//
// Clusters (sm_90, cluster.cuh): a launch in clusters of k blocks along x runs the k blocks of
// one cluster at once (k x block threads), then the next cluster, so that cluster barriers and
// reads of another block's shared memory (distributed shared memory) behave as on the GPU.
//
// Not emulated: independent thread scheduling inside a warp (a shuffle must be called by all
// running lanes of the warp), memory-model subtleties beyond what C++ atomics give, streams
// (a launch returns when the kernel has finished). Kernel sources use the subset listed in
// simt.h. Include this only through simt.h, and never together with CUDA headers.
#pragma once

#include <array>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

// ---- CUDA's built-in types ----
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}  // NOLINT
};
struct uint3 {
  unsigned x, y, z;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) uint4 {
  unsigned x, y, z, w;
};
struct alignas(8) uint2 {
  unsigned x, y;
};
struct alignas(16) int4 {
  int x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline float2 make_float2(float x, float y) { return {x, y}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }
inline uint2 make_uint2(unsigned x, unsigned y) { return {x, y}; }

namespace fulgur::simt {

constexpr int kWarpSize = 32;
// Shared memory one block may use (static + dynamic), as on sm_90.
constexpr size_t kMaxSharedBytes = 227 * 1024;
// Blocks per cluster (the portable limit on sm_90), and the threads of one cluster the emulator
// runs at once (each is an OS thread).
constexpr unsigned kMaxClusterBlocks = 8;
constexpr int kMaxClusterThreads = 2048;
// Dynamic shared memory starts this many bytes past a 4 KiB boundary (a GPU promises 16).
constexpr size_t kDynamicArenaOffset = 16;

// What a running emulated thread knows about itself.
struct ThreadContext {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
  int linear_tid = 0;
  int shared_declarations = 0;  // FULGUR_SHARED declarations reached in this block so far
  // Asynchronous operations (simt_hopper.h's wgmma and their commit groups) issued and not yet
  // waited for: a thread that returns with some traps, as their results would be lost.
  int unwaited_async_ops = 0;
};

ThreadContext& current();

// Barriers and storage of the block now running.
void sync_block();
void sync_warp();
void* shared_declaration(size_t bytes, size_t align);
void* dynamic_shared();
size_t dynamic_shared_bytes();
// The calling block's dynamic shared memory in a 32-bit shared window, as cvta.to.shared
// gives on a GPU: the window address has the same offset from a 4 KiB boundary as the host
// address (so alignment and the TMA swizzle's address bits carry over), and is the same in
// every block for the same offset. Other shared memory has no window address here (traps).
uint32_t shared_window_address(const void* p);
void* shared_window_pointer(uint32_t address);
// Every running lane of the calling warp passes `bytes` bytes; each gets all 32 lanes' data
// (exited lanes' entries are left as they were). The building block of every warp operation.
void warp_exchange(const void* mine, size_t bytes, void* all_lanes);
int lane_id();
// Lanes of the calling warp that exist and have not returned from the kernel.
uint32_t active_mask();
// A kernel-side fatal error (the emulated __trap): prints and aborts.
[[noreturn]] void trap(const char* what);

// The calling block's cluster: its rank in [0, cluster_blocks()), barriers over every thread of
// the cluster (arrive, then wait; a thread's arrival is released before its wait returns), and
// the address in block `rank`'s shared memory of what `local` is in the caller's.
unsigned cluster_rank();
unsigned cluster_blocks();
void cluster_arrive();
void cluster_wait();
void* cluster_shared(const void* local, unsigned rank);

// Runs `body` as grid x block threads, in clusters of `cluster` blocks along x (grid.x a
// multiple of it): one cluster after another, the blocks of a cluster at once.
void run_grid(dim3 grid, dim3 block, unsigned cluster, size_t dynamic_shared_bytes, const std::function<void()>& body);
// The same for a kernel whose threads never wait for or talk to each other (no barriers, warp
// operations or shared memory; atomics are fine): every GPU thread runs to completion in turn
// on the calling thread, with no OS threads or context switches. A kernel that does use one
// of those traps with a message naming it.
void run_grid_independent(dim3 grid, dim3 block, const std::function<void()>& body);

template <typename T>
T* shared_object() {
  static_assert(std::is_trivially_destructible_v<T>);
  return static_cast<T*>(shared_declaration(sizeof(T), alignof(T) < 16 ? 16 : alignof(T)));
}

template <typename... Params, typename... Args>
void launch(dim3 grid, dim3 block, size_t shared_bytes, void (*kernel)(Params...), Args&&... args) {
  // Arguments are converted once to the parameter types, as a CUDA launch does; each thread
  // then gets its own copy of the parameters.
  const std::tuple<std::decay_t<Params>...> params(std::forward<Args>(args)...);
  run_grid(grid, block, 1, shared_bytes, [&] { std::apply(kernel, params); });
}

template <typename... Params, typename... Args>
void launch_cluster(unsigned cluster, dim3 grid, dim3 block, size_t shared_bytes, void (*kernel)(Params...),
                    Args&&... args) {
  const std::tuple<std::decay_t<Params>...> params(std::forward<Args>(args)...);
  run_grid(grid, block, cluster, shared_bytes, [&] { std::apply(kernel, params); });
}

template <typename... Params, typename... Args>
void launch_independent(dim3 grid, dim3 block, void (*kernel)(Params...), Args&&... args) {
  const std::tuple<std::decay_t<Params>...> params(std::forward<Args>(args)...);
  run_grid_independent(grid, block, [&] { std::apply(kernel, params); });
}

inline void check_full_mask(uint32_t mask, const char* op) {
  if (mask != active_mask() && mask != 0xffffffffu) trap(op);
}

template <typename T>
std::array<T, kWarpSize> warp_all(const T& mine) {
  static_assert(std::is_trivially_copyable_v<T>);
  std::array<T, kWarpSize> all{};
  warp_exchange(&mine, sizeof(T), all.data());
  return all;
}

template <typename T>
T shfl_from(const T& value, int src_lane) {
  const auto all = warp_all(value);
  return all[static_cast<size_t>(src_lane)];
}

}  // namespace fulgur::simt

// ---- CUDA's built-in variables and qualifiers ----
#define threadIdx (::fulgur::simt::current().thread_idx)
#define blockIdx (::fulgur::simt::current().block_idx)
#define blockDim (::fulgur::simt::current().block_dim)
#define gridDim (::fulgur::simt::current().grid_dim)
#define warpSize 32
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __grid_constant__

#define FULGUR_SHARED(T, name, dims)                                               \
  using fulgur_shared_type_##name = T dims;                                        \
  fulgur_shared_type_##name& name = *::fulgur::simt::shared_object<fulgur_shared_type_##name>()
#define FULGUR_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(::fulgur::simt::dynamic_shared())
#define FULGUR_LAUNCH(kernel, grid, block, shared_bytes, stream, ...) \
  ((void)(stream), ::fulgur::simt::launch((grid), (block), (shared_bytes), &kernel, __VA_ARGS__))
#define FULGUR_LAUNCH_INDEPENDENT(kernel, grid, block, stream, ...) \
  ((void)(stream), ::fulgur::simt::launch_independent((grid), (block), &kernel, __VA_ARGS__))

inline void __syncthreads() { ::fulgur::simt::sync_block(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  ::fulgur::simt::check_full_mask(mask, "__syncwarp with a partial mask is not emulated");
  ::fulgur::simt::sync_warp();
}
[[noreturn]] inline void __trap() { ::fulgur::simt::trap("__trap()"); }

// ---- warp shuffles and votes ----
template <typename T>
T __shfl_sync(unsigned mask, T value, int src_lane, int width = warpSize) {
  ::fulgur::simt::check_full_mask(mask, "__shfl_sync with a partial mask is not emulated");
  const int lane = ::fulgur::simt::lane_id();
  return ::fulgur::simt::shfl_from(value, (lane & ~(width - 1)) + (src_lane & (width - 1)));
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T value, int lane_mask, int width = warpSize) {
  ::fulgur::simt::check_full_mask(mask, "__shfl_xor_sync with a partial mask is not emulated");
  const int lane = ::fulgur::simt::lane_id();
  const int src = lane ^ lane_mask;
  // A source outside the caller's segment of `width` lanes gives the caller's own value.
  return ::fulgur::simt::shfl_from(value, (src & ~(width - 1)) == (lane & ~(width - 1)) ? src : lane);
}
template <typename T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = warpSize) {
  ::fulgur::simt::check_full_mask(mask, "__shfl_down_sync with a partial mask is not emulated");
  const int lane = ::fulgur::simt::lane_id();
  const int src = lane + static_cast<int>(delta);
  return ::fulgur::simt::shfl_from(value, (src & ~(width - 1)) == (lane & ~(width - 1)) ? src : lane);
}
template <typename T>
T __shfl_up_sync(unsigned mask, T value, unsigned delta, int width = warpSize) {
  ::fulgur::simt::check_full_mask(mask, "__shfl_up_sync with a partial mask is not emulated");
  const int lane = ::fulgur::simt::lane_id();
  const int src = lane - static_cast<int>(delta);
  return ::fulgur::simt::shfl_from(value, src >= (lane & ~(width - 1)) ? src : lane);
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  ::fulgur::simt::check_full_mask(mask, "__ballot_sync with a partial mask is not emulated");
  const auto all = ::fulgur::simt::warp_all(static_cast<int>(predicate != 0));
  const uint32_t active = ::fulgur::simt::active_mask();
  unsigned bits = 0;
  for (int l = 0; l < ::fulgur::simt::kWarpSize; ++l)
    if (((active >> l) & 1u) && all[static_cast<size_t>(l)]) bits |= 1u << l;
  return bits;
}
inline int __any_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) != 0; }
inline int __all_sync(unsigned mask, int predicate) {
  return __ballot_sync(mask, predicate) == ::fulgur::simt::active_mask();
}

// ---- atomics (global and shared memory are both host memory here) ----
template <typename T>
T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value);
}
template <typename T>
T atomicExch(T* address, T value) {
  return std::atomic_ref<T>(*address).exchange(value);
}
template <typename T>
T atomicCAS(T* address, T expected, T desired) {
  std::atomic_ref<T>(*address).compare_exchange_strong(expected, desired);
  return expected;
}
template <typename T>
T atomicMax(T* address, T value) {
  std::atomic_ref<T> ref(*address);
  T old = ref.load();
  while (old < value && !ref.compare_exchange_weak(old, value)) {
  }
  return old;
}
template <typename T>
T atomicMin(T* address, T value) {
  std::atomic_ref<T> ref(*address);
  T old = ref.load();
  while (value < old && !ref.compare_exchange_weak(old, value)) {
  }
  return old;
}

// ---- bit casts and math intrinsics ----
inline unsigned __float_as_uint(float f) {
  unsigned u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float __uint_as_float(unsigned u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline int __float_as_int(float f) { return static_cast<int>(__float_as_uint(f)); }
inline float __int_as_float(int i) { return __uint_as_float(static_cast<unsigned>(i)); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __fmul_rn(float a, float b) { return a * b; }  // the build never contracts (.bazelrc)
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x; }
template <typename T>
T __ldg(const T* p) {
  return *p;
}
// expf, fmaxf, tanhf, ... come from <cmath> (the C library's float functions); CUDA's
// unqualified classification functions:
using std::isfinite;
using std::isinf;
using std::isnan;
