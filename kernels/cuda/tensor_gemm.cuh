// float / double GEMM on CUDA cores for tensor matmul (tensor_gemm.h): the path of the dtypes
// the tensor-core kernel (gemm.cuh) does not take, and the reference it can be checked against.
//
// Algorithm: each 256-thread block computes a 64 x 64 tile of C; each thread a 4 x 4
// micro-tile (rows ty + 16 i, columns tx + 16 j, so that a warp reads shared memory without
// bank conflicts). A and B pass through shared memory in k-slices of 16, loaded element by
// element through their strides: any layout (transposed views included) and any alignment, at
// the cost of uncoalesced loads for column-major operands. Every output sums its k products in
// increasing k, one rounding per multiply and per add (no FMA contraction, --fmad=false):
// deterministic, and the order the CPU's naive loop uses (its blocked GEMM differs by a few
// ulps). Batches are launched one after another from the host (the offsets are host arrays).
// Fused: alpha and beta into the store.
#pragma once

#include <cstdint>
#include <string>

#include "fulgur/kernels/cuda/simt.h"
#include "fulgur/kernels/cuda/tensor_gemm.h"
#include "fulgur/kernels/dtype.h"
#include "fulgur/kernels/error.h"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

constexpr int kGemmTile = 64, kGemmSlice = 16, kGemmThreads = 256, kGemmMicro = 4;

template <typename T>
__global__ void __launch_bounds__(kGemmThreads)
    tensor_gemm_tiles(const T* __restrict__ a, int64_t a_rs, int64_t a_cs, const T* __restrict__ b, int64_t b_rs,
                      int64_t b_cs, T* __restrict__ c, int64_t c_rs, int64_t m, int64_t n, int64_t k, T alpha,
                      T beta) {
  FULGUR_SHARED(T, as, [kGemmSlice][kGemmTile]);  // as[kk][r]: A[row0 + r, k0 + kk]
  FULGUR_SHARED(T, bs, [kGemmSlice][kGemmTile]);  // bs[kk][c]: B[k0 + kk, col0 + c]
  const int tx = static_cast<int>(threadIdx.x) % 16, ty = static_cast<int>(threadIdx.x) / 16;
  const int64_t row0 = static_cast<int64_t>(blockIdx.y) * kGemmTile;
  const int64_t col0 = static_cast<int64_t>(blockIdx.x) * kGemmTile;
  T acc[kGemmMicro][kGemmMicro];
  FULGUR_UNROLL
  for (int i = 0; i < kGemmMicro; ++i) {
    FULGUR_UNROLL
    for (int j = 0; j < kGemmMicro; ++j) acc[i][j] = T(0);
  }
  for (int64_t k0 = 0; k0 < k; k0 += kGemmSlice) {
    for (int e = static_cast<int>(threadIdx.x); e < kGemmTile * kGemmSlice; e += kGemmThreads) {
      // Consecutive threads take consecutive k of A's row (a_cs == 1: coalesced for row-major
      // A) and consecutive columns of B's row (b_cs == 1: coalesced for row-major B).
      const int ar = e / kGemmSlice, ak = e % kGemmSlice;
      const int64_t gr = row0 + ar, gka = k0 + ak;
      as[ak][ar] = gr < m && gka < k ? a[gr * a_rs + gka * a_cs] : T(0);
      const int bk = e / kGemmTile, bc = e % kGemmTile;
      const int64_t gkb = k0 + bk, gc = col0 + bc;
      bs[bk][bc] = gkb < k && gc < n ? b[gkb * b_rs + gc * b_cs] : T(0);
    }
    __syncthreads();
    const int slice = k - k0 < kGemmSlice ? static_cast<int>(k - k0) : kGemmSlice;
    for (int kk = 0; kk < slice; ++kk) {
      T av[kGemmMicro], bv[kGemmMicro];
      FULGUR_UNROLL
      for (int i = 0; i < kGemmMicro; ++i) {
        av[i] = as[kk][ty + 16 * i];
        bv[i] = bs[kk][tx + 16 * i];
      }
      FULGUR_UNROLL
      for (int i = 0; i < kGemmMicro; ++i) {
        FULGUR_UNROLL
        for (int j = 0; j < kGemmMicro; ++j) acc[i][j] += av[i] * bv[j];
      }
    }
    __syncthreads();  // the slice is read by all before the next one overwrites it
  }
  FULGUR_UNROLL
  for (int i = 0; i < kGemmMicro; ++i) {
    const int64_t r = row0 + ty + 16 * i;
    if (r >= m) continue;
    FULGUR_UNROLL
    for (int j = 0; j < kGemmMicro; ++j) {
      const int64_t col = col0 + tx + 16 * j;
      if (col >= n) continue;
      T* out = c + r * c_rs + col;
      *out = beta == T(0) ? alpha * acc[i][j] : alpha * acc[i][j] + beta * *out;
    }
  }
}

template <typename T>
void launch_tensor_gemm(const kernels::GemmArgs& g, void* stream) {
  const dim3 grid(static_cast<unsigned>((g.n + kGemmTile - 1) / kGemmTile),
                  static_cast<unsigned>((g.m + kGemmTile - 1) / kGemmTile));
  for (int64_t batch = 0; batch < g.batch; ++batch) {
    const auto at = [&](const char* base, const int64_t* offsets) {
      return base + (offsets != nullptr ? offsets[batch] : 0);
    };
    const T* a = reinterpret_cast<const T*>(at(g.a, g.a_offsets));
    const T* b = reinterpret_cast<const T*>(at(g.b, g.b_offsets));
    T* c = reinterpret_cast<T*>(const_cast<char*>(at(g.c, g.c_offsets)));
    FULGUR_LAUNCH((tensor_gemm_tiles<T>), grid, dim3(kGemmThreads), 0, stream, a, g.a_rs, g.a_cs, b, g.b_rs, g.b_cs,
                  c, g.c_rs, g.m, g.n, g.k, static_cast<T>(g.alpha), static_cast<T>(g.beta));
  }
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void tensor_gemm<FULGUR_EXEC>(const kernels::GemmArgs& g, void* stream) {
  if (g.m < 0 || g.n < 0 || g.k < 0 || g.batch < 0 || (g.m + 63) / 64 > 65535) {
    throw Error("matmul (cuda): m " + std::to_string(g.m) + ", n " + std::to_string(g.n) + ", k " +
                std::to_string(g.k) + ", batch " + std::to_string(g.batch) +
                " out of range; hint: sizes must be >= 0 and m < 4194240");
  }
  if (g.m == 0 || g.n == 0 || g.batch == 0) return;
  switch (g.dtype) {
    case DType::Float32:
      return FULGUR_KERNEL_NS::launch_tensor_gemm<float>(g, stream);
    case DType::Float64:
      return FULGUR_KERNEL_NS::launch_tensor_gemm<double>(g, stream);
    default:
      throw Error(std::string("matmul (cuda): dtype ") + std::string(dtype_name(g.dtype)) +
                  " is not supported by the CUDA-core GEMM; hint: float32 or float64 (float16/bfloat16 take "
                  "the tensor-core GEMM), or compute on the CPU");
  }
}

}  // namespace fulgur::cuda
