// Softmax / log-softmax of CUDA tensors (kernel_args.h: SoftmaxArgs: along the middle dim of
// a contiguous [outer, dim, inner] buffer), the semantics of kernels/cpu/softmax.cc.
// float32 rows (inner == 1) take the hand-written row kernels of softmax.cuh (warp, block
// or multi-block per row). Every other case (inner > 1, fp16 / bf16 / fp64) runs one thread
// per (outer, inner) slice: three passes over the slice (max with NaN winning, sum of
// exponentials, write) in opmath precision, reading with stride `inner`, so neighbouring
// threads read neighbouring addresses (coalesced) when inner is large.
#pragma once

#include <cmath>
#include <cstdint>

#include "fulgur/kernels/cuda/softmax.h"
#include "fulgur/kernels/cuda/tensor_kernels.h"
#include "fulgur/kernels/error.h"
#include "kernels/cuda/device_math.cuh"  // .cuh files: by workspace path (textual_hdrs get no include prefix)
#include "kernels/cuda/dtypes.cuh"
#include "kernels/cuda/elementwise_loop.cuh"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

template <typename T>
__global__ void __launch_bounds__(kElementwiseThreads) softmax_slices_kernel(kernels::SoftmaxArgs a, int64_t slices) {
  using M = opmath<T>;
  const T* in = reinterpret_cast<const T*>(a.in);
  T* out = reinterpret_cast<T*>(a.out);
  FULGUR_GRID_STRIDE_LOOP(s, slices) {
    const int64_t base = (s / a.inner) * a.dim * a.inner + s % a.inner;
    M m = -INFINITY;
    for (int64_t d = 0; d < a.dim; ++d) {
      const M v = to_opmath(in[base + d * a.inner]);
      if (v > m || v != v) m = v;
    }
    M sum = 0;
    for (int64_t d = 0; d < a.dim; ++d) sum += math_exp(to_opmath(in[base + d * a.inner]) - m);
    const M scale = a.log ? math_log(sum) : M(1) / sum;
    for (int64_t d = 0; d < a.dim; ++d) {
      const M shifted = to_opmath(in[base + d * a.inner]) - m;
      out[base + d * a.inner] = from_opmath<T>(a.log ? shifted - scale : math_exp(shifted) * scale);
    }
  }
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void tensor_softmax<FULGUR_EXEC>(const kernels::SoftmaxArgs& args, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  const int64_t slices = args.outer * args.inner;
  if (slices == 0 || args.dim == 0) return;
  if (args.dtype == DType::Float32 && args.inner == 1) {
    return softmax_forward<FULGUR_EXEC>(reinterpret_cast<const float*>(args.in), reinterpret_cast<float*>(args.out),
                                        args.outer, args.dim, args.log, stream);
  }
  visit_device_dtype(args.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (kFloating<T>) {
      FULGUR_LAUNCH_INDEPENDENT((softmax_slices_kernel<T>), elementwise_grid(slices), dim3(kElementwiseThreads), stream, args,
                    slices);
    } else {
      FULGUR_FAIL(args.log ? "log_softmax" : "softmax", "not implemented for ", args.dtype,
                  " (on CUDA); hint: convert the input with .to(kFloat32)");
    }
  });
}

}  // namespace fulgur::cuda
