// Softmax and log-softmax along one dim of a contiguous [outer, dim, inner] buffer, in one
// kernel instead of the six tensor ops (amax, sub, exp, sum, log/div, sub) of the composed
// form: three passes over each slice (max, sum of exponentials, write) with no temporaries.
// inner == 1 (the last dim, the common case) runs each row through Eigen's vectorised exp;
// inner > 1 walks the dim with the inner run as the vector, so loads stay contiguous.
// Slices are independent, so the result does not depend on the thread count.
#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <vector>

#include "fulgur/kernels/cpu/cpu_kernels.h"
#include "fulgur/kernels/cpu/loops.h"

namespace fulgur::kernels::cpu {
namespace {

// max that lets NaN win, so a NaN anywhere in a slice makes the whole slice NaN.
template <typename M>
inline M nan_max(M a, M b) {
  return (b > a || std::isnan(b)) ? b : a;
}

// One row (inner == 1) in opmath type M.
template <typename T, typename M>
void softmax_row(const T* in, T* out, int64_t n, bool log, M* scratch) {
  M m = -std::numeric_limits<M>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    scratch[i] = static_cast<M>(in[i]);
    m = nan_max(m, scratch[i]);
  }
  using Array = Eigen::Array<M, Eigen::Dynamic, 1>;
  Eigen::Map<Array> x(scratch, n);
  // All -inf: x - max is NaN, as in PyTorch. float uses Eigen's vectorised exp; double uses
  // libm (Eigen's double exp gives 5.6e-309 instead of 0 for -inf).
  x -= m;
  M sum = 0;
  if constexpr (std::is_same_v<M, float>) {
    if (log) {
      sum = x.exp().sum();
    } else {
      x = x.exp();
      sum = x.sum();
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const M e = std::exp(scratch[i]);
      sum += e;
      if (!log) scratch[i] = e;
    }
  }
  if (log) {
    const M ls = std::log(sum);
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(scratch[i] - ls);
  } else {
    const M inv = M(1) / sum;
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(scratch[i] * inv);
  }
}

// One [dim, inner] block: the inner run is contiguous, so each pass is a vector loop.
template <typename T, typename M>
void softmax_block(const T* in, T* out, int64_t dim, int64_t inner, bool log, M* maxes, M* sums) {
  for (int64_t j = 0; j < inner; ++j) {
    maxes[j] = -std::numeric_limits<M>::infinity();
    sums[j] = 0;
  }
  for (int64_t d = 0; d < dim; ++d) {
    const T* row = in + d * inner;
    for (int64_t j = 0; j < inner; ++j) maxes[j] = nan_max(maxes[j], static_cast<M>(row[j]));
  }
  for (int64_t d = 0; d < dim; ++d) {
    const T* row = in + d * inner;
    for (int64_t j = 0; j < inner; ++j) sums[j] += std::exp(static_cast<M>(row[j]) - maxes[j]);
  }
  for (int64_t j = 0; j < inner; ++j) sums[j] = log ? std::log(sums[j]) : M(1) / sums[j];
  for (int64_t d = 0; d < dim; ++d) {
    const T* row = in + d * inner;
    T* dst = out + d * inner;
    for (int64_t j = 0; j < inner; ++j) {
      const M shifted = static_cast<M>(row[j]) - maxes[j];
      dst[j] = static_cast<T>(log ? shifted - sums[j] : std::exp(shifted) * sums[j]);
    }
  }
}

template <typename T>
void softmax_typed(const SoftmaxArgs& a) {
  using M = opmath_t<T>;
  const T* in = reinterpret_cast<const T*>(a.in);
  T* out = reinterpret_cast<T*>(a.out);
  const int64_t slice = a.dim * a.inner;
  if (a.outer == 0 || slice == 0) return;
  const int64_t grain = std::max<int64_t>(1, kDefaultGrain / slice);
  parallel_for(0, a.outer, grain, [&](int64_t o0, int64_t o1) {
    if (a.inner == 1) {
      std::vector<M> scratch(static_cast<size_t>(a.dim));
      for (int64_t o = o0; o < o1; ++o) softmax_row<T, M>(in + o * slice, out + o * slice, a.dim, a.log, scratch.data());
    } else {
      std::vector<M> maxes(static_cast<size_t>(a.inner)), sums(static_cast<size_t>(a.inner));
      for (int64_t o = o0; o < o1; ++o) {
        softmax_block<T, M>(in + o * slice, out + o * slice, a.dim, a.inner, a.log, maxes.data(), sums.data());
      }
    }
  });
}

}  // namespace

void softmax(const SoftmaxArgs& args) {
  visit_dtype(args.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_floating_v<T>) {
      softmax_typed<T>(args);
    } else {
      FULGUR_FAIL(args.log ? "log_softmax" : "softmax", "not implemented for ", args.dtype,
                  "; hint: convert the input with .to(kFloat32)");
    }
  });
}

}  // namespace fulgur::kernels::cpu
