// Strided N-d loops shared by the CPU kernels (internal to kernels/cpu).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "fulgur/kernels/dtype.h"
#include "fulgur/kernels/kernel_args.h"
#include "fulgur/kernels/parallel.h"

namespace fulgur::kernels::cpu {

// Calls inner(ptrs, inner_strides, count) for each run along the last dimension that lies
// in the row-major linear range [begin, end) of args' shape. N operands.
template <int N, typename Inner>
void for_each_run(const ElementwiseArgs& args, int64_t begin, int64_t end, Inner&& inner) {
  char* ptrs[N];
  int64_t inner_strides[N];
  const int nd = args.ndim;
  if (nd == 0) {
    for (int o = 0; o < N; ++o) {
      ptrs[o] = args.op[o].data;
      inner_strides[o] = 0;
    }
    if (begin < end) inner(ptrs, inner_strides, int64_t{1});
    return;
  }
  int64_t idx[kMaxDims];
  int64_t rem = begin;
  for (int d = nd - 1; d >= 0; --d) {
    idx[d] = rem % args.sizes[d];
    rem /= args.sizes[d];
  }
  for (int o = 0; o < N; ++o) inner_strides[o] = args.op[o].strides[nd - 1];
  int64_t pos = begin;
  while (pos < end) {
    for (int o = 0; o < N; ++o) {
      char* p = args.op[o].data;
      for (int d = 0; d < nd; ++d) p += idx[d] * args.op[o].strides[d];
      ptrs[o] = p;
    }
    const int64_t count = std::min(args.sizes[nd - 1] - idx[nd - 1], end - pos);
    inner(ptrs, inner_strides, count);
    pos += count;
    idx[nd - 1] += count;
    for (int d = nd - 1; d > 0 && idx[d] == args.sizes[d]; --d) {
      idx[d] = 0;
      ++idx[d - 1];
    }
  }
}

// Runs inner over the whole launch, in parallel chunks for large launches.
template <int N, typename Inner>
void elementwise_loop(const ElementwiseArgs& args, Inner&& inner, int64_t grain = kDefaultGrain) {
  parallel_for(0, args.numel(), grain,
               [&](int64_t b, int64_t e) { for_each_run<N>(args, b, e, inner); });
}

// Value conversion between element types with defined results for every input: NaN and
// out-of-range floats become the integer type's minimum (what x86 conversions produce).
template <typename To, typename From>
inline To convert(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, bool>) {
    return static_cast<opmath_t<From>>(v) != opmath_t<From>(0);
  } else if constexpr (is_floating_v<To>) {
    if constexpr (is_floating_v<From>) {
      return static_cast<To>(static_cast<opmath_t<To>>(static_cast<opmath_t<From>>(v)));
    } else {
      return static_cast<To>(static_cast<opmath_t<To>>(v));
    }
  } else if constexpr (is_floating_v<From>) {
    const double d = static_cast<double>(static_cast<opmath_t<From>>(v));
    // Through int64 then modular narrowing, as PyTorch does (-1.0 -> uint8 255).
    if (d > -9.2e18 && d < 9.2e18) return static_cast<To>(static_cast<int64_t>(d));
    return std::numeric_limits<To>::min();
  } else {
    return static_cast<To>(v);  // integral -> integral: modular, like PyTorch
  }
}

}  // namespace fulgur::kernels::cpu
