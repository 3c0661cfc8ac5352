#include "fulgur/nn/conv.h"

#include <cmath>

#include "fulgur/nn/functional/conv.h"
#include "fulgur/nn/init.h"
#include "fulgur/tensor/ops.h"

namespace fulgur::nn {
namespace {

void check_channels(int64_t in_channels, int64_t out_channels, int64_t groups, const char* name) {
  FULGUR_CHECK(in_channels >= 0 && out_channels >= 0, name, "in_channels and out_channels must be non-negative, got ",
               in_channels, " and ", out_channels);
  FULGUR_CHECK(groups > 0, name, "groups must be a positive integer");
  FULGUR_CHECK(in_channels % groups == 0, name, "in_channels must be divisible by groups");
  FULGUR_CHECK(out_channels % groups == 0, name, "out_channels must be divisible by groups");
}

void check_padding_mode(const std::string& mode, const char* name) {
  FULGUR_CHECK(mode == "zeros" || mode == "reflect" || mode == "replicate" || mode == "circular", name,
               "padding_mode must be one of {'zeros', 'reflect', 'replicate', 'circular'}, but got padding_mode='",
               mode, "'");
}

// F.pad(x, ..., mode) along one dim (reflect / replicate / circular), as PyTorch.
Tensor pad_dim(const Tensor& x, int64_t dim, int64_t left, int64_t right, const std::string& mode) {
  if (left == 0 && right == 0) return x;
  const int64_t n = x.size(dim);
  std::vector<Tensor> parts;
  auto edge = [&](int64_t at, int64_t count) {
    Shape sizes = x.sizes().vec();
    sizes[static_cast<size_t>(dim)] = count;
    return x.narrow(dim, at, 1).expand(sizes);
  };
  auto reversed = [&](int64_t from, int64_t count) {  // x[from], x[from - 1], ..., count of them
    return x.index_select(dim, arange(from, from - count, -1));
  };
  if (mode == "circular") {
    FULGUR_CHECK(left <= n && right <= n, "pad", "Padding value causes wrapping around more than once.");
    if (left) parts.push_back(x.narrow(dim, n - left, left));
    parts.push_back(x);
    if (right) parts.push_back(x.narrow(dim, 0, right));
  } else if (mode == "replicate") {
    if (left) parts.push_back(edge(0, left));
    parts.push_back(x);
    if (right) parts.push_back(edge(n - 1, right));
  } else {  // reflect
    FULGUR_CHECK(left < n && right < n, "pad", "Argument #4: Padding size should be less than the corresponding "
                 "input dimension, but got: padding (", left, ", ", right, ") at dimension ", dim, " of input ",
                 shape_str(x.sizes()));
    if (left) parts.push_back(reversed(left, left));
    parts.push_back(x);
    if (right) parts.push_back(reversed(n - 2, right));
  }
  return cat(parts, dim);
}

// The input padded for a convolution with a non-zero padding_mode (then convolved with
// padding 0): explicit padding on both sides, or "same"'s left / right split.
Tensor pad_input(const ConvNd& m, const Tensor& x, int64_t nsp) {
  Tensor y = x;
  const int64_t first = x.dim() - nsp;
  for (int64_t d = 0; d < nsp; ++d) {
    int64_t left = m.padding_values[d], right = m.padding_values[d];
    if (m.padding.mode() == ConvPadding::Mode::Same) {
      const int64_t total = m.dilation[d] * (m.kernel_size[d] - 1);
      left = total / 2;
      right = total - left;
    } else if (m.padding.mode() == ConvPadding::Mode::Valid) {
      left = right = 0;
    }
    y = pad_dim(y, first + d, left, right, m.padding_mode);
  }
  return y;
}

Shape output_padding_for(const ConvNd& m, const Tensor& x, IntArrayRef output_size_arg, int64_t nsp,
                         const char* name) {
  const bool batched = x.dim() == nsp + 2;
  const int64_t lead = batched ? 2 : 1;
  Shape output_size = output_size_arg.vec();
  if (static_cast<int64_t>(output_size.size()) == lead + nsp) output_size.erase(output_size.begin(), output_size.begin() + lead);
  FULGUR_CHECK(static_cast<int64_t>(output_size.size()) == nsp, name, "ConvTranspose", nsp,
               "D: for ", x.dim(), "D input, output_size must have ", nsp, " or ", lead + nsp,
               " elements (got ", output_size_arg.size(), ")");
  FULGUR_CHECK(x.dim() >= lead + nsp, name, "input of shape ", shape_str(x.sizes()), " has too few dims");
  Shape min_sizes, max_sizes, result;
  for (int64_t d = 0; d < nsp; ++d) {
    const int64_t size = (x.size(d + lead) - 1) * m.stride[d] - 2 * m.padding_values[d] +
                         m.dilation[d] * (m.kernel_size[d] - 1) + 1;
    min_sizes.push_back(size);
    max_sizes.push_back(size + m.stride[d] - 1);
  }
  for (int64_t d = 0; d < nsp; ++d) {
    FULGUR_CHECK(output_size[d] >= min_sizes[d] && output_size[d] <= max_sizes[d], name,
                 "requested an output size of ", shape_str(output_size), ", but valid sizes range from ",
                 shape_str(min_sizes), " to ", shape_str(max_sizes), " (for an input of ",
                 shape_str(IntArrayRef(x.sizes().data() + lead, static_cast<size_t>(nsp))), ")");
    result.push_back(output_size[d] - min_sizes[d]);
  }
  return result;
}

}  // namespace

ConvNd::ConvNd(int64_t nsp, const char* name, int64_t in, int64_t out, const IntOrTuple& kernel,
               const ConvOptions& o)
    : in_channels(in), out_channels(out), padding(o.padding), groups(o.groups), padding_mode(o.padding_mode),
      nsp_(nsp) {
  check_channels(in, out, o.groups, name);
  kernel_size = kernel.expand(nsp, "kernel_size", name);
  stride = o.stride.expand(nsp, "stride", name);
  dilation = o.dilation.expand(nsp, "dilation", name);
  output_padding = Shape(static_cast<size_t>(nsp), 0);
  padding_values = Shape(static_cast<size_t>(nsp), 0);
  if (o.padding.mode() == ConvPadding::Mode::Explicit) {
    padding_values = expand_window_arg(o.padding.values(), nsp, "padding", name);
  } else if (o.padding.mode() == ConvPadding::Mode::Same) {
    for (int64_t s : stride) FULGUR_CHECK(s == 1, name, "padding='same' is not supported for strided convolutions");
  }
  check_padding_mode(o.padding_mode, name);
  FULGUR_CHECK(is_floating(o.dtype), name, "parameters must be floating point, got dtype ", o.dtype);
  Shape wshape{out, in / o.groups};
  wshape.insert(wshape.end(), kernel_size.begin(), kernel_size.end());
  weight = register_parameter("weight", empty(wshape, {.dtype = o.dtype, .device = o.device}));
  bias = register_parameter("bias", o.bias ? empty({out}, {.dtype = o.dtype, .device = o.device}) : Tensor());
  reset_parameters();
}

ConvNd::ConvNd(int64_t nsp, const char* name, int64_t in, int64_t out, const IntOrTuple& kernel,
               const ConvTransposeOptions& o)
    : in_channels(in), out_channels(out), groups(o.groups), transposed(true), padding_mode(o.padding_mode),
      nsp_(nsp) {
  check_channels(in, out, o.groups, name);
  FULGUR_CHECK(o.padding_mode == "zeros", name, "Only \"zeros\" padding mode is supported for ", name);
  kernel_size = kernel.expand(nsp, "kernel_size", name);
  stride = o.stride.expand(nsp, "stride", name);
  dilation = o.dilation.expand(nsp, "dilation", name);
  padding_values = o.padding.expand(nsp, "padding", name);
  padding = ConvPadding(padding_values);
  output_padding = o.output_padding.expand(nsp, "output_padding", name);
  FULGUR_CHECK(is_floating(o.dtype), name, "parameters must be floating point, got dtype ", o.dtype);
  Shape wshape{in, out / o.groups};
  wshape.insert(wshape.end(), kernel_size.begin(), kernel_size.end());
  weight = register_parameter("weight", empty(wshape, {.dtype = o.dtype, .device = o.device}));
  bias = register_parameter("bias", o.bias ? empty({out}, {.dtype = o.dtype, .device = o.device}) : Tensor());
  reset_parameters();
}

void ConvNd::reset_parameters(Generator* generator) {
  init::kaiming_uniform_(weight, {.a = std::sqrt(5.0)}, generator);
  if (bias.defined()) {
    const int64_t fan_in = init::calculate_fan_in_and_fan_out(weight).first;
    if (fan_in != 0) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
      init::uniform_(bias, -bound, bound, generator);
    }
  }
}

