// Element-wise binary kernels: arithmetic, comparisons and logical ops (every BinaryOp).
// Algorithm: a grid-stride loop over the flat index (elementwise_loop.cuh) with broadcast
// inputs as stride-0 operands; both inputs (already promoted to one dtype by tensor/) are
// widened to the compute type (float for fp16/bf16) and combined by kernels/cpu/binary.cc's
// formulas: integer +, -, * wrap (computed unsigned), integer pow by squaring with PyTorch's
// rule for negative exponents, minimum/maximum propagate NaN, comparisons and logical ops
// write bool. One kernel per dtype, the op a uniform switch, to keep instantiations few.
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

using kernels::BinaryOp;

__device__ __forceinline__ bool writes_bool(BinaryOp op) { return op >= BinaryOp::Eq; }

template <typename M>
__device__ __forceinline__ M int_pow(M base, M exp) {
  if constexpr (std::is_signed_v<M>) {
    if (exp < 0) {  // 1/base^|exp| truncated toward zero
      if (base == 1) return 1;
      if (base == -1) return (exp % 2 == 0) ? 1 : -1;
      return 0;
    }
  }
  using U = std::make_unsigned_t<M>;
  U result = 1, b = static_cast<U>(base);
  U e = static_cast<U>(exp);
  while (e) {
    if (e & 1) result *= b;
    b *= b;
    e >>= 1;
  }
  return static_cast<M>(result);
}

// The arithmetic ops (result of the input dtype), in the compute type.
template <typename T>
__device__ __forceinline__ opmath<T> arithmetic(BinaryOp op, opmath<T> a, opmath<T> b) {
  using M = opmath<T>;
  if constexpr (std::is_same_v<T, bool>) {
    switch (op) {
      case BinaryOp::Add: case BinaryOp::Maximum: return a || b;
      case BinaryOp::Mul: case BinaryOp::Minimum: return a && b;
      case BinaryOp::Pow: return a || !b;
      default: return a;  // sub/div on bool: rejected on the host
    }
  } else if constexpr (kInteger<T>) {
    using U = std::make_unsigned_t<T>;
    switch (op) {
      case BinaryOp::Add: return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
      case BinaryOp::Sub: return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
      case BinaryOp::Mul: return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
      case BinaryOp::Pow: return int_pow<M>(a, b);
      case BinaryOp::Minimum: return b < a ? b : a;
      case BinaryOp::Maximum: return b > a ? b : a;
      default: return a;  // div on integers: rejected on the host
    }
  } else {
    switch (op) {
      case BinaryOp::Add: return a + b;
      case BinaryOp::Sub: return a - b;
      case BinaryOp::Mul: return a * b;
      case BinaryOp::Div: return a / b;
      case BinaryOp::Pow: return math_pow(a, b);
      case BinaryOp::Minimum: return math_isnan(a) ? a : math_isnan(b) ? b : (b < a ? b : a);
      case BinaryOp::Maximum: return math_isnan(a) ? a : math_isnan(b) ? b : (b > a ? b : a);
      default: return a;
    }
  }
}

template <typename M>
__device__ __forceinline__ bool predicate(BinaryOp op, M a, M b) {
  switch (op) {
    case BinaryOp::Eq: return a == b;
    case BinaryOp::Ne: return a != b;
    case BinaryOp::Lt: return a < b;
    case BinaryOp::Le: return a <= b;
    case BinaryOp::Gt: return a > b;
    case BinaryOp::Ge: return a >= b;
    case BinaryOp::LogicalAnd: return a != M(0) && b != M(0);
    case BinaryOp::LogicalOr: return a != M(0) || b != M(0);
    case BinaryOp::LogicalXor: return (a != M(0)) != (b != M(0));
    default: return false;
  }
}

template <typename T>
__global__ void __launch_bounds__(kElementwiseThreads) binary_kernel(BinaryOp op, kernels::ElementwiseArgs a, int64_t n) {
  const bool to_bool = writes_bool(op);
  FULGUR_GRID_STRIDE_LOOP(i, n) {
    int64_t off[3];
    operand_offsets<3>(a, i, off);
    const opmath<T> x = to_opmath(element<const T>(a.op[1], off[1]));
    const opmath<T> y = to_opmath(element<const T>(a.op[2], off[2]));
    if (to_bool) {
      element<bool>(a.op[0], off[0]) = predicate(op, x, y);
    } else {
      element<T>(a.op[0], off[0]) = from_opmath<T>(arithmetic<T>(op, x, y));
    }
  }
}

}  // namespace
}  // namespace fulgur::FULGUR_KERNEL_NS

namespace fulgur::cuda {

template <>
void tensor_binary<FULGUR_EXEC>(kernels::BinaryOp op, const kernels::ElementwiseArgs& args, void* stream) {
  using namespace FULGUR_KERNEL_NS;
  const DType dtype = args.op[1].dtype;
  FULGUR_CHECK(!(op == BinaryOp::Sub && dtype == DType::Bool), "sub",
               "subtraction of bool tensors is not supported; hint: use logical_xor()");
  FULGUR_CHECK(!(op == BinaryOp::Div && !is_floating(dtype)), "div",
               "internal: true division launched on ", dtype);
  const int64_t n = args.numel();
  if (n == 0) return;
  visit_device_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    FULGUR_LAUNCH_INDEPENDENT((binary_kernel<T>), elementwise_grid(n), dim3(kElementwiseThreads), stream, op, args, n);
  });
}

}  // namespace fulgur::cuda
