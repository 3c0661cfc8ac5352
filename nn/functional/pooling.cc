#include "fulgur/nn/functional/pooling.h"

#include <algorithm>
#include <string>

#include "fulgur/nn/window_options.h"
#include "fulgur/tensor/ops.h"
#include "fulgur/tensor/trace.h"

namespace fulgur::nn::functional {
namespace {

// PyTorch's pooling_output_shape: floor (or ceil) division, and in ceil mode the last window
// must start inside the input or its left padding.
int64_t pooled_size(int64_t in, int64_t kernel, int64_t pad, int64_t stride, int64_t dilation, bool ceil_mode) {
  const int64_t num = in + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  const int64_t q = num >= 0 ? num / stride : -((-num + stride - 1) / stride);  // round toward -inf
  int64_t out = q + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

std::string x_list(IntArrayRef v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "x" : "") + std::to_string(v[i]);
  return s;
}

struct Pool {
  Tensor x;  // batched [N, C, *spatial]
  bool batched = true;
  Shape image, kernel, stride, padding, dilation, grid;
};

Pool setup_pool(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride_arg, IntArrayRef padding_arg,
                IntArrayRef dilation_arg, bool ceil_mode, int64_t nsp, const char* op) {
  FULGUR_CHECK(input.dim() == nsp + 1 || input.dim() == nsp + 2, op, "Expected ", nsp + 1, "D or ", nsp + 2,
               "D (batch mode) tensor with optional 0 dim batch size for input, but got: ", shape_str(input.sizes()));
  FULGUR_CHECK(input.is_floating_point(), op, "expected a floating-point input, got ", input.dtype(),
               "; hint: convert with .to(kFloat32)");
  Pool p;
  p.batched = input.dim() == nsp + 2;
  p.x = p.batched ? input : input.unsqueeze(0);
  p.image.assign(p.x.sizes().begin() + 2, p.x.sizes().end());
  for (int64_t d = 0; d < nsp; ++d)
    FULGUR_CHECK(p.image[d] > 0, op, "Expected ", nsp + 1, "D or ", nsp + 2, "D (batch mode) tensor with optional "
                 "0 dim batch size for input, but got: ", shape_str(input.sizes()), " (an empty spatial dim)");
  p.kernel = expand_window_arg(kernel_size, nsp, "kernel_size", op);
  p.stride = stride_arg.empty() ? p.kernel : expand_window_arg(stride_arg, nsp, "stride", op);
  p.padding = expand_window_arg(padding_arg, nsp, "padding", op);
  p.dilation = expand_window_arg(dilation_arg, nsp, "dilation", op);
  for (int64_t d = 0; d < nsp; ++d) {
    FULGUR_CHECK(p.kernel[d] > 0, op, "kernel size should be greater than zero, but got kernel_size=",
                 tuple_repr(p.kernel));
    FULGUR_CHECK(p.stride[d] > 0, op, "stride should be greater than zero, but got stride=", tuple_repr(p.stride));
    FULGUR_CHECK(p.dilation[d] > 0, op, "dilation should be greater than zero, but got dilation=",
                 tuple_repr(p.dilation));
    FULGUR_CHECK(p.padding[d] >= 0 && p.padding[d] <= p.kernel[d] / 2, op,
                 "pad should be smaller than or equal to half of kernel size, but got padding=", tuple_repr(p.padding),
                 ", kernel_size=", tuple_repr(p.kernel));
    p.grid.push_back(pooled_size(p.image[d], p.kernel[d], p.padding[d], p.stride[d], p.dilation[d], ceil_mode));
  }
  for (int64_t d = 0; d < nsp; ++d)
    FULGUR_CHECK(p.grid[d] >= 1, op, "Given input size: (", p.x.size(1), "x", x_list(p.image),
                 "). Calculated output size: (", p.x.size(1), "x", x_list(p.grid), "). Output size is too small");
  return p;
}

// What an exporter needs of a pooling window: kernel, strides, dilations, and the pads that
// give exactly p.grid windows without ceil mode (begins, then ends; an end pad beyond the
// padding is where a ceil-mode window runs past the input), plus the padding itself.
TraceAttrs window_trace_attrs(const Pool& p, const Shape& dilation) {
  Shape pads = p.padding;
  for (size_t d = 0; d < p.grid.size(); ++d)
    pads.push_back(std::max(p.padding[d], (p.grid[d] - 1) * p.stride[d] + dilation[d] * (p.kernel[d] - 1) + 1 -
                                              p.image[d] - p.padding[d]));
  return {{"kernel_shape", p.kernel}, {"strides", p.stride}, {"pads", pads}, {"dilations", dilation},
          {"padding", p.padding}};
}

std::tuple<Tensor, Tensor> max_pool_nd(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride,
                                       IntArrayRef padding, IntArrayRef dilation, bool ceil_mode, int64_t nsp,
                                       const char* op) {
  const Pool p = setup_pool(input, kernel_size, stride, padding, dilation, ceil_mode, nsp, op);
  TracedComposite trace;
  auto [values, indices] = max_pool_with_indices(p.x, p.kernel, p.stride, p.padding, p.dilation, p.grid);
  if (trace.active()) trace.record("max_pool", {p.x}, window_trace_attrs(p, p.dilation), {values, indices});
  if (!p.batched) return {values.squeeze(0), indices.squeeze(0)};
  return {values, indices};
}

Tensor avg_pool_nd(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                   bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override, int64_t nsp,
                   const char* op) {
  const Pool p = setup_pool(input, kernel_size, stride, padding, {1}, ceil_mode, nsp, op);
  FULGUR_CHECK(!divisor_override || *divisor_override != 0, op, "divisor must be not zero");
  const int64_t N = p.x.size(0), C = p.x.size(1);
  const int64_t K = numel_of(p.kernel), L = numel_of(p.grid);
  // The divisor of every window (PyTorch's CPU kernel): the window clipped to the padded
  // input with count_include_pad, else to the input; windows without input elements give 0.
  std::vector<double> divisor(static_cast<size_t>(L));
  for (int64_t l = 0; l < L; ++l) {
    int64_t rem = l, with_pad = 1, inside = 1;
    for (int64_t d = nsp - 1; d >= 0; --d) {
      const int64_t g = rem % p.grid[d];
      rem /= p.grid[d];
      int64_t start = g * p.stride[d] - p.padding[d];
      int64_t end = std::min(start + p.kernel[d], p.image[d] + p.padding[d]);
      with_pad *= end - start;
      start = std::max<int64_t>(start, 0);
      end = std::min(end, p.image[d]);
      inside *= std::max<int64_t>(end - start, 0);
    }
    const int64_t div = divisor_override ? *divisor_override : count_include_pad ? with_pad : inside;
    divisor[static_cast<size_t>(l)] = inside == 0 ? 1.0 : static_cast<double>(div);
  }
  TracedComposite trace;
  const Tensor cols = im2col(p.x, p.kernel, {1}, p.padding, p.stride, p.grid);  // [N, C * K, L]
  const Tensor sums = cols.view({N, C, K, L}).sum({2});
  const Tensor div = from_vector(divisor).to(p.x.device(), p.x.dtype());
  Shape out_shape{N, C};
  out_shape.insert(out_shape.end(), p.grid.begin(), p.grid.end());
  const Tensor out = sums.div(div).view(out_shape);
  if (trace.active()) {
    TraceAttrs attrs = window_trace_attrs(p, Shape(static_cast<size_t>(nsp), 1));
    attrs.push_back({"count_include_pad", int64_t{count_include_pad}});
    if (divisor_override) attrs.push_back({"divisor_override", *divisor_override});
    trace.record("avg_pool", {p.x}, attrs, {out});
  }
  return p.batched ? out : out.squeeze(0);
}

// [out, in] with row o averaging input [floor(o * in / out), ceil((o + 1) * in / out)).
Tensor averaging_matrix(int64_t in, int64_t out, DType dtype, Device device) {
  std::vector<double> m(static_cast<size_t>(in * out), 0.0);
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = (o * in) / out;
    const int64_t end = ((o + 1) * in + out - 1) / out;
    for (int64_t i = start; i < end; ++i) m[static_cast<size_t>(o * in + i)] = 1.0 / static_cast<double>(end - start);
  }
  return from_vector(m, Shape{out, in}).to(device, dtype);
}

Tensor adaptive_avg_pool_nd(const Tensor& input, const AdaptiveSize& output_size, int64_t nsp, const char* op) {
  FULGUR_CHECK(input.dim() == nsp + 1 || input.dim() == nsp + 2, op, "Expected ", nsp + 1, "D or ", nsp + 2,
               "D tensor, but got ", shape_str(input.sizes()));
  FULGUR_CHECK(input.is_floating_point(), op, "expected a floating-point input, got ", input.dtype(),
               "; hint: convert with .to(kFloat32)");
  for (int64_t d = 1; d < input.dim(); ++d)
    FULGUR_CHECK(input.size(d) > 0, op, "Expected input to have non-zero size for non-batch dimensions, but input "
                 "has sizes ", shape_str(input.sizes()), " with dimension ", d, " being empty");
  const auto& given = output_size.values();
  FULGUR_CHECK(given.size() == 1 || static_cast<int64_t>(given.size()) == nsp, op, "output_size must have 1 or ",
               nsp, " elements, got ", given.size());
  const bool batched = input.dim() == nsp + 2;
  Tensor x = batched ? input : input.unsqueeze(0);
  Shape in(x.sizes().begin() + 2, x.sizes().end()), out;
  bool divisible = true, global = true;
  for (int64_t d = 0; d < nsp; ++d) {
    const auto& o = given[given.size() == 1 ? 0 : static_cast<size_t>(d)];
    out.push_back(o ? *o : in[d]);
    FULGUR_CHECK(out[d] >= 0, op, "elements of output_size must be greater than or equal to 0 but received ",
                 out[d]);
    divisible = divisible && out[d] > 0 && in[d] % out[d] == 0;
    global = global && out[d] == 1;
  }
  Tensor y;
  if (global) {
    Shape dims;
    for (int64_t d = 0; d < nsp; ++d) dims.push_back(2 + d);
    y = x.mean(dims, /*keepdim=*/true);
  } else if (divisible) {
    // Windows [o * in/out, (o + 1) * in/out): plain average pooling.
    Shape k;
    for (int64_t d = 0; d < nsp; ++d) k.push_back(in[d] / out[d]);
    y = avg_pool_nd(x, k, k, {0}, false, true, std::nullopt, nsp, op);
  } else {
    // Separable: average along each spatial dim with an [out, in] matrix.
    y = x;
    for (int64_t d = 0; d < nsp; ++d) {
      const Tensor m = averaging_matrix(in[d], out[d], x.dtype(), x.device());
      const int64_t dim = 2 + d;
      y = y.transpose(dim, -1).matmul(m.t()).transpose(dim, -1);
    }
    y = y.contiguous();
  }
  return batched ? y : y.squeeze(0);
}

}  // namespace

