#include "fulgur/nn/attention.h"

#include "fulgur/nn/functional/attention.h"
#include "fulgur/nn/init.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::nn {

MultiheadAttention::MultiheadAttention(int64_t e, int64_t heads, const MultiheadAttentionOptions& o)
    : embed_dim(e), kdim(o.kdim ? *o.kdim : e), vdim(o.vdim ? *o.vdim : e), num_heads(heads),
      head_dim(heads > 0 ? e / heads : 0), dropout(o.dropout), batch_first(o.batch_first),
      add_zero_attn(o.add_zero_attn), generator(o.generator) {
  const char* op = "MultiheadAttention";
  FULGUR_CHECK(e > 0 && heads > 0, op, "embed_dim and num_heads must be greater than 0, got embed_dim=", e,
               " and num_heads=", heads);
  FULGUR_CHECK(head_dim * heads == e, op, "embed_dim must be divisible by num_heads");
  FULGUR_CHECK(o.dropout >= 0 && o.dropout <= 1, op, "dropout probability has to be between 0 and 1, but got ",
               o.dropout);
  FULGUR_CHECK(is_floating(o.dtype), op, "parameters must be floating point, got dtype ", o.dtype);
  qkv_same_embed_dim_ = kdim == e && vdim == e;
  const TensorOptions f{.dtype = o.dtype, .device = o.device};
  if (!qkv_same_embed_dim_) {
    q_proj_weight = register_parameter("q_proj_weight", empty({e, e}, f));
    k_proj_weight = register_parameter("k_proj_weight", empty({e, kdim}, f));
    v_proj_weight = register_parameter("v_proj_weight", empty({e, vdim}, f));
    register_parameter("in_proj_weight", Tensor());
  } else {
    in_proj_weight = register_parameter("in_proj_weight", empty({3 * e, e}, f));
    register_parameter("q_proj_weight", Tensor());
    register_parameter("k_proj_weight", Tensor());
    register_parameter("v_proj_weight", Tensor());
  }
  in_proj_bias = register_parameter("in_proj_bias", o.bias ? empty({3 * e}, f) : Tensor());
  out_proj = register_module("out_proj", std::make_shared<NonDynamicallyQuantizableLinear>(
                                             e, e, LinearOptions{.bias = o.bias, .dtype = o.dtype, .device = o.device}));
  if (o.add_bias_kv) {
    bias_k = register_parameter("bias_k", empty({1, 1, e}, f));
    bias_v = register_parameter("bias_v", empty({1, 1, e}, f));
  }
  reset_parameters();
}

void MultiheadAttention::reset_parameters() {
  if (qkv_same_embed_dim_) {
    init::xavier_uniform_(in_proj_weight);
  } else {
    init::xavier_uniform_(q_proj_weight);
    init::xavier_uniform_(k_proj_weight);
    init::xavier_uniform_(v_proj_weight);
  }
  if (in_proj_bias.defined()) {
    init::constant_(in_proj_bias, 0.0);
    init::constant_(out_proj->bias, 0.0);
  }
  if (bias_k.defined()) init::xavier_normal_(bias_k);
  if (bias_v.defined()) init::xavier_normal_(bias_v);
}

std::tuple<Tensor, Tensor> MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                                       const MultiheadAttentionArgs& a) {
  const bool batched = query.dim() == 3;
  const bool transpose = batch_first && batched;
  const Tensor q = transpose ? query.transpose(1, 0) : query;
  const Tensor k = transpose ? key.transpose(1, 0) : key;
  const Tensor v = transpose ? value.transpose(1, 0) : value;
  auto [out, weights] = functional::multi_head_attention_forward(
      q, k, v, embed_dim, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn, dropout,
      out_proj->weight, out_proj->bias, is_training(), a.key_padding_mask, a.need_weights, a.attn_mask,
      !qkv_same_embed_dim_, q_proj_weight, k_proj_weight, v_proj_weight, Tensor(), Tensor(), a.average_attn_weights,
      a.is_causal, generator);
  if (transpose) out = out.transpose(1, 0);
  return {out, weights};
}

Tensor MultiheadAttention::forward(const Tensor& x) {
  return std::get<0>(forward(x, x, x, MultiheadAttentionArgs{.need_weights = false}));
}

}  // namespace fulgur::nn
