// Fused cross-entropy forward and backward over rows x classes logits.
//
// Forward: one pass over each row gathers the online (max, sum of exp) and, for label
// smoothing, sum_j w_j x_j and sum_j w_j; the row's loss is then
//   (1 - eps) w_t (lse - x_t) + eps / C (W lse - sum_j w_j x_j),   lse = max + log(sum)
// so log-softmax, the NLL gather, the weights and the smoothing term are one read of the
// logits. Only lse, the loss and the target's weight are written per row (O(rows)).
// Backward: one pass that recomputes p_k = exp(x_k - lse) and writes
//   d x_k = g (1 - eps) w_t (p_k - [k == t]) + g eps / C (p_k W - w_k)
// (W = sum of the weights, gathered first when weights and smoothing are both given).
// A warp owns a row (4 rows per block) of up to 4096 classes forward, 1024 backward; longer
// rows get a block.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "fulgur/kernels/cuda/cross_entropy.h"
#include "fulgur/kernels/error.h"
#include "kernels/cuda/row_reduce.cuh"  // .cuh files: by workspace path (textual_hdrs get no include prefix)

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

using cuda::CrossEntropyArgs;

// A warp owns a row up to these many classes. The forward only reads (no write pass), so a
// warp per row keeps more rows in flight than a block would, up to longer rows.
constexpr int kCeForwardWarpMaxClasses = 4096;
constexpr int kCeBackwardWarpMaxClasses = 1024;
constexpr int kCeRowsPerWarpBlock = 4;
constexpr int kCeBlockThreads = 512;

// The threads that own one row: a warp (kWarp) or the whole block.
template <bool kWarp>
struct Team {
  __device__ static int rank() { return kWarp ? static_cast<int>(threadIdx.x) % warpSize : static_cast<int>(threadIdx.x); }
  __device__ static int size() { return kWarp ? warpSize : static_cast<int>(blockDim.x); }
  __device__ static int64_t row() {
    return kWarp ? static_cast<int64_t>(blockIdx.x) * kCeRowsPerWarpBlock + threadIdx.x / warpSize
                 : static_cast<int64_t>(blockIdx.x);
  }
  __device__ static float sum(float v, float* scratch) { return kWarp ? warp_sum(v) : block_sum(v, scratch); }
  __device__ static MaxSum maxsum(MaxSum v, MaxSum* scratch) {
    return kWarp ? warp_maxsum(v) : block_maxsum(v, scratch);
  }
};

__device__ __forceinline__ float class_weight(const float* weight, int64_t c) { return weight ? weight[c] : 1.0f; }

