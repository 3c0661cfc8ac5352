// The GEMM epilogue shared by the tensor-core kernels (gemm.cuh's mma.sync kernel and
// gemm_wgmma.cuh's Hopper kernel): D = act(alpha * acc + bias) + residual, converted to D's
// dtype, for one accumulator element at (row, col) of one batch. Both kernels hold their
// accumulators in registers and call this per element, with bounds checks, so the epilogue's
// arithmetic (and its rounding) is the same whichever kernel ran.
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/gemm.h"
#include "fulgur/kernels/cuda/simt.h"
#include "fulgur/kernels/cuda/simt_ptx.h"

namespace fulgur::cuda {
namespace FULGUR_KERNEL_NS {
namespace gemm_detail {

// D's side of a launch: where results go and what is fused into them (see gemm.h).
struct EpilogueParams {
  void* d;
  const float* bias;
  const void* residual;
  int64_t ldd, ldr;
  int64_t stride_d, stride_r;
  int m, n;
  float alpha;
  int out_dtype;   // GemmDtype
  int activation;  // GemmActivation
};

__device__ __forceinline__ float load_out(const void* p, int dtype, int64_t i) {
  if (dtype == static_cast<int>(GemmDtype::Float32)) return static_cast<const float*>(p)[i];
  const uint16_t bits = static_cast<const uint16_t*>(p)[i];
  return dtype == static_cast<int>(GemmDtype::BFloat16) ? ptx::bf16_to_float(bits) : ptx::fp16_to_float(bits);
}

__device__ __forceinline__ void store_out(void* p, int dtype, int64_t i, float v) {
  if (dtype == static_cast<int>(GemmDtype::Float32)) {
    static_cast<float*>(p)[i] = v;
  } else {
    static_cast<uint16_t*>(p)[i] =
        dtype == static_cast<int>(GemmDtype::BFloat16) ? ptx::float_to_bf16(v) : ptx::float_to_fp16(v);
  }
}

__device__ __forceinline__ float activate(float v, int activation) {
  if (activation == static_cast<int>(GemmActivation::Relu)) return v > 0.0f ? v : 0.0f;
  if (activation == static_cast<int>(GemmActivation::Gelu)) return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
  return v;
}

// The epilogue of a launch, from arguments whose leading dimensions are already filled in.
inline EpilogueParams epilogue_params(const GemmArgs& g) {
  EpilogueParams e{};
  e.d = g.d;
  e.bias = g.bias;
  e.residual = g.residual;
  e.ldd = g.ldd;
  e.ldr = g.ld_residual;
  e.stride_d = g.stride_d;
  e.stride_r = g.stride_residual;
  e.m = static_cast<int>(g.m);
  e.n = static_cast<int>(g.n);
  e.alpha = g.alpha;
  e.out_dtype = static_cast<int>(g.out_dtype);
  e.activation = static_cast<int>(g.activation);
  return e;
}

// Writes D[batch][row][col] from one accumulator; elements outside M x N are skipped.
__device__ __forceinline__ void epilogue_store(const EpilogueParams& e, int64_t batch, int row, int col, float acc) {
  if (row >= e.m || col >= e.n) return;
  float v = e.alpha * acc;
  if (e.bias != nullptr) v += e.bias[col];
  v = activate(v, e.activation);
  if (e.residual != nullptr) v += load_out(e.residual, e.out_dtype, batch * e.stride_r + row * e.ldr + col);
  store_out(e.d, e.out_dtype, batch * e.stride_d + row * e.ldd + col, v);
}

// The paired epilogue (gemm_wgmma.cuh): for a tile wholly inside M x N whose pairs of columns
// (col even) are aligned for one store of both, and an epilogue of alpha alone, D's elements
// (col, col + 1) are computed as by epilogue_store, without its bounds checks, and written by
// one 4-byte (16-bit D) or 8-byte (float32 D) store. On an H200 it took the wgmma kernel from
// 63% to 81% of cuBLAS at 4096^3 (docs/PERFORMANCE.md, "The third GPU run"); the same pairing
// for bias / activation / residual epilogues measured no better than element by element.
__device__ __forceinline__ bool pairs_aligned(const EpilogueParams& e) {
  const int64_t width = e.out_dtype == static_cast<int>(GemmDtype::Float32) ? 8 : 4;
  return reinterpret_cast<uintptr_t>(e.d) % width == 0 && e.ldd % 2 == 0 && e.stride_d % 2 == 0;
}

__device__ __forceinline__ bool tile_inside(const EpilogueParams& e, int m0, int n0, int rows, int cols) {
  return m0 + rows <= e.m && n0 + cols <= e.n;
}

// One pair for an epilogue of alpha alone (no bias, activation or residual): the common case,
// with D's dtype a template argument so that nothing is decided per element.
template <GemmDtype kOut>
__device__ __forceinline__ void store_pair_plain(const EpilogueParams& e, int64_t batch, int row, int col, float a0,
                                                 float a1) {
  const int64_t i = batch * e.stride_d + row * e.ldd + col;
  const float v0 = e.alpha * a0, v1 = e.alpha * a1;
  if constexpr (kOut == GemmDtype::Float32) {
    float* out = static_cast<float*>(e.d) + i;
    *reinterpret_cast<float2*>(out) = make_float2(v0, v1);
  } else {
    const uint32_t lo = kOut == GemmDtype::BFloat16 ? ptx::float_to_bf16(v0) : ptx::float_to_fp16(v0);
    const uint32_t hi = kOut == GemmDtype::BFloat16 ? ptx::float_to_bf16(v1) : ptx::float_to_fp16(v1);
    *reinterpret_cast<uint32_t*>(static_cast<uint16_t*>(e.d) + i) = lo | (hi << 16);
  }
}

}  // namespace gemm_detail
}  // namespace FULGUR_KERNEL_NS
}  // namespace fulgur::cuda
