// F::layer_norm (torch.nn.functional.layer_norm).
#pragma once

#include "fulgur/tensor/tensor.h"

namespace fulgur::nn::functional {

// Normalises over the last normalized_shape.size() dims (which must equal normalized_shape):
// (x - mean) / sqrt(var + eps) with the biased variance, then * weight + bias (each of shape
// normalized_shape, or undefined).
Tensor layer_norm(const Tensor& x, IntArrayRef normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

}  // namespace fulgur::nn::functional
