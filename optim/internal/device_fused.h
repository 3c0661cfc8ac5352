// The optimizers' fast path on devices whose kernel table has the multi-tensor families
// (kernels/kernel_table.h: adam_step, unscale_and_check_finite; the CUDA backend, float32):
// the parameters of a step are gathered and updated by one launch per batch, instead of a
// dozen tensor-op launches (and temporaries) per parameter. The CPU has its own fused loops
// (fused.h). Group option "foreach" = False forces the tensor-op path here too.
#pragma once

#include <initializer_list>
#include <optional>

#include "fulgur/kernels/kernel_table.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur::optim::internal {

// Whether `tensors` (all defined, on one non-CPU device, contiguous, one dtype, one element
// count) can go to that device's multi-tensor kernels.
inline bool use_device_fused(std::optional<bool> foreach, std::initializer_list<const Tensor*> tensors) {
  if (foreach == false) return false;
  const Tensor& first = **tensors.begin();
  if (!first.defined() || first.device().is_cpu()) return false;
  const kernels::KernelTable& table = kernels::kernels_for(first.device().type);
  if (!table.supports_multi_tensor || !table.supports_multi_tensor(first.dtype())) return false;
  for (const Tensor* t : tensors) {
    if (!t->defined() || t->device() != first.device() || !t->is_contiguous() || t->dtype() != first.dtype() ||
        t->numel() != first.numel())
      return false;
  }
  return true;
}

}  // namespace fulgur::optim::internal
