// LayerNorm forward and backward.
// Forward: a team (a warp for rows of <= 4096 columns, 4 rows per block; a 512-thread block
// otherwise) owns a row. Each thread runs Welford over its elements; teams merge (count, mean,
// M2) with Chan's formula through the xor butterfly (same bits on every lane), then one more
// read of the row writes y. Fused: statistics, normalisation and the affine transform.
// Backward: the same teams compute a = sum(dy*gamma) and b = sum(dy*gamma*xhat) per row and
// write dx = rstd * (dy*gamma - (a + xhat*b) / cols). dgamma = sum_rows(dy*xhat) and
// dbeta = sum_rows(dy) are column sums: a second kernel gives each block 32 rows x 32 columns
// and writes per-block partials, a third adds the partials in block order, so the result does
// not depend on scheduling (no atomics).
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "fulgur/kernels/cuda/layer_norm.h"
#include "fulgur/kernels/error.h"
#include "kernels/cuda/row_reduce.cuh"  // .cuh files: by workspace path (textual_hdrs get no include prefix)
#include "kernels/cuda/scratch.cuh"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

constexpr int kLnRowsPerWarpBlock = 4;
constexpr int kLnBlockThreads = 512;
// Forward rows up to this long get a warp each: more rows in flight than a block per row.
constexpr int64_t kLnForwardWarpMaxCols = 4096;

struct Welford {
  float count, mean, m2;
};

__device__ __forceinline__ Welford welford_merge(Welford a, Welford b) {
  const float n = a.count + b.count;
  if (n == 0.0f) return {0.0f, 0.0f, 0.0f};
  const float delta = b.mean - a.mean;
  const float wb = b.count / n;
  return {n, a.mean + delta * wb, a.m2 + b.m2 + delta * delta * a.count * wb};
}

__device__ __forceinline__ Welford warp_welford(Welford v) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const Welford o{__shfl_xor_sync(kFullMask, v.count, offset), __shfl_xor_sync(kFullMask, v.mean, offset),
                    __shfl_xor_sync(kFullMask, v.m2, offset)};
    // Merge in lane order so both partners compute the same bits.
    v = (static_cast<int>(threadIdx.x) & offset) ? welford_merge(o, v) : welford_merge(v, o);
  }
  return v;
}

template <bool kWarp>
struct LnTeam {
  __device__ static int rank() { return kWarp ? static_cast<int>(threadIdx.x) % warpSize : static_cast<int>(threadIdx.x); }
  __device__ static int size() { return kWarp ? warpSize : static_cast<int>(blockDim.x); }
  __device__ static int64_t row() {
    return kWarp ? static_cast<int64_t>(blockIdx.x) * kLnRowsPerWarpBlock + threadIdx.x / warpSize
                 : static_cast<int64_t>(blockIdx.x);
  }
  __device__ static Welford welford(Welford v, Welford* scratch) {
    v = warp_welford(v);
    if (kWarp) return v;
    const int lane = static_cast<int>(threadIdx.x) % warpSize, warp = static_cast<int>(threadIdx.x) / warpSize;
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    return warp_welford(lane < static_cast<int>(blockDim.x) / warpSize ? scratch[lane] : Welford{0.0f, 0.0f, 0.0f});
  }
  __device__ static float sum(float v, float* scratch) { return kWarp ? warp_sum(v) : block_sum(v, scratch); }
};

template <bool kWarp, bool kVec4>
__global__ void layer_norm_forward_kernel(const float* __restrict__ x, const float* __restrict__ gamma,
                                          const float* __restrict__ beta, float* __restrict__ y, float* mean_out,
                                          float* rstd_out, int64_t rows, int64_t cols, float eps) {
  FULGUR_SHARED(Welford, scratch, [32]);
  using T = LnTeam<kWarp>;
  const int64_t row = T::row();
  if (row >= rows) return;
  const float* in = x + row * cols;
  // Statistics of batches of 16 values (4 float4 loads in flight) or 4 scalars, computed
  // exactly from registers and merged into the thread's running (count, mean, M2) with one
  // division per batch.
  constexpr int kWidth = kVec4 ? 4 : 1, kBatch = 4;
  const int64_t units = cols / kWidth;
  Welford w{0.0f, 0.0f, 0.0f};
  for (int64_t u0 = T::rank(); u0 < units; u0 += kBatch * static_cast<int64_t>(T::size())) {
    float v[kWidth * kBatch];
    int valid = 0;
    FULGUR_UNROLL
    for (int b = 0; b < kBatch; ++b) {
      const int64_t u = u0 + static_cast<int64_t>(b) * T::size();
      const bool ok = u < units;
      valid += ok ? kWidth : 0;
      if constexpr (kVec4) {
        const float4 f = ok ? reinterpret_cast<const float4*>(in)[u] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        v[4 * b] = f.x, v[4 * b + 1] = f.y, v[4 * b + 2] = f.z, v[4 * b + 3] = f.w;
      } else {
        v[b] = ok ? in[u] : 0.0f;
      }
    }
    // Units are taken in order, so the valid ones are a prefix of the batch.
    float sum = 0.0f;
    FULGUR_UNROLL
    for (int k = 0; k < kWidth * kBatch; ++k) sum += v[k];
    const float mean = sum / static_cast<float>(valid);
    float m2 = 0.0f;
    FULGUR_UNROLL
    for (int k = 0; k < kWidth * kBatch; ++k) {
      const float d = k < valid ? v[k] - mean : 0.0f;
      m2 += d * d;
    }
    w = welford_merge(w, {static_cast<float>(valid), mean, m2});
  }
  w = T::welford(w, scratch);
  const float mean = w.mean;
  const float rstd = rsqrtf(w.m2 / static_cast<float>(cols) + eps);
  float* out = y + row * cols;
  auto norm = [&](float xc, int64_t c) {
    float v = (xc - mean) * rstd;
    if (gamma) v = v * gamma[c];
    if (beta) v = v + beta[c];
    return v;
  };
  if constexpr (kVec4) {
    for (int64_t q = T::rank(); q < units; q += T::size()) {
      const float4 f = reinterpret_cast<const float4*>(in)[q];
      reinterpret_cast<float4*>(out)[q] = make_float4(norm(f.x, 4 * q), norm(f.y, 4 * q + 1), norm(f.z, 4 * q + 2),
                                                      norm(f.w, 4 * q + 3));
    }
  } else {
    for (int64_t c = T::rank(); c < cols; c += T::size()) out[c] = norm(in[c], c);
  }
  if (T::rank() == 0) {
    mean_out[row] = mean;
    rstd_out[row] = rstd;
  }
}

