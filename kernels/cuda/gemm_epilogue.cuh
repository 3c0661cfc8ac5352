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

}  // namespace gemm_detail
}  // namespace FULGUR_KERNEL_NS
}  // namespace fulgur::cuda
