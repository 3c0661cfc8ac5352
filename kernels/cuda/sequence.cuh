// Arithmetic sequences (arange, linspace) into a contiguous output.
// Algorithm: a grid-stride loop over the output; element i is computed on its own from the
// formulas of kernels/cpu/copy.cc, in double (or wrapping int64 for integral aranges), then
// converted to the output dtype: arange start + i * step; linspace PyTorch's symmetric form
// (start + step * i for the first half, end - step * (n - 1 - i) for the rest, so the last
// point is exactly end). Built without FMA contraction (BUILD: --fmad=false), so the double
// arithmetic rounds as on the CPU and the values are bit for bit the CPU's.
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/tensor_kernels.h"
#include "fulgur/kernels/error.h"
#include "kernels/cuda/dtypes.cuh"  // .cuh files: by workspace path (textual_hdrs get no include prefix)
#include "kernels/cuda/elementwise_loop.cuh"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

template <typename T>
__global__ void __launch_bounds__(kElementwiseThreads) sequence_kernel(kernels::SequenceArgs a) {
  T* out = reinterpret_cast<T*>(a.out);
  const int64_t n = a.numel;
  const double step = a.linspace ? (n > 1 ? (a.end - a.start) / static_cast<double>(n - 1) : 0.0) : a.step;
  const int64_t half = n / 2;
  FULGUR_GRID_STRIDE_LOOP(i, n) {
    if (a.linspace) {
      const double v = i < half ? a.start + step * static_cast<double>(i) : a.end - step * static_cast<double>(n - 1 - i);
      out[i] = convert<T>(v);
    } else if (a.integral) {
      out[i] = convert<T>(static_cast<int64_t>(static_cast<uint64_t>(a.start_int) +
                                               static_cast<uint64_t>(i) * static_cast<uint64_t>(a.step_int)));
    } else {
      out[i] = convert<T>(a.start + static_cast<double>(i) * step);
    }
  }
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void tensor_sequence<FULGUR_EXEC>(const kernels::SequenceArgs& args, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  if (args.numel <= 0) return;
  visit_device_dtype(args.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    FULGUR_LAUNCH_INDEPENDENT((sequence_kernel<T>), elementwise_grid(args.numel), dim3(kElementwiseThreads), stream, args);
  });
}

}  // namespace fulgur::cuda
