// Shape and data-movement ops: Constant, Reshape, Flatten, Squeeze, Unsqueeze, Transpose,
// Concat, Split, Slice, Pad, Tile, Gather. Where an opset moved an attribute to an input
// (Reshape 5, Slice 10, Pad 11, Squeeze/Unsqueeze/Split 13), the declared opset decides
// which one is read; negative axes are accepted where the opset allows them (11+), and
// everywhere they are unambiguous.
#include <algorithm>
#include <limits>

#include "fulgur/nn/onnx/op_registry.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::onnx {
namespace {

std::vector<Tensor> constant(const OpContext& ctx) {
  if (ctx.has_attr("value")) return {ctx.attr_tensor("value")};
  if (ctx.has_attr("value_float")) return {scalar_tensor(static_cast<double>(ctx.attr_float("value_float")), {.dtype = kFloat32})};
  if (ctx.has_attr("value_int")) return {scalar_tensor(ctx.attr_int("value_int"), {.dtype = kInt64})};
  if (ctx.has_attr("value_floats")) return {from_vector(ctx.attr_floats("value_floats"))};
  if (ctx.has_attr("value_ints")) return {from_vector(ctx.attr_ints("value_ints"))};
  ctx.fail("no supported value attribute (value, value_float(s), value_int(s))");
}

std::vector<Tensor> reshape(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> shape = ctx.opset() < 5 ? ctx.attr_ints("shape") : to_int64s(ctx.input(1));
  const bool allowzero = ctx.opset() >= 14 && ctx.attr_int("allowzero", 0) != 0;
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allowzero) {
      ctx.check(static_cast<int64_t>(i) < x.dim(), "shape 0 beyond the input's rank");
      shape[i] = x.size(static_cast<int64_t>(i));
    }
    if (shape[i] == -1) {
      ctx.check(infer < 0, "more than one -1 in shape");
      infer = static_cast<int64_t>(i);
    } else {
      ctx.check(shape[i] >= 0, "negative dim " + std::to_string(shape[i]) + " in shape");
      ctx.check(shape[i] == 0 || known <= std::numeric_limits<int64_t>::max() / shape[i], "shape overflows");
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    ctx.check(known != 0 && x.numel() % known == 0, "cannot infer the -1 dim");
    shape[static_cast<size_t>(infer)] = x.numel() / known;
  } else {
    ctx.check(known == x.numel(), "shape does not match the input's element count");
  }
  return {x.reshape(shape).contiguous()};
}

std::vector<Tensor> flatten(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t axis = ctx.attr_int("axis", 1);
  if (axis < 0) axis += x.dim();
  ctx.check(axis >= 0 && axis <= x.dim(), "axis out of range");
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.size(i);
  const int64_t inner = outer == 0 ? 0 : x.numel() / outer;
  if (outer == 0) {
    int64_t in = 1;
    for (int64_t i = axis; i < x.dim(); ++i) in *= x.size(i);
    return {x.reshape({0, in}).contiguous()};
  }
  return {x.reshape({outer, inner}).contiguous()};
}

std::vector<int64_t> axes_of(const OpContext& ctx, int64_t input_opset) {
  if (ctx.opset() >= input_opset) return ctx.has_input(1) ? to_int64s(ctx.input(1)) : std::vector<int64_t>{};
  return ctx.attr_ints("axes", std::vector<int64_t>{});
}

std::vector<Tensor> squeeze(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  auto axes = axes_of(ctx, 13);
  Shape out;
  if (axes.empty()) {
    for (int64_t s : x.sizes()) {
      if (s != 1) out.push_back(s);
    }
  } else {
    std::vector<bool> drop(static_cast<size_t>(x.dim()), false);
    for (int64_t a : axes) {
      a = normalize_axis(ctx, a, x.dim());
      ctx.check(x.size(a) == 1, "cannot squeeze axis " + std::to_string(a) + " of size " + std::to_string(x.size(a)));
      drop[static_cast<size_t>(a)] = true;
    }
    for (int64_t i = 0; i < x.dim(); ++i) {
      if (!drop[static_cast<size_t>(i)]) out.push_back(x.size(i));
    }
  }
  return {x.reshape(out).contiguous()};
}

