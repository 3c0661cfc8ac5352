// Tensor-core PTX instructions for kernel sources (simt.h): mma.sync m16n8k16 (bf16 and f16
// inputs, f32 accumulators), ldmatrix m8n8 (.x2/.x4, plain and .trans) and cp.async. Each has
// two bodies: the inline PTX for nvcc, and for the SIMT emulator a model that follows the
// register layouts of the PTX ISA ("Matrix Fragments for mma.m16n8k16 with floating point
// type", "Warp-level matrix load instruction: ldmatrix"), so that a kernel which puts a
// fragment element in the wrong register gives a wrong result on the CPU too.
//
// Fragment layouts (lane = %laneid, g = lane >> 2, t = lane % 4; element 2j of a .b32
// register is its low half, 2j+1 its high half):
//   A (16x16, row):  reg r holds A[g + 8*(r&1)][2t + 8*(r>>1) + {0,1}]
//   B (16x8, col):   reg r holds B[2t + 8*r + {0,1}][g]
//   C/D (16x8 f32):  c[i] is C[g + 8*(i>>1)][2t + (i&1)]
//   ldmatrix .xN:    lanes 8i..8i+7 give the 8 row addresses (16 bytes each) of matrix i;
//                    reg i of lane l gets row l/4, columns 2*(l%4)+{0,1} of matrix i
//                    (.trans: column l/4, rows 2*(l%4)+{0,1}).
// The emulated mma multiplies in fp32 from exactly converted inputs and accumulates in fp32
// in k order; the tensor cores' internal order differs, so results agree to rounding only.
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/simt.h"

#if !FULGUR_SIMT_EMULATED
#include <cuda_fp16.h>
#else
#include <array>
#include <cstring>

#include "fulgur/kernels/half.h"
#endif

namespace fulgur::ptx {

// ---- 16-bit float conversions usable in both builds (round to nearest even) ----

__device__ __forceinline__ float bf16_to_float(uint16_t bits) {
  return __uint_as_float(static_cast<uint32_t>(bits) << 16);
}

__device__ __forceinline__ uint16_t float_to_bf16(float f) {
  const uint32_t x = __float_as_uint(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

__device__ __forceinline__ float fp16_to_float(uint16_t bits) {
#if !FULGUR_SIMT_EMULATED
  return __half2float(__ushort_as_half(bits));
#else
  return ::fulgur::Half::to_float(bits);
#endif
}

__device__ __forceinline__ uint16_t float_to_fp16(float f) {
#if !FULGUR_SIMT_EMULATED
  return __half_as_ushort(__float2half_rn(f));
#else
  return ::fulgur::Half::from_float(f);
#endif
}

// ---- mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}.{bf16,f16}.f32: d += a * b ----

#if FULGUR_SIMT_EMULATED
namespace detail {

struct MmaOperands {
  uint32_t a[4];
  uint32_t b[2];
};

inline float half_of(uint32_t reg, int hi, bool is_bf16) {
  const auto bits = static_cast<uint16_t>(hi ? reg >> 16 : reg & 0xffffu);
  return is_bf16 ? bf16_to_float(bits) : fp16_to_float(bits);
}

inline void mma_m16n8k16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], bool is_bf16) {
  MmaOperands mine;
  for (int r = 0; r < 4; ++r) mine.a[r] = a[r];
  for (int r = 0; r < 2; ++r) mine.b[r] = b[r];
  const auto all = ::fulgur::simt::warp_all(mine);
  float A[16][16];
  float B[16][8];
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane >> 2, t = lane & 3;
    const MmaOperands& o = all[static_cast<size_t>(lane)];
    for (int r = 0; r < 4; ++r) {
      for (int h = 0; h < 2; ++h) A[g + 8 * (r & 1)][2 * t + 8 * (r >> 1) + h] = half_of(o.a[r], h, is_bf16);
    }
    for (int r = 0; r < 2; ++r) {
      for (int h = 0; h < 2; ++h) B[2 * t + 8 * r + h][g] = half_of(o.b[r], h, is_bf16);
    }
  }
  const int lane = ::fulgur::simt::lane_id();
  const int g = lane >> 2, t = lane & 3;
  for (int i = 0; i < 4; ++i) {
    const int row = g + 8 * (i >> 1), col = 2 * t + (i & 1);
    float s = d[i];
    for (int k = 0; k < 16; ++k) s += A[row][k] * B[k][col];
    d[i] = s;
  }
}

// Lane `lane`'s register `i` of an ldmatrix whose row addresses are `rows` (8 per matrix).
inline uint32_t ldmatrix_word(const std::array<const void*, 32>& rows, int i, int lane, bool trans) {
  uint16_t lo, hi;
  const int q = lane % 4, r = lane / 4;
  if (!trans) {
    const auto* row = static_cast<const unsigned char*>(rows[static_cast<size_t>(8 * i + r)]);
    std::memcpy(&lo, row + 2 * (2 * q), 2);
    std::memcpy(&hi, row + 2 * (2 * q + 1), 2);
  } else {
    const auto* row0 = static_cast<const unsigned char*>(rows[static_cast<size_t>(8 * i + 2 * q)]);
    const auto* row1 = static_cast<const unsigned char*>(rows[static_cast<size_t>(8 * i + 2 * q + 1)]);
    std::memcpy(&lo, row0 + 2 * r, 2);
    std::memcpy(&hi, row1 + 2 * r, 2);
  }
  return static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16);
}