std::string ConvNd::extra_repr() const {
  const Shape zeros_(static_cast<size_t>(nsp_), 0), ones_(static_cast<size_t>(nsp_), 1);
  std::string s = std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                  ", kernel_size=" + tuple_repr(kernel_size) + ", stride=" + tuple_repr(stride);
  if (padding.mode() != ConvPadding::Mode::Explicit || !(padding_values == zeros_))
    s += ", padding=" + padding.repr(nsp_);
  if (!(dilation == ones_)) s += ", dilation=" + tuple_repr(dilation);
  if (!(output_padding == zeros_)) s += ", output_padding=" + tuple_repr(output_padding);
  if (groups != 1) s += ", groups=" + std::to_string(groups);
  if (!bias.defined()) s += ", bias=False";
  if (padding_mode != "zeros") s += ", padding_mode=" + padding_mode;
  return s;
}

Conv1d::Conv1d(int64_t in, int64_t out, const IntOrTuple& k, const ConvOptions& o) : ConvNd(1, "Conv1d", in, out, k, o) {}
Conv2d::Conv2d(int64_t in, int64_t out, const IntOrTuple& k, const ConvOptions& o) : ConvNd(2, "Conv2d", in, out, k, o) {}
Conv3d::Conv3d(int64_t in, int64_t out, const IntOrTuple& k, const ConvOptions& o) : ConvNd(3, "Conv3d", in, out, k, o) {}

