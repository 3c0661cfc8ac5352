// Element-wise unary kernels. Contiguous float/double runs of transcendental ops go through
// Eigen's vectorised math (exp, log, tanh, ...); everything else is a scalar loop in
// opmath_t (float for 16-bit types) that the compiler vectorises where it can.
#include <Eigen/Core>
#include <cmath>
#include <type_traits>

#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/cpu/loops.h"

namespace fulgur::kernels::cpu {
namespace {

template <typename T, typename F>
void unary_loop(const ElementwiseArgs& args, F f) {
  elementwise_loop<2>(args, [&](char** p, const int64_t* s, int64_t n) {
    if (s[0] == sizeof(T) && s[1] == sizeof(T)) {
      T* out = reinterpret_cast<T*>(p[0]);
      const T* in = reinterpret_cast<const T*>(p[1]);
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(f(static_cast<opmath_t<T>>(in[i])));
    } else {
      for (int64_t i = 0; i < n; ++i) {
        const T x = *reinterpret_cast<const T*>(p[1] + i * s[1]);
        *reinterpret_cast<T*>(p[0] + i * s[0]) = static_cast<T>(f(static_cast<opmath_t<T>>(x)));
      }
    }
  });
}

// Eigen array expression on contiguous runs, scalar fallback on strided ones.
template <typename T, typename EigenF, typename ScalarF>
void unary_eigen(const ElementwiseArgs& args, EigenF eigen_f, ScalarF scalar_f) {
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
  elementwise_loop<2>(args, [&](char** p, const int64_t* s, int64_t n) {
    if (s[0] == sizeof(T) && s[1] == sizeof(T)) {
      Eigen::Map<Array> out(reinterpret_cast<T*>(p[0]), n);
      Eigen::Map<const Array> in(reinterpret_cast<const T*>(p[1]), n);
      out = eigen_f(in);
    } else {
      for (int64_t i = 0; i < n; ++i) {
        const T x = *reinterpret_cast<const T*>(p[1] + i * s[1]);
        *reinterpret_cast<T*>(p[0] + i * s[0]) = scalar_f(x);
      }
    }
  });
}

template <typename T>
void unary_floating(UnaryOp op, const ElementwiseArgs& args) {
  using M = opmath_t<T>;
  constexpr bool kEigen = std::is_same_v<T, float> || std::is_same_v<T, double>;
  const M kSqrt1_2 = M(0.70710678118654752440);
  const M kSqrt2OverPi = M(0.79788456080286535588);
  auto sigmoid = [](M x) { return M(1) / (M(1) + std::exp(-x)); };
#define FULGUR_EIGEN_OR_SCALAR(eigen_expr, scalar_expr)                                  \
  if constexpr (kEigen) {                                                               \
    unary_eigen<T>(args, [](const auto& a) { return eigen_expr; },                      \
                   [](M x) { return scalar_expr; });                                    \
  } else {                                                                              \
    unary_loop<T>(args, [](M x) { return scalar_expr; });                               \
  }                                                                                     \
  return
  switch (op) {
    // Eigen 3.4's vectorised double exp clamps its argument at about -709.4 (exp(-inf) is
    // 5.6e-309, not 0) and its AVX-512 sqrt (EIGEN_FAST_MATH: rsqrt14 + Newton) gives NaN
    // for +inf in float and double packets: libm for double exp and for every sqrt.
    case UnaryOp::Exp:
      if constexpr (std::is_same_v<T, double>) return unary_loop<T>(args, [](M x) { return std::exp(x); });
      FULGUR_EIGEN_OR_SCALAR(a.exp(), std::exp(x));
    case UnaryOp::Log: FULGUR_EIGEN_OR_SCALAR(a.log(), std::log(x));
    case UnaryOp::Log1p: FULGUR_EIGEN_OR_SCALAR(a.log1p(), std::log1p(x));
    case UnaryOp::Sqrt: return unary_loop<T>(args, [](M x) { return std::sqrt(x); });
    case UnaryOp::Rsqrt: FULGUR_EIGEN_OR_SCALAR(a.rsqrt(), M(1) / std::sqrt(x));
    case UnaryOp::Sin: FULGUR_EIGEN_OR_SCALAR(a.sin(), std::sin(x));
    case UnaryOp::Cos: FULGUR_EIGEN_OR_SCALAR(a.cos(), std::cos(x));
    case UnaryOp::Tanh: FULGUR_EIGEN_OR_SCALAR(a.tanh(), std::tanh(x));
    case UnaryOp::Sigmoid: return unary_loop<T>(args, sigmoid);
    case UnaryOp::GeluErf:
      return unary_loop<T>(args, [&](M x) { return M(0.5) * x * (M(1) + std::erf(x * kSqrt1_2)); });
    case UnaryOp::GeluTanh:
      return unary_loop<T>(args, [&](M x) {
        return M(0.5) * x * (M(1) + std::tanh(kSqrt2OverPi * (x + M(0.044715) * x * x * x)));
      });
    case UnaryOp::Silu: return unary_loop<T>(args, [&](M x) { return x * sigmoid(x); });
    case UnaryOp::Reciprocal: return unary_loop<T>(args, [](M x) { return M(1) / x; });
    case UnaryOp::Erf: return unary_loop<T>(args, [](M x) { return std::erf(x); });
    default: break;
  }
#undef FULGUR_EIGEN_OR_SCALAR
  FULGUR_FAIL("unary", "internal: op ", static_cast<int>(op), " is not a floating op");
}

template <typename T>
void unary_typed(UnaryOp op, const ElementwiseArgs& args) {
  using M = opmath_t<T>;
  switch (op) {
    case UnaryOp::Neg:
      if constexpr (std::is_same_v<T, bool>) {
        FULGUR_FAIL("neg", "bool tensors cannot be negated; hint: use logical_not()");
      } else if constexpr (std::is_integral_v<T>) {
        // Two's-complement wrap, without signed-overflow UB.
        using U = std::make_unsigned_t<T>;
        return unary_loop<T>(args, [](M x) { return static_cast<T>(U(0) - static_cast<U>(x)); });
      } else {
        return unary_loop<T>(args, [](M x) { return -x; });
      }
    case UnaryOp::Abs:
      if constexpr (std::is_unsigned_v<T> || std::is_same_v<T, bool>) {
        return unary_loop<T>(args, [](M x) { return x; });
      } else if constexpr (std::is_integral_v<T>) {
        using U = std::make_unsigned_t<T>;
        return unary_loop<T>(args, [](M x) {
          return static_cast<T>(x < 0 ? U(0) - static_cast<U>(x) : static_cast<U>(x));
        });
      } else {
        return unary_loop<T>(args, [](M x) { return std::abs(x); });
      }
    case UnaryOp::Relu:
      if constexpr (is_floating_v<T>) {
        return unary_loop<T>(args, [](M x) { return std::isnan(x) || x > M(0) ? x : M(0); });
      } else {
        return unary_loop<T>(args, [](M x) { return x > M(0) ? x : M(0); });
      }
    case UnaryOp::Square:
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        using U = std::make_unsigned_t<T>;
        return unary_loop<T>(args, [](M x) { return static_cast<T>(static_cast<U>(x) * static_cast<U>(x)); });
      } else {
        return unary_loop<T>(args, [](M x) { return x * x; });
      }
    case UnaryOp::LogicalNot:
      elementwise_loop<2>(args, [&](char** p, const int64_t* s, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
          const T x = *reinterpret_cast<const T*>(p[1] + i * s[1]);
          *reinterpret_cast<bool*>(p[0] + i * s[0]) = !convert<bool>(x);
        }
      });
      return;
    default:
      if constexpr (is_floating_v<T>) {
        return unary_floating<T>(op, args);
      } else {
        FULGUR_FAIL("unary", "internal: floating op ", static_cast<int>(op),
                    " launched on an integer dtype");
      }
  }
}

}  // namespace

void unary(UnaryOp op, const ElementwiseArgs& args) {
  visit_dtype(args.op[1].dtype, [&](auto tag) { unary_typed<typename decltype(tag)::type>(op, args); });
}

}  // namespace fulgur::kernels::cpu
