// Softmax and log-softmax over the last dimension of a contiguous rows x cols float matrix,
// forward and backward.
//
// Short rows (cols <= 1024): one warp per row, 4 rows per 128-thread block. Each lane keeps
// its ceil(cols/32) values in registers (the row is read once, as float4 when cols % 4 == 0
// and the pointers are 16-byte aligned): max, then sum of exp(x - max) with warp shuffles,
// then the outputs. Backward keeps y and dy in registers the same way.
// Rows up to 16384 (aligned, cols % 4 == 0): one 512-thread block per row holding the row in
// registers (up to 8 float4 per thread): one read, one write, one exp per element.
// Up to 32768 aligned columns: a 1024-thread block per row stages the row in shared memory
// during the statistics pass (one read of device memory).
// Longer rows: a 512-thread block per row, one pass with an online (max, sum) per thread
// (updated once per batch of 16 values, so about one exp per value) merged across the block,
// then a second pass that writes; the second read of a row mostly hits L2. Backward makes
// one pass for the dot product and one that writes.
// Rows longer than one block's shared memory holds, on sm_90 (cuda::softmax_row_cluster): a
// cluster of 2-8 blocks per row, each staging its chunk of the row (backward: of y and dy) in
// shared memory while it reduces it; the blocks meet at a cluster barrier, each merges every
// block's partial (max, sum) or dot product from distributed shared memory (a lane per block,
// then the xor butterfly: deterministic, the same bits everywhere), then writes its chunk
// from shared memory: one read of device memory instead of two.
// Very long rows and few of them (cuda::softmax_row_splits): one block per row would leave
// most of the GPU idle, so each row is cut into `splits` chunks, a block each (grid splits x
// rows). A first kernel writes each chunk's (max, sum) (backward: its dot product) to a small
// workspace; a second one merges the row's partials (each warp alike, a fixed order: the result
// is deterministic and the same in every block) and writes its chunk.
// Fused: max, exp, sum, normalisation (and the log) in one kernel; nothing is materialised.
// Semantics as the CPU kernel (kernels/cpu/softmax.cc): a NaN makes its row NaN, a row of all
// -inf gives NaN (exp(-inf - -inf)), as PyTorch.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "kernels/cuda/cluster.cuh"  // .cuh files: by workspace path (textual_hdrs get no include prefix)
#include "kernels/cuda/row_reduce.cuh"
#include "kernels/cuda/scratch.cuh"
#include "kernels/cuda/shared_memory_opt_in.cuh"
#include "fulgur/kernels/cuda/softmax.h"
#include "fulgur/kernels/error.h"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

constexpr int kWarpRowsPerBlock = 4;
constexpr int kLongRowThreads = 512;

template <int kPerLane, bool kLog>
__global__ void __launch_bounds__(128) softmax_forward_warp(const float* __restrict__ x, float* __restrict__ y,
                                                            int64_t rows, int cols) {
  const int lane = static_cast<int>(threadIdx.x) % warpSize;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpRowsPerBlock + threadIdx.x / warpSize;
  if (row >= rows) return;  // the whole warp leaves together
  const float* in = x + row * cols;
  float v[kPerLane];
  float m = -INFINITY;
FULGUR_UNROLL
  for (int i = 0; i < kPerLane; ++i) {
    const int c = lane + i * warpSize;
    v[i] = c < cols ? in[c] : -INFINITY;
    m = fmaxf(m, v[i]);
  }
  // A NaN anywhere must reach every output of the row; fmaxf skips NaN, the sum keeps it.
  m = warp_max(m);
  float s = 0.0f;
FULGUR_UNROLL
  for (int i = 0; i < kPerLane; ++i) {
    const int c = lane + i * warpSize;
    if (c < cols) s += expf(v[i] - m);
  }
  s = warp_sum(s);
  float* out = y + row * cols;
  const float log_s = logf(s);
FULGUR_UNROLL
  for (int i = 0; i < kPerLane; ++i) {
    const int c = lane + i * warpSize;
    if (c < cols) out[c] = kLog ? (v[i] - m) - log_s : expf(v[i] - m) / s;
  }
}

template <int kPerLane, bool kLog>
__global__ void __launch_bounds__(128) softmax_backward_warp(const float* __restrict__ y, const float* __restrict__ dy,
                                                             float* __restrict__ dx, int64_t rows, int cols) {
  const int lane = static_cast<int>(threadIdx.x) % warpSize;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpRowsPerBlock + threadIdx.x / warpSize;
  if (row >= rows) return;
  const int64_t base = row * cols;
  float yv[kPerLane], gv[kPerLane];
  float dot = 0.0f;
FULGUR_UNROLL
  for (int i = 0; i < kPerLane; ++i) {
    const int c = lane + i * warpSize;
    yv[i] = c < cols ? y[base + c] : 0.0f;
    gv[i] = c < cols ? dy[base + c] : 0.0f;
    dot += kLog ? gv[i] : gv[i] * yv[i];
  }
  dot = warp_sum(dot);
FULGUR_UNROLL
  for (int i = 0; i < kPerLane; ++i) {
    const int c = lane + i * warpSize;
    if (c < cols) dx[base + c] = kLog ? gv[i] - expf(yv[i]) * dot : yv[i] * (gv[i] - dot);
  }
}

