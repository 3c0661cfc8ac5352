// Ternary element-wise kernels: where (select by a bool condition) and clamp.
// Algorithm: a grid-stride loop over the flat index (elementwise_loop.cuh), four operands with
// their own strides (the condition and the bounds are often broadcast: stride 0).
// where moves the chosen element's bytes (one kernel per element size, no conversion);
// clamp computes in the compute type with kernels/cpu/binary.cc's NaN rule: NaN in x
// propagates, a NaN bound gives NaN.
#pragma once

#include <cstdint>

#include "fulgur/kernels/cuda/tensor_kernels.h"
#include "fulgur/kernels/error.h"
#include "kernels/cuda/device_math.cuh"  // .cuh files: by workspace path (textual_hdrs get no include prefix)
#include "kernels/cuda/dtypes.cuh"
#include "kernels/cuda/elementwise_loop.cuh"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

template <typename Word>
__global__ void __launch_bounds__(kElementwiseThreads) where_kernel(kernels::ElementwiseArgs a, int64_t n) {
  FULGUR_GRID_STRIDE_LOOP(i, n) {
    int64_t off[4];
    operand_offsets<4>(a, i, off);
    const bool c = element<const bool>(a.op[1], off[1]);
    element<Word>(a.op[0], off[0]) = c ? element<const Word>(a.op[2], off[2]) : element<const Word>(a.op[3], off[3]);
  }
}

template <typename T>
__global__ void __launch_bounds__(kElementwiseThreads) clamp_kernel(kernels::ElementwiseArgs a, int64_t n) {
  using M = opmath<T>;
  FULGUR_GRID_STRIDE_LOOP(i, n) {
    int64_t off[4];
    operand_offsets<4>(a, i, off);
    M x = to_opmath(element<const T>(a.op[1], off[1]));
    const M lo = to_opmath(element<const T>(a.op[2], off[2]));
    const M hi = to_opmath(element<const T>(a.op[3], off[3]));
    if constexpr (kFloating<T>) {
      if (!math_isnan(x)) x = math_isnan(lo) ? lo : x < lo ? lo : x;
      if (!math_isnan(x)) x = math_isnan(hi) ? hi : x > hi ? hi : x;
    } else {
      x = x < lo ? lo : x;
      x = x > hi ? hi : x;
    }
    element<T>(a.op[0], off[0]) = from_opmath<T>(x);
  }
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void tensor_where<FULGUR_EXEC>(const kernels::ElementwiseArgs& args, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  const int64_t n = args.numel();
  if (n == 0) return;
  const dim3 grid = elementwise_grid(n), block(kElementwiseThreads);
  switch (element_size(args.op[0].dtype)) {
    case 1: FULGUR_LAUNCH_INDEPENDENT((where_kernel<uint8_t>), grid, block, stream, args, n); break;
    case 2: FULGUR_LAUNCH_INDEPENDENT((where_kernel<uint16_t>), grid, block, stream, args, n); break;
    case 4: FULGUR_LAUNCH_INDEPENDENT((where_kernel<uint32_t>), grid, block, stream, args, n); break;
    default: FULGUR_LAUNCH_INDEPENDENT((where_kernel<uint64_t>), grid, block, stream, args, n); break;
  }
}

template <>
void tensor_clamp<FULGUR_EXEC>(const kernels::ElementwiseArgs& args, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  const int64_t n = args.numel();
  if (n == 0) return;
  visit_device_dtype(args.op[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    FULGUR_LAUNCH_INDEPENDENT((clamp_kernel<T>), elementwise_grid(n), dim3(kElementwiseThreads), stream, args, n);
  });
}

}  // namespace fulgur::cuda
