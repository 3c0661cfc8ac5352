// Multi-head attention (torch.nn.MultiheadAttention).
//
//   auto mha = nn::MultiheadAttention(64, 8, {.dropout = 0.1, .batch_first = true});
//   auto [out, weights] = mha(x, x, x, {.key_padding_mask = pad, .is_causal = true});
//
// Parameters under PyTorch's names, in its order: in_proj_weight [3E, E] (xavier_uniform_)
// — or q_proj_weight [E, E], k_proj_weight [E, kdim], v_proj_weight [E, vdim] when kdim or
// vdim differ from E — in_proj_bias [3E] (zeros), bias_k / bias_v [1, 1, E] (xavier_normal_,
// with add_bias_kv), then the child out_proj (a Linear printed as
// NonDynamicallyQuantizableLinear: weight with Linear's init, bias zeros).
#pragma once

#include <cstdint>
#include <optional>
#include <tuple>

#include "fulgur/nn/linear.h"
#include "fulgur/nn/module.h"
#include "fulgur/tensor/generator.h"

namespace fulgur::nn {

// torch.nn.modules.linear.NonDynamicallyQuantizableLinear: a Linear under another name.
class NonDynamicallyQuantizableLinear : public Linear {
 public:
  using Linear::Linear;
  std::string name() const override { return "NonDynamicallyQuantizableLinear"; }
};

struct MultiheadAttentionOptions {
  double dropout = 0.0;  // on the attention weights, in training
  bool bias = true;
  bool add_bias_kv = false;
  bool add_zero_attn = false;
  std::optional<int64_t> kdim = std::nullopt;  // default: embed_dim
  std::optional<int64_t> vdim = std::nullopt;
  bool batch_first = false;  // inputs [N, L, E] instead of [L, N, E]
  Generator* generator = nullptr;  // dropout draws (null: the default generator)
  DType dtype = DType::Float32;
  Device device = kCPU;
};

// The optional arguments of forward (PyTorch's keyword arguments).
struct MultiheadAttentionArgs {
  Tensor key_padding_mask = Tensor();  // [N, S] (or [S]): bool true = ignore the key; float added
  bool need_weights = true;
  Tensor attn_mask = Tensor();  // [L, S] or [N * num_heads, L, S]: bool true = masked; float added
  bool average_attn_weights = true;
  bool is_causal = false;  // without attn_mask: mask key j > query i
};

class MultiheadAttention : public Module {
 public:
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, const MultiheadAttentionOptions& options = {});

  // (attn_output, attention weights) as PyTorch: output [L, N, E] ([N, L, E] with batch_first;
  // [L, E] unbatched); weights [N, L, S] averaged over heads, [N, num_heads, L, S] without
  // average_attn_weights, undefined without need_weights.
  std::tuple<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                     const MultiheadAttentionArgs& args = {});
  std::tuple<Tensor, Tensor> operator()(const Tensor& query, const Tensor& key, const Tensor& value,
                                        const MultiheadAttentionArgs& args = {}) {
    return forward(query, key, value, args);
  }
  // Self-attention output only (query = key = value = x), for containers.
  Tensor forward(const Tensor& x) override;
  using Module::operator();
  std::string name() const override { return "MultiheadAttention"; }
  void reset_parameters();

  int64_t embed_dim, kdim, vdim, num_heads, head_dim;
  double dropout;
  bool batch_first;
  bool add_zero_attn;
  Generator* generator;
  Tensor in_proj_weight;                              // undefined when kdim/vdim differ
  Tensor q_proj_weight, k_proj_weight, v_proj_weight;  // defined only then
  Tensor in_proj_bias;                                // undefined without bias
  Tensor bias_k, bias_v;                              // defined with add_bias_kv
  std::shared_ptr<NonDynamicallyQuantizableLinear> out_proj;

 private:
  bool qkv_same_embed_dim_;
};

}  // namespace fulgur::nn