// The warp kernel with float4 access: lane l holds float4s l, l + 32, ... of the row.
template <int kVecPerLane, bool kLog>
__global__ void __launch_bounds__(128) softmax_forward_warp_vec4(const float* __restrict__ x, float* __restrict__ y,
                                                                 int64_t rows, int cols) {
  const int lane = static_cast<int>(threadIdx.x) % warpSize;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpRowsPerBlock + threadIdx.x / warpSize;
  if (row >= rows) return;
  const int quads = cols / 4;
  const float4* in = reinterpret_cast<const float4*>(x + row * cols);
  float v[4 * kVecPerLane];
  FULGUR_UNROLL
  for (int i = 0; i < kVecPerLane; ++i) {
    const int q = lane + i * warpSize;
    const float4 f = q < quads ? in[q] : make_float4(-INFINITY, -INFINITY, -INFINITY, -INFINITY);
    v[4 * i] = f.x, v[4 * i + 1] = f.y, v[4 * i + 2] = f.z, v[4 * i + 3] = f.w;
  }
  float m = -INFINITY;
  FULGUR_UNROLL
  for (int k = 0; k < 4 * kVecPerLane; ++k) m = fmaxf(m, v[k]);
  m = warp_max(m);
  float s = 0.0f;
  FULGUR_UNROLL
  for (int k = 0; k < 4 * kVecPerLane; ++k) {
    const float e = expf(v[k] - m);  // padding: exp(-inf) = 0
    s += e;
    if (!kLog) v[k] = e;  // log keeps x: log(exp(x - m)) would lose what underflows
  }
  s = warp_sum(s);
  const float log_s = logf(s), inv_s = 1.0f / s;
  float4* out = reinterpret_cast<float4*>(y + row * cols);
  FULGUR_UNROLL
  for (int i = 0; i < kVecPerLane; ++i) {
    const int q = lane + i * warpSize;
    if (q >= quads) continue;
    out[q] = kLog ? make_float4((v[4 * i] - m) - log_s, (v[4 * i + 1] - m) - log_s, (v[4 * i + 2] - m) - log_s,
                                (v[4 * i + 3] - m) - log_s)
                  : make_float4(v[4 * i] * inv_s, v[4 * i + 1] * inv_s, v[4 * i + 2] * inv_s, v[4 * i + 3] * inv_s);
  }
}

// A block per row with the row in registers: thread t holds float4s t, t + 512, ...
template <int kVecPerThread, bool kLog>
__global__ void __launch_bounds__(kLongRowThreads) softmax_forward_block_cached(const float* __restrict__ x,
                                                                                float* __restrict__ y, int64_t cols) {
  FULGUR_SHARED(float, scratch, [32]);
  const int64_t quads = cols / 4;
  const float4* in = reinterpret_cast<const float4*>(x + static_cast<int64_t>(blockIdx.x) * cols);
  float v[4 * kVecPerThread];
  FULGUR_UNROLL
  for (int i = 0; i < kVecPerThread; ++i) {
    const int64_t q = threadIdx.x + static_cast<int64_t>(i) * kLongRowThreads;
    const float4 f = q < quads ? in[q] : make_float4(-INFINITY, -INFINITY, -INFINITY, -INFINITY);
    v[4 * i] = f.x, v[4 * i + 1] = f.y, v[4 * i + 2] = f.z, v[4 * i + 3] = f.w;
  }
  float m = -INFINITY;
  FULGUR_UNROLL
  for (int k = 0; k < 4 * kVecPerThread; ++k) m = fmaxf(m, v[k]);
  m = warp_max(m);
  {
    const int lane = static_cast<int>(threadIdx.x) % warpSize, warp = static_cast<int>(threadIdx.x) / warpSize;
    if (lane == 0) scratch[warp] = m;
    __syncthreads();
    m = warp_max(lane < kLongRowThreads / 32 ? scratch[lane] : -INFINITY);
  }
  float s = 0.0f;
  FULGUR_UNROLL
  for (int k = 0; k < 4 * kVecPerThread; ++k) {
    const float e = expf(v[k] - m);  // padding: exp(-inf) = 0
    s += e;
    if (!kLog) v[k] = e;  // log keeps x: log(exp(x - m)) would lose what underflows
  }
  s = block_sum(s, scratch);
  const float log_s = logf(s), inv_s = 1.0f / s;
  float4* out = reinterpret_cast<float4*>(y + static_cast<int64_t>(blockIdx.x) * cols);
  FULGUR_UNROLL
  for (int i = 0; i < kVecPerThread; ++i) {
    const int64_t q = threadIdx.x + static_cast<int64_t>(i) * kLongRowThreads;
    if (q >= quads) continue;
    out[q] = kLog ? make_float4((v[4 * i] - m) - log_s, (v[4 * i + 1] - m) - log_s, (v[4 * i + 2] - m) - log_s,
                                (v[4 * i + 3] - m) - log_s)
                  : make_float4(v[4 * i] * inv_s, v[4 * i + 1] * inv_s, v[4 * i + 2] * inv_s, v[4 * i + 3] * inv_s);
  }
}

// Rows of up to kSmemRowMaxCols aligned columns: a 1024-thread block per row stages the row in
// dynamic shared memory during the statistics pass, so the write pass reads it from there:
// one read of device memory instead of two.
constexpr int kSmemRowThreads = 1024;
constexpr int64_t kSmemRowMaxCols = 32768;  // 128 KiB of shared memory
static_assert(kSmemRowMaxCols == cuda::kSoftmaxClusterForwardMinCols,
              "clusters take over where one block's shared memory ends");

