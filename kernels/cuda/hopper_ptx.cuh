// Hopper (sm_90a) PTX for the wgmma GEMM (gemm_wgmma.cuh): mbarriers, TMA tensor copies,
// wgmma.mma_async with shared-memory descriptors, and setmaxnreg. Two bodies, like simt_ptx.h:
// the inline PTX for nvcc, which exists only in the sm_90a pass (FULGUR_HOPPER_PTX; other
// passes see bodies that trap, and the host never launches them there), and for the SIMT
// emulator the models of simt_hopper.h. FULGUR_HOPPER_RUNS is 1 in both of the builds where
// the kernel really runs.
//
// References: PTX ISA 8.x, "Asynchronous Warpgroup Level Matrix Multiply-Accumulate
// Instructions" (wgmma, its matrix descriptor and the D fragment layout), "Tensor Copy"
// (cp.async.bulk.tensor) and "mbarrier".
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/simt.h"

#if FULGUR_SIMT_EMULATED
#include "fulgur/kernels/cuda/simt_hopper.h"
#else
#include <cuda.h>
#include <cuda_runtime.h>
#endif

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define FULGUR_HOPPER_PTX 1
#else
#define FULGUR_HOPPER_PTX 0
#endif
#define FULGUR_HOPPER_RUNS (FULGUR_HOPPER_PTX || FULGUR_SIMT_EMULATED)

namespace fulgur::ptx::hopper {

#if FULGUR_SIMT_EMULATED
// ---- the SIMT emulator's models (simt_hopper.h) ----

using TensorMap = ::fulgur::simt::TensorMap;

inline uint32_t smem_u32(const void* p) { return ::fulgur::simt::shared_window_address(p); }
inline void mbarrier_init(uint64_t* bar, uint32_t count) { ::fulgur::simt::mbarrier_init(bar, count); }
inline void fence_barrier_init() {}  // the emulator's barriers are ordered by one lock
inline void mbarrier_arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
  ::fulgur::simt::mbarrier_arrive_expect_tx(bar, bytes);
}
inline void mbarrier_arrive(uint64_t* bar) { ::fulgur::simt::mbarrier_arrive(bar); }
inline void mbarrier_arrive_cluster(uint64_t* bar, uint32_t cta) {
  ::fulgur::simt::mbarrier_arrive(static_cast<uint64_t*>(::fulgur::simt::cluster_shared(bar, cta)));
}
inline void mbarrier_wait(uint64_t* bar, uint32_t parity) { ::fulgur::simt::mbarrier_wait(bar, parity); }
inline void prefetch_tensor_map(const TensorMap*) {}
inline void tma_load_3d(void* dst, const TensorMap* map, uint64_t* bar, int c0, int c1, int c2) {
  ::fulgur::simt::tma_load(dst, *map, bar, {c0, c1, c2}, false, 0);
}
inline void tma_load_3d_multicast(void* dst, const TensorMap* map, uint64_t* bar, int c0, int c1, int c2,
                                  uint16_t cta_mask) {
  ::fulgur::simt::tma_load(dst, *map, bar, {c0, c1, c2}, true, cta_mask);
}
inline void cluster_sync() {
  ::fulgur::simt::cluster_arrive();
  ::fulgur::simt::cluster_wait();
}
template <uint32_t kRegs>
void setmaxnreg_inc() {}
template <uint32_t kRegs>
void setmaxnreg_dec() {}
inline void wgmma_fence() {}
inline void wgmma_commit() { ::fulgur::simt::wgmma_commit(); }
template <int kPending>
void wgmma_wait() {
  ::fulgur::simt::wgmma_wait(kPending);
}
template <int N>
void fence_registers(float (&)[N]) {}
template <int N, bool kBf16, int kTransA, int kTransB>
void wgmma_ss(float (&d)[N / 2], uint64_t desc_a, uint64_t desc_b, uint32_t scale_d) {
  ::fulgur::simt::wgmma_issue(d, N, kBf16, kTransA, kTransB, desc_a, desc_b, scale_d);
}

#else

using TensorMap = CUtensorMap;


__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// ---- mbarrier (shared::cta, 64-bit) ----

__device__ __forceinline__ void mbarrier_init(uint64_t* bar, uint32_t count) {
#if FULGUR_HOPPER_PTX
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(smem_u32(bar)), "r"(count) : "memory");
#else
  __trap();
#endif
}

// Makes the initialised barriers visible to the async proxy (TMA) before first use.
__device__ __forceinline__ void fence_barrier_init() {
#if FULGUR_HOPPER_PTX
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
#endif
}

// One arrival that also announces `bytes` of TMA transactions this phase will complete.
__device__ __forceinline__ void mbarrier_arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
#if FULGUR_HOPPER_PTX
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_u32(bar)), "r"(bytes) : "memory");
#else
  __trap();
#endif
}

__device__ __forceinline__ void mbarrier_arrive(uint64_t* bar) {
#if FULGUR_HOPPER_PTX
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(smem_u32(bar)) : "memory");
#else
  __trap();
#endif
}

// One arrival on the barrier at the same shared-memory offset in block `cta` of the cluster
// (this block included). The default (.release.cta) semantics: the GEMM only signals with it
// (the wgmma reads it follows are complete already); `.release.cluster` compiled to a
// MEMBAR.ALL.GPU before every arrival.
__device__ __forceinline__ void mbarrier_arrive_cluster(uint64_t* bar, uint32_t cta) {
#if FULGUR_HOPPER_PTX
  uint32_t remote;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote) : "r"(smem_u32(bar)), "r"(cta));
  asm volatile("mbarrier.arrive.shared::cluster.b64 _, [%0];" ::"r"(remote) : "memory");
