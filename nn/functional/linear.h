// F::linear and F::bilinear (torch.nn.functional).
#pragma once

#include "fulgur/tensor/tensor.h"

namespace fulgur::nn::functional {

// x [*, in] @ weight[out, in]^T + bias[out] -> [*, out]. bias may be undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// y[*, o] = sum_ij x1[*, i] weight[o, i, j] x2[*, j] + bias[o]. x1 [*, in1] and x2 [*, in2]
// have the same leading dims; weight [out, in1, in2]; bias [out] or undefined.
Tensor bilinear(const Tensor& x1, const Tensor& x2, const Tensor& weight,
                const Tensor& bias = Tensor());

}  // namespace fulgur::nn::functional