// Copies in[0, quads) to staged[0, quads) (shared memory) as float4, kThreads threads striding
// with 4 loads in flight each, and returns this thread's online (max, sum) of what it copied.
template <int kThreads>
__device__ __forceinline__ MaxSum stage_quads(const float4* __restrict__ in, float4* staged, int64_t quads) {
  MaxSum acc = maxsum_identity();
  constexpr int kBatch = 4;
  for (int64_t q0 = threadIdx.x; q0 < quads; q0 += kBatch * kThreads) {
    float v[4 * kBatch];
    FULGUR_UNROLL
    for (int b = 0; b < kBatch; ++b) {
      const int64_t q = q0 + static_cast<int64_t>(b) * kThreads;
      const float4 f = q < quads ? in[q] : make_float4(-INFINITY, -INFINITY, -INFINITY, -INFINITY);
      if (q < quads) staged[q] = f;
      v[4 * b] = f.x, v[4 * b + 1] = f.y, v[4 * b + 2] = f.z, v[4 * b + 3] = f.w;
    }
    acc = maxsum_add_batch<4 * kBatch>(acc, v);
  }
  return acc;
}

// out[0, quads) = softmax (or log-softmax) of staged[0, quads) given the row's (max, sum).
template <int kThreads, bool kLog>
__device__ __forceinline__ void write_staged(const float4* staged, float4* __restrict__ out, int64_t quads,
                                             MaxSum total) {
  const float log_s = logf(total.sum), inv_s = 1.0f / total.sum;
  for (int64_t q = threadIdx.x; q < quads; q += kThreads) {
    const float4 f = staged[q];
    out[q] = kLog ? make_float4((f.x - total.max) - log_s, (f.y - total.max) - log_s, (f.z - total.max) - log_s,
                                (f.w - total.max) - log_s)
                  : make_float4(expf(f.x - total.max) * inv_s, expf(f.y - total.max) * inv_s,
                                expf(f.z - total.max) * inv_s, expf(f.w - total.max) * inv_s);
  }
}

template <bool kLog>
__global__ void __launch_bounds__(kSmemRowThreads) softmax_forward_block_smem(const float* __restrict__ x,
                                                                              float* __restrict__ y, int64_t cols) {
  FULGUR_SHARED(MaxSum, scratch, [32]);
  FULGUR_DYNAMIC_SHARED(float4, row);
  const int64_t quads = cols / 4, base = static_cast<int64_t>(blockIdx.x) * cols;
  const MaxSum acc = stage_quads<kSmemRowThreads>(reinterpret_cast<const float4*>(x + base), row, quads);
  // block_maxsum's barriers also make every thread's row[] stores visible to the others.
  const MaxSum total = block_maxsum(acc, scratch);
  write_staged<kSmemRowThreads, kLog>(row, reinterpret_cast<float4*>(y + base), quads, total);
}

// Element j of the row, 4 at a time when kVec4.
template <bool kVec4, typename Fn>
__device__ __forceinline__ void for_each_in_row(int64_t cols, Fn&& fn) {
  if (kVec4) {
    for (int64_t q = threadIdx.x; q < cols / 4; q += blockDim.x) fn(q * 4, 4);
  } else {
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) fn(j, 1);
  }
}

template <bool kVec4>
__device__ __forceinline__ void load(const float* p, int n, float* v) {
  if (kVec4 && n == 4) {
    const float4 q = *reinterpret_cast<const float4*>(p);
    v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
  } else {
    v[0] = *p;
  }
}

template <bool kVec4>
__device__ __forceinline__ void store(float* p, int n, const float* v) {
  if (kVec4 && n == 4) {
    *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
  } else {
    *p = v[0];
  }
}

// This thread's online (max, sum) over its share of in[0, n) (n % 4 == 0 when kVec4, in
// 16-byte aligned): batches of 16 (4 independent 16-byte loads in flight, one rescale) or 4
// scalars.
template <bool kVec4>
__device__ __forceinline__ MaxSum thread_maxsum(const float* __restrict__ in, int64_t n) {
  MaxSum acc = maxsum_identity();
  constexpr int kWidth = kVec4 ? 4 : 1, kBatch = 4;
  const int64_t units = n / kWidth;
  for (int64_t u0 = threadIdx.x; u0 < units; u0 += kBatch * static_cast<int64_t>(blockDim.x)) {
    float v[kWidth * kBatch];
    FULGUR_UNROLL
    for (int b = 0; b < kBatch; ++b) {
      const int64_t u = u0 + static_cast<int64_t>(b) * blockDim.x;
      if constexpr (kVec4) {
        const float4 f = u < units ? reinterpret_cast<const float4*>(in)[u]
                                   : make_float4(-INFINITY, -INFINITY, -INFINITY, -INFINITY);
        v[4 * b] = f.x, v[4 * b + 1] = f.y, v[4 * b + 2] = f.z, v[4 * b + 3] = f.w;
      } else {
        v[b] = u < units ? in[u] : -INFINITY;
      }
    }
    acc = maxsum_add_batch<kWidth * kBatch>(acc, v);
  }
  return acc;
}

// out[0, n) = softmax (or log-softmax) of in[0, n) given the row's total (max, sum).
template <bool kVec4, bool kLog>
__device__ __forceinline__ void write_normalized(const float* __restrict__ in, float* __restrict__ out, int64_t n,
                                                 MaxSum total) {
  const float log_s = logf(total.sum);
  for_each_in_row<kVec4>(n, [&](int64_t j, int width) {
    float v[4];
    load<kVec4>(in + j, width, v);
    for (int k = 0; k < width; ++k) v[k] = kLog ? (v[k] - total.max) - log_s : expf(v[k] - total.max) / total.sum;
    store<kVec4>(out + j, width, v);
  });
}

