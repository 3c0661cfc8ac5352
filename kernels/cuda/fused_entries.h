// The kernel table's optional fused families (kernels/kernel_table.h) on the CUDA backend:
// each entry turns the table's plain arguments (kernels/kernel_args.h) into a call of the
// fused launcher (cross_entropy.h, layer_norm.h, adam.h, amp.h) on `stream`, for a real GPU
// (Exec::Gpu) or the emulated device (Exec::Emulated). float32 only: the launchers' dtype.
// backend.cc puts them in the table, choosing the device and stream.
#pragma once

#include "fulgur/kernels/cuda/exec.h"
#include "fulgur/kernels/kernel_args.h"

namespace fulgur::cuda {

bool fused_supports(DType dtype);  // the dtype every fused family takes: float32

template <Exec E>
void fused_cross_entropy_forward(const kernels::CrossEntropyArgs& args, void* stream);
template <Exec E>
void fused_cross_entropy_backward(const kernels::CrossEntropyArgs& args, void* stream);

template <Exec E>
void fused_layer_norm_forward(const kernels::LayerNormArgs& args, void* stream);
template <Exec E>
void fused_layer_norm_backward(const kernels::LayerNormArgs& args, void* stream);

template <Exec E>
void fused_adam_step(const kernels::AdamArgs& args, void* stream);
template <Exec E>
void fused_unscale_and_check_finite(const kernels::UnscaleArgs& args, void* stream);

}  // namespace fulgur::cuda