template <bool kWarp>
__global__ void layer_norm_backward_dx_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                                              const float* __restrict__ gamma, const float* __restrict__ mean,
                                              const float* __restrict__ rstd, float* __restrict__ dx, int64_t rows,
                                              int64_t cols) {
  FULGUR_SHARED(float, scratch, [32]);
  using T = LnTeam<kWarp>;
  const int64_t row = T::row();
  if (row >= rows) return;
  const int64_t base = row * cols;
  const float mu = mean[row], rs = rstd[row];
  float a = 0.0f, b = 0.0f;
  for (int64_t c = T::rank(); c < cols; c += T::size()) {
    const float g = dy[base + c] * (gamma ? gamma[c] : 1.0f);
    a += g;
    b += g * (x[base + c] - mu) * rs;
  }
  a = T::sum(a, scratch);
  b = T::sum(b, scratch);
  const float inv_cols = 1.0f / static_cast<float>(cols);
  for (int64_t c = T::rank(); c < cols; c += T::size()) {
    const float g = dy[base + c] * (gamma ? gamma[c] : 1.0f);
    const float xhat = (x[base + c] - mu) * rs;
    dx[base + c] = rs * (g - (a + xhat * b) * inv_cols);
  }
}

// Block (32 x 8 threads) = 32 columns x 32 rows: each thread sums 4 rows of its column, then
// the 8 partials are added in a fixed order. partial[block_row][0 or 1][col]. A block takes
// row blocks blockIdx.y, + gridDim.y, ... (grid.y is at most 65535; more rows than 32 x that
// loop, with the same partials).
__global__ void __launch_bounds__(256) layer_norm_param_partials(const float* __restrict__ x,
                                                                 const float* __restrict__ dy,
                                                                 const float* __restrict__ mean,
                                                                 const float* __restrict__ rstd, float* partial,
                                                                 int64_t rows, int64_t cols) {
  FULGUR_SHARED(float, sg, [8][33]);
  FULGUR_SHARED(float, sb, [8][33]);
  const int64_t col = static_cast<int64_t>(blockIdx.x) * 32 + threadIdx.x;
  const int64_t row_blocks = (rows + 31) / 32;
  // Every thread of a block runs the same iterations, so the barriers below are uniform.
  for (int64_t rb = blockIdx.y; rb < row_blocks; rb += gridDim.y) {
    const int64_t row0 = rb * 32;
    float g = 0.0f, b = 0.0f;
    if (col < cols) {
      for (int64_t r = row0 + threadIdx.y; r < row0 + 32 && r < rows; r += 8) {
        const float d = dy[r * cols + col];
        g += d * (x[r * cols + col] - mean[r]) * rstd[r];
        b += d;
      }
    }
    sg[threadIdx.y][threadIdx.x] = g;
    sb[threadIdx.y][threadIdx.x] = b;
    __syncthreads();
    if (threadIdx.y == 0 && col < cols) {
      float tg = 0.0f, tb = 0.0f;
      for (int k = 0; k < 8; ++k) {
        tg += sg[k][threadIdx.x];
        tb += sb[k][threadIdx.x];
      }
      partial[(rb * 2) * cols + col] = tg;
      partial[(rb * 2 + 1) * cols + col] = tb;
    }
    __syncthreads();  // sg / sb are rewritten by the next row block
  }
}

