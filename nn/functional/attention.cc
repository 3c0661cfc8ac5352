#include "fulgur/nn/functional/attention.h"

#include <cmath>
#include <limits>

#include "fulgur/nn/functional/dropout.h"
#include "fulgur/nn/functional/linear.h"
#include "fulgur/tensor/autocast.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::nn::functional {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Appends one column (false / 0) to the last dim of a mask (PyTorch's pad(mask, (0, 1))).
Tensor pad_last(const Tensor& mask) {
  Shape shape = mask.sizes().vec();
  shape.back() = 1;
  return cat({mask, zeros(shape, {.dtype = mask.dtype(), .device = mask.device()})}, -1);
}

bool is_mask_dtype(const Tensor& m) { return m.dtype() == DType::Bool || m.is_floating_point(); }

}  // namespace

Tensor causal_mask(int64_t L, std::optional<int64_t> S, Device device) {
  const int64_t s = S ? *S : L;
  FULGUR_CHECK(L >= 0 && s >= 0, "causal_mask", "sizes must be non-negative, got ", L, " and ", s);
  const Tensor i = arange(L, {.device = device}).unsqueeze(1);
  const Tensor j = arange(s, {.device = device}).unsqueeze(0);
  return j.gt(i);
}

std::tuple<Tensor, Tensor> scaled_dot_product_attention_with_weights(const Tensor& query, const Tensor& key,
                                                                      const Tensor& value, const Tensor& attn_mask,
                                                                      double dropout_p, bool is_causal,
                                                                      std::optional<double> scale,
                                                                      Generator* generator) {
  if (is_autocast_enabled(query.device().type)) {  // in autocast's lower-precision list
    const Tensor q = autocast::to_lower(query), k = autocast::to_lower(key), v = autocast::to_lower(value),
                 m = autocast::to_lower(attn_mask);
    if (q.dtype() != query.dtype() || k.dtype() != key.dtype() || v.dtype() != value.dtype() ||
        (attn_mask.defined() && m.dtype() != attn_mask.dtype()))
      return scaled_dot_product_attention_with_weights(q, k, v, m, dropout_p, is_causal, scale, generator);
  }
  const char* op = "scaled_dot_product_attention";
  FULGUR_CHECK(query.dim() >= 2 && key.dim() >= 2 && value.dim() >= 2, op,
               "expected query, key and value of at least 2 dims [..., L, E], got shapes ", shape_str(query.sizes()),
               ", ", shape_str(key.sizes()), ", ", shape_str(value.sizes()));
  FULGUR_CHECK(query.is_floating_point() && key.dtype() == query.dtype() && value.dtype() == query.dtype(), op,
               "expected query, key and value of one floating-point dtype, got ", query.dtype(), ", ", key.dtype(),
               ", ", value.dtype());
  FULGUR_CHECK(query.size(-1) == key.size(-1), op, "query and key must have the same embedding size, got shapes ",
               shape_str(query.sizes()), " and ", shape_str(key.sizes()));
  FULGUR_CHECK(key.size(-2) == value.size(-2), op, "key and value must have the same sequence length, got shapes ",
               shape_str(key.sizes()), " and ", shape_str(value.sizes()));
  FULGUR_CHECK(dropout_p >= 0 && dropout_p <= 1, op, "dropout probability has to be between 0 and 1, but got ",
               dropout_p);
  FULGUR_CHECK(!(is_causal && attn_mask.defined()), op,
               "Explicit attn_mask should not be set when is_causal=True");
  FULGUR_CHECK(!attn_mask.defined() || is_mask_dtype(attn_mask), op,
               "attn_mask must be bool or floating point, got ", attn_mask.dtype());
  const int64_t L = query.size(-2), S = key.size(-2), E = query.size(-1);
  const double s = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(E));
  Tensor scores = query.mul(s).matmul(key.transpose(-2, -1));
  if (is_causal) {
    scores = where(causal_mask(L, S, query.device()), Scalar(-kInf), scores);
  } else if (attn_mask.defined()) {
    scores = attn_mask.dtype() == DType::Bool ? where(attn_mask, scores, Scalar(-kInf))
                                              : scores.add(attn_mask.to(scores.dtype()));
  }
  Tensor weights = scores.softmax(-1);
  if (dropout_p > 0) weights = functional::dropout(weights, dropout_p, /*training=*/true, /*inplace=*/false, generator);
  return {weights.matmul(value), weights};
}

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask, double dropout_p, bool is_causal,
                                    std::optional<double> scale, Generator* generator) {
  return std::get<0>(
      scaled_dot_product_attention_with_weights(query, key, value, attn_mask, dropout_p, is_causal, scale, generator));
}

