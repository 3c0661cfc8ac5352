// Training-mode batch normalisation as one op, where the device's kernel table has it (an
// optional family: the CUDA backend's cuDNN). nn::functional::batch_norm takes this path in
// training when it can and otherwise composes mean / var / rsqrt; both compute torch's
// batch_norm (running variance unbiased, normalisation biased).
//
// The fused op reads x twice forward (statistics, then y), updates the running statistics in
// the same launch, and keeps O(channels) extra memory (each channel's mean and 1/std) for a
// backward of one launch, instead of a dozen element-wise and reduction launches with their
// temporaries. Evaluation mode stays composed: an affine map with the running statistics.
//
//   if (has_fused_batch_norm(x, rm, rv, w, b)) y = fused_batch_norm(x, w, b, rm, rv, 0.1, 1e-5);
#pragma once

#include <vector>

#include "fulgur/tensor/tensor.h"

namespace fulgur {

// Whether x's device has the fused op for these tensors: the table's supports_batch_norm says
// yes, cuDNN is enabled, x [N, C, *] is not empty, and each of weight, bias, running_mean,
// running_var is undefined or a contiguous [C] of x's statistics dtype (float64 for float64 x,
// float32 otherwise) on x's device; the running statistics both or neither.
bool has_fused_batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                          const Tensor& weight, const Tensor& bias);

// y = (x - batch mean) / sqrt(batch var + eps) * weight + bias over dims 0 and 2.., with the
// running statistics (when defined) updated in place. Differentiable in x, weight and bias
// (one OpId::BatchNorm node).
Tensor fused_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                        const Tensor& running_var, double momentum, double eps);

namespace internal {
// {dx, dweight, dbias} of fused_batch_norm (x [N, C, *] contiguous) from the saved statistics: the
// fused kernel, or (create_graph) the same formulas in tensor ops with the statistics
// recomputed from x so that they carry its history. Each gradient only when its need_* is set.
std::vector<Tensor> fused_batch_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                                              const Tensor& save_invstd, const Tensor& grad_y, double eps,
                                              bool need_dx, bool need_dweight, bool need_dbias);
}  // namespace internal

}  // namespace fulgur
