// MaxPool and AveragePool over 1-3 spatial dims (F::max_pool*d, F::avg_pool*d).
// AveragePool's count_include_pad exists from opset 7 (before: pads are not counted);
// ceil_mode from opset 10, dilations of MaxPool from opset 10.
#include <limits>

#include "fulgur/nn/functional/pooling.h"
#include "fulgur/nn/onnx/op_registry.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::onnx {
namespace {

namespace F = fulgur::nn::functional;

struct Window {
  std::vector<int64_t> kernel, strides, pads, dilations;
  bool ceil = false;
};

Window window(const OpContext& ctx, const Tensor& x) {
  const int64_t n = x.dim() - 2;
  ctx.check(n >= 1 && n <= 3, "pooling supports 1 to 3 spatial dims, got input rank " + std::to_string(x.dim()));
  Window w;
  w.kernel = ctx.attr_ints("kernel_shape");
  ctx.check(static_cast<int64_t>(w.kernel.size()) == n, "kernel_shape has the wrong length");
  w.strides = ctx.attr_ints("strides", std::vector<int64_t>(static_cast<size_t>(n), 1));
  w.dilations = ctx.attr_ints("dilations", std::vector<int64_t>(static_cast<size_t>(n), 1));
  ctx.check(static_cast<int64_t>(w.strides.size()) == n && static_cast<int64_t>(w.dilations.size()) == n,
            "strides/dilations have the wrong length");
  w.ceil = ctx.attr_int("ceil_mode", 0) != 0;
  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  w.pads.assign(static_cast<size_t>(2 * n), 0);
  if (auto_pad == "NOTSET") {
    w.pads = ctx.attr_ints("pads", w.pads);
    ctx.check(static_cast<int64_t>(w.pads.size()) == 2 * n, "pads has the wrong length");
  } else if (auto_pad != "VALID") {
    ctx.check(auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER", "unknown auto_pad");
    for (int64_t i = 0; i < n; ++i) {
      const int64_t in = x.size(2 + i);
      const int64_t out = (in + w.strides[i] - 1) / w.strides[i];
      const int64_t total =
          std::max<int64_t>(0, (out - 1) * w.strides[i] + (w.kernel[i] - 1) * w.dilations[i] + 1 - in);
      const int64_t small = total / 2, big = total - small;
      w.pads[i] = auto_pad == "SAME_UPPER" ? small : big;
      w.pads[i + n] = auto_pad == "SAME_UPPER" ? big : small;
    }
  }
  for (int64_t v : w.pads) ctx.check(v >= 0, "negative pads");
  return w;
}

bool symmetric(const Window& w) {
  const size_t n = w.kernel.size();
  for (size_t i = 0; i < n; ++i) {
    // F:: pooling also needs pad <= kernel / 2.
    if (w.pads[i] != w.pads[i + n] || 2 * w.pads[i] > w.kernel[i]) return false;
  }
  return true;
}

Tensor explicit_pad(const OpContext& ctx, const Tensor& x, const Window& w, double value) {
  const int64_t n = static_cast<int64_t>(w.kernel.size());
  std::vector<int64_t> p(static_cast<size_t>(2 * x.dim()), 0);
  for (int64_t i = 0; i < n; ++i) {
    p[2 + i] = w.pads[i];
    p[x.dim() + 2 + i] = w.pads[i + n];
  }
  return pad_tensor(ctx, x, p, "constant", value);
}

std::vector<Tensor> max_pool(const OpContext& ctx) {
  ctx.check(ctx.num_outputs() <= 1, "the Indices output is not supported");
  Tensor x = ctx.input(0);
  Window w = window(ctx, x);
  const size_t n = w.kernel.size();
  std::vector<int64_t> padding(w.pads.begin(), w.pads.begin() + static_cast<int64_t>(n));
  if (!symmetric(w)) {
    ctx.check(!w.ceil, "ceil_mode with asymmetric pads is not supported");
    x = explicit_pad(ctx, x, w, -std::numeric_limits<double>::infinity());
    padding.assign(n, 0);
  }
  switch (n) {
    case 1: return {F::max_pool1d(x, w.kernel, w.strides, padding, w.dilations, w.ceil)};
    case 2: return {F::max_pool2d(x, w.kernel, w.strides, padding, w.dilations, w.ceil)};
    default: return {F::max_pool3d(x, w.kernel, w.strides, padding, w.dilations, w.ceil)};
  }
}

std::vector<Tensor> avg_pool(const OpContext& ctx) {
  Tensor x = ctx.input(0);
  Window w = window(ctx, x);
  const size_t n = w.kernel.size();
  bool include_pad = ctx.opset() >= 7 && ctx.attr_int("count_include_pad", 0) != 0;
  std::vector<int64_t> padding(w.pads.begin(), w.pads.begin() + static_cast<int64_t>(n));
  auto pool = [&](const Tensor& t, bool include) -> Tensor {
    switch (n) {
      case 1: return F::avg_pool1d(t, w.kernel, w.strides, padding, w.ceil, include);
      case 2: return F::avg_pool2d(t, w.kernel, w.strides, padding, w.ceil, include);
      default: return F::avg_pool3d(t, w.kernel, w.strides, padding, w.ceil, include);
    }
  };
  if (!symmetric(w)) {
    ctx.check(!w.ceil, "ceil_mode with asymmetric pads is not supported");
    padding.assign(n, 0);
    const Tensor sums = pool(explicit_pad(ctx, x, w, 0.0), true);
    if (include_pad) return {sums};
    // Pads not counted: the windows' averages over the padded input, divided by the share of
    // real elements in each (the same pooling over ones).
    Shape ones_shape(static_cast<size_t>(x.dim()), 1);
    for (int64_t d = x.dim() - static_cast<int64_t>(n); d < x.dim(); ++d)
      ones_shape[static_cast<size_t>(d)] = x.size(d);
    const Tensor share = pool(explicit_pad(ctx, ones(ones_shape, {.dtype = x.dtype()}), w, 0.0), true);
    return {sums.div(share)};
  }
  return {pool(x, include_pad)};
}

}  // namespace

void register_pool_ops(OpRegistry& r) {
  r["MaxPool"] = max_pool;
  r["AveragePool"] = avg_pool;
}

}  // namespace fulgur::onnx