template <bool kVec4, bool kLog>
__global__ void __launch_bounds__(kLongRowThreads) softmax_forward_block(const float* __restrict__ x,
                                                                         float* __restrict__ y, int64_t cols) {
  FULGUR_SHARED(MaxSum, scratch, [32]);
  const int64_t base = static_cast<int64_t>(blockIdx.x) * cols;
  const MaxSum total = block_maxsum(thread_maxsum<kVec4>(x + base, cols), scratch);
  write_normalized<kVec4, kLog>(x + base, y + base, cols, total);
}

// Block (chunk, row) of a row cut into gridDim.x chunks of `chunk` columns (the last one
// shorter): the chunk's [first, end) bounds.
__device__ __forceinline__ void chunk_bounds(int64_t cols, int64_t chunk, int64_t* first, int64_t* n) {
  *first = static_cast<int64_t>(blockIdx.x) * chunk;
  const int64_t end = *first + chunk < cols ? *first + chunk : cols;
  *n = end > *first ? end - *first : 0;
}

// Multi-block forward, first kernel: partial[row * splits + chunk] = the chunk's (max, sum).
template <bool kVec4>
__global__ void __launch_bounds__(kLongRowThreads) softmax_chunk_maxsum(const float* __restrict__ x,
                                                                        MaxSum* __restrict__ partial, int64_t cols,
                                                                        int64_t chunk) {
  FULGUR_SHARED(MaxSum, scratch, [32]);
  int64_t first = 0, n = 0;
  chunk_bounds(cols, chunk, &first, &n);
  const MaxSum total = block_maxsum(thread_maxsum<kVec4>(x + static_cast<int64_t>(blockIdx.y) * cols + first, n),
                                    scratch);
  if (threadIdx.x == 0) partial[static_cast<int64_t>(blockIdx.y) * gridDim.x + blockIdx.x] = total;
}

// A row's total from its n chunk partials, computed by every warp alike: lane l merges partials
// l, l + 32, ..., then the xor butterfly. One or two loads per lane instead of a walk over all
// n partials, which was n dependent trips to L2 before the first write (on an H200, about as
// long as the whole copy at 4 rows x 4M); every warp of every block of the row gets the same
// bits. All 32 lanes must be running.
__device__ __forceinline__ MaxSum merge_row_partials(const MaxSum* __restrict__ partial, unsigned n) {
  MaxSum v = maxsum_identity();
  for (unsigned c = static_cast<unsigned>(threadIdx.x) % warpSize; c < n; c += warpSize) {
    v = maxsum_merge(v, partial[c]);
  }
  return warp_maxsum(v);
}

__device__ __forceinline__ float sum_row_partials(const float* __restrict__ partial, unsigned n) {
  float v = 0.0f;
  for (unsigned c = static_cast<unsigned>(threadIdx.x) % warpSize; c < n; c += warpSize) v += partial[c];
  return warp_sum(v);
}

// Multi-block forward, second kernel: merges the row's partials, writes the chunk.
template <bool kVec4, bool kLog>
__global__ void __launch_bounds__(kLongRowThreads) softmax_chunk_write(const float* __restrict__ x,
                                                                       float* __restrict__ y,
                                                                       const MaxSum* __restrict__ partial,
                                                                       int64_t cols, int64_t chunk) {
  const MaxSum total = merge_row_partials(partial + static_cast<int64_t>(blockIdx.y) * gridDim.x, gridDim.x);
  int64_t first = 0, n = 0;
  chunk_bounds(cols, chunk, &first, &n);
  const int64_t base = static_cast<int64_t>(blockIdx.y) * cols + first;
  write_normalized<kVec4, kLog>(x + base, y + base, n, total);
}

// This thread's share of sum(dy * y) (log-softmax: sum(dy)) over [0, n).
template <bool kVec4, bool kLog>
__device__ __forceinline__ float thread_dot(const float* __restrict__ y, const float* __restrict__ dy, int64_t n) {
  float dot = 0.0f;
  for_each_in_row<kVec4>(n, [&](int64_t j, int width) {
    float yv[4], gv[4];
    load<kVec4>(y + j, width, yv);
    load<kVec4>(dy + j, width, gv);
    for (int k = 0; k < width; ++k) dot += kLog ? gv[k] : gv[k] * yv[k];
  });
  return dot;
}

template <bool kVec4, bool kLog>
__device__ __forceinline__ void write_backward(const float* __restrict__ y, const float* __restrict__ dy,
                                               float* __restrict__ dx, int64_t n, float dot) {
  for_each_in_row<kVec4>(n, [&](int64_t j, int width) {
    float yv[4], gv[4];
    load<kVec4>(y + j, width, yv);
    load<kVec4>(dy + j, width, gv);
    for (int k = 0; k < width; ++k) gv[k] = kLog ? gv[k] - expf(yv[k]) * dot : yv[k] * (gv[k] - dot);
    store<kVec4>(dx + j, width, gv);
  });
}

template <bool kVec4, bool kLog>
__global__ void __launch_bounds__(kLongRowThreads) softmax_backward_block(const float* __restrict__ y,
                                                                          const float* __restrict__ dy,
                                                                          float* __restrict__ dx, int64_t cols) {
  FULGUR_SHARED(float, scratch, [32]);
  const int64_t base = static_cast<int64_t>(blockIdx.x) * cols;
  const float dot = block_sum(thread_dot<kVec4, kLog>(y + base, dy + base, cols), scratch);
  write_backward<kVec4, kLog>(y + base, dy + base, dx + base, cols, dot);
}