__global__ void layer_norm_param_finish(const float* __restrict__ partial, int64_t row_blocks, int64_t cols,
                                        float* dgamma, float* dbeta) {
  const int64_t col = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (col >= cols) return;
  float g = 0.0f, b = 0.0f;
  for (int64_t k = 0; k < row_blocks; ++k) {
    g += partial[(k * 2) * cols + col];
    b += partial[(k * 2 + 1) * cols + col];
  }
  if (dgamma) dgamma[col] = g;
  if (dbeta) dbeta[col] = b;
}

void check_ln_shape(const char* op, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0 || rows > INT32_MAX || cols > INT32_MAX) {
    throw Error(std::string(op) + ": rows " + std::to_string(rows) + " x cols " + std::to_string(cols) +
                " out of range; hint: rows and cols < 2^31");
  }
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void layer_norm_forward<FULGUR_EXEC>(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                                     float* rstd, int64_t rows, int64_t cols, float eps, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  check_ln_shape("layer_norm (cuda)", rows, cols);
  if (rows == 0) return;
  if (cols == 0) throw Error("layer_norm (cuda): rows of 0 elements; hint: normalized_shape must not be empty");
  const bool vec = cols % 4 == 0 && cuda::aligned16(x) && cuda::aligned16(y);
  const dim3 warp_grid(static_cast<unsigned>((rows + kLnRowsPerWarpBlock - 1) / kLnRowsPerWarpBlock));
  const dim3 warp_block(kLnRowsPerWarpBlock * 32), row_grid(static_cast<unsigned>(rows)), row_block(kLnBlockThreads);
  if (cols <= kLnForwardWarpMaxCols && vec) {
    FULGUR_LAUNCH((layer_norm_forward_kernel<true, true>), warp_grid, warp_block, 0, stream, x, gamma, beta, y, mean,
                  rstd, rows, cols, eps);
  } else if (cols <= kLnForwardWarpMaxCols) {
    FULGUR_LAUNCH((layer_norm_forward_kernel<true, false>), warp_grid, warp_block, 0, stream, x, gamma, beta, y, mean,
                  rstd, rows, cols, eps);
  } else if (vec) {
    FULGUR_LAUNCH((layer_norm_forward_kernel<false, true>), row_grid, row_block, 0, stream, x, gamma, beta, y, mean,
                  rstd, rows, cols, eps);
  } else {
    FULGUR_LAUNCH((layer_norm_forward_kernel<false, false>), row_grid, row_block, 0, stream, x, gamma, beta, y, mean,
                  rstd, rows, cols, eps);
  }
}

template <>
void layer_norm_backward<FULGUR_EXEC>(const float* x, const float* dy, const float* gamma, const float* mean,
                                      const float* rstd, float* dx, float* dgamma, float* dbeta, float* workspace,
                                      int64_t rows, int64_t cols, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  check_ln_shape("layer_norm backward (cuda)", rows, cols);
  if (rows == 0 || cols == 0) {
    // Parameter gradients of an empty batch are zero; nothing else to write.
    if (cols > 0 && (dgamma || dbeta)) {
      FULGUR_LAUNCH(layer_norm_param_finish, dim3(static_cast<unsigned>((cols + 255) / 256)), dim3(256), 0, stream,
                    workspace, int64_t{0}, cols, dgamma, dbeta);
    }
    return;
  }
  if (dx) {
    if (cols <= 1024) {
      const dim3 grid(static_cast<unsigned>((rows + kLnRowsPerWarpBlock - 1) / kLnRowsPerWarpBlock));
      FULGUR_LAUNCH(layer_norm_backward_dx_kernel<true>, grid, dim3(kLnRowsPerWarpBlock * 32), 0, stream, x, dy, gamma,
                    mean, rstd, dx, rows, cols);
    } else {
      FULGUR_LAUNCH(layer_norm_backward_dx_kernel<false>, dim3(static_cast<unsigned>(rows)), dim3(kLnBlockThreads), 0,
                    stream, x, dy, gamma, mean, rstd, dx, rows, cols);
    }
  }
  if (dgamma || dbeta) {
    // No workspace given: a stream-ordered one for this call (the tensor layer's path).
    std::optional<Scratch<float>> own;
    if (!workspace) {
      own.emplace(layer_norm_workspace_floats(rows, cols), stream, "layer_norm backward (cuda)");
      workspace = own->data();
    }
    const int64_t row_blocks = (rows + 31) / 32;
    const unsigned grid_rows = static_cast<unsigned>(row_blocks < 65535 ? row_blocks : 65535);
    FULGUR_LAUNCH(layer_norm_param_partials, dim3(static_cast<unsigned>((cols + 31) / 32), grid_rows),
                  dim3(32, 8), 0, stream, x, dy, mean, rstd, workspace, rows, cols);
    FULGUR_LAUNCH(layer_norm_param_finish, dim3(static_cast<unsigned>((cols + 255) / 256)), dim3(256), 0, stream,
                  workspace, row_blocks, cols, dgamma, dbeta);
  }
}

}  // namespace fulgur::cuda
