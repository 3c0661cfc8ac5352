// F::batch_norm and F::group_norm (torch.nn.functional), written with differentiable tensor
// ops (gradients to any order by composition).
#pragma once

#include "fulgur/tensor/tensor.h"

namespace fulgur::nn::functional {

// input [N, C, *] normalised per channel C. training: with the batch statistics over every
// dim but 1 (biased variance), and running_mean / running_var (when defined, shape [C])
// updated in place without recording: running = (1 - momentum) * running + momentum * stat,
// running_var with the unbiased (Bessel-corrected) batch variance, as PyTorch. Not training:
// with running_mean / running_var (both required). Then * weight + bias (each [C] or
// undefined). Training needs more than one value per channel.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), bool training = false,
                  double momentum = 0.1, double eps = 1e-5);

// input [N, C, *]: channels split into num_groups groups, each (sample, group) normalised
// over its channels and positions (biased variance), then * weight + bias per channel ([C]
// or undefined). C must be divisible by num_groups.
Tensor group_norm(const Tensor& input, int64_t num_groups, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

}  // namespace fulgur::nn::functional
