// Element-wise binary kernels (arithmetic, comparisons, logical ops), where and clamp.
// Inputs arrive already promoted to one dtype by tensor/. Integer arithmetic wraps like
// two's complement (computed unsigned, so without undefined behaviour); NaN propagates
// through minimum/maximum/clamp as in PyTorch.
#include <cmath>
#include <type_traits>

#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/cpu/loops.h"

namespace fulgur::kernels::cpu {
namespace {

template <typename T, typename Out, typename F>
void binary_loop(const ElementwiseArgs& args, F f) {
  using M = opmath_t<T>;
  elementwise_loop<3>(args, [&](char** p, const int64_t* s, int64_t n) {
    Out* out = reinterpret_cast<Out*>(p[0]);
    const T* a = reinterpret_cast<const T*>(p[1]);
    const T* b = reinterpret_cast<const T*>(p[2]);
    if (s[0] == sizeof(Out) && s[1] == sizeof(T) && s[2] == sizeof(T)) {
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<Out>(f(static_cast<M>(a[i]), static_cast<M>(b[i])));
    } else if (s[0] == sizeof(Out) && s[1] == sizeof(T) && s[2] == 0) {
      const M bv = static_cast<M>(*b);
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<Out>(f(static_cast<M>(a[i]), bv));
    } else if (s[0] == sizeof(Out) && s[1] == 0 && s[2] == sizeof(T)) {
      const M av = static_cast<M>(*a);
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<Out>(f(av, static_cast<M>(b[i])));
    } else {
      for (int64_t i = 0; i < n; ++i) {
        const M x = static_cast<M>(*reinterpret_cast<const T*>(p[1] + i * s[1]));
        const M y = static_cast<M>(*reinterpret_cast<const T*>(p[2] + i * s[2]));
        *reinterpret_cast<Out*>(p[0] + i * s[0]) = static_cast<Out>(f(x, y));
      }
    }
  });
}

template <typename M>
M int_pow(M base, M exp) {
  if constexpr (std::is_signed_v<M>) {
    if (exp < 0) {  // 1/base^|exp| truncated toward zero, as PyTorch's integer pow
      if (base == 1) return 1;
      if (base == -1) return (exp % 2 == 0) ? 1 : -1;
      return 0;
    }
  }
  using U = std::make_unsigned_t<M>;
  U result = 1, b = static_cast<U>(base);
  auto e = static_cast<std::make_unsigned_t<M>>(exp);
  while (e) {
    if (e & 1) result *= b;
    b *= b;
    e >>= 1;
  }
  return static_cast<M>(result);
}

template <typename T>
void binary_typed(BinaryOp op, const ElementwiseArgs& args) {
  using M = opmath_t<T>;
  constexpr bool kFloat = is_floating_v<T>;
  constexpr bool kBool = std::is_same_v<T, bool>;
  constexpr bool kInt = std::is_integral_v<T> && !kBool;
  using U = std::conditional_t<kInt, std::make_unsigned_t<std::conditional_t<kInt, T, int>>, M>;
  switch (op) {
    case BinaryOp::Add:
      if constexpr (kBool) return binary_loop<T, T>(args, [](M a, M b) { return a || b; });
      else if constexpr (kInt) return binary_loop<T, T>(args, [](M a, M b) { return static_cast<T>(static_cast<U>(a) + static_cast<U>(b)); });
      else return binary_loop<T, T>(args, [](M a, M b) { return a + b; });
    case BinaryOp::Sub:
      if constexpr (kBool) FULGUR_FAIL("sub", "subtraction of bool tensors is not supported; hint: use logical_xor()");
      else if constexpr (kInt) return binary_loop<T, T>(args, [](M a, M b) { return static_cast<T>(static_cast<U>(a) - static_cast<U>(b)); });
      else return binary_loop<T, T>(args, [](M a, M b) { return a - b; });
    case BinaryOp::Mul:
      if constexpr (kBool) return binary_loop<T, T>(args, [](M a, M b) { return a && b; });
      else if constexpr (kInt) return binary_loop<T, T>(args, [](M a, M b) { return static_cast<T>(static_cast<U>(a) * static_cast<U>(b)); });
      else return binary_loop<T, T>(args, [](M a, M b) { return a * b; });
    case BinaryOp::Div:
      if constexpr (kFloat) return binary_loop<T, T>(args, [](M a, M b) { return a / b; });
      else FULGUR_FAIL("div", "internal: true division launched on an integer dtype");
    case BinaryOp::Pow:
      if constexpr (kFloat) return binary_loop<T, T>(args, [](M a, M b) { return std::pow(a, b); });
      else if constexpr (kInt) return binary_loop<T, T>(args, [](M a, M b) { return int_pow<M>(a, b); });
      else return binary_loop<T, T>(args, [](M a, M b) { return a || !b; });
    case BinaryOp::Minimum:
      if constexpr (kFloat) return binary_loop<T, T>(args, [](M a, M b) { return std::isnan(a) ? a : std::isnan(b) ? b : (b < a ? b : a); });
      else return binary_loop<T, T>(args, [](M a, M b) { return b < a ? b : a; });
    case BinaryOp::Maximum:
      if constexpr (kFloat) return binary_loop<T, T>(args, [](M a, M b) { return std::isnan(a) ? a : std::isnan(b) ? b : (b > a ? b : a); });
      else return binary_loop<T, T>(args, [](M a, M b) { return b > a ? b : a; });
    case BinaryOp::Eq: return binary_loop<T, bool>(args, [](M a, M b) { return a == b; });
    case BinaryOp::Ne: return binary_loop<T, bool>(args, [](M a, M b) { return a != b; });
    case BinaryOp::Lt: return binary_loop<T, bool>(args, [](M a, M b) { return a < b; });
    case BinaryOp::Le: return binary_loop<T, bool>(args, [](M a, M b) { return a <= b; });
    case BinaryOp::Gt: return binary_loop<T, bool>(args, [](M a, M b) { return a > b; });
    case BinaryOp::Ge: return binary_loop<T, bool>(args, [](M a, M b) { return a >= b; });
    case BinaryOp::LogicalAnd: return binary_loop<T, bool>(args, [](M a, M b) { return a != M(0) && b != M(0); });
    case BinaryOp::LogicalOr: return binary_loop<T, bool>(args, [](M a, M b) { return a != M(0) || b != M(0); });
    case BinaryOp::LogicalXor: return binary_loop<T, bool>(args, [](M a, M b) { return (a != M(0)) != (b != M(0)); });
  }
}

}  // namespace

void binary(BinaryOp op, const ElementwiseArgs& args) {
  visit_dtype(args.op[1].dtype, [&](auto tag) { binary_typed<typename decltype(tag)::type>(op, args); });
}

void where(const ElementwiseArgs& args) {
  visit_dtype(args.op[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    elementwise_loop<4>(args, [&](char** p, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        const bool c = *reinterpret_cast<const bool*>(p[1] + i * s[1]);
        *reinterpret_cast<T*>(p[0] + i * s[0]) = *reinterpret_cast<const T*>(p[c ? 2 : 3] + i * s[c ? 2 : 3]);
      }
    });
  });
}

void clamp(const ElementwiseArgs& args) {
  visit_dtype(args.op[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using M = opmath_t<T>;
    elementwise_loop<4>(args, [&](char** p, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        M x = static_cast<M>(*reinterpret_cast<const T*>(p[1] + i * s[1]));
        const M lo = static_cast<M>(*reinterpret_cast<const T*>(p[2] + i * s[2]));
        const M hi = static_cast<M>(*reinterpret_cast<const T*>(p[3] + i * s[3]));
        if constexpr (is_floating_v<T>) {
          if (!std::isnan(x)) x = std::isnan(lo) ? lo : x < lo ? lo : x;
          if (!std::isnan(x)) x = std::isnan(hi) ? hi : x > hi ? hi : x;
        } else {
          x = x < lo ? lo : x;
          x = x > hi ? hi : x;
        }
        *reinterpret_cast<T*>(p[0] + i * s[0]) = static_cast<T>(x);
      }
    });
  });
}

}  // namespace fulgur::kernels::cpu
