// The optimizers' fast path: one loop over the elements of a parameter, its gradient and its
// state, instead of one kernel launch (and often one temporary tensor) per tensor op. Taken
// for CPU tensors that are contiguous and all float32 or all float64; everything else goes
// through tensor ops. Group option "foreach" = False forces the tensor-op path (PyTorch's
// for-loop implementation), which is also the reference the fused loops are tested against.
#pragma once

#include <initializer_list>
#include <optional>
#include <type_traits>

#include "fulgur/kernels/parallel.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur::optim::internal {

// Whether the fused loop applies: foreach is not False and every tensor is defined, on the
// CPU, contiguous, with one float32/float64 dtype and one element count.
inline bool use_fused(std::optional<bool> foreach, std::initializer_list<const Tensor*> tensors) {
  if (foreach == false) return false;
  const Tensor& first = **tensors.begin();
  if (!first.defined() || (first.dtype() != kFloat32 && first.dtype() != kFloat64)) return false;
  for (const Tensor* t : tensors) {
    if (!t->defined() || !t->device().is_cpu() || !t->is_contiguous() || t->dtype() != first.dtype() ||
        t->numel() != first.numel())
      return false;
  }
  return true;
}

// body(begin, end) over [0, n) in parallel chunks. Each element is updated on its own, so the
// result does not depend on the thread count. For GCC to vectorise the loop, capture its
// constants by value ([=]) and put `#pragma GCC ivdep` on it: otherwise it must assume the
// stores may change them or overlap other arrays, and past ten runtime alias checks it keeps
// the loop scalar (Adam's and AMSGrad's did, 4x slower; checked with -fopt-info-vec).
template <typename Fn>
void fused_for(int64_t n, Fn&& body) {
  parallel_for(0, n, kDefaultGrain, body);
}

// Calls fn(std::bool_constant<b>...) for the runtime flags b..., so that each combination is
// compiled as its own loop: no branches inside, and the compiler vectorises it. Use the
// flags with `if constexpr (flag)`.
template <typename Fn>
void with_flags(Fn&& fn) {
  fn();
}
template <typename Fn, typename... Rest>
void with_flags(Fn&& fn, bool flag, Rest... rest) {
  if (flag) {
    with_flags([&](auto... f) { fn(std::true_type{}, f...); }, rest...);
  } else {
    with_flags([&](auto... f) { fn(std::false_type{}, f...); }, rest...);
  }
}

// Tensors written through raw pointers get their version bumped, as an in-place op does
// (autograd checks it).
inline void mark_written(std::initializer_list<const Tensor*> tensors) {
  for (const Tensor* t : tensors)
    if (t->defined()) t->bump_version();
}

}  // namespace fulgur::optim::internal
