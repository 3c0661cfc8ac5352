// Element-wise unary kernels: every UnaryOp, on the dtypes the CPU backend accepts.
// Algorithm: a grid-stride loop over the flat index (elementwise_loop.cuh); each element is
// loaded, widened to its compute type (float for fp16/bf16, as opmath_t on the CPU), mapped
// by the same formula as kernels/cpu/unary.cc, and stored. The op is a kernel argument (one
// kernel per dtype, a uniform switch per element) to keep the number of instantiations small.
// Integer negation, abs and square wrap (computed unsigned); relu keeps NaN; LogicalNot writes
// bool. Transcendentals are the C library's (device_math.cuh), so they agree with the CPU to a
// few ulps, not bit for bit (the CPU uses Eigen's vectorised exp/log/tanh/... on float).
#pragma once

#include <cstdint>
#include <type_traits>

#include "fulgur/kernels/cuda/tensor_kernels.h"
#include "fulgur/kernels/error.h"
#include "kernels/cuda/device_math.cuh"  // .cuh files: by workspace path (textual_hdrs get no include prefix)
#include "kernels/cuda/dtypes.cuh"
#include "kernels/cuda/elementwise_loop.cuh"

namespace fulgur::FULGUR_KERNEL_NS {
namespace {

using kernels::UnaryOp;

template <typename T>
__device__ __forceinline__ opmath<T> unary_value(UnaryOp op, opmath<T> x) {
  using M = opmath<T>;
  if constexpr (kFloating<T>) {
    const M kSqrt1_2 = M(0.70710678118654752440);
    const M kSqrt2OverPi = M(0.79788456080286535588);
    switch (op) {
      case UnaryOp::Neg: return -x;
      case UnaryOp::Abs: return math_fabs(x);
      case UnaryOp::Exp: return math_exp(x);
      case UnaryOp::Log: return math_log(x);
      case UnaryOp::Log1p: return math_log1p(x);
      case UnaryOp::Sqrt: return math_sqrt(x);
      case UnaryOp::Rsqrt: return M(1) / math_sqrt(x);
      case UnaryOp::Sin: return math_sin(x);
      case UnaryOp::Cos: return math_cos(x);
      case UnaryOp::Tanh: return math_tanh(x);
      case UnaryOp::Sigmoid: return M(1) / (M(1) + math_exp(-x));
      case UnaryOp::Relu: return math_isnan(x) || x > M(0) ? x : M(0);
      case UnaryOp::GeluErf: return M(0.5) * x * (M(1) + math_erf(x * kSqrt1_2));
      case UnaryOp::GeluTanh:
        return M(0.5) * x * (M(1) + math_tanh(kSqrt2OverPi * (x + M(0.044715) * x * x * x)));
      case UnaryOp::Silu: return x * (M(1) / (M(1) + math_exp(-x)));
      case UnaryOp::Reciprocal: return M(1) / x;
      case UnaryOp::Square: return x * x;
      case UnaryOp::Erf: return math_erf(x);
      case UnaryOp::LogicalNot: break;  // its own kernel
    }
    return x;
  } else if constexpr (std::is_same_v<T, bool>) {
    // Abs, relu and square of a bool are the bool itself (the host rejects the other ops).
    return x;
  } else {
    using U = std::make_unsigned_t<T>;
    switch (op) {
      case UnaryOp::Neg: return static_cast<T>(U(0) - static_cast<U>(x));
      case UnaryOp::Abs:
        if constexpr (std::is_unsigned_v<T>) return x;
        else return static_cast<T>(x < 0 ? U(0) - static_cast<U>(x) : static_cast<U>(x));
      case UnaryOp::Relu: return x > T(0) ? x : T(0);
      case UnaryOp::Square: return static_cast<T>(static_cast<U>(x) * static_cast<U>(x));
      default: break;
    }
    return x;
  }
}

template <typename T>
__global__ void __launch_bounds__(kElementwiseThreads) unary_kernel(UnaryOp op, kernels::ElementwiseArgs a, int64_t n) {
  FULGUR_GRID_STRIDE_LOOP(i, n) {
    int64_t off[2];
    operand_offsets<2>(a, i, off);
    const opmath<T> x = to_opmath(element<const T>(a.op[1], off[1]));
    element<T>(a.op[0], off[0]) = from_opmath<T>(unary_value<T>(op, x));
  }
}

template <typename T>
__global__ void __launch_bounds__(kElementwiseThreads) logical_not_kernel(kernels::ElementwiseArgs a, int64_t n) {
  FULGUR_GRID_STRIDE_LOOP(i, n) {
    int64_t off[2];
    operand_offsets<2>(a, i, off);
    element<bool>(a.op[0], off[0]) = !convert<bool>(element<const T>(a.op[1], off[1]));
  }
}

// Ops defined on every dtype; the others need a floating dtype (tensor/ promotes first).
bool unary_accepts_integers(UnaryOp op) {
  return op == UnaryOp::Neg || op == UnaryOp::Abs || op == UnaryOp::Relu || op == UnaryOp::Square ||
         op == UnaryOp::LogicalNot;
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void tensor_unary<FULGUR_EXEC>(kernels::UnaryOp op, const kernels::ElementwiseArgs& args, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  const DType dtype = args.op[1].dtype;
  FULGUR_CHECK(!(op == UnaryOp::Neg && dtype == DType::Bool), "neg",
               "bool tensors cannot be negated; hint: use logical_not()");
  FULGUR_CHECK(is_floating(dtype) || unary_accepts_integers(op), "unary",
               "internal: floating op ", static_cast<int>(op), " launched on ", dtype);
  const int64_t n = args.numel();
  if (n == 0) return;
  visit_device_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (op == UnaryOp::LogicalNot) {
      FULGUR_LAUNCH_INDEPENDENT((logical_not_kernel<T>), elementwise_grid(n), dim3(kElementwiseThreads), stream, args, n);
    } else {
      FULGUR_LAUNCH_INDEPENDENT((unary_kernel<T>), elementwise_grid(n), dim3(kElementwiseThreads), stream, op, args, n);
    }
  });
}

}  // namespace fulgur::cuda