ConvPadding ConvNd::forward_padding() const {
  if (padding_mode != "zeros") return ConvPadding(0);  // the input is padded instead
  return padding.mode() == ConvPadding::Mode::Explicit ? ConvPadding(padding_values) : padding;
}

Tensor ConvNd::padded(const Tensor& x) const {
  if (padding_mode == "zeros") return x;
  FULGUR_CHECK(x.dim() == nsp_ + 1 || x.dim() == nsp_ + 2, name().c_str(), "Expected ", nsp_ + 1, "D (unbatched) or ",
               nsp_ + 2, "D (batched) input to ", name(), ", but got input of size: ", shape_str(x.sizes()));
  return pad_input(*this, x, nsp_);
}

Tensor Conv1d::forward(const Tensor& x) {
  return functional::conv1d(padded(x), weight, bias, stride, forward_padding(), dilation, groups);
}
Tensor Conv2d::forward(const Tensor& x) {
  return functional::conv2d(padded(x), weight, bias, stride, forward_padding(), dilation, groups);
}
Tensor Conv3d::forward(const Tensor& x) {
  return functional::conv3d(padded(x), weight, bias, stride, forward_padding(), dilation, groups);
}

ConvTranspose1d::ConvTranspose1d(int64_t in, int64_t out, const IntOrTuple& k, const ConvTransposeOptions& o)
    : ConvNd(1, "ConvTranspose1d", in, out, k, o) {}
ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, const IntOrTuple& k, const ConvTransposeOptions& o)
    : ConvNd(2, "ConvTranspose2d", in, out, k, o) {}
ConvTranspose3d::ConvTranspose3d(int64_t in, int64_t out, const IntOrTuple& k, const ConvTransposeOptions& o)
    : ConvNd(3, "ConvTranspose3d", in, out, k, o) {}

Tensor ConvTranspose1d::forward(const Tensor& x) {
  return functional::conv_transpose1d(x, weight, bias, stride, padding_values, output_padding, groups, dilation);
}
Tensor ConvTranspose1d::forward(const Tensor& x, IntArrayRef output_size) {
  const Shape op = output_padding_for(*this, x, output_size, 1, "ConvTranspose1d");
  return functional::conv_transpose1d(x, weight, bias, stride, padding_values, op, groups, dilation);
}
Tensor ConvTranspose2d::forward(const Tensor& x) {
  return functional::conv_transpose2d(x, weight, bias, stride, padding_values, output_padding, groups, dilation);
}
Tensor ConvTranspose2d::forward(const Tensor& x, IntArrayRef output_size) {
  const Shape op = output_padding_for(*this, x, output_size, 2, "ConvTranspose2d");
  return functional::conv_transpose2d(x, weight, bias, stride, padding_values, op, groups, dilation);
}
Tensor ConvTranspose3d::forward(const Tensor& x) {
  return functional::conv_transpose3d(x, weight, bias, stride, padding_values, output_padding, groups, dilation);
}
Tensor ConvTranspose3d::forward(const Tensor& x, IntArrayRef output_size) {
  const Shape op = output_padding_for(*this, x, output_size, 3, "ConvTranspose3d");
  return functional::conv_transpose3d(x, weight, bias, stride, padding_values, op, groups, dilation);
}

}  // namespace fulgur::nn