// Multi-block backward: the chunks' dot products, then the merge and writes.
template <bool kVec4, bool kLog>
__global__ void __launch_bounds__(kLongRowThreads) softmax_chunk_dot(const float* __restrict__ y,
                                                                     const float* __restrict__ dy,
                                                                     float* __restrict__ partial, int64_t cols,
                                                                     int64_t chunk) {
  FULGUR_SHARED(float, scratch, [32]);
  int64_t first = 0, n = 0;
  chunk_bounds(cols, chunk, &first, &n);
  const int64_t base = static_cast<int64_t>(blockIdx.y) * cols + first;
  const float dot = block_sum(thread_dot<kVec4, kLog>(y + base, dy + base, n), scratch);
  if (threadIdx.x == 0) partial[static_cast<int64_t>(blockIdx.y) * gridDim.x + blockIdx.x] = dot;
}

template <bool kVec4, bool kLog>
__global__ void __launch_bounds__(kLongRowThreads) softmax_chunk_backward(const float* __restrict__ y,
                                                                          const float* __restrict__ dy,
                                                                          float* __restrict__ dx,
                                                                          const float* __restrict__ partial,
                                                                          int64_t cols, int64_t chunk) {
  const float dot = sum_row_partials(partial + static_cast<int64_t>(blockIdx.y) * gridDim.x, gridDim.x);
  int64_t first = 0, n = 0;
  chunk_bounds(cols, chunk, &first, &n);
  const int64_t base = static_cast<int64_t>(blockIdx.y) * cols + first;
  write_backward<kVec4, kLog>(y + base, dy + base, dx + base, n, dot);
}

// ---- cluster kernels: block `rank` of a row's cluster owns columns [rank * chunk, + chunk) ----
constexpr int kClusterRowThreads = 256;

__device__ __forceinline__ int64_t cluster_chunk_quads(int64_t cols, int64_t chunk, unsigned rank, int64_t* first) {
  *first = static_cast<int64_t>(rank) * chunk;
  const int64_t end = *first + chunk < cols ? *first + chunk : cols;
  return end > *first ? (end - *first) / 4 : 0;
}

template <bool kLog>
__global__ void __launch_bounds__(kClusterRowThreads) softmax_forward_cluster(const float* __restrict__ x,
                                                                              float* __restrict__ y, int64_t cols,
                                                                              int64_t chunk) {
  FULGUR_SHARED(MaxSum, scratch, [32]);
  FULGUR_SHARED(MaxSum, chunk_total, [1]);  // read by every block of the cluster
  FULGUR_DYNAMIC_SHARED(float4, staged);
  const unsigned rank = cluster_rank(), blocks = cluster_blocks();
  const int64_t row = blockIdx.x / blocks;
  int64_t first = 0;
  const int64_t quads = cluster_chunk_quads(cols, chunk, rank, &first);
  const int64_t base = row * cols + first;
  const MaxSum acc = stage_quads<kClusterRowThreads>(reinterpret_cast<const float4*>(x + base), staged, quads);
  const MaxSum mine = block_maxsum(acc, scratch);
  if (threadIdx.x == 0) chunk_total[0] = mine;
  cluster_sync();  // every block's chunk_total (and this block's staged chunk) is written
  // Lane r reads block r's partial (one trip to distributed shared memory), then the butterfly:
  // every warp of every block of the row gets the same bits.
  const unsigned lane = static_cast<unsigned>(threadIdx.x) % warpSize;
  const MaxSum total = warp_maxsum(lane < blocks ? *cluster_shared(&chunk_total[0], lane) : maxsum_identity());
  cluster_arrive();  // done with the other blocks' shared memory
  write_staged<kClusterRowThreads, kLog>(staged, reinterpret_cast<float4*>(y + base), quads, total);
  cluster_wait();  // no block exits (freeing its chunk_total) while another may still read it
}

template <bool kLog>
__global__ void __launch_bounds__(kClusterRowThreads) softmax_backward_cluster(const float* __restrict__ y,
                                                                               const float* __restrict__ dy,
                                                                               float* __restrict__ dx, int64_t cols,
                                                                               int64_t chunk) {
  FULGUR_SHARED(float, scratch, [32]);
  FULGUR_SHARED(float, chunk_dot, [1]);  // read by every block of the cluster
  FULGUR_DYNAMIC_SHARED(float4, staged_y);
  float4* staged_g = staged_y + chunk / 4;
  const unsigned rank = cluster_rank(), blocks = cluster_blocks();
  const int64_t row = blockIdx.x / blocks;
  int64_t first = 0;
  const int64_t quads = cluster_chunk_quads(cols, chunk, rank, &first);
  const int64_t base = row * cols + first;
  const float4* yin = reinterpret_cast<const float4*>(y + base);
  const float4* gin = reinterpret_cast<const float4*>(dy + base);
  float dot = 0.0f;
  constexpr int kBatch = 4;
  for (int64_t q0 = threadIdx.x; q0 < quads; q0 += kBatch * kClusterRowThreads) {
    float4 yv[kBatch], gv[kBatch];
    FULGUR_UNROLL
    for (int b = 0; b < kBatch; ++b) {
      const int64_t q = q0 + static_cast<int64_t>(b) * kClusterRowThreads;
      yv[b] = q < quads ? yin[q] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      gv[b] = q < quads ? gin[q] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }
    FULGUR_UNROLL
    for (int b = 0; b < kBatch; ++b) {
      const int64_t q = q0 + static_cast<int64_t>(b) * kClusterRowThreads;
      if (q < quads) staged_y[q] = yv[b], staged_g[q] = gv[b];
      dot += kLog ? (gv[b].x + gv[b].y) + (gv[b].z + gv[b].w)
                  : (gv[b].x * yv[b].x + gv[b].y * yv[b].y) + (gv[b].z * yv[b].z + gv[b].w * yv[b].w);
    }
  }
  const float mine = block_sum(dot, scratch);
  if (threadIdx.x == 0) chunk_dot[0] = mine;
  cluster_sync();  // every block's chunk_dot (and this block's staged chunks) is written
  const unsigned lane = static_cast<unsigned>(threadIdx.x) % warpSize;
  const float total = warp_sum(lane < blocks ? *cluster_shared(&chunk_dot[0], lane) : 0.0f);  // as forward
  cluster_arrive();  // done with the other blocks' shared memory
  float4* out = reinterpret_cast<float4*>(dx + base);
  for (int64_t q = threadIdx.x; q < quads; q += kClusterRowThreads) {
    const float4 yq = staged_y[q], g = staged_g[q];
    out[q] = kLog ? make_float4(g.x - expf(yq.x) * total, g.y - expf(yq.y) * total, g.z - expf(yq.z) * total,
                                g.w - expf(yq.w) * total)
                  : make_float4(yq.x * (g.x - total), yq.y * (g.y - total), yq.z * (g.z - total),
                                yq.w * (g.w - total));
  }
  cluster_wait();  // no block exits (freeing its chunk_dot) while another may still read it
}

