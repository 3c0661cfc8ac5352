// ReduceMean and ReduceSum: axes from the attribute (ReduceSum from opset 13: the optional
// second input, with noop_with_empty_axes), keepdims default 1; no axes reduces all dims.
#include "fulgur/nn/onnx/op_registry.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::onnx {
namespace {

template <bool kMean>
std::vector<Tensor> reduce(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> axes;
  const bool axes_input = !kMean ? ctx.opset() >= 13 : ctx.opset() >= 18;
  if (axes_input) {
    if (ctx.has_input(1)) axes = to_int64s(ctx.input(1));
    if (axes.empty() && ctx.attr_int("noop_with_empty_axes", 0) != 0) return {x.clone()};
  } else {
    axes = ctx.attr_ints("axes", std::vector<int64_t>{});
  }
  const bool keep = ctx.attr_int("keepdims", 1) != 0;
  if (axes.empty()) {
    for (int64_t i = 0; i < x.dim(); ++i) axes.push_back(i);
  }
  for (auto& a : axes) a = normalize_axis(ctx, a, x.dim());
  if (x.dim() == 0) return {x.clone()};
  return {kMean ? x.mean(axes, keep) : x.sum(axes, keep, x.dtype())};
}

}  // namespace

void register_reduce_ops(OpRegistry& r) {
  r["ReduceMean"] = reduce<true>;
  r["ReduceSum"] = reduce<false>;
}

}  // namespace fulgur::onnx