std::tuple<Tensor, Tensor> multi_head_attention_forward(
    const Tensor& query_in, const Tensor& key_in, const Tensor& value_in, int64_t embed_dim_to_check,
    int64_t num_heads, const Tensor& in_proj_weight, const Tensor& in_proj_bias, const Tensor& bias_k,
    const Tensor& bias_v, bool add_zero_attn, double dropout_p, const Tensor& out_proj_weight,
    const Tensor& out_proj_bias, bool training, const Tensor& key_padding_mask_in, bool need_weights,
    const Tensor& attn_mask_in, bool use_separate_proj_weight, const Tensor& q_proj_weight,
    const Tensor& k_proj_weight, const Tensor& v_proj_weight, const Tensor& static_k, const Tensor& static_v,
    bool average_attn_weights, bool is_causal, Generator* generator) {
  const char* op = "multi_head_attention_forward";
  // ---- shapes (PyTorch's _mha_shape_check) ----
  const bool batched = query_in.dim() == 3;
  FULGUR_CHECK(query_in.dim() == 2 || query_in.dim() == 3, op,
               "query should be unbatched 2D or batched 3D tensor but received ", query_in.dim(), "-D query tensor");
  FULGUR_CHECK(key_in.dim() == query_in.dim() && value_in.dim() == query_in.dim(), op, "For ",
               batched ? "batched (3-D)" : "unbatched (2-D)", " `query`, expected `key` and `value` to be ",
               query_in.dim(), "-D but found ", key_in.dim(), "-D and ", value_in.dim(), "-D tensors respectively");
  if (key_padding_mask_in.defined()) {
    FULGUR_CHECK(key_padding_mask_in.dim() == query_in.dim() - 1, op, "For ",
                 batched ? "batched (3-D)" : "unbatched (2-D)", " `query`, expected `key_padding_mask` to be `None` or ",
                 query_in.dim() - 1, "-D but found ", key_padding_mask_in.dim(), "-D tensor instead");
  }
  if (attn_mask_in.defined()) {
    FULGUR_CHECK(attn_mask_in.dim() == 2 || attn_mask_in.dim() == 3, op, "For ",
                 batched ? "batched (3-D)" : "unbatched (2-D)",
                 " `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found ", attn_mask_in.dim(),
                 "-D tensor instead");
  }
  Tensor query = batched ? query_in : query_in.unsqueeze(1);
  Tensor key = batched ? key_in : key_in.unsqueeze(1);
  Tensor value = batched ? value_in : value_in.unsqueeze(1);
  Tensor key_padding_mask = key_padding_mask_in;
  if (key_padding_mask.defined() && !batched) key_padding_mask = key_padding_mask.unsqueeze(0);

  const int64_t tgt_len = query.size(0), bsz = query.size(1), embed_dim = query.size(2);
  FULGUR_CHECK(embed_dim == embed_dim_to_check, op, "was expecting embedding dimension of ", embed_dim_to_check,
               ", but got ", embed_dim);
  FULGUR_CHECK(num_heads > 0 && embed_dim % num_heads == 0, op, "embed_dim ", embed_dim,
               " not divisible by num_heads ", num_heads);
  const int64_t head_dim = embed_dim / num_heads;
  if (use_separate_proj_weight) {
    FULGUR_CHECK(key.size(0) == value.size(0) && key.size(1) == value.size(1), op, "key's sequence and batch dims ",
                 shape_str(IntArrayRef(key.sizes().data(), 2)), " do not match value's ",
                 shape_str(IntArrayRef(value.sizes().data(), 2)));
  } else {
    FULGUR_CHECK(key.sizes() == value.sizes(), op, "key shape ", shape_str(key.sizes()),
                 " does not match value shape ", shape_str(value.sizes()));
  }

  // ---- input projections ----
  Tensor q, k, v;
  {
    Tensor b_q, b_k, b_v;
    if (in_proj_bias.defined()) {
      const auto chunks = in_proj_bias.chunk(3);
      b_q = chunks[0];
      b_k = chunks[1];
      b_v = chunks[2];
    }
    if (!use_separate_proj_weight) {
      FULGUR_CHECK(in_proj_weight.defined(), op, "use_separate_proj_weight is False but in_proj_weight is None");
      const auto w = in_proj_weight.chunk(3);
      q = functional::linear(query, w[0], b_q);
      k = functional::linear(key, w[1], b_k);
      v = functional::linear(value, w[2], b_v);
    } else {
      FULGUR_CHECK(q_proj_weight.defined() && k_proj_weight.defined() && v_proj_weight.defined(), op,
                   "use_separate_proj_weight is True but q_proj_weight, k_proj_weight or v_proj_weight is None");
      q = functional::linear(query, q_proj_weight, b_q);
      k = functional::linear(key, k_proj_weight, b_k);
      v = functional::linear(value, v_proj_weight, b_v);
    }
  }

  // ---- masks ----
  Tensor attn_mask = attn_mask_in;
  if (attn_mask.defined()) {
    if (attn_mask.dtype() == DType::UInt8) attn_mask = attn_mask.to(DType::Bool);
    FULGUR_CHECK(is_mask_dtype(attn_mask), op, "Only float, byte, and bool types are supported for attn_mask, not ",
                 attn_mask.dtype());
    if (attn_mask.dim() == 2) {
      FULGUR_CHECK(attn_mask.size(0) == tgt_len && attn_mask.size(1) == key.size(0), op,
                   "The shape of the 2D attn_mask is ", shape_str(attn_mask.sizes()), ", but should be [", tgt_len,
                   ", ", key.size(0), "].");
      attn_mask = attn_mask.unsqueeze(0);
    } else {
      FULGUR_CHECK(attn_mask.size(0) == bsz * num_heads && attn_mask.size(1) == tgt_len &&
                       attn_mask.size(2) == key.size(0),
                   op, "The shape of the 3D attn_mask is ", shape_str(attn_mask.sizes()), ", but should be [",
                   bsz * num_heads, ", ", tgt_len, ", ", key.size(0), "].");
    }
  } else if (is_causal) {
    attn_mask = causal_mask(tgt_len, key.size(0), query.device()).unsqueeze(0);
  }
  if (key_padding_mask.defined() && key_padding_mask.dtype() == DType::UInt8)
    key_padding_mask = key_padding_mask.to(DType::Bool);
  if (key_padding_mask.defined())
    FULGUR_CHECK(is_mask_dtype(key_padding_mask), op,
                 "only bool and floating types of key_padding_mask are supported, got ", key_padding_mask.dtype());

  // ---- bias_k / bias_v ----
  if (bias_k.defined() && bias_v.defined()) {
    FULGUR_CHECK(!static_k.defined(), op, "bias cannot be added to static key.");
    FULGUR_CHECK(!static_v.defined(), op, "bias cannot be added to static value.");
    k = cat({k, bias_k.expand({1, bsz, embed_dim})});
    v = cat({v, bias_v.expand({1, bsz, embed_dim})});
    if (attn_mask.defined()) attn_mask = pad_last(attn_mask);
    if (key_padding_mask.defined()) key_padding_mask = pad_last(key_padding_mask);
  } else {
    FULGUR_CHECK(!bias_k.defined() && !bias_v.defined(), op, "bias_k and bias_v must be given together");
  }

  // ---- split heads: [L, N, E] -> [N * H, L, head_dim] ----
  q = q.contiguous().view({tgt_len, bsz * num_heads, head_dim}).transpose(0, 1);
  if (!static_k.defined()) {
    k = k.contiguous().view({k.size(0), bsz * num_heads, head_dim}).transpose(0, 1);
  } else {
    FULGUR_CHECK(static_k.dim() == 3 && static_k.size(0) == bsz * num_heads && static_k.size(2) == head_dim, op,
                 "expecting static_k of shape [", bsz * num_heads, ", S, ", head_dim, "], but got ",
                 shape_str(static_k.sizes()));
    k = static_k;
  }
  if (!static_v.defined()) {
    v = v.contiguous().view({v.size(0), bsz * num_heads, head_dim}).transpose(0, 1);
  } else {
    FULGUR_CHECK(static_v.dim() == 3 && static_v.size(0) == bsz * num_heads && static_v.size(2) == head_dim, op,
                 "expecting static_v of shape [", bsz * num_heads, ", S, ", head_dim, "], but got ",
                 shape_str(static_v.sizes()));
    v = static_v;
  }
  if (add_zero_attn) {
    const Shape zshape{bsz * num_heads, 1, head_dim};
    k = cat({k, zeros(zshape, {.dtype = k.dtype(), .device = k.device()})}, 1);
    v = cat({v, zeros(zshape, {.dtype = v.dtype(), .device = v.device()})}, 1);
    if (attn_mask.defined()) attn_mask = pad_last(attn_mask);
    if (key_padding_mask.defined()) key_padding_mask = pad_last(key_padding_mask);
  }
  const int64_t src_len = k.size(1);

  // ---- merge the key padding mask into the attention mask; bool -> -inf ----
  if (key_padding_mask.defined()) {
    FULGUR_CHECK(key_padding_mask.size(0) == bsz && key_padding_mask.size(1) == src_len, op,
                 "expecting key_padding_mask shape of [", bsz, ", ", src_len, "], but got ",
                 shape_str(key_padding_mask.sizes()));
    Tensor kpm = key_padding_mask.view({bsz, 1, 1, src_len})
                     .expand({bsz, num_heads, 1, src_len})
                     .reshape({bsz * num_heads, 1, src_len});
    if (!attn_mask.defined()) {
      attn_mask = kpm;
    } else if (attn_mask.dtype() == DType::Bool && kpm.dtype() == DType::Bool) {
      attn_mask = attn_mask.logical_or(kpm);
    } else {
      // Either may be float: bool entries become -inf, floats add.
      auto as_float = [&](const Tensor& m) {
        return m.dtype() == DType::Bool ? where(m, Scalar(-kInf), Scalar(0.0)).to(q.dtype()) : m.to(q.dtype());
      };
      attn_mask = as_float(attn_mask).add(as_float(kpm));
    }
  }
  if (attn_mask.defined() && attn_mask.dtype() == DType::Bool) {
    attn_mask = where(attn_mask, Scalar(-kInf), Scalar(0.0)).to(q.dtype());
  }
  if (!training) dropout_p = 0.0;

  // ---- attention (PyTorch 1.13's _scaled_dot_product_attention) ----
  const Tensor qs = q.div(std::sqrt(static_cast<double>(head_dim)));
  Tensor attn = qs.matmul(k.transpose(-2, -1));
  if (attn_mask.defined()) attn = attn.add(attn_mask.to(attn.dtype()));
  attn = attn.softmax(-1);
  if (dropout_p > 0.0) attn = functional::dropout(attn, dropout_p, /*training=*/true, /*inplace=*/false, generator);
  Tensor out = attn.matmul(v);  // [N * H, L, head_dim]
  out = out.transpose(0, 1).contiguous().view({tgt_len * bsz, embed_dim});
  out = functional::linear(out, out_proj_weight, out_proj_bias).view({tgt_len, bsz, out_proj_weight.size(0)});

  Tensor weights;
  if (need_weights) {
    weights = attn.view({bsz, num_heads, tgt_len, src_len});
    if (average_attn_weights) weights = weights.sum({1}).div(static_cast<double>(num_heads));
    if (!batched) weights = weights.squeeze(0);
  }
  if (!batched) out = out.squeeze(1);
  return {out, weights};
}

}  // namespace fulgur::nn::functional
