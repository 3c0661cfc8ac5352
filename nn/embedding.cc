#include "fulgur/nn/embedding.h"

#include "fulgur/autograd/autograd.h"
#include "fulgur/nn/init.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::nn {

Embedding::Embedding(int64_t num, int64_t dim, const EmbeddingOptions& o)
    : num_embeddings(num),
      embedding_dim(dim),
      padding_idx(o.padding_idx),
      max_norm(o.max_norm),
      norm_type(o.norm_type),
      scale_grad_by_freq(o.scale_grad_by_freq) {
  FULGUR_CHECK(num >= 0 && dim >= 0, "Embedding", "num_embeddings and embedding_dim must be non-negative, got ",
               num, " and ", dim);
  FULGUR_CHECK(is_floating(o.dtype), "Embedding", "weight must be floating point, got dtype ", o.dtype);
  if (padding_idx) {
    FULGUR_CHECK(*padding_idx >= -num && *padding_idx < num, "Embedding",
                 "Padding_idx must be within num_embeddings (", num, "), got ", *padding_idx);
    if (*padding_idx < 0) *padding_idx += num;
  }
  weight = register_parameter("weight", empty({num, dim}, {.dtype = o.dtype, .device = o.device}));
  reset_parameters();
}

void Embedding::reset_parameters() {
  init::normal_(weight);
  if (padding_idx) {
    NoGradGuard no_grad;
    Tensor row = weight.select(0, *padding_idx);
    row.fill_(0);
  }
}

std::shared_ptr<Embedding> Embedding::from_pretrained(const Tensor& embeddings, bool freeze,
                                                      const EmbeddingOptions& options) {
  FULGUR_CHECK(embeddings.dim() == 2, "Embedding::from_pretrained", "Embeddings parameter is expected to be 2-dimensional, got ",
               shape_str(embeddings.sizes()));
  EmbeddingOptions o = options;
  o.dtype = embeddings.dtype();
  o.device = embeddings.device();
  auto e = std::make_shared<Embedding>(embeddings.size(0), embeddings.size(1), o);
  {
    NoGradGuard no_grad;
    e->weight.copy_(embeddings);
  }
  e->weight.requires_grad_(!freeze);
  return e;
}

Tensor Embedding::forward(const Tensor& indices) {
  return functional::embedding(indices, weight,
                               {.padding_idx = padding_idx,
                                .max_norm = max_norm,
                                .norm_type = norm_type,
                                .scale_grad_by_freq = scale_grad_by_freq});
}

std::string Embedding::extra_repr() const {
  std::string s = std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim);
  if (padding_idx) s += ", padding_idx=" + std::to_string(*padding_idx);
  if (max_norm) s += ", max_norm=" + repr_float(*max_norm);
  if (norm_type != 2) s += ", norm_type=" + repr_float(norm_type);
  if (scale_grad_by_freq) s += ", scale_grad_by_freq=True";
  return s;
}

}  // namespace fulgur::nn
