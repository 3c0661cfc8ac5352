// Sliding windows (kernel_args.h: Im2colArgs, MaxPoolArgs): im2col, col2im and max pooling
// over 1-D, 2-D and 3-D windows, the semantics of kernels/cpu/im2col.cc and pool.cc. The
// geometry is first normalised to three spatial dims (leading dims of size 1), as there.
//
// im2col: one thread per element of cols (grid-stride), reading its image element or 0.
// col2im: one thread per image element, summing its contributions itself (a gather instead of
// the CPU's scatter, so no atomics): for a fixed image element each kernel offset k reaches it
// from at most one window position, so walking k in order adds in the CPU's order (rows, then
// window positions) and the sums are bit for bit the CPU's.
// max_pool: one thread per output: the CPU's clipped scan (start moved forward by whole
// dilation steps), first largest wins, NaN wins, and a window without image elements gives
// -inf with the flat position of its first in-range start.
// Floating dtypes only, as on the CPU.
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/tensor_kernels.h"
#include "fulgur/kernels/error.h"
#include "fulgur/kernels/window3.h"
#include "kernels/cuda/dtypes.cuh"  // .cuh files: by workspace path (textual_hdrs get no include prefix)
#include "kernels/cuda/elementwise_loop.cuh"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

using kernels::Window3;

template <typename T>
__global__ void __launch_bounds__(kElementwiseThreads)
    im2col_kernel(kernels::Im2colArgs a, Window3 g, int64_t K, int64_t L, int64_t total) {
  T* cols = reinterpret_cast<T*>(a.cols);
  FULGUR_GRID_STRIDE_LOOP(e, total) {
    const int64_t l = e % L;
    const int64_t r = e / L;  // row (n, c, k)
    const int64_t k = r % K, plane = r / K;
    const int64_t c = plane % a.channels, n = plane / a.channels;
    const int64_t k2 = k % g.kernel[2], k1 = (k / g.kernel[2]) % g.kernel[1], k0 = k / (g.kernel[2] * g.kernel[1]);
    const int64_t g2 = l % g.grid[2], g1 = (l / g.grid[2]) % g.grid[1], g0 = l / (g.grid[2] * g.grid[1]);
    const int64_t i0 = g0 * g.stride[0] - g.padding[0] + k0 * g.dilation[0];
    const int64_t i1 = g1 * g.stride[1] - g.padding[1] + k1 * g.dilation[1];
    const int64_t i2 = g2 * g.stride[2] - g.padding[2] + k2 * g.dilation[2];
    T v = from_opmath<T>(opmath<T>(0));
    if (i0 >= 0 && i0 < g.size[0] && i1 >= 0 && i1 < g.size[1] && i2 >= 0 && i2 < g.size[2]) {
      v = *reinterpret_cast<const T*>(a.image + n * a.image_batch_stride + c * a.image_channel_stride +
                                      i0 * g.image_stride[0] + i1 * g.image_stride[1] + i2 * g.image_stride[2]);
    }
    cols[n * a.cols_batch_stride + (c * K + k) * a.cols_row_stride + l] = v;
  }
}

// The window position g with g * stride + off == i, or -1 when there is none in [0, grid).
__device__ __forceinline__ int64_t window_hitting(int64_t i, int64_t off, int64_t stride, int64_t grid) {
  const int64_t t = i - off;
  if (t < 0 || t % stride != 0) return -1;
  const int64_t g = t / stride;
  return g < grid ? g : -1;
}

template <typename T>
__global__ void __launch_bounds__(kElementwiseThreads)
    col2im_kernel(kernels::Im2colArgs a, Window3 g, int64_t K, int64_t total) {
  const T* cols = reinterpret_cast<const T*>(a.cols);
  const int64_t plane_size = g.size[0] * g.size[1] * g.size[2];
  FULGUR_GRID_STRIDE_LOOP(e, total) {
    const int64_t p = e / plane_size, q = e % plane_size;
    const int64_t c = p % a.channels, n = p / a.channels;
    const int64_t i2 = q % g.size[2], i1 = (q / g.size[2]) % g.size[1], i0 = q / (g.size[2] * g.size[1]);
    T acc = from_opmath<T>(opmath<T>(0));
    for (int64_t k = 0; k < K; ++k) {
      const int64_t k2 = k % g.kernel[2], k1 = (k / g.kernel[2]) % g.kernel[1], k0 = k / (g.kernel[2] * g.kernel[1]);
      const int64_t g0 = window_hitting(i0, k0 * g.dilation[0] - g.padding[0], g.stride[0], g.grid[0]);
      const int64_t g1 = window_hitting(i1, k1 * g.dilation[1] - g.padding[1], g.stride[1], g.grid[1]);
      const int64_t g2 = window_hitting(i2, k2 * g.dilation[2] - g.padding[2], g.stride[2], g.grid[2]);
      if (g0 < 0 || g1 < 0 || g2 < 0) continue;
      const T v = cols[n * a.cols_batch_stride + (c * K + k) * a.cols_row_stride + (g0 * g.grid[1] + g1) * g.grid[2] + g2];
      acc = from_opmath<T>(to_opmath(acc) + to_opmath(v));
    }
    *reinterpret_cast<T*>(a.image + n * a.image_batch_stride + c * a.image_channel_stride + i0 * g.image_stride[0] +
                          i1 * g.image_stride[1] + i2 * g.image_stride[2]) = acc;
  }
}

