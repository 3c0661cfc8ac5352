// Building blocks of the row kernels (softmax, cross-entropy): a "team" of threads owns one
// row, either one warp (short rows) or a whole block (long rows), and reduces across the team
// with warp shuffles, then through shared memory between warps. The shuffles use the xor
// butterfly, so every lane ends with the same bits and the order of additions is fixed:
// results do not depend on timing (deterministic). Included by kernel sources only.
#pragma once

#include <cmath>

#include "fulgur/kernels/cuda/simt.h"

namespace fulgur::FULGUR_KERNEL_NS {

constexpr unsigned kFullMask = 0xffffffffu;

// Running maximum and sum of exp(x - max) over the values seen so far: merging two keeps
// the sum relative to the larger maximum (the "online softmax" of Milakov & Gimelshein).
struct MaxSum {
  float max;
  float sum;
};

__device__ __forceinline__ MaxSum maxsum_identity() { return {-INFINITY, 0.0f}; }

__device__ __forceinline__ MaxSum maxsum_merge(MaxSum a, MaxSum b) {
  const float m = fmaxf(a.max, b.max);
  // Both sides empty or all -inf: exp(-inf - -inf) would be NaN.
  if (m == -INFINITY) return {m, a.sum + b.sum};
  // Each product rounded on its own (__fmul_rn is never contracted into an FMA), so that
  // merge(a, b) and merge(b, a) give the same bits and the xor butterfly leaves every lane the
  // same total: nvcc would otherwise fuse one product into the addition, whichever it chose.
  return {m, __fmul_rn(a.sum, expf(a.max - m)) + __fmul_rn(b.sum, expf(b.max - m))};
}

// A NaN must poison the row's sum even while the running max is still -inf (where the merge
// would otherwise drop it), as PyTorch's softmax turns a row with a NaN into NaN.
__device__ __forceinline__ MaxSum maxsum_add(MaxSum a, float x) {
  if (x != x) return {a.max, x};
  return maxsum_merge(a, {x, 1.0f});
}

// Adds kN values with one rescale of the running sum: the batch's max first, then kN exps,
// instead of two exps per value. -inf entries (padding) add exp(-inf) = 0; a NaN makes the
// sum NaN.
template <int kN>
__device__ __forceinline__ MaxSum maxsum_add_batch(MaxSum a, const float* v) {
  float m = a.max;
  bool nan = false;
  FULGUR_UNROLL
  for (int k = 0; k < kN; ++k) {
    m = fmaxf(m, v[k]);
    nan |= v[k] != v[k];
  }
  if (m == -INFINITY) return {m, nan ? NAN : a.sum};
  float s = a.sum * expf(a.max - m);
  FULGUR_UNROLL
  for (int k = 0; k < kN; ++k) s += expf(v[k] - m);
  return {m, s};
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, offset));
  return v;
}

__device__ __forceinline__ MaxSum warp_maxsum(MaxSum v) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const MaxSum other{__shfl_xor_sync(kFullMask, v.max, offset), __shfl_xor_sync(kFullMask, v.sum, offset)};
    v = maxsum_merge(v, other);
  }
  return v;
}

// Block-wide reductions: every thread of the block must call them (blockDim.x a multiple of
// 32, at most 1024) and every thread gets the result. `scratch` is 32 entries of shared memory.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = static_cast<int>(threadIdx.x) % warpSize, warp = static_cast<int>(threadIdx.x) / warpSize;
  const int warps = static_cast<int>(blockDim.x) / warpSize;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = warp_sum(lane < warps ? scratch[lane] : 0.0f);
  return v;
}

__device__ __forceinline__ MaxSum block_maxsum(MaxSum v, MaxSum* scratch) {
  const int lane = static_cast<int>(threadIdx.x) % warpSize, warp = static_cast<int>(threadIdx.x) / warpSize;
  const int warps = static_cast<int>(blockDim.x) / warpSize;
  v = warp_maxsum(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  return warp_maxsum(lane < warps ? scratch[lane] : maxsum_identity());
}

}  // namespace fulgur::FULGUR_KERNEL_NS