// Launches `kernel` in clusters of `blocks` per row, after the shared-memory opt-in it needs.
template <auto kKernel, typename... Args>
void launch_row_clusters(const char* op, int64_t rows, int64_t blocks, int64_t chunk, int64_t arrays, void* stream,
                         Args... args) {
  const size_t bytes = static_cast<size_t>(chunk * arrays) * sizeof(float);
#if !FULGUR_SIMT_EMULATED
  const cudaError_t opt_in =
      cuda::detail::reserve_shared_memory<kKernel>(static_cast<int>(cuda::kSoftmaxClusterMaxChunkBytes));
  if (opt_in != cudaSuccess) {
    throw Error(std::string(op) + ": cannot reserve 128 KiB of shared memory: " + cudaGetErrorString(opt_in) +
                "; hint: needs an sm_90 or newer GPU");
  }
#endif
  const dim3 grid(static_cast<unsigned>(rows * blocks)), block(kClusterRowThreads);
  launch_cluster(op, kKernel, static_cast<unsigned>(blocks), grid, block, bytes, stream, args..., chunk);
}

template <bool kVec4, bool kLog>
void forward_split(const float* x, float* y, int64_t rows, int64_t cols, int64_t splits, void* stream) {
  const int64_t chunk = cuda::softmax_chunk_columns(cols, splits);
  splits = (cols + chunk - 1) / chunk;  // rounding the chunk up may leave fewer chunks
  Scratch<MaxSum> partial(rows * splits, stream, "softmax");
  const dim3 grid(static_cast<unsigned>(splits), static_cast<unsigned>(rows));
  FULGUR_LAUNCH((softmax_chunk_maxsum<kVec4>), grid, dim3(kLongRowThreads), 0, stream, x, partial.data(), cols, chunk);
  FULGUR_LAUNCH((softmax_chunk_write<kVec4, kLog>), grid, dim3(kLongRowThreads), 0, stream, x, y,
                static_cast<const MaxSum*>(partial.data()), cols, chunk);
}

template <bool kVec4, bool kLog>
void backward_split(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols, int64_t splits,
                    void* stream) {
  const int64_t chunk = cuda::softmax_chunk_columns(cols, splits);
  splits = (cols + chunk - 1) / chunk;
  Scratch<float> partial(rows * splits, stream, "softmax");
  const dim3 grid(static_cast<unsigned>(splits), static_cast<unsigned>(rows));
  FULGUR_LAUNCH((softmax_chunk_dot<kVec4, kLog>), grid, dim3(kLongRowThreads), 0, stream, y, dy, partial.data(), cols,
                chunk);
  FULGUR_LAUNCH((softmax_chunk_backward<kVec4, kLog>), grid, dim3(kLongRowThreads), 0, stream, y, dy, dx,
                static_cast<const float*>(partial.data()), cols, chunk);
}

template <bool kLog>
void forward_in_clusters(const float* x, float* y, int64_t rows, int64_t cols, int64_t blocks, void* stream) {
  const int64_t chunk = cuda::softmax_chunk_columns(cols, blocks);
  launch_row_clusters<&softmax_forward_cluster<kLog>>(kLog ? "log_softmax (cuda)" : "softmax (cuda)", rows, blocks,
                                                      chunk, 1, stream, x, y, cols);
}

template <bool kLog>
void backward_in_clusters(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols, int64_t blocks,
                          void* stream) {
  const int64_t chunk = cuda::softmax_chunk_columns(cols, blocks);
  launch_row_clusters<&softmax_backward_cluster<kLog>>(kLog ? "log_softmax backward (cuda)" : "softmax backward (cuda)",
                                                       rows, blocks, chunk, 2, stream, y, dy, dx, cols);
}

void check_shape(const char* op, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0 || rows > INT32_MAX || cols > INT32_MAX) {
    throw Error(std::string(op) + ": rows " + std::to_string(rows) + " x cols " + std::to_string(cols) +
                " out of range; hint: both must be in [0, 2^31)");
  }
}

// Picks kPerLane (a power of two covering cols / 32) for the warp kernels.
template <template <int, bool> class Launch, bool kLog, typename... Args>
void dispatch_per_lane(int cols, Args... args) {
  if (cols <= 32) return Launch<1, kLog>::run(args...);
  if (cols <= 64) return Launch<2, kLog>::run(args...);
  if (cols <= 128) return Launch<4, kLog>::run(args...);
  if (cols <= 256) return Launch<8, kLog>::run(args...);
  if (cols <= 512) return Launch<16, kLog>::run(args...);
  return Launch<32, kLog>::run(args...);
}