#else
  __trap();
#endif
}

// Blocks until the phase with this parity (0 or 1) has completed.
__device__ __forceinline__ void mbarrier_wait(uint64_t* bar, uint32_t parity) {
#if FULGUR_HOPPER_PTX
  asm volatile(
      "{\n"
      ".reg .pred done;\n"
      "wait_again:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra wait_again;\n"
      "}\n" ::"r"(smem_u32(bar)),
      "r"(parity)
      : "memory");
#else
  __trap();
#endif
}

// ---- TMA: a box of a tensor map into shared memory, completing on an mbarrier ----

__device__ __forceinline__ void prefetch_tensor_map(const TensorMap* map) {
#if FULGUR_HOPPER_PTX
  asm volatile("prefetch.tensormap [%0];" ::"l"(reinterpret_cast<uint64_t>(map)) : "memory");
#endif
}

// Box at coordinates (c0 innermost, c1, c2) of a rank-3 tensor map.
__device__ __forceinline__ void tma_load_3d(void* dst, const TensorMap* map, uint64_t* bar, int c0, int c1, int c2) {
#if FULGUR_HOPPER_PTX
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4, %5}], [%2];" ::"r"(
          smem_u32(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(smem_u32(bar)), "r"(c0), "r"(c1), "r"(c2)
      : "memory");
#else
  __trap();
#endif
}

// The same box written to the same shared-memory offset in every block of the cluster named
// in cta_mask (bit i: block i), each completing its own barrier at `bar`'s offset.
__device__ __forceinline__ void tma_load_3d_multicast(void* dst, const TensorMap* map, uint64_t* bar, int c0, int c1,
                                                      int c2, uint16_t cta_mask) {
#if FULGUR_HOPPER_PTX
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes.multicast::cluster"
      " [%0], [%1, {%3, %4, %5}], [%2], %6;" ::"r"(smem_u32(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(smem_u32(bar)), "r"(c0), "r"(c1), "r"(c2), "h"(cta_mask)
      : "memory");
#else
  __trap();
#endif
}

// ---- clusters ----

// Every thread of every block of the cluster arrives, then waits for all (release/acquire at
// cluster scope). Not .aligned: the callers reach it after divergent roles.
__device__ __forceinline__ void cluster_sync() {
#if FULGUR_HOPPER_PTX
  asm volatile("barrier.cluster.arrive.release;\n\tbarrier.cluster.wait.acquire;" ::: "memory");
#else
  __trap();
#endif
}

// ---- register reallocation between warpgroups (needs __launch_bounds__(threads, 1)) ----

template <uint32_t kRegs>
__device__ __forceinline__ void setmaxnreg_inc() {
#if FULGUR_HOPPER_PTX
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(kRegs));
#endif
}

template <uint32_t kRegs>
__device__ __forceinline__ void setmaxnreg_dec() {
#if FULGUR_HOPPER_PTX
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(kRegs));
#endif
}

// ---- wgmma (the instruction itself: wgmma_ss, below) ----

// Orders this thread's register accesses to the accumulators before the next wgmma reads them.
__device__ __forceinline__ void wgmma_fence() {
#if FULGUR_HOPPER_PTX
  asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
#endif
}

__device__ __forceinline__ void wgmma_commit() {
#if FULGUR_HOPPER_PTX
  asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");
#endif
}

// Waits until at most kPending committed wgmma groups of this warpgroup are still running.
template <int kPending>
__device__ __forceinline__ void wgmma_wait() {
#if FULGUR_HOPPER_PTX
  asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(kPending) : "memory");
#endif
}

// Keeps the compiler from moving accumulator reads/writes across the asynchronous wgmma.
template <int N>
__device__ __forceinline__ void fence_registers(float (&d)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

#endif

// ---- both builds ----

// Shared-memory matrix descriptor for a 128-byte-swizzled operand tile (as TMA writes it with
// CU_TENSOR_MAP_SWIZZLE_128B): bits 0-13 start address >> 4, 16-29 leading-dimension byte
// offset >> 4, 32-45 stride-dimension byte offset >> 4, 62-63 layout (1 = 128-byte swizzle).
// The tile must start 1024-byte aligned (base offset 0).
__device__ __forceinline__ uint64_t sw128_descriptor(const void* smem, uint32_t leading_bytes, uint32_t stride_bytes) {
  const uint64_t addr = smem_u32(smem);
  return ((addr & 0x3FFFF) >> 4) | (static_cast<uint64_t>((leading_bytes & 0x3FFFF) >> 4) << 16) |
         (static_cast<uint64_t>((stride_bytes & 0x3FFFF) >> 4) << 32) | (1ull << 62);
}

}  // namespace fulgur::ptx::hopper

// wgmma_ss<N, kBf16, kTransA, kTransB>(d, desc_a, desc_b): the instruction itself, one inline
// PTX statement per shape with N/2 accumulator operands (generated by tools/gen_wgmma.py); the
// emulated build's is above.
#if !FULGUR_SIMT_EMULATED
#include "kernels/cuda/hopper_wgmma.cuh"
#endif
