// F::scaled_dot_product_attention and F::multi_head_attention_forward (torch.nn.functional),
// written with differentiable tensor ops.
#pragma once

#include <cstdint>
#include <optional>
#include <tuple>

#include "fulgur/tensor/generator.h"
#include "fulgur/tensor/tensor.h"

namespace fulgur::nn::functional {

// softmax(query @ key^T * scale + bias) @ value, with dropout (probability dropout_p, drawn
// from `generator`, the default generator when null) on the attention weights; PyTorch 2.x's
// function (1.13 has only a private form). query [..., L, E], key [..., S, E], value
// [..., S, Ev] -> [..., L, Ev], batch dims broadcast. scale defaults to 1 / sqrt(E).
// attn_mask broadcasts to [..., L, S]: bool keeps the positions that are true (the others
// get -inf), float is added. is_causal masks key positions j > i (top-left aligned), and
// then attn_mask must be undefined. A query row whose keys are all masked gives NaN, as in
// PyTorch.
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask = Tensor(), double dropout_p = 0.0,
                                    bool is_causal = false, std::optional<double> scale = std::nullopt,
                                    Generator* generator = nullptr);
// The same, also returning the attention weights [..., L, S] (after dropout).
std::tuple<Tensor, Tensor> scaled_dot_product_attention_with_weights(
    const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& attn_mask = Tensor(),
    double dropout_p = 0.0, bool is_causal = false, std::optional<double> scale = std::nullopt,
    Generator* generator = nullptr);

// torch.nn.functional.multi_head_attention_forward (PyTorch 1.13, arguments in its order),
// sequence-first: query [L, N, E] (or unbatched [L, E]), key/value [S, N, E_k] / [S, N, E_v]
// (E_k = E_v = E unless use_separate_proj_weight). Returns (attn_output [L, N, E], attention
// weights [N, L, S] averaged over heads, or [N, num_heads, L, S] without
// average_attn_weights; undefined without need_weights). Unbatched inputs drop the N dim.
//
// - in_proj_weight [3E, E] / in_proj_bias [3E] (q, k, v stacked), or with
//   use_separate_proj_weight q/k/v_proj_weight and the bias chunks of in_proj_bias.
// - bias_k / bias_v [1, 1, E]: appended to the keys / values (both or neither); add_zero_attn
//   appends a zero key and value after the heads are split.
// - key_padding_mask [N, S] (or [S] unbatched): bool, true = ignore that key; or float, added.
// - attn_mask [L, S] or [N * num_heads, L, S]: bool, true = not allowed to attend; or float,
//   added. is_causal without attn_mask builds the causal mask (key j > query i masked); with
//   attn_mask it is a hint and attn_mask is used as given.
// - static_k / static_v [N * num_heads, S, E / num_heads]: used instead of the projected keys
//   / values.
// - dropout on the attention weights only when training (generator: the default when null).
std::tuple<Tensor, Tensor> multi_head_attention_forward(
    const Tensor& query, const Tensor& key, const Tensor& value, int64_t embed_dim_to_check, int64_t num_heads,
    const Tensor& in_proj_weight, const Tensor& in_proj_bias, const Tensor& bias_k, const Tensor& bias_v,
    bool add_zero_attn, double dropout_p, const Tensor& out_proj_weight, const Tensor& out_proj_bias,
    bool training = true, const Tensor& key_padding_mask = Tensor(), bool need_weights = true,
    const Tensor& attn_mask = Tensor(), bool use_separate_proj_weight = false,
    const Tensor& q_proj_weight = Tensor(), const Tensor& k_proj_weight = Tensor(),
    const Tensor& v_proj_weight = Tensor(), const Tensor& static_k = Tensor(), const Tensor& static_v = Tensor(),
    bool average_attn_weights = true, bool is_causal = false, Generator* generator = nullptr);

// The boolean causal mask [L, S]: true where key j > query i (PyTorch's
// Transformer.generate_square_subsequent_mask, as bool; `F::causal_mask(L).logical_not()` is
// the form scaled_dot_product_attention takes).
Tensor causal_mask(int64_t L, std::optional<int64_t> S = std::nullopt, Device device = kCPU);

}  // namespace fulgur::nn::functional