template <bool kWarp, bool kVec4>
__global__ void cross_entropy_forward_kernel(CrossEntropyArgs a, float* loss, float* lse_out, float* row_weight) {
  FULGUR_SHARED(MaxSum, scratch_ms, [32]);
  FULGUR_SHARED(float, scratch, [32]);
  using T = Team<kWarp>;
  const int64_t row = T::row();
  // Warps past the last row leave together; a block always has its row.
  if (row >= a.rows) return;
  const float* x = a.logits + row * a.classes;
  const bool smoothing = a.label_smoothing != 0.0f;
  // The target's logit is read first, so its latency hides behind the row's loads.
  const int64_t t = a.target[row];
  const bool valid = t != a.ignore_index && t >= 0 && t < a.classes;
  const float x_t = T::rank() == 0 && valid ? x[t] : 0.0f;
  MaxSum acc = maxsum_identity();
  float wx = 0.0f, wsum = 0.0f;
  // Batches of kBatch units (a float4 each when kVec4): the loads are independent, and the
  // running sum is rescaled once per batch.
  constexpr int kWidth = kVec4 ? 4 : 1, kBatch = 4;
  const int64_t units = a.classes / kWidth;
  for (int64_t u0 = T::rank(); u0 < units; u0 += kBatch * static_cast<int64_t>(T::size())) {
    float v[kWidth * kBatch];
    FULGUR_UNROLL
    for (int b = 0; b < kBatch; ++b) {
      const int64_t u = u0 + static_cast<int64_t>(b) * T::size();
      if constexpr (kVec4) {
        const float4 f = u < units ? reinterpret_cast<const float4*>(x)[u]
                                   : make_float4(-INFINITY, -INFINITY, -INFINITY, -INFINITY);
        v[4 * b] = f.x, v[4 * b + 1] = f.y, v[4 * b + 2] = f.z, v[4 * b + 3] = f.w;
      } else {
        v[b] = u < units ? x[u] : -INFINITY;
      }
    }
    acc = maxsum_add_batch<kWidth * kBatch>(acc, v);
    if (smoothing) {
      FULGUR_UNROLL
      for (int b = 0; b < kBatch; ++b) {
        const int64_t u = u0 + static_cast<int64_t>(b) * T::size();
        if (u >= units) continue;
        FULGUR_UNROLL
        for (int j = 0; j < kWidth; ++j) {
          const float w = class_weight(a.weight, u * kWidth + j);
          wx += w * v[kWidth * b + j];
          wsum += w;
        }
      }
    }
  }
  const MaxSum total = T::maxsum(acc, scratch_ms);
  if (smoothing) {
    wx = T::sum(wx, scratch);
    wsum = T::sum(wsum, scratch);
  }
  if (T::rank() != 0) return;
  const float lse = total.max + logf(total.sum);
  float l = 0.0f, wt = 0.0f;
  if (t != a.ignore_index) {
    if (!valid) {
      if (a.bad_target) atomicCAS(a.bad_target, 0, static_cast<int>(row + 1));
      l = NAN;
    } else {
      wt = class_weight(a.weight, t);
      const float eps = a.label_smoothing;
      l = (1.0f - eps) * wt * (lse - x_t);
      if (smoothing) l += eps / static_cast<float>(a.classes) * (wsum * lse - wx);
    }
  }
  loss[row] = l;
  lse_out[row] = lse;
  row_weight[row] = wt;
}

template <bool kWarp, bool kVec4>
__global__ void cross_entropy_backward_kernel(CrossEntropyArgs a, const float* lse_in, const float* grad_rows,
                                              float* dlogits) {
  FULGUR_SHARED(float, scratch, [32]);
  using T = Team<kWarp>;
  const int64_t row = T::row();
  if (row >= a.rows) return;
  const float eps = a.label_smoothing;
  // W = sum of the class weights: C without weights; gathered only when it matters.
  float w_total = static_cast<float>(a.classes);
  if (a.weight && eps != 0.0f) {
    float part = 0.0f;
    for (int64_t c = T::rank(); c < a.classes; c += T::size()) part += a.weight[c];
    w_total = T::sum(part, scratch);
  }
  const int64_t t = a.target[row];
  float* dx = dlogits + row * a.classes;
  const bool valid = t != a.ignore_index && t >= 0 && t < a.classes;
  if (!valid) {
    for (int64_t c = T::rank(); c < a.classes; c += T::size()) dx[c] = t == a.ignore_index ? 0.0f : NAN;
    return;
  }
  const float* x = a.logits + row * a.classes;
  const float g = grad_rows[row];
  const float lse = lse_in[row];
  const float nll_scale = g * (1.0f - eps) * class_weight(a.weight, t);
  const float smooth_scale = g * eps / static_cast<float>(a.classes);
  auto grad_of = [&](float xc, int64_t c) {
    const float p = expf(xc - lse);
    float d = nll_scale * (p - (c == t ? 1.0f : 0.0f));
    if (eps != 0.0f) d += smooth_scale * (p * w_total - class_weight(a.weight, c));
    return d;
  };
  if constexpr (kVec4) {
    const int64_t quads = a.classes / 4;
    for (int64_t q = T::rank(); q < quads; q += T::size()) {
      const float4 v = reinterpret_cast<const float4*>(x)[q];
      reinterpret_cast<float4*>(dx)[q] =
          make_float4(grad_of(v.x, 4 * q), grad_of(v.y, 4 * q + 1), grad_of(v.z, 4 * q + 2), grad_of(v.w, 4 * q + 3));
    }
  } else {
    for (int64_t c = T::rank(); c < a.classes; c += T::size()) dx[c] = grad_of(x[c], c);
  }
}