std::string AdaptiveSize::repr() const {
  auto one = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string("None"); };
  if (scalar_) return one(values_[0]);
  std::string s = "(";
  for (size_t i = 0; i < values_.size(); ++i) s += (i ? ", " : "") + one(values_[i]);
  return s + (values_.size() == 1 ? ",)" : ")");
}

Tensor max_pool1d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                  IntArrayRef dilation, bool ceil_mode) {
  return std::get<0>(max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, 1, "max_pool1d"));
}
Tensor max_pool2d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                  IntArrayRef dilation, bool ceil_mode) {
  return std::get<0>(max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, 2, "max_pool2d"));
}
Tensor max_pool3d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                  IntArrayRef dilation, bool ceil_mode) {
  return std::get<0>(max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, 3, "max_pool3d"));
}
std::tuple<Tensor, Tensor> max_pool1d_with_indices(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride,
                                                   IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  return max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, 1, "max_pool1d");
}
std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride,
                                                   IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  return max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, 2, "max_pool2d");
}
std::tuple<Tensor, Tensor> max_pool3d_with_indices(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride,
                                                   IntArrayRef padding, IntArrayRef dilation, bool ceil_mode) {
  return max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, 3, "max_pool3d");
}

Tensor avg_pool1d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                  bool ceil_mode, bool count_include_pad) {
  return avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, std::nullopt, 1, "avg_pool1d");
}
Tensor avg_pool2d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                  bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
  return avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2,
                     "avg_pool2d");
}
Tensor avg_pool3d(const Tensor& input, IntArrayRef kernel_size, IntArrayRef stride, IntArrayRef padding,
                  bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
  return avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 3,
                     "avg_pool3d");
}

Tensor adaptive_avg_pool1d(const Tensor& input, const AdaptiveSize& output_size) {
  return adaptive_avg_pool_nd(input, output_size, 1, "adaptive_avg_pool1d");
}
Tensor adaptive_avg_pool2d(const Tensor& input, const AdaptiveSize& output_size) {
  return adaptive_avg_pool_nd(input, output_size, 2, "adaptive_avg_pool2d");
}
Tensor adaptive_avg_pool3d(const Tensor& input, const AdaptiveSize& output_size) {
  return adaptive_avg_pool_nd(input, output_size, 3, "adaptive_avg_pool3d");
}

}  // namespace fulgur::nn::functional