template <int kCount>
inline void ldmatrix(uint32_t (&regs)[kCount], const void* row_address, bool trans) {
  if ((reinterpret_cast<uintptr_t>(row_address) & 15u) != 0) {
    ::fulgur::simt::trap("ldmatrix: row address not 16-byte aligned");
  }
  const auto rows = ::fulgur::simt::warp_all(row_address);
  const int lane = ::fulgur::simt::lane_id();
  for (int i = 0; i < kCount; ++i) regs[i] = ldmatrix_word(rows, i, lane, trans);
}

}  // namespace detail
#endif

__device__ __forceinline__ void mma_m16n8k16_bf16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if !FULGUR_SIMT_EMULATED
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  detail::mma_m16n8k16(d, a, b, true);
#endif
}

__device__ __forceinline__ void mma_m16n8k16_f16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if !FULGUR_SIMT_EMULATED
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  detail::mma_m16n8k16(d, a, b, false);
#endif
}

// ---- ldmatrix.sync.aligned.m8n8.{x2,x4}[.trans].shared.b16 ----
// `row_address`: this lane's row (16-byte aligned, in shared memory).

#if !FULGUR_SIMT_EMULATED
__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
#endif

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row_address) {
#if !FULGUR_SIMT_EMULATED
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(row_address)));
#else
  detail::ldmatrix(r, row_address, false);
#endif
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row_address) {
#if !FULGUR_SIMT_EMULATED
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(row_address)));
#else
  detail::ldmatrix(r, row_address, true);
#endif
}

// .x2: lanes 0..15 give the addresses; lanes 16..31 must still pass a valid one (ignored).
__device__ __forceinline__ void ldmatrix_x2(uint32_t (&r)[2], const void* row_address) {
#if !FULGUR_SIMT_EMULATED
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(shared_address(row_address)));
#else
  detail::ldmatrix(r, row_address, false);
#endif
}

__device__ __forceinline__ void ldmatrix_x2_trans(uint32_t (&r)[2], const void* row_address) {
#if !FULGUR_SIMT_EMULATED
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(shared_address(row_address)));
#else
  detail::ldmatrix(r, row_address, true);
#endif
}

// ---- cp.async.cg.shared.global (16 bytes, sm_80+) ----
// Copies the first `src_bytes` (0..16) of the 16 bytes at `src` to `dst` and zero-fills the
// rest; with src_bytes == 0 nothing is read (src must still be a valid address). Both
// addresses 16-byte aligned. Emulated: a plain copy, done when the call returns, so commit
// and wait are no-ops (the block barrier after the wait orders it as on the GPU).
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, int src_bytes) {
#if !FULGUR_SIMT_EMULATED
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared_address(dst)), "l"(src),
               "r"(src_bytes));
#else
  auto* d = static_cast<unsigned char*>(dst);
  if (src_bytes > 0) std::memcpy(d, src, static_cast<size_t>(src_bytes));
  std::memset(d + src_bytes, 0, static_cast<size_t>(16 - src_bytes));
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#if !FULGUR_SIMT_EMULATED
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}

// Waits until at most kPending of this thread's committed groups are still in flight.
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
#if !FULGUR_SIMT_EMULATED
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
#endif
}

}  // namespace fulgur::ptx