// The clipped scan of window position g along one dim: [start, end), start moved forward by
// whole dilation steps.
__device__ __forceinline__ void pool_span(int64_t g, int64_t size, int64_t kernel, int64_t dil, int64_t pad,
                                          int64_t stride, int64_t* start, int64_t* end) {
  int64_t s = g * stride - pad;
  const int64_t e = s + (kernel - 1) * dil + 1;
  *end = e < size ? e : size;
  while (s < 0) s += dil;
  *start = s;
}

template <typename T>
__global__ void __launch_bounds__(kElementwiseThreads)
    max_pool_kernel(kernels::MaxPoolArgs a, Window3 g, int64_t L, int64_t total) {
  using M = opmath<T>;
  T* out = reinterpret_cast<T*>(a.out);
  FULGUR_GRID_STRIDE_LOOP(e, total) {
    const int64_t p = e / L, l = e % L;
    const int64_t g2 = l % g.grid[2], g1 = (l / g.grid[2]) % g.grid[1], g0 = l / (g.grid[2] * g.grid[1]);
    int64_t s0, e0, s1, e1, s2, e2;
    pool_span(g0, g.size[0], g.kernel[0], g.dilation[0], g.padding[0], g.stride[0], &s0, &e0);
    pool_span(g1, g.size[1], g.kernel[1], g.dilation[1], g.padding[1], g.stride[1], &s1, &e1);
    pool_span(g2, g.size[2], g.kernel[2], g.dilation[2], g.padding[2], g.stride[2], &s2, &e2);
    const char* img = a.image + (p / a.channels) * a.image_batch_stride + (p % a.channels) * a.image_channel_stride;
    int64_t best_index = (s0 * g.size[1] + s1) * g.size[2] + s2;
    M best = -INFINITY;
    for (int64_t i0 = s0; i0 < e0; i0 += g.dilation[0])
      for (int64_t i1 = s1; i1 < e1; i1 += g.dilation[1])
        for (int64_t i2 = s2; i2 < e2; i2 += g.dilation[2]) {
          const M v = to_opmath(*reinterpret_cast<const T*>(img + i0 * g.image_stride[0] + i1 * g.image_stride[1] +
                                                            i2 * g.image_stride[2]));
          if (v > best || v != v) {  // larger, or NaN: PyTorch's rule
            best = v;
            best_index = (i0 * g.size[1] + i1) * g.size[2] + i2;
          }
        }
    out[e] = from_opmath<T>(best);
    a.indices[e] = best_index;
  }
}

template <typename Fn>
void visit_floating(DType dtype, const char* op, Fn&& fn) {
  visit_device_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (kFloating<T>) {
      fn(tag);
    } else {
      FULGUR_FAIL(op, "not implemented for ", dtype, " (on CUDA); hint: convert the input with .to(kFloat32)");
    }
  });
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void tensor_im2col<FULGUR_EXEC>(const kernels::Im2colArgs& args, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  const Window3 g = kernels::window3(args.w, args.image_strides, "im2col");
  const int64_t K = g.kernel[0] * g.kernel[1] * g.kernel[2];
  const int64_t L = g.grid[0] * g.grid[1] * g.grid[2];
  const int64_t total = args.batch * args.channels * K * L;
  if (total == 0) return;
  visit_floating(args.dtype, "im2col", [&](auto tag) {
    using T = typename decltype(tag)::type;
    FULGUR_LAUNCH_INDEPENDENT((im2col_kernel<T>), elementwise_grid(total), dim3(kElementwiseThreads), stream, args, g, K, L,
                  total);
  });
}

template <>
void tensor_col2im<FULGUR_EXEC>(const kernels::Im2colArgs& args, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  const Window3 g = kernels::window3(args.w, args.image_strides, "col2im");
  const int64_t K = g.kernel[0] * g.kernel[1] * g.kernel[2];
  const int64_t total = args.batch * args.channels * g.size[0] * g.size[1] * g.size[2];
  if (total == 0) return;
  visit_floating(args.dtype, "col2im", [&](auto tag) {
    using T = typename decltype(tag)::type;
    FULGUR_LAUNCH_INDEPENDENT((col2im_kernel<T>), elementwise_grid(total), dim3(kElementwiseThreads), stream, args, g, K,
                  total);
  });
}

template <>
void tensor_max_pool<FULGUR_EXEC>(const kernels::MaxPoolArgs& args, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  const Window3 g = kernels::window3(args.w, args.image_strides, "max_pool");
  const int64_t L = g.grid[0] * g.grid[1] * g.grid[2];
  const int64_t total = args.batch * args.channels * L;
  if (total == 0) return;
  visit_floating(args.dtype, "max_pool", [&](auto tag) {
    using T = typename decltype(tag)::type;
    FULGUR_LAUNCH_INDEPENDENT((max_pool_kernel<T>), elementwise_grid(total), dim3(kElementwiseThreads), stream, args, g, L,
                  total);
  });
}

}  // namespace fulgur::cuda