std::vector<Tensor> unsqueeze(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  auto axes = axes_of(ctx, 13);
  ctx.check(!axes.empty(), "axes is required");
  const int64_t rank = x.dim() + static_cast<int64_t>(axes.size());
  std::vector<bool> inserted(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    a = normalize_axis(ctx, a, rank);
    ctx.check(!inserted[static_cast<size_t>(a)], "repeated axis");
    inserted[static_cast<size_t>(a)] = true;
  }
  Shape out;
  int64_t j = 0;
  for (int64_t i = 0; i < rank; ++i) out.push_back(inserted[static_cast<size_t>(i)] ? 1 : x.size(j++));
  return {x.reshape(out).contiguous()};
}

std::vector<Tensor> transpose(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> rev;
  for (int64_t i = x.dim() - 1; i >= 0; --i) rev.push_back(i);
  auto perm = ctx.attr_ints("perm", rev);
  ctx.check(static_cast<int64_t>(perm.size()) == x.dim(), "perm has the wrong length");
  return {x.permute(perm).contiguous()};
}

std::vector<Tensor> concat(const OpContext& ctx) {
  ctx.check(ctx.num_inputs() >= 1, "needs at least one input");
  std::vector<Tensor> parts;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) parts.push_back(ctx.input(i));
  const int64_t raw_axis = ctx.opset() < 4 ? ctx.attr_int("axis", 1) : ctx.attr_int("axis");
  const int64_t axis = normalize_axis(ctx, raw_axis, parts[0].dim());
  return {cat(parts, axis)};
}

std::vector<Tensor> split(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis", 0), x.dim());
  std::vector<int64_t> sizes;
  if (ctx.opset() >= 13 || (ctx.opset() < 11 && ctx.has_input(1))) {
    if (ctx.has_input(1)) sizes = to_int64s(ctx.input(1));
  } else {
    sizes = ctx.attr_ints("split", std::vector<int64_t>{});
  }
  const int64_t outs = static_cast<int64_t>(ctx.num_outputs());
  if (sizes.empty()) {
    ctx.check(outs > 0 && x.size(axis) % outs == 0, "cannot split the axis evenly into the outputs");
    sizes.assign(static_cast<size_t>(outs), x.size(axis) / outs);
  }
  ctx.check(static_cast<int64_t>(sizes.size()) == outs, "split has a different count than the outputs");
  int64_t total = 0;
  for (int64_t s : sizes) {
    ctx.check(s >= 0, "negative split");
    total += s;
  }
  ctx.check(total == x.size(axis), "split sizes do not add up to the axis");
  std::vector<Tensor> out;
  int64_t start = 0;
  for (int64_t s : sizes) {
    out.push_back(x.narrow(axis, start, s).contiguous());
    start += s;
  }
  return out;
}

std::vector<Tensor> slice(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.attr_ints("starts");
    ends = ctx.attr_ints("ends");
    axes = ctx.attr_ints("axes", std::vector<int64_t>{});
  } else {
    starts = to_int64s(ctx.input(1));
    ends = to_int64s(ctx.input(2));
    if (ctx.has_input(3)) axes = to_int64s(ctx.input(3));
    if (ctx.has_input(4)) steps = to_int64s(ctx.input(4));
  }
  ctx.check(starts.size() == ends.size(), "starts and ends differ in length");
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  ctx.check(axes.size() == starts.size() && steps.size() == starts.size(), "axes/steps differ in length");
  Tensor y = x;
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t a = normalize_axis(ctx, axes[i], x.dim());
    const int64_t n = x.size(a);
    const int64_t step = steps[i];
    ctx.check(step != 0, "step 0");
    int64_t s = starts[i] < 0 ? starts[i] + n : starts[i];
    int64_t e = ends[i] < 0 ? ends[i] + n : ends[i];
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, n);
      e = std::clamp<int64_t>(e, 0, n);
      y = y.slice(a, s, std::max(s, e), step);
    } else {
      s = std::clamp<int64_t>(s, 0, n - 1);
      e = std::clamp<int64_t>(e, -1, n - 1);
      std::vector<int64_t> idx;
      for (int64_t k = s; k > e; k += step) idx.push_back(k);
      y = y.index_select(a, from_vector(idx, Shape{static_cast<int64_t>(idx.size())}));
    }
  }
  return {y.contiguous()};
}

