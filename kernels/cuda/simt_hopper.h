// Hopper's asynchronous units on the SIMT emulator (simt_emulator.h), so that the wgmma/TMA
// GEMM (gemm_wgmma.cuh) runs in CI: mbarriers, TMA tensor copies into shared memory (the
// 128-byte swizzle, zero fill past the tensor's edges, multicast to a cluster) and
// wgmma.mma_async reading both operands from shared memory through matrix descriptors.
// hopper_ptx.cuh calls these in the emulated build; nothing else should.
//
// The model, and what it catches:
//   * mbarrier: a 64-bit word in shared memory holding the expected arrivals, the arrivals
//     and transaction bytes still pending, and the phase; all barrier operations take one
//     lock, and a waiter sleeps until the phase it waits for completes. An operation on a
//     word that was never initialised traps (shared memory starts 0xFF-filled), and a wait
//     that sees no progress for 60 s traps instead of hanging (a deadlock in the kernel).
//   * TMA: done by the issuing thread at once, then counted on the barrier, which is one of
//     the orders the hardware allows. Boxes are written with the 128-byte swizzle; a box, and
//     an operand a descriptor points at, must start on a 1024-byte boundary of the shared
//     window (simt_emulator.h, where dynamic shared memory is only 16-byte aligned), else the
//     emulator traps: a kernel that forgets to align its ring fails here.
//   * wgmma: each thread computes its own accumulators (the D fragment layout of the PTX ISA)
//     from the operands the descriptors point at, but only when wgmma.wait_group retires the
//     group: the latest moment the hardware may read shared memory. A kernel that frees or
//     refills a stage before waiting for the wgmma reading it, or reads accumulators before
//     the wait, gets wrong results here too. Products are fp32 from exactly converted inputs,
//     summed in k order (the tensor cores' order differs: results agree to rounding).
// Not modelled: the async proxy's memory ordering (fence.proxy.async), register counts
// (setmaxnreg), L2 and timing. Supported layouts: the 128-byte swizzle only (K-major and
// MN-major operands, 16-bit types), boxes whose rows are 128 bytes.
//
// References: PTX ISA 8.x, "mbarrier", "cp.async.bulk.tensor", "Tensor Copy" (swizzle modes),
// "Asynchronous Warpgroup Level Matrix Multiply-Accumulate" (descriptors, D fragments); the
// canonical GMMA layouts of CUTLASS's documentation (K-major: 8-row groups SBO apart; MN-major:
// 64-element atoms LBO apart, 8-k groups SBO apart).
#pragma once

#include <cstdint>

namespace fulgur::simt {

// ---- mbarrier ----
void mbarrier_init(uint64_t* bar, uint32_t count);
void mbarrier_arrive(uint64_t* bar);
// Adds `bytes` to the transactions this phase waits for, then arrives.
void mbarrier_arrive_expect_tx(uint64_t* bar, uint32_t bytes);
// Blocks until the phase with this parity (0 or 1) has completed.
void mbarrier_wait(uint64_t* bar, uint32_t parity);

// ---- TMA ----
// What cuTensorMapEncodeTiled records, for the emulated copy: a tiled tensor of up to 3
// dimensions (0 innermost) of 2-byte elements, read in boxes with the 128-byte swizzle. Not
// 64-byte aligned like CUtensorMap: kernel parameters live in the emulator's launch tuple,
// and ASan's fake stack frames do not keep 64-byte alignment (UBSan reported it).
struct TensorMap {
  const void* base = nullptr;
  int rank = 0;
  int element_bytes = 0;
  uint64_t dims[3] = {1, 1, 1};
  uint64_t strides[3] = {0, 0, 0};  // bytes between consecutive indices of dimensions 1 and 2 ([0] unused)
  uint32_t box[3] = {1, 1, 1};
};

// Copies the box at coordinates c (one per dimension, innermost first; may start before 0 or
// run past the end: those elements read as zero) into `dst` of this block, or (multicast) of
// every block of the cluster in cta_mask (bit r: rank r, at dst's offset there; an empty mask
// traps, as it would complete no barrier), and completes the box's bytes on `bar` in each of
// those blocks (at bar's offset there).
void tma_load(void* dst, const TensorMap& map, uint64_t* bar, const int (&c)[3], bool multicast, uint16_t cta_mask);

// ---- wgmma ----
// One wgmma.mma_async.m64nNk16.f32.{bf16,f16} with both operands in shared memory, issued by
// the calling thread for its own N/2 accumulators `d`; trans_a / trans_b: 0 K-major, 1
// MN-major. Runs when wgmma_wait retires its group; scale_d = 0 overwrites d.
void wgmma_issue(float* d, int n, bool bf16, int trans_a, int trans_b, uint64_t desc_a, uint64_t desc_b,
                 uint32_t scale_d);
void wgmma_commit();
// Retires committed groups, oldest first, until at most `pending` remain.
void wgmma_wait(int pending);

}  // namespace fulgur::simt
