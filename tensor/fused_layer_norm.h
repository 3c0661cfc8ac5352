// Fused LayerNorm over the last dimension, where the device's kernel table has it (an
// optional family: the CUDA backend, float32). nn::functional::layer_norm takes this path when
// it can and otherwise composes mean / var / rsqrt; both give PyTorch's values.
// The fused path reads x twice forward (statistics, then y) and keeps O(rows) extra memory
// (each row's mean and 1/std) for a backward that writes dx, dgamma and dbeta in three
// kernels, instead of a dozen element-wise and reduction launches with their temporaries.
//
//   if (has_fused_layer_norm(x)) y = fused_layer_norm(x.reshape({-1, cols}), weight, bias, 1e-5);
#pragma once

#include "fulgur/tensor/tensor.h"

namespace fulgur {

// Whether x's device and dtype have the fused kernels.
bool has_fused_layer_norm(const Tensor& x);

// x [rows, cols] (a contiguous copy is made when needed); weight / bias [cols] on x's device,
// or undefined (no affine). Returns y [rows, cols]. Differentiable in x, weight and bias (one
// OpId::LayerNorm node).
Tensor fused_layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);

namespace internal {
// {dx, dweight, dbias} of fused_layer_norm from the saved mean and 1/std and the gradient of y
// (dweight / dbias undefined when weight / bias is empty): the fused kernels, or (create_graph:
// the result must be differentiable again) the same formulas in tensor ops, with the
// statistics recomputed from x so that they carry x's history.
std::vector<Tensor> fused_layer_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                              const Tensor& mean, const Tensor& rstd, const Tensor& grad_y,
                                              double eps);
}  // namespace internal

}  // namespace fulgur
