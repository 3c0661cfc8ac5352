// Conv and ConvTranspose over 1-3 spatial dims (F::conv*d, F::conv_transpose*d). Asymmetric
// Conv pads become an explicit zero pad; auto_pad SAME_UPPER/SAME_LOWER/VALID are computed.
#include "fulgur/nn/functional/conv.h"
#include "fulgur/nn/onnx/op_registry.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::onnx {
namespace {

namespace F = fulgur::nn::functional;

std::vector<int64_t> spatial_attr(const OpContext& ctx, const char* name, int64_t n, int64_t def) {
  auto v = ctx.attr_ints(name, std::vector<int64_t>(static_cast<size_t>(n), def));
  ctx.check(static_cast<int64_t>(v.size()) == n, std::string("attribute '") + name + "' has the wrong length");
  return v;
}

// ONNX pads [b..., e...] for the spatial dims, auto_pad resolved.
std::vector<int64_t> conv_pads(const OpContext& ctx, const Tensor& x, const std::vector<int64_t>& kernel,
                               const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations) {
  const int64_t n = static_cast<int64_t>(kernel.size());
  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") {
    auto p = ctx.attr_ints("pads", std::vector<int64_t>(static_cast<size_t>(2 * n), 0));
    ctx.check(static_cast<int64_t>(p.size()) == 2 * n, "attribute 'pads' has the wrong length");
    for (int64_t v : p) ctx.check(v >= 0, "negative pads");
    return p;
  }
  std::vector<int64_t> p(static_cast<size_t>(2 * n), 0);
  if (auto_pad == "VALID") return p;
  ctx.check(auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER", "unknown auto_pad '" + fulgur::printable(auto_pad) + "'");
  for (int64_t i = 0; i < n; ++i) {
    const int64_t in = x.size(2 + i);
    const int64_t out = (in + strides[i] - 1) / strides[i];
    const int64_t total = std::max<int64_t>(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - in);
    const int64_t small = total / 2, big = total - small;
    p[i] = auto_pad == "SAME_UPPER" ? small : big;
    p[i + n] = auto_pad == "SAME_UPPER" ? big : small;
  }
  return p;
}

std::vector<Tensor> conv(const OpContext& ctx) {
  Tensor x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor b = ctx.has_input(2) ? ctx.input(2) : Tensor();
  const int64_t n = x.dim() - 2;
  ctx.check(n >= 1 && n <= 3, "Conv supports 1 to 3 spatial dims, got input rank " + std::to_string(x.dim()));
  ctx.check(w.dim() == x.dim(), "weight rank differs from input rank");
  std::vector<int64_t> kernel(w.sizes().begin() + 2, w.sizes().end());
  if (ctx.has_attr("kernel_shape")) ctx.check(ctx.attr_ints("kernel_shape") == kernel, "kernel_shape differs from W");
  const auto strides = spatial_attr(ctx, "strides", n, 1);
  const auto dilations = spatial_attr(ctx, "dilations", n, 1);
  const int64_t group = ctx.attr_int("group", 1);
  auto pads = conv_pads(ctx, x, kernel, strides, dilations);
  bool symmetric = true;
  for (int64_t i = 0; i < n; ++i) symmetric = symmetric && pads[i] == pads[i + n];
  std::vector<int64_t> padding(pads.begin(), pads.begin() + n);
  if (!symmetric) {
    std::vector<int64_t> full_pads(static_cast<size_t>(2 * x.dim()), 0);
    for (int64_t i = 0; i < n; ++i) {
      full_pads[2 + i] = pads[i];
      full_pads[x.dim() + 2 + i] = pads[i + n];
    }
    x = pad_tensor(ctx, x, full_pads, "constant", 0.0);
    padding.assign(static_cast<size_t>(n), 0);
  }
  switch (n) {
    case 1: return {F::conv1d(x, w, b, strides, padding, dilations, group)};
    case 2: return {F::conv2d(x, w, b, strides, padding, dilations, group)};
    default: return {F::conv3d(x, w, b, strides, padding, dilations, group)};
  }
}

std::vector<Tensor> conv_transpose(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor b = ctx.has_input(2) ? ctx.input(2) : Tensor();
  const int64_t n = x.dim() - 2;
  ctx.check(n >= 1 && n <= 3, "ConvTranspose supports 1 to 3 spatial dims");
  ctx.check(w.dim() == x.dim(), "weight rank differs from input rank");
  const auto strides = spatial_attr(ctx, "strides", n, 1);
  const auto dilations = spatial_attr(ctx, "dilations", n, 1);
  auto output_padding = spatial_attr(ctx, "output_padding", n, 0);
  const int64_t group = ctx.attr_int("group", 1);
  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  ctx.check(auto_pad == "NOTSET", "auto_pad " + fulgur::printable(auto_pad) + " is not supported");
  auto pads = ctx.attr_ints("pads", std::vector<int64_t>(static_cast<size_t>(2 * n), 0));
  ctx.check(static_cast<int64_t>(pads.size()) == 2 * n, "attribute 'pads' has the wrong length");
  if (ctx.has_attr("output_shape")) {
    auto os = ctx.attr_ints("output_shape");
    if (static_cast<int64_t>(os.size()) == n + 2) os.erase(os.begin(), os.begin() + 2);
    ctx.check(static_cast<int64_t>(os.size()) == n, "output_shape has the wrong length");
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = w.size(2 + i);
      const int64_t total = strides[i] * (x.size(2 + i) - 1) + output_padding[i] + (k - 1) * dilations[i] + 1 - os[i];
      // SAME_UPPER-style split as the spec: begins get total/2.
      if (total >= 0) {
        pads[i] = total / 2;
        pads[i + n] = total - total / 2;
      } else {
        pads[i] = pads[i + n] = 0;
        output_padding[i] += -total;
      }
    }
  }
  std::vector<int64_t> padding(pads.begin(), pads.begin() + n);
  for (int64_t i = 0; i < n; ++i) {
    // Extra end padding crops the output: express it as a lower output_padding.
    const int64_t extra = pads[i + n] - pads[i];
    output_padding[i] -= extra;
  }
  std::vector<int64_t> crop_end(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    if (output_padding[i] < 0) {
      crop_end[i] = -output_padding[i];
      output_padding[i] = 0;
    }
  }
  Tensor y;
  switch (n) {
    case 1: y = F::conv_transpose1d(x, w, b, strides, padding, output_padding, group, dilations); break;
    case 2: y = F::conv_transpose2d(x, w, b, strides, padding, output_padding, group, dilations); break;
    default: y = F::conv_transpose3d(x, w, b, strides, padding, output_padding, group, dilations); break;
  }
  for (int64_t i = 0; i < n; ++i) {
    if (crop_end[i] > 0) y = y.narrow(2 + i, 0, y.size(2 + i) - crop_end[i]);
  }
  return {y.contiguous()};
}

}  // namespace

void register_conv_ops(OpRegistry& r) {
  r["Conv"] = conv;
  r["ConvTranspose"] = conv_transpose;
}

}  // namespace fulgur::onnx
