// Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_), in place on each
// parameter's .grad(); parameters without a gradient are skipped.
#pragma once

#include <limits>
#include <vector>

#include "fulgur/tensor/tensor.h"

namespace fulgur::nn::utils {

// Scales every gradient by min(1, max_norm / (total_norm + 1e-6)), where total_norm is the
// norm_type-norm of all gradients together (norm_type = infinity: the largest |g|). Returns
// total_norm as a 0-dim tensor (float32 0 when no parameter has a gradient). With
// error_if_nonfinite a NaN/Inf total norm throws instead of scaling.
Tensor clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
inline Tensor clip_grad_norm_(const Tensor& parameter, double max_norm, double norm_type = 2.0,
                              bool error_if_nonfinite = false) {
  return clip_grad_norm_(std::vector<Tensor>{parameter}, max_norm, norm_type, error_if_nonfinite);
}

// Clamps every gradient to [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value);
inline void clip_grad_value_(const Tensor& parameter, double clip_value) {
  clip_grad_value_(std::vector<Tensor>{parameter}, clip_value);
}

inline constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace fulgur::nn::utils

namespace fulgur::nn {
using utils::clip_grad_norm_;
using utils::clip_grad_value_;
}  // namespace fulgur::nn
