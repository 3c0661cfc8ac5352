// Element-wise arithmetic: Add, Sub, Mul, Div, Pow (with opset < 7's legacy broadcast/axis
// attributes), variadic Max, Min, Sum, unary Abs, Neg, Exp, Sqrt, and Clip (attributes before
// opset 11, inputs from 11).
#include <limits>

#include "fulgur/nn/onnx/op_registry.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::onnx {
namespace {

// Opset < 7: with broadcast=1 and an axis, B's dims align with A's starting at axis;
// without an axis, B is a suffix of A (NumPy-compatible). Opset >= 7: NumPy broadcasting.
Tensor legacy_align(const OpContext& ctx, const Tensor& a, const Tensor& b) {
  if (ctx.opset() >= 7 || ctx.attr_int("broadcast", 0) == 0 || !ctx.has_attr("axis")) return b;
  const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis"), a.dim());
  const int64_t trailing = a.dim() - axis - b.dim();
  ctx.check(trailing >= 0, "B does not fit A at the broadcast axis");
  Shape s(b.sizes().begin(), b.sizes().end());
  for (int64_t i = 0; i < trailing; ++i) s.push_back(1);
  return b.reshape(s);
}

Tensor keep_int_dtype(const Tensor& r, const Tensor& a, const Tensor& b) {
  // ONNX keeps the input type; integer division truncates.
  if (!a.is_floating_point() && !b.is_floating_point() && r.dtype() != a.dtype()) return r.to(a.dtype());
  return r;
}

template <typename F>
OpKernel binary(F f) {
  return [f](const OpContext& ctx) -> std::vector<Tensor> {
    const Tensor& a = ctx.input(0);
    const Tensor b = legacy_align(ctx, a, ctx.input(1));
    return {f(a, b)};
  };
}

template <typename F>
OpKernel variadic(F f) {
  return [f](const OpContext& ctx) -> std::vector<Tensor> {
    ctx.check(ctx.num_inputs() >= 1, "needs at least one input");
    Tensor acc = ctx.input(0);
    for (size_t i = 1; i < ctx.num_inputs(); ++i) acc = f(acc, ctx.input(i));
    return {acc.contiguous()};
  };
}

template <typename F>
OpKernel unary(F f) {
  return [f](const OpContext& ctx) -> std::vector<Tensor> { return {f(ctx.input(0))}; };
}

}  // namespace

void register_elementwise_ops(OpRegistry& r) {
  r["Add"] = binary([](const Tensor& a, const Tensor& b) { return add(a, b); });
  r["Sub"] = binary([](const Tensor& a, const Tensor& b) { return sub(a, b); });
  r["Mul"] = binary([](const Tensor& a, const Tensor& b) { return mul(a, b); });
  r["Div"] = binary([](const Tensor& a, const Tensor& b) { return keep_int_dtype(div(a, b), a, b); });
  r["Pow"] = binary([](const Tensor& a, const Tensor& b) {
    Tensor y = pow(a, b);
    return y.dtype() != a.dtype() ? y.to(a.dtype()) : y;  // result has X's type
  });
  r["Max"] = variadic([](const Tensor& a, const Tensor& b) { return maximum(a, b); });
  r["Min"] = variadic([](const Tensor& a, const Tensor& b) { return minimum(a, b); });
  r["Sum"] = variadic([](const Tensor& a, const Tensor& b) { return add(a, b); });
  r["Abs"] = unary([](const Tensor& x) { return x.abs(); });
  r["Neg"] = unary([](const Tensor& x) { return x.neg(); });
  r["Exp"] = unary([](const Tensor& x) { return x.exp(); });
  r["Sqrt"] = unary([](const Tensor& x) { return x.sqrt(); });
  r["Clip"] = [](const OpContext& ctx) -> std::vector<Tensor> {
    const Tensor& x = ctx.input(0);
    std::optional<Scalar> lo, hi;
    if (ctx.opset() < 11) {
      if (ctx.has_attr("min")) lo = Scalar(static_cast<double>(ctx.attr_float("min")));
      if (ctx.has_attr("max")) hi = Scalar(static_cast<double>(ctx.attr_float("max")));
    } else {
      if (ctx.has_input(1)) lo = ctx.input(1).item();
      if (ctx.has_input(2)) hi = ctx.input(2).item();
    }
    if (!lo && !hi) return {x.clone()};
    Tensor y = x;
    if (lo) y = maximum(y, full_like(x, *lo));
    if (hi) y = minimum(y, full_like(x, *hi));
    return {y.contiguous()};
  };
}

}  // namespace fulgur::onnx
