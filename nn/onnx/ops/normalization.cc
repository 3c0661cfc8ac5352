// BatchNormalization (inference: running statistics), LayerNormalization and
// InstanceNormalization.
#include "fulgur/nn/functional/layer_norm.h"
#include "fulgur/nn/functional/normalization.h"
#include "fulgur/nn/onnx/op_registry.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::onnx {
namespace {

namespace F = fulgur::nn::functional;

// [C] -> [C, 1, ...] to broadcast against [N, C, *spatial].
Tensor per_channel(const Tensor& v, int64_t rank) {
  Shape s{v.numel()};
  for (int64_t i = 2; i < rank; ++i) s.push_back(1);
  return v.reshape(s);
}

// LayerNormalization (opset 17): normalised over the dims from `axis` on; Y only.
std::vector<Tensor> layer_norm(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.check(ctx.num_outputs() <= 1, "the Mean and InvStdDev outputs are not supported");
  const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis", -1), x.dim());
  const Shape normalized(x.sizes().begin() + axis, x.sizes().end());
  const Tensor scale = ctx.input(1).expand(normalized);
  const Tensor bias = ctx.has_input(2) ? ctx.input(2).expand(normalized) : Tensor();
  return {F::layer_norm(x, normalized, scale, bias, ctx.attr_float("epsilon", 1e-5f))};
}

std::vector<Tensor> batch_norm(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.check(x.dim() >= 2, "input must be [N, C, ...]");
  // Opset < 7 has is_test and spatial; only the inference form with spatial=1 is computed.
  if (ctx.opset() < 9) ctx.check(ctx.attr_int("spatial", 1) == 1, "spatial=0 is not supported");
  if (ctx.opset() >= 14) ctx.check(ctx.attr_int("training_mode", 0) == 0, "training_mode is not supported");
  const double eps = ctx.attr_float("epsilon", 1e-5f);
  const Tensor& scale = ctx.input(1);
  const Tensor& bias = ctx.input(2);
  const Tensor& mean = ctx.input(3);
  const Tensor& var = ctx.input(4);
  const int64_t rank = x.dim();
  const Tensor y = x.sub(per_channel(mean, rank))
                       .div(per_channel(var, rank).add(eps).sqrt())
                       .mul(per_channel(scale, rank))
                       .add(per_channel(bias, rank));
  std::vector<Tensor> out{y};
  // Optional outputs of the training form are passed through as the running statistics.
  if (ctx.num_outputs() > 1) out.push_back(mean);
  if (ctx.num_outputs() > 2) out.push_back(var);
  if (ctx.num_outputs() > 3) out.push_back(mean);
  if (ctx.num_outputs() > 4) out.push_back(var);
  return out;
}

std::vector<Tensor> instance_norm(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.check(x.dim() >= 3, "input must be [N, C, D1, ...]");
  const double eps = ctx.attr_float("epsilon", 1e-5f);
  std::vector<int64_t> dims;
  for (int64_t i = 2; i < x.dim(); ++i) dims.push_back(i);
  const Tensor mean = x.mean(dims, true);
  const Tensor centered = x.sub(mean);
  const Tensor var = centered.square().mean(dims, true);
  const Tensor y = centered.div(var.add(eps).sqrt())
                       .mul(per_channel(ctx.input(1), x.dim()))
                       .add(per_channel(ctx.input(2), x.dim()));
  return {y};
}

}  // namespace

void register_normalization_ops(OpRegistry& r) {
  r["BatchNormalization"] = batch_norm;
  r["LayerNormalization"] = layer_norm;
  r["InstanceNormalization"] = instance_norm;
}

}  // namespace fulgur::onnx
