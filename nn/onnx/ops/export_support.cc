// Operators the exporter emits that the runtime had no kernel for (so that exported models
// run here too): Log, Erf, Sin, Cos, Reciprocal, Where, the comparisons, Not/And/Or/Xor,
// Cast, Identity, Shape, Expand, GatherElements, ScatterElements, ReduceMax/Min/Prod, ArgMax/ArgMin,
// TopK.
#include <algorithm>

#include "fulgur/nn/onnx/op_registry.h"
#include "fulgur/nn/onnx/tensor_proto.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/shape.h"

namespace fulgur::onnx {
namespace {

template <typename F>
OpKernel unary(F f) {
  return [f](const OpContext& ctx) -> std::vector<Tensor> { return {f(ctx.input(0))}; };
}
template <typename F>
OpKernel binary(F f) {
  return [f](const OpContext& ctx) -> std::vector<Tensor> { return {f(ctx.input(0), ctx.input(1))}; };
}

Tensor as_bool(const OpContext& ctx, size_t i) {
  ctx.check(ctx.input(i).dtype() == DType::Bool,
            "expects bool inputs, got " + std::string(dtype_name(ctx.input(i).dtype())));
  return ctx.input(i);
}

// Negative indices count from the end of `axis`.
Tensor wrap_index(const Tensor& index, int64_t size) { return where(index.lt(0), index.add(size), index); }

// ReduceMax/Min/Prod up to opset 17: axes attribute (empty: all), keepdims.
template <int kKind>
std::vector<Tensor> reduce(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> axes = ctx.attr_ints("axes", std::vector<int64_t>{});
  if (ctx.opset() >= 18 && ctx.has_input(1)) axes = to_int64s(ctx.input(1));
  const bool keep = ctx.attr_int("keepdims", 1) != 0;
  if (x.dim() == 0) return {x.clone()};
  if (axes.empty())
    for (int64_t i = 0; i < x.dim(); ++i) axes.push_back(i);
  for (auto& a : axes) a = normalize_axis(ctx, a, x.dim());
  if (kKind == 0) return {x.amax(axes, keep)};
  if (kKind == 1) return {x.amin(axes, keep)};
  std::sort(axes.begin(), axes.end());
  Tensor y = x;
  for (size_t i = axes.size(); i-- > 0;) y = y.prod(axes[i], keep);  // from the last, so indices stay valid
  return {y};
}

template <bool kMax>
std::vector<Tensor> arg(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.check(ctx.attr_int("select_last_index", 0) == 0, "select_last_index=1 is not supported");
  const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis", 0), x.dim());
  const bool keep = ctx.attr_int("keepdims", 1) != 0;
  return {kMax ? x.argmax(axis, keep) : x.argmin(axis, keep)};
}

// TopK (opset 11+): K is a one-element int64 input; ties keep the lower index first, as the
// spec asks and as Tensor::topk's stable sort does.
std::vector<Tensor> top_k(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.check(x.dim() > 0, "a 0-dim input has no axis to take the top k along");
  const auto k_values = to_int64s(ctx.input(1));
  ctx.check(k_values.size() == 1, "K must hold one value, got " + std::to_string(k_values.size()));
  const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis", -1), x.dim());
  const int64_t k = k_values[0];
  ctx.check(k >= 0 && k <= x.size(axis), "K = " + std::to_string(k) + " is out of range for an axis of size " +
                                            std::to_string(x.size(axis)));
  auto [values, indices] = x.topk(k, axis, ctx.attr_int("largest", 1) != 0, true);
  return {values, indices};
}

}  // namespace

void register_export_support_ops(OpRegistry& r) {
  r["Log"] = unary([](const Tensor& x) { return x.log(); });
  r["Erf"] = unary([](const Tensor& x) { return x.erf(); });
  r["Sin"] = unary([](const Tensor& x) { return x.sin(); });
  r["Cos"] = unary([](const Tensor& x) { return x.cos(); });
  r["Reciprocal"] = unary([](const Tensor& x) { return x.reciprocal(); });
  r["Identity"] = unary([](const Tensor& x) { return x; });
  r["Shape"] = [](const OpContext& ctx) -> std::vector<Tensor> {
    ctx.check(!ctx.has_attr("start") && !ctx.has_attr("end"), "start/end are not supported");
    return {from_vector(ctx.input(0).sizes().vec())};
  };
  r["Equal"] = binary([](const Tensor& a, const Tensor& b) { return a.eq(b); });
  r["Less"] = binary([](const Tensor& a, const Tensor& b) { return a.lt(b); });
  r["LessOrEqual"] = binary([](const Tensor& a, const Tensor& b) { return a.le(b); });
  r["Greater"] = binary([](const Tensor& a, const Tensor& b) { return a.gt(b); });
  r["GreaterOrEqual"] = binary([](const Tensor& a, const Tensor& b) { return a.ge(b); });
  r["Not"] = [](const OpContext& ctx) -> std::vector<Tensor> { return {as_bool(ctx, 0).logical_not()}; };
  r["And"] = [](const OpContext& ctx) -> std::vector<Tensor> { return {as_bool(ctx, 0).logical_and(as_bool(ctx, 1))}; };
  r["Or"] = [](const OpContext& ctx) -> std::vector<Tensor> { return {as_bool(ctx, 0).logical_or(as_bool(ctx, 1))}; };
  r["Xor"] = [](const OpContext& ctx) -> std::vector<Tensor> { return {as_bool(ctx, 0).logical_xor(as_bool(ctx, 1))}; };
  r["Where"] = [](const OpContext& ctx) -> std::vector<Tensor> {
    return {where(as_bool(ctx, 0), ctx.input(1), ctx.input(2))};
  };
  r["Cast"] = [](const OpContext& ctx) -> std::vector<Tensor> {
    return {ctx.input(0).to(dtype_from_onnx(static_cast<int32_t>(ctx.attr_int("to"))))};
  };
  r["Expand"] = [](const OpContext& ctx) -> std::vector<Tensor> {
    const Tensor& x = ctx.input(0);
    const std::vector<int64_t> shape = to_int64s(ctx.input(1));
    for (int64_t d : shape) ctx.check(d >= 0, "negative size in the shape input");
    return {x.expand(broadcast_shapes(x.sizes(), shape, "Expand")).contiguous()};
  };
  r["GatherElements"] = [](const OpContext& ctx) -> std::vector<Tensor> {
    const Tensor& x = ctx.input(0);
    const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis", 0), x.dim());
    return {x.gather(axis, wrap_index(ctx.input(1).to(DType::Int64), x.size(axis)))};
  };
  r["ScatterElements"] = [](const OpContext& ctx) -> std::vector<Tensor> {
    const Tensor& x = ctx.input(0);
    const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis", 0), x.dim());
    const Tensor index = wrap_index(ctx.input(1).to(DType::Int64), x.size(axis));
    const std::string reduction = ctx.attr_string("reduction", std::string("none"));
    if (reduction == "none") return {x.scatter(axis, index, ctx.input(2))};
    ctx.check(reduction == "add", "reduction '" + reduction + "' is not supported (none, add)");
    return {x.scatter_add(axis, index, ctx.input(2))};
  };
  r["ReduceMax"] = reduce<0>;
  r["ReduceMin"] = reduce<1>;
  r["ReduceProd"] = reduce<2>;
  r["ArgMax"] = arg<true>;
  r["ArgMin"] = arg<false>;
  r["TopK"] = top_k;
}

}  // namespace fulgur::onnx