template <int kPerLane, bool kLog>
struct ForwardWarp {
  static void run(const float* x, float* y, int64_t rows, int cols, void* stream) {
    const dim3 grid(static_cast<unsigned>((rows + kWarpRowsPerBlock - 1) / kWarpRowsPerBlock));
    FULGUR_LAUNCH((softmax_forward_warp<kPerLane, kLog>), grid, dim3(kWarpRowsPerBlock * 32), 0, stream, x, y, rows,
                  cols);
  }
};

template <int kPerLane, bool kLog>
struct BackwardWarp {
  static void run(const float* y, const float* dy, float* dx, int64_t rows, int cols, void* stream) {
    const dim3 grid(static_cast<unsigned>((rows + kWarpRowsPerBlock - 1) / kWarpRowsPerBlock));
    FULGUR_LAUNCH((softmax_backward_warp<kPerLane, kLog>), grid, dim3(kWarpRowsPerBlock * 32), 0, stream, y, dy, dx,
                  rows, cols);
  }
};

template <bool kLog>
void forward(const float* x, float* y, int64_t rows, int64_t cols, void* stream) {
  const bool vec = cols % 4 == 0 && cuda::aligned16(x) && cuda::aligned16(y);
  const dim3 row_blocks(static_cast<unsigned>(rows)), warp_blocks(static_cast<unsigned>((rows + kWarpRowsPerBlock - 1) /
                                                                                         kWarpRowsPerBlock));
  const int c = static_cast<int>(cols);
  if (const int64_t splits = cuda::softmax_row_splits(rows, cols); splits > 1) {
    if (vec) {
      forward_split<true, kLog>(x, y, rows, cols, splits, stream);
    } else {
      forward_split<false, kLog>(x, y, rows, cols, splits, stream);
    }
  } else if (cols <= cuda::kSoftmaxWarpMaxCols && vec) {
    if (cols <= 128) {
      FULGUR_LAUNCH((softmax_forward_warp_vec4<1, kLog>), warp_blocks, dim3(128), 0, stream, x, y, rows, c);
    } else if (cols <= 256) {
      FULGUR_LAUNCH((softmax_forward_warp_vec4<2, kLog>), warp_blocks, dim3(128), 0, stream, x, y, rows, c);
    } else if (cols <= 512) {
      FULGUR_LAUNCH((softmax_forward_warp_vec4<4, kLog>), warp_blocks, dim3(128), 0, stream, x, y, rows, c);
    } else {
      FULGUR_LAUNCH((softmax_forward_warp_vec4<8, kLog>), warp_blocks, dim3(128), 0, stream, x, y, rows, c);
    }
  } else if (cols <= cuda::kSoftmaxWarpMaxCols) {
    dispatch_per_lane<ForwardWarp, kLog>(c, x, y, rows, c, stream);
  } else if (vec && cols <= 4 * 4 * kLongRowThreads) {
    FULGUR_LAUNCH((softmax_forward_block_cached<4, kLog>), row_blocks, dim3(kLongRowThreads), 0, stream, x, y, cols);
  } else if (vec && cols <= 4 * 8 * kLongRowThreads) {
    FULGUR_LAUNCH((softmax_forward_block_cached<8, kLog>), row_blocks, dim3(kLongRowThreads), 0, stream, x, y, cols);
  } else if (const int64_t blocks = cuda::softmax_row_cluster(rows, cols, false);
             vec && blocks > 0 && cluster_kernel_runs<&softmax_forward_cluster<kLog>>()) {
    forward_in_clusters<kLog>(x, y, rows, cols, blocks, stream);
  } else if (vec && cols <= kSmemRowMaxCols) {
    const size_t bytes = static_cast<size_t>(cols) * sizeof(float);
#if !FULGUR_SIMT_EMULATED
    // Above 48 KiB of dynamic shared memory a kernel must opt in, on each device.
    const cudaError_t opt_in = cuda::detail::reserve_shared_memory<&softmax_forward_block_smem<kLog>>(
        static_cast<int>(kSmemRowMaxCols * sizeof(float)));
    if (opt_in != cudaSuccess) {
      throw Error(std::string("softmax (cuda): cannot reserve 128 KiB of shared memory: ") +
                  cudaGetErrorString(opt_in) + "; hint: needs an sm_80 or newer GPU");
    }
#endif
    FULGUR_LAUNCH((softmax_forward_block_smem<kLog>), row_blocks, dim3(kSmemRowThreads), bytes, stream, x, y, cols);
  } else if (vec) {
    FULGUR_LAUNCH((softmax_forward_block<true, kLog>), row_blocks, dim3(kLongRowThreads), 0, stream, x, y, cols);
  } else {
    FULGUR_LAUNCH((softmax_forward_block<false, kLog>), dim3(static_cast<unsigned>(rows)), dim3(kLongRowThreads), 0,
                  stream, x, y, cols);
  }
}

