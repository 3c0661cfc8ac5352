// F::max_pool1d/2d/3d (with indices), F::avg_pool1d/2d/3d, F::adaptive_avg_pool1d/2d
// (torch.nn.functional), PyTorch 1.13 semantics: output sizes (ceil_mode included: the last
// window must start inside the input or its left padding), padding at most half the kernel,
// NaN propagating through max pooling, average divisors (count_include_pad counts the
// padding but not what ceil_mode adds past it; divisor_override replaces both).
//
// Inputs are batched [N, C, *spatial] or unbatched [C, *spatial]. An empty stride means
// stride = kernel_size. Window arguments take one value for every spatial dim or one per
// dim. Max pooling is a kernel whose gradient scatters to the saved indices; average pooling
// is im2col + a sum; adaptive average pooling is average pooling when the output divides
// the input, else two small matmuls with averaging matrices. All are differentiable.
#pragma once

#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

#include "fulgur/tensor/tensor.h"

namespace fulgur::nn::functional {

Tensor max_pool1d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride = {}, IntArrayRef padding = {0},
                  IntArrayRef dilation = {1}, bool ceil_mode = false);
Tensor max_pool2d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride = {}, IntArrayRef padding = {0},
                  IntArrayRef dilation = {1}, bool ceil_mode = false);
Tensor max_pool3d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride = {}, IntArrayRef padding = {0},
                  IntArrayRef dilation = {1}, bool ceil_mode = false);
// return_indices=True: (values, int64 indices), each index the flat position of the maximum
// within its (n, c) plane of the input (what max_unpool takes).
std::tuple<Tensor, Tensor> max_pool1d_with_indices(const Tensor& input, IntArrayRef kernel_size,
                                                   IntArrayRef stride = {}, IntArrayRef padding = {0},
                                                   IntArrayRef dilation = {1}, bool ceil_mode = false);
std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, IntArrayRef kernel_size,
                                                   IntArrayRef stride = {}, IntArrayRef padding = {0},
                                                   IntArrayRef dilation = {1}, bool ceil_mode = false);
std::tuple<Tensor, Tensor> max_pool3d_with_indices(const Tensor& input, IntArrayRef kernel_size,
                                                   IntArrayRef stride = {}, IntArrayRef padding = {0},
                                                   IntArrayRef dilation = {1}, bool ceil_mode = false);

Tensor avg_pool1d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride = {}, IntArrayRef padding = {0},
                  bool ceil_mode = false, bool count_include_pad = true);
Tensor avg_pool2d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride = {}, IntArrayRef padding = {0},
                  bool ceil_mode = false, bool count_include_pad = true,
                  std::optional<int64_t> divisor_override = std::nullopt);
Tensor avg_pool3d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride = {}, IntArrayRef padding = {0},
                  bool ceil_mode = false, bool count_include_pad = true,
                  std::optional<int64_t> divisor_override = std::nullopt);

// An adaptive output size: one entry per spatial dim (or one for all); std::nullopt (Python's
// None) keeps the input's size. `F::adaptive_avg_pool2d(x, {5, 7})`, `{std::nullopt, 7}`, `1`.
class AdaptiveSize {
 public:
  AdaptiveSize(int value) : AdaptiveSize(static_cast<int64_t>(value)) {}  // NOLINT
  AdaptiveSize(int64_t value) : values_{value}, scalar_(true) {}          // NOLINT
  AdaptiveSize(std::initializer_list<std::optional<int64_t>> values) : values_(values) {}  // NOLINT
  AdaptiveSize(std::vector<std::optional<int64_t>> values) : values_(std::move(values)) {}  // NOLINT
  bool is_scalar() const { return scalar_; }
  const std::vector<std::optional<int64_t>>& values() const { return values_; }
  // "5", "(5, 7)", "(None, 7)" as PyTorch prints output_size.
  std::string repr() const;

 private:
  std::vector<std::optional<int64_t>> values_;
  bool scalar_ = false;
};

// Output window o of a dim covers input [floor(o * in / out), ceil((o + 1) * in / out)).
Tensor adaptive_avg_pool1d(const Tensor& input, const AdaptiveSize& output_size);
Tensor adaptive_avg_pool2d(const Tensor& input, const AdaptiveSize& output_size);
Tensor adaptive_avg_pool3d(const Tensor& input, const AdaptiveSize& output_size);

}  // namespace fulgur::nn::functional
