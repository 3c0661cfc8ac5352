// Activations: Relu, Sigmoid, Tanh, Elu, LeakyRelu, Selu, Softplus, PRelu, Softmax,
// LogSoftmax (before opset 13 the input is coerced to 2-D at axis, default 1; from 13 the op
// works along axis, default -1).
#include <cmath>

#include "fulgur/nn/onnx/op_registry.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::onnx {
namespace {

Tensor softmax_like(const OpContext& ctx, bool log) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.dim();
  if (ctx.opset() >= 13) {
    const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis", -1), rank);
    return log ? x.log_softmax(axis) : x.softmax(axis);
  }
  if (rank == 0) return log ? x.reshape({1}).log_softmax(0).reshape({}) : x.reshape({1}).softmax(0).reshape({});
  const int64_t axis = ctx.attr_int("axis", 1) < 0 ? normalize_axis(ctx, ctx.attr_int("axis", 1), rank)
                                                   : ctx.attr_int("axis", 1);
  ctx.check(axis >= 0 && axis <= rank, "axis out of range");
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.size(i);
  for (int64_t i = axis; i < rank; ++i) inner *= x.size(i);
  const Tensor flat = x.reshape({outer, inner});
  const Tensor y = log ? flat.log_softmax(1) : flat.softmax(1);
  return y.reshape(x.sizes());
}

}  // namespace

void register_activation_ops(OpRegistry& r) {
  r["Relu"] = [](const OpContext& ctx) -> std::vector<Tensor> { return {ctx.input(0).relu()}; };
  r["Sigmoid"] = [](const OpContext& ctx) -> std::vector<Tensor> { return {ctx.input(0).sigmoid()}; };
  r["Tanh"] = [](const OpContext& ctx) -> std::vector<Tensor> { return {ctx.input(0).tanh()}; };
  r["Elu"] = [](const OpContext& ctx) -> std::vector<Tensor> {
    const Tensor& x = ctx.input(0);
    const double alpha = ctx.attr_float("alpha", 1.0f);
    return {where(x.gt(0), x, x.exp().sub(1).mul(alpha))};
  };
  r["LeakyRelu"] = [](const OpContext& ctx) -> std::vector<Tensor> {
    const Tensor& x = ctx.input(0);
    const double alpha = ctx.attr_float("alpha", 0.01f);
    return {where(x.ge(0), x, x.mul(alpha))};
  };
  r["Selu"] = [](const OpContext& ctx) -> std::vector<Tensor> {
    const Tensor& x = ctx.input(0);
    const double alpha = ctx.attr_float("alpha", 1.67326319217681884765625f);
    const double gamma = ctx.attr_float("gamma", 1.05070102214813232421875f);
    return {where(x.gt(0), x, x.exp().sub(1).mul(alpha)).mul(gamma)};
  };
  r["Softplus"] = [](const OpContext& ctx) -> std::vector<Tensor> {
    const Tensor& x = ctx.input(0);
    // log(1 + exp(x)) computed stably: max(x, 0) + log1p(exp(-|x|)).
    return {x.relu().add(x.abs().neg().exp().log1p())};
  };
  r["PRelu"] = [](const OpContext& ctx) -> std::vector<Tensor> {
    const Tensor& x = ctx.input(0);
    Tensor slope = ctx.input(1);
    // A per-channel [C] slope of an [N, C, ...] input (opset 6 exporters): align with dim 1.
    if (slope.dim() == 1 && slope.numel() > 1 && x.dim() >= 2 && slope.size(0) == x.size(1) &&
        (x.dim() > 2 || x.size(1) != x.size(-1))) {
      Shape s{slope.size(0)};
      for (int64_t i = 2; i < x.dim(); ++i) s.push_back(1);
      slope = slope.reshape(s);
    }
    return {where(x.ge(0), x, x.mul(slope))};
  };
  r["Softmax"] = [](const OpContext& ctx) -> std::vector<Tensor> { return {softmax_like(ctx, false)}; };
  r["LogSoftmax"] = [](const OpContext& ctx) -> std::vector<Tensor> { return {softmax_like(ctx, true)}; };
}

}  // namespace fulgur::onnx
