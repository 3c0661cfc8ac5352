// Embedding (torch.nn.Embedding): a lookup table of num_embeddings vectors of embedding_dim.
#pragma once

#include <cstdint>
#include <optional>

#include "fulgur/nn/functional/embedding.h"
#include "fulgur/nn/module.h"

namespace fulgur::nn {

struct EmbeddingOptions {
  std::optional<int64_t> padding_idx = std::nullopt;  // that row starts at 0 and gets no gradient
  std::optional<double> max_norm = std::nullopt;      // renormalise looked-up rows (in place)
  double norm_type = 2.0;
  bool scale_grad_by_freq = false;
  DType dtype = DType::Float32;
  Device device = kCPU;
};

// weight [num_embeddings, embedding_dim] ~ N(0, 1), with the padding_idx row zeroed.
// forward(indices int64/int32 of any shape) -> indices' shape + [embedding_dim].
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, const EmbeddingOptions& options = {});
  // Wraps an existing [num, dim] tensor (copied to a new parameter; freeze: no grad).
  static std::shared_ptr<Embedding> from_pretrained(const Tensor& embeddings, bool freeze = true,
                                                    const EmbeddingOptions& options = {});
  Tensor forward(const Tensor& indices) override;
  std::string name() const override { return "Embedding"; }
  std::string extra_repr() const override;
  void reset_parameters();

  int64_t num_embeddings;
  int64_t embedding_dim;
  std::optional<int64_t> padding_idx;  // normalised to [0, num_embeddings)
  std::optional<double> max_norm;
  double norm_type;
  bool scale_grad_by_freq;
  Tensor weight;
};

}  // namespace fulgur::nn
