// F::embedding (torch.nn.functional.embedding).
#pragma once

#include <cstdint>
#include <optional>

#include "fulgur/tensor/tensor.h"

namespace fulgur::nn::functional {

struct EmbeddingFuncOptions {
  // Entries equal to padding_idx get no gradient (negative counts from the end).
  std::optional<int64_t> padding_idx = std::nullopt;
  // Rows looked up whose norm_type-norm exceeds max_norm are rescaled to max_norm, in
  // place in weight (no gradient), before the lookup.
  std::optional<double> max_norm = std::nullopt;
  double norm_type = 2.0;
  // Scales each row's gradient by 1 / (its count in input).
  bool scale_grad_by_freq = false;
};

// weight[input]: input int64/int32 of any shape, weight [num_embeddings, dim] -> input's
// shape + [dim].
Tensor embedding(const Tensor& input, const Tensor& weight, const EmbeddingFuncOptions& options = {});

}  // namespace fulgur::nn::functional