// One block sums everything: each thread a strided slice in index order, then the fixed
// shuffle tree. Loss reductions are over rows (small), so one block is enough.
__global__ void __launch_bounds__(1024) deterministic_sum_kernel(const float* v, int64_t n, float* out) {
  FULGUR_SHARED(float, scratch, [32]);
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += v[i];
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) out[0] = s;
}

void check_args(const char* op, const CrossEntropyArgs& a) {
  if (a.rows < 0 || a.classes < 0 || a.rows > INT32_MAX || a.classes > INT32_MAX) {
    throw Error(std::string(op) + ": rows " + std::to_string(a.rows) + " x classes " + std::to_string(a.classes) +
                " out of range; hint: both must be in [0, 2^31)");
  }
  if (a.label_smoothing < 0.0f || a.label_smoothing > 1.0f) {
    throw Error(std::string(op) + ": label_smoothing " + std::to_string(a.label_smoothing) +
                " must be in [0, 1]");
  }
}

unsigned warp_blocks(int64_t rows) { return static_cast<unsigned>((rows + kCeRowsPerWarpBlock - 1) / kCeRowsPerWarpBlock); }

struct Forward {
  template <bool kWarp, bool kVec4, typename... Args>
  static void launch(dim3 grid, dim3 block, void* stream, Args... args) {
    FULGUR_LAUNCH((cross_entropy_forward_kernel<kWarp, kVec4>), grid, block, 0, stream, args...);
  }
};

struct Backward {
  template <bool kWarp, bool kVec4, typename... Args>
  static void launch(dim3 grid, dim3 block, void* stream, Args... args) {
    FULGUR_LAUNCH((cross_entropy_backward_kernel<kWarp, kVec4>), grid, block, 0, stream, args...);
  }
};

// A warp per row (4 rows per block) for short rows, else a block per row; float4 when aligned.
template <typename Kernel, typename... Args>
void launch_rows(bool warp, bool vec, int64_t rows, void* stream, Args... args) {
  const dim3 warp_grid(warp_blocks(rows)), warp_block(kCeRowsPerWarpBlock * 32);
  const dim3 row_grid(static_cast<unsigned>(rows)), row_block(kCeBlockThreads);
  if (warp && vec) return Kernel::template launch<true, true>(warp_grid, warp_block, stream, args...);
  if (warp) return Kernel::template launch<true, false>(warp_grid, warp_block, stream, args...);
  if (vec) return Kernel::template launch<false, true>(row_grid, row_block, stream, args...);
  Kernel::template launch<false, false>(row_grid, row_block, stream, args...);
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void cross_entropy_forward<FULGUR_EXEC>(const CrossEntropyArgs& args, float* loss, float* lse, float* row_weight,
                                        void* stream) {
  using namespace FULGUR_KERNEL_NS;
  check_args("cross_entropy (cuda)", args);
  if (args.rows == 0) return;
  if (args.classes == 0) {
    throw Error("cross_entropy (cuda): " + std::to_string(args.rows) +
                " rows of 0 classes; hint: the logits need at least one class");
  }
  const bool vec = args.classes % 4 == 0 && cuda::aligned16(args.logits);
  launch_rows<Forward>(args.classes <= kCeForwardWarpMaxClasses, vec, args.rows, stream, args, loss, lse, row_weight);
}

template <>
void cross_entropy_backward<FULGUR_EXEC>(const CrossEntropyArgs& args, const float* lse, const float* grad_rows,
                                         float* dlogits, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  check_args("cross_entropy backward (cuda)", args);
  if (args.rows == 0 || args.classes == 0) return;
  const bool vec = args.classes % 4 == 0 && cuda::aligned16(args.logits) && cuda::aligned16(dlogits);
  launch_rows<Backward>(args.classes <= kCeBackwardWarpMaxClasses, vec, args.rows, stream, args, lse, grad_rows, dlogits);
}

template <>
void deterministic_sum<FULGUR_EXEC>(const float* v, int64_t n, float* out, void* stream) {
  if (n < 0) throw Error("deterministic_sum (cuda): negative length " + std::to_string(n));
  FULGUR_LAUNCH(FULGUR_KERNEL_NS::deterministic_sum_kernel, dim3(1), dim3(1024), 0, stream, v, n, out);
}

}  // namespace fulgur::cuda