template <bool kLog>
void backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols, void* stream) {
  const bool vec = cols % 4 == 0 && cuda::aligned16(y) && cuda::aligned16(dy) && cuda::aligned16(dx);
  if (const int64_t splits = cuda::softmax_row_splits(rows, cols); splits > 1) {
    if (vec) {
      backward_split<true, kLog>(y, dy, dx, rows, cols, splits, stream);
    } else {
      backward_split<false, kLog>(y, dy, dx, rows, cols, splits, stream);
    }
  } else if (cols <= cuda::kSoftmaxWarpMaxCols) {
    dispatch_per_lane<BackwardWarp, kLog>(static_cast<int>(cols), y, dy, dx, rows, static_cast<int>(cols), stream);
  } else if (const int64_t blocks = cuda::softmax_row_cluster(rows, cols, true);
             vec && blocks > 0 && cluster_kernel_runs<&softmax_backward_cluster<kLog>>()) {
    backward_in_clusters<kLog>(y, dy, dx, rows, cols, blocks, stream);
  } else if (vec) {
    FULGUR_LAUNCH((softmax_backward_block<true, kLog>), dim3(static_cast<unsigned>(rows)), dim3(kLongRowThreads), 0,
                  stream, y, dy, dx, cols);
  } else {
    FULGUR_LAUNCH((softmax_backward_block<false, kLog>), dim3(static_cast<unsigned>(rows)), dim3(kLongRowThreads), 0,
                  stream, y, dy, dx, cols);
  }
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void softmax_forward<FULGUR_EXEC>(const float* x, float* y, int64_t rows, int64_t cols, bool log, void* stream) {
  FULGUR_KERNEL_NS::check_shape(log ? "log_softmax (cuda)" : "softmax (cuda)", rows, cols);
  if (rows == 0 || cols == 0) return;
  if (log) {
    FULGUR_KERNEL_NS::forward<true>(x, y, rows, cols, stream);
  } else {
    FULGUR_KERNEL_NS::forward<false>(x, y, rows, cols, stream);
  }
}

template <>
void softmax_backward<FULGUR_EXEC>(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols, bool log,
                                   void* stream) {
  FULGUR_KERNEL_NS::check_shape(log ? "log_softmax backward (cuda)" : "softmax backward (cuda)", rows, cols);
  if (rows == 0 || cols == 0) return;
  if (log) {
    FULGUR_KERNEL_NS::backward<true>(y, dy, dx, rows, cols, stream);
  } else {
    FULGUR_KERNEL_NS::backward<false>(y, dy, dx, rows, cols, stream);
  }
}

namespace {

// What the cluster kernels need of a forced launch (softmax_*_in_clusters).
template <bool kBackward>
void check_cluster_launch(const char* op, int64_t rows, int64_t cols, int64_t blocks,
                          std::initializer_list<const float*> pointers, bool runs) {
  FULGUR_KERNEL_NS::check_shape(op, rows, cols);
  bool aligned = true;
  for (const float* p : pointers) aligned = aligned && aligned16(p);
  const int64_t arrays = kBackward ? 2 : 1;
  const bool fits = blocks >= 1 && blocks <= kSoftmaxClusterMaxBlocks &&
                    softmax_chunk_columns(cols, blocks) * arrays * 4 <= kSoftmaxClusterMaxChunkBytes &&
                    rows * blocks <= INT32_MAX;
  if (cols % 4 != 0 || !aligned || !fits || !runs) {
    throw Error(std::string(op) + " in clusters of " + std::to_string(blocks) + " blocks: rows " +
                std::to_string(rows) + " x cols " + std::to_string(cols) + (aligned ? "" : ", misaligned data") +
                (runs ? "" : ", a device without cluster launch or a kernel built for sm_80") +
                "; hint: cols % 4 == 0, 16-byte aligned pointers, 1..8 blocks whose chunks fit 128 KiB, sm_90");
  }
}

}  // namespace

template <>
void softmax_forward_in_clusters<FULGUR_EXEC>(const float* x, float* y, int64_t rows, int64_t cols, bool log,
                                              int64_t blocks, void* stream) {
  namespace k = FULGUR_KERNEL_NS;
  const bool runs = log ? k::cluster_kernel_runs<&k::softmax_forward_cluster<true>>()
                        : k::cluster_kernel_runs<&k::softmax_forward_cluster<false>>();
  check_cluster_launch<false>(log ? "log_softmax (cuda)" : "softmax (cuda)", rows, cols, blocks, {x, y}, runs);
  if (rows == 0 || cols == 0) return;
  if (log) {
    k::forward_in_clusters<true>(x, y, rows, cols, blocks, stream);
  } else {
    k::forward_in_clusters<false>(x, y, rows, cols, blocks, stream);
  }
}

template <>
void softmax_backward_in_clusters<FULGUR_EXEC>(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols,
                                               bool log, int64_t blocks, void* stream) {
  namespace k = FULGUR_KERNEL_NS;
  const bool runs = log ? k::cluster_kernel_runs<&k::softmax_backward_cluster<true>>()
                        : k::cluster_kernel_runs<&k::softmax_backward_cluster<false>>();
  check_cluster_launch<true>(log ? "log_softmax backward (cuda)" : "softmax backward (cuda)", rows, cols, blocks,
                             {y, dy, dx}, runs);
  if (rows == 0 || cols == 0) return;
  if (log) {
    k::backward_in_clusters<true>(y, dy, dx, rows, cols, blocks, stream);
  } else {
    k::backward_in_clusters<false>(y, dy, dx, rows, cols, blocks, stream);
  }
}

template <>
bool softmax_cluster_kernels_run<FULGUR_EXEC>() {
  namespace k = FULGUR_KERNEL_NS;
  return k::cluster_kernel_runs<&k::softmax_forward_cluster<false>>() &&
         k::cluster_kernel_runs<&k::softmax_forward_cluster<true>>() &&
         k::cluster_kernel_runs<&k::softmax_backward_cluster<false>>() &&
         k::cluster_kernel_runs<&k::softmax_backward_cluster<true>>();
}

}  // namespace fulgur::cuda