std::vector<Tensor> pad(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::string mode = ctx.attr_string("mode", "constant");
  std::vector<int64_t> pads;
  double value = 0.0;
  if (ctx.opset() < 11) {
    pads = ctx.opset() < 2 ? ctx.attr_ints("paddings") : ctx.attr_ints("pads");
    value = ctx.attr_float("value", 0.0f);
  } else {
    pads = to_int64s(ctx.input(1));
    if (ctx.has_input(2)) value = ctx.input(2).item<double>();
    if (ctx.has_input(3)) {
      // opset 18: pads only for the listed axes.
      const auto axes = to_int64s(ctx.input(3));
      ctx.check(pads.size() == 2 * axes.size(), "pads does not match axes");
      std::vector<int64_t> full_pads(static_cast<size_t>(2 * x.dim()), 0);
      for (size_t i = 0; i < axes.size(); ++i) {
        const int64_t a = normalize_axis(ctx, axes[i], x.dim());
        full_pads[static_cast<size_t>(a)] = pads[i];
        full_pads[static_cast<size_t>(a + x.dim())] = pads[i + axes.size()];
      }
      pads = full_pads;
    }
  }
  return {pad_tensor(ctx, x, pads, mode, value)};
}

std::vector<Tensor> tile(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const auto repeats = to_int64s(ctx.input(1));
  ctx.check(static_cast<int64_t>(repeats.size()) == x.dim(), "repeats must have one value per dim");
  Shape expanded, unsq, out;
  for (int64_t i = 0; i < x.dim(); ++i) {
    ctx.check(repeats[static_cast<size_t>(i)] >= 0, "negative repeat");
    unsq.push_back(1);
    unsq.push_back(x.size(i));
    expanded.push_back(repeats[static_cast<size_t>(i)]);
    expanded.push_back(x.size(i));
    int64_t tiled = 0;
    ctx.check(!__builtin_mul_overflow(repeats[static_cast<size_t>(i)], x.size(i), &tiled),
              "repeats[" + std::to_string(i) + "] = " + std::to_string(repeats[static_cast<size_t>(i)]) +
                  " times a dim of size " + std::to_string(x.size(i)) + " overflows int64");
    out.push_back(tiled);
  }
  if (x.dim() == 0) return {x.clone()};
  return {x.reshape(unsq).expand(expanded).contiguous().reshape(out)};
}

std::vector<Tensor> gather(const OpContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  ctx.check(!indices.is_floating_point(), "indices must be integers");
  const int64_t axis = normalize_axis(ctx, ctx.attr_int("axis", 0), data.dim());
  const int64_t n = data.size(axis);
  std::vector<int64_t> idx = indices.to_vector<int64_t>();
  for (auto& i : idx) {
    ctx.check(i >= -n && i < n, "index " + std::to_string(i) + " out of range for a dim of size " + std::to_string(n));
    if (i < 0) i += n;
  }
  const Tensor picked = data.index_select(axis, from_vector(idx, Shape{static_cast<int64_t>(idx.size())}));
  Shape out(data.sizes().begin(), data.sizes().begin() + axis);
  for (int64_t s : indices.sizes()) out.push_back(s);
  for (int64_t i = axis + 1; i < data.dim(); ++i) out.push_back(data.size(i));
  return {picked.reshape(out).contiguous()};
}

}  // namespace

void register_shape_ops(OpRegistry& r) {
  r["Constant"] = constant;
  r["Reshape"] = reshape;
  r["Flatten"] = flatten;
  r["Squeeze"] = squeeze;
  r["Unsqueeze"] = unsqueeze;
  r["Transpose"] = transpose;
  r["Concat"] = concat;
  r["Split"] = split;
  r["Slice"] = slice;
  r["Pad"] = pad;
  r["Tile"] = tile;
  r["Gather"] = gather;
}

}  // namespace fulgur::onnx
